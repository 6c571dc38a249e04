"""The leadership opportunities catalogue (issue 13, point 1): leads keep it, trainees browse it,
register interest and propose entries a lead approves or declines; coaches browse read-only."""

from __future__ import annotations

import csv
import io

import pytest
from helpers import audit_events, csrf_token, message_text, post, post_form, text_of

from feedback360.extensions import db
from feedback360.models import LeadershipOpportunity, OpportunityElement, Organisation, Site, User
from feedback360.services import DomainError, Forbidden, lead_scope, opportunities
from feedback360.services.opportunities import Fields

ENTRY = {"title": "Chair the department's M&M meeting", "kind": "chairing",
         "description": "Lead the case review.", "how_to_join": "Ask Dr Lee.",
         "contact": "m&m@nhs.net", "site_id": "", "elements": ["teams", "patient-safety"]}


@pytest.fixture
def lead(make_user):
    return make_user("lead@nhs.net", role="admin", name="Lee Lead")


@pytest.fixture
def trainee(make_user):
    return make_user("tara@nhs.net", name="Tara Trainee")


def signed_in(app, login, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


@pytest.fixture
def lead_client(app, login, lead):
    return signed_in(app, login, lead)


@pytest.fixture
def trainee_client(app, login, trainee):
    return signed_in(app, login, trainee)


def add_entry(app, *, status="open", title="Sit on a panel", kind="interview_panel",
              elements=(("people", "managing-services"),), proposed_by=None, site_id=None):
    with app.app_context():
        entry = LeadershipOpportunity(
            title=title, kind=kind, description="What it is.", how_to_join="Ask.",
            status=status, proposed_by_id=proposed_by, site_id=site_id,
            elements=[OpportunityElement(element_key=e, domain_key=d) for e, d in elements])
        db.session.add(entry)
        db.session.commit()
        return entry.id


def site(app, name="Royal Infirmary") -> int:
    with app.app_context():
        organisation = Organisation(name=f"Trust of {name}")
        db.session.add(organisation)
        db.session.flush()
        row = Site(organisation_id=organisation.id, name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


def entry(app, entry_id: int) -> tuple[str, str, list[str]]:
    with app.app_context():
        row = db.session.get(LeadershipOpportunity, entry_id)
        return row.title, row.status, [e.element_key for e in row.elements]


# --- Service rules -------------------------------------------------------------------------------

def test_every_problem_of_an_entry_is_reported_at_once(app):
    with app.app_context():
        found = {p.field: p.message for p in opportunities.problems(
            Fields(kind="picnic", contact="c" * 201, site_id=10**6, elements=["nope"]))}
    assert found == {
        "title": "Enter a title", "description": "Enter a description",
        "how_to_join": "Enter how to get involved",
        "contact": "The contact must be 200 characters or fewer",
        "kind": "Select what kind of opportunity this is",
        "site_id": "Select a site from the list",
        "elements": "Select leadership elements from the list"}


def test_only_leads_keep_the_catalogue_and_only_trainees_propose(app, lead, trainee):
    fields = Fields(title="T", kind="meeting", description="D", how_to_join="H",
                    elements=["teams"])
    with app.app_context():
        with pytest.raises(Forbidden):
            opportunities.create(fields, by=db.session.get(User, trainee.id))
        with pytest.raises(Forbidden):
            opportunities.propose(fields, by=db.session.get(User, lead.id))
        proposal = opportunities.propose(fields, by=db.session.get(User, trainee.id))
        assert proposal.status == "proposed" and proposal.proposed_by_id == trainee.id
        with pytest.raises(DomainError, match="Only an approved opportunity"):
            opportunities.set_open(proposal, True, by=db.session.get(User, lead.id))
        with pytest.raises(DomainError, match="not open"):
            opportunities.register_interest(proposal, db.session.get(User, trainee.id))


def test_browse_filters_by_domain_kind_and_site(app):
    here = site(app)
    panel = add_entry(app, title="Panel")
    shadow = add_entry(app, title="Shadow", kind="shadowing", site_id=here,
                       elements=[("decisions", "setting-direction")])
    add_entry(app, title="Closed panel", status="closed")
    with app.app_context():
        def titles(**filters):
            return [o.title for o in db.session.scalars(
                opportunities.browse_query(opportunities.Filters(**filters)))]
        assert titles() == ["Panel", "Shadow"]
        assert titles(domain="managing-services") == ["Panel"]
        assert titles(kind="shadowing") == ["Shadow"]
        assert titles(site_id=here) == ["Shadow"]
        assert titles(domain="managing-services", kind="shadowing") == []
    assert panel != shadow


# --- Trainees and coaches ------------------------------------------------------------------------

def test_trainee_browses_filters_and_pages(app, trainee_client):
    for number in range(opportunities.PER_PAGE + 1):
        add_entry(app, title=f"Panel {number:02}")
    add_entry(app, title="Workforce shadowing", kind="shadowing",
              elements=[("decisions", "setting-direction")])
    first = text_of(trainee_client.get("/opportunities"))
    assert "22 opportunities" in first and "Panel 00" in first and "Next page" in first
    assert "Workforce shadowing" not in first
    assert "Workforce shadowing" in text_of(trainee_client.get("/opportunities?page=2"))
    by_domain = text_of(trainee_client.get("/opportunities?domain=setting-direction"))
    assert "1 opportunity match the filters" in by_domain and "Panel 00" not in by_domain
    assert "Workforce shadowing" in text_of(trainee_client.get("/opportunities?kind=shadowing"))


@pytest.mark.parametrize("query", ["domain=nope", "kind=%00", "site=9999999999999",
                                   "site=-1", "domain=managing-services&site=abc"])
def test_junk_filters_are_ignored(app, trainee_client, query):
    add_entry(app)
    response = trainee_client.get(f"/opportunities?{query}")
    assert response.status_code == 200 and "Sit on a panel" in text_of(response)


@pytest.mark.parametrize("page", ["0", "-1", "x", "3", "9" * 40])
def test_pages_that_do_not_exist_are_not_found(app, trainee_client, page):
    add_entry(app)
    assert trainee_client.get(f"/opportunities?page={page}").status_code == 404


def test_register_and_withdraw_interest_and_the_lead_sees_who(app, trainee_client, lead_client,
                                                              trainee):
    entry_id = add_entry(app)
    page = f"/opportunities/{entry_id}"
    registered = post(trainee_client, page, f"{page}/interest")
    assert registered.status_code == 302 and registered.location.endswith(page)
    shown = text_of(trainee_client.get(page))
    assert "Your interest is registered" in shown and "Withdraw my interest" in shown
    assert "You had already registered interest" in text_of(trainee_client.get(
        post(trainee_client, page, f"{page}/interest").location))
    lead_page = text_of(lead_client.get(f"/admin/opportunities/{entry_id}"))
    assert "Tara Trainee" in lead_page and "tara@nhs.net" in lead_page
    download = lead_client.get(f"/admin/opportunities/{entry_id}/interest.csv")
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == opportunities.INTEREST_COLUMNS
    assert rows[1][:2] == ["Tara Trainee", "tara@nhs.net"]
    assert audit_events(app, "opportunity.interest_downloaded")[0][2] == {"people": 1}
    withdrawn = trainee_client.get(post(trainee_client, page, f"{page}/interest/withdraw")
                                   .location)
    assert "Your interest is withdrawn" in text_of(withdrawn)
    assert "Nobody has registered interest yet" in text_of(
        lead_client.get(f"/admin/opportunities/{entry_id}"))


def test_a_scoped_lead_sees_only_their_programmes_trainees_interest(app, login, make_user,
                                                                    make_cohort, lead):
    ours, theirs = make_cohort("Ours", programme="STP"), make_cohort("Theirs", programme="HSST")
    make_user("in@nhs.net", name="Inside Person", cohort=ours)
    make_user("out@nhs.net", name="Outside Person", cohort=theirs)
    scoped = make_user("scoped@nhs.net", role="admin")
    entry_id = add_entry(app)
    with app.app_context():
        for email in ("in@nhs.net", "out@nhs.net"):
            opportunities.register_interest(db.session.get(LeadershipOpportunity, entry_id),
                                            db.session.scalar(db.select(User).filter_by(
                                                email=email)))
        lead_scope.set_programmes(db.session.get(User, scoped.id), ["STP"],
                                  by=db.session.get(User, lead.id))
        db.session.commit()
    text = text_of(signed_in(app, login, scoped).get(f"/admin/opportunities/{entry_id}"))
    assert "Inside Person" in text and "Outside Person" not in text


def test_what_a_trainee_may_not_see_is_not_found(app, trainee_client, trainee, make_user):
    other = make_user("other@nhs.net")
    mine = add_entry(app, status="proposed", proposed_by=trainee.id, title="My idea")
    for entry_id in (add_entry(app, status="closed"), add_entry(app, status="declined"),
                     add_entry(app, status="proposed", proposed_by=other.id)):
        assert trainee_client.get(f"/opportunities/{entry_id}").status_code == 404
        assert post(trainee_client, "/opportunities",
                    f"/opportunities/{entry_id}/interest").status_code == 404
    page = text_of(trainee_client.get(f"/opportunities/{mine}"))
    assert "Your proposal: Awaiting review" in page and "Register my interest" not in page


def test_a_coach_browses_read_only(app, login, make_user):
    coach = signed_in(app, login, make_user("coach@nhs.net", role="coach"))
    entry_id = add_entry(app)
    assert "Sit on a panel" in text_of(coach.get("/opportunities"))
    page = coach.get(f"/opportunities/{entry_id}")
    assert page.status_code == 200 and "Register my interest" not in text_of(page)
    assert coach.post(f"/opportunities/{entry_id}/interest",
                      data={"csrf_token": csrf_token(page)}).status_code == 403
    assert coach.get("/opportunities/propose").status_code == 403


# --- Proposals -----------------------------------------------------------------------------------

def test_a_trainee_proposes_and_the_lead_approves(app, trainee_client, lead_client, smtp):
    empty = post_form(trainee_client, "/opportunities/propose", {"title": "", "kind": ""})
    assert empty.status_code == 400
    for message in ("Enter a title", "Select what kind of opportunity this is",
                    "Enter a description", "Enter how to get involved",
                    "Select at least one leadership element"):
        assert message in text_of(empty)
    sent = post_form(trainee_client, "/opportunities/propose", ENTRY)
    assert sent.status_code == 302 and sent.location.endswith("/opportunities/proposals")
    listed = text_of(trainee_client.get("/opportunities/proposals"))
    assert "your proposal is with the programme lead" in listed
    assert "Chair the department's M&M meeting" in listed and "Awaiting review" in listed
    with app.app_context():
        entry_id = db.session.scalar(db.select(LeadershipOpportunity.id))
    assert "Chair the department" not in text_of(trainee_client.get("/opportunities"))
    catalogue = text_of(lead_client.get("/admin/opportunities"))
    assert "Proposed by Tara Trainee" in catalogue
    approved = post(lead_client, f"/admin/opportunities/{entry_id}",
                    f"/admin/opportunities/{entry_id}/approve")
    assert approved.status_code == 302
    assert entry(app, entry_id)[1] == "open"
    [mail] = smtp.messages_to("tara@nhs.net")
    assert "approved" in mail["Subject"] and "open to every trainee" in message_text(mail)
    assert [e[1] for e in audit_events(app, "opportunity.approved")] == [f"opportunity:{entry_id}"]
    assert "Chair the department" in text_of(trainee_client.get("/opportunities"))
    assert lead_client.get(f"/admin/opportunities/{entry_id}/decline").status_code == 409


def test_declining_needs_a_reason_which_the_proposer_is_emailed(app, trainee, lead_client, smtp):
    entry_id = add_entry(app, status="proposed", proposed_by=trainee.id)
    page = f"/admin/opportunities/{entry_id}/decline"
    refused = post_form(lead_client, page, {"reason": "  "})
    assert refused.status_code == 400 and "Enter the reason for declining" in text_of(refused)
    assert post_form(lead_client, page, {"reason": "We run no panels this year."}) \
        .status_code == 302
    assert entry(app, entry_id)[1] == "declined"
    [mail] = smtp.messages_to("tara@nhs.net")
    assert "declined" in mail["Subject"]
    assert "We run no panels this year." in message_text(mail)
    # the trail keeps the reason's length, not its words
    assert audit_events(app, "opportunity.declined")[0][2] == {"reason_length": 27}


# --- The lead keeps the catalogue ----------------------------------------------------------------

def test_an_empty_catalogue_offers_the_fmlm_examples(app, lead_client):
    page = lead_client.get("/admin/opportunities")
    assert "The catalogue is empty" in text_of(page)
    seeded = post(lead_client, "/admin/opportunities", "/admin/opportunities/seed")
    assert seeded.status_code == 302
    shown = text_of(lead_client.get("/admin/opportunities"))
    assert "Added" in shown and "open (" in shown and "The catalogue is empty" not in shown
    assert audit_events(app, "opportunity.seeded")[0][1] == "opportunities"


def test_proposals_are_listed_first_and_counted_on_the_admin_home(app, lead_client, trainee):
    add_entry(app, title="Attend a board meeting")
    add_entry(app, status="proposed", proposed_by=trainee.id, title="Zebra crossing audit")
    listed = text_of(lead_client.get("/admin/opportunities"))
    assert listed.index("Zebra crossing audit") < listed.index("Attend a board meeting")
    assert "awaiting review (1)" in listed
    only = text_of(lead_client.get("/admin/opportunities?status=proposed"))
    assert "Attend a board meeting" not in only
    home = text_of(lead_client.get("/home/admin"))
    assert ("1 leadership opportunity proposed by trainees is waiting for review: "
            "Review the proposals") in home
    assert lead_client.get("/admin/opportunities?status=%00").status_code == 200


def test_the_lead_adds_edits_closes_and_reopens_with_audit(app, lead_client):
    form = text_of(lead_client.get("/admin/opportunities/new"))
    assert "Site" not in form.split("Leadership elements")[0].split("Contact")[1]
    here = site(app)
    assert "Royal Infirmary (Trust of Royal Infirmary)" in text_of(
        lead_client.get("/admin/opportunities/new"))
    added = post_form(lead_client, "/admin/opportunities/new", {**ENTRY, "site_id": str(here)})
    assert added.status_code == 302
    entry_id = int(added.location.rsplit("/", 1)[1])
    assert entry(app, entry_id) == ("Chair the department's M&M meeting", "open",
                                    ["patient-safety", "teams"])
    bad_site = post_form(lead_client, f"/admin/opportunities/{entry_id}/edit",
                         {**ENTRY, "site_id": "99999999999999"})
    assert bad_site.status_code == 400 and "Select a site from the list" in text_of(bad_site)
    edited = post_form(lead_client, f"/admin/opportunities/{entry_id}/edit",
                       {**ENTRY, "title": "Chair M&M", "elements": ["teams", "decisions"]})
    assert edited.status_code == 302
    assert entry(app, entry_id) == ("Chair M&M", "open", ["decisions", "teams"])
    [(_, target, detail)] = audit_events(app, "opportunity.updated")
    assert target == f"opportunity:{entry_id}"
    assert set(detail["changes"]) == {"title", "elements", "site_id"}
    page = f"/admin/opportunities/{entry_id}"
    assert post(lead_client, page, f"{page}/close").status_code == 302
    assert entry(app, entry_id)[1] == "closed"
    assert post(lead_client, page, f"{page}/open").status_code == 302
    assert entry(app, entry_id)[1] == "open"
    assert [len(audit_events(app, f"opportunity.{a}")) for a in ("added", "closed", "opened")] \
        == [1, 1, 1]
