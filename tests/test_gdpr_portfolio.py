"""Subject access and erasure reach the portfolio and workplace data (issues 13 and 14).

A trainee's export holds their activities with the named written feedback on them, time
reports, placements, their own affordances answers (said to be theirs), letters as issued,
interest and proposals; a champion's holds what they recorded and produced. Erasing any of the
people involved (trainee, observer, champion, placement supervisor) leaves their name and address
nowhere but in audit events written before; an observer's given feedback stays, unnamed, and
letters quoting them say so; a champion's commitment history stays, unattributed.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime

import pytest
from champion_helpers import make_organisation, time_lost
from helpers import (
    add_activity_with_feedback,
    csrf_token,
    form_fields,
    post_form,
    text_of,
    texts_in_database,
)

from feedback360.extensions import db
from feedback360.models import (
    ActivityFeedbackRequest,
    AuditEvent,
    BoardReport,
    CoachAssignment,
    CommitmentStatus,
    LeadershipOpportunity,
    Letter,
    OpportunityInterest,
    Placement,
    User,
)
from feedback360.services import affordances, letters
from feedback360.services.erasure_portfolio import ERASED_OBSERVER

TRAINEE, TRAINEE_NAME = "tia@nhs.net", "Tia Trainee"
OBSERVER, OBSERVER_NAME = "olu@nhs.net", "Olu Observer"
DECLINER = "dee@nhs.net"
CHAMPION, CHAMPION_NAME = "cham@nhs.net", "Cham Pion"
SUPERVISOR, SUPERVISOR_NAME = "sam.super@nhs.net", "Sam Super"
GIVEN_TEXT = "Chaired calmly and kept to time."


@pytest.fixture
def world(app, make_user):
    """Tia's activity with Olu's given feedback (quoted in a letter from her coach), a second
    one Dee declined, a time report, a placement supervised by Sam with her answers about it,
    interest in a catalogue entry and a proposal; the trust's champion's tracker entry and
    board report."""
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    with app.test_request_context():
        organisation, sites = make_organisation()
        trainee = make_user(TRAINEE, name=TRAINEE_NAME)
        coach = make_user("cora@nhs.net", role="coach", name="Cora Coach")
        champion = make_user(CHAMPION, role="champion", name=CHAMPION_NAME,
                             organisation_id=organisation.id)
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        activity = add_activity_with_feedback(trainee.id, "Chaired the audit meeting",
                                              observer=OBSERVER_NAME, overall=GIVEN_TEXT)
        declined = add_activity_with_feedback(trainee.id, "Ran the teaching session",
                                              observer="Dee Decliner", status="declined")
        declined.feedback_requests[0].decline_reason = "Not there that day"
        declined.feedback_requests[0].declined_at = datetime(2026, 3, 9, tzinfo=UTC)
        time_lost(trainee.id, "rota")
        placement = Placement(trainee_id=trainee.id, site_id=sites[0].id, department="Biochem",
                              supervisor_name=SUPERVISOR_NAME, supervisor_email=SUPERVISOR,
                              started_on=date(2026, 1, 5))
        db.session.add(placement)
        db.session.flush()
        items = affordances.questionnaire().item_keys
        affordances.submit(trainee, placement, dict.fromkeys(items, "4"),
                           comment="The department is stretched", share=False)
        listed = LeadershipOpportunity(title="Join the QI committee", kind="committee")
        proposed = LeadershipOpportunity(title="Tia's journal club", kind="forum",
                                         status="proposed", proposed_by_id=trainee.id)
        db.session.add_all([listed, proposed])
        db.session.flush()
        db.session.add(OpportunityInterest(opportunity_id=listed.id, trainee_id=trainee.id))
        letters.issue(trainee, activity_ids=[activity.id], title="Leadership in audit",
                      citation="For chairing the audit meeting", by=coach)
        db.session.add_all([
            CommitmentStatus(organisation_id=organisation.id, criterion_key="opportunities-1",
                             status="in_progress", owner="Medical director",
                             evidence="Board minutes May", recorded_by_id=champion.id),
            BoardReport(organisation_id=organisation.id, year=2026, quarter=2,
                        commentary="A good quarter for feedback", figures={"trainees": 6},
                        produced_by_id=champion.id)])
        db.session.commit()
        return {"trainee_id": trainee.id, "organisation_id": organisation.id}


@pytest.fixture
def admin(client, login):  # type: ignore[no-untyped-def]
    assert login(client, "admin@nhs.net").status_code == 302
    return client


def export(client, email: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    response = post_form(client, "/admin/subject-access", {"email": email})
    assert response.status_code == 200 and response.mimetype == "application/zip", \
        text_of(response)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def loaded(files: dict[str, bytes], kind: str):  # type: ignore[no-untyped-def]
    return json.loads(files[f"{kind}.json"])


def test_a_trainees_export_holds_their_portfolio_and_workplace_data(app, world, admin):
    files = export(admin, TRAINEE)

    activities = {a["title"]: a for a in loaded(files, "activities")}
    audit = activities["Chaired the audit meeting"]
    assert audit["went_well"] == "Kept to time" and audit["elements"] == ["relationships"]
    [given] = audit["written_feedback"]
    assert (given["observer_name"], given["status"], given["overall"]) == \
        (OBSERVER_NAME, "given", GIVEN_TEXT)
    [declined] = activities["Ran the teaching session"]["written_feedback"]
    assert declined["decline_reason"] == "Not there that day"
    assert loaded(files, "time_reports")[0]["reason"] == "rota"
    assert loaded(files, "placements")[0]["supervisor_name"] == SUPERVISOR_NAME
    [answers] = loaded(files, "affordances")
    assert answers["comment"] == "The department is stretched" and \
        set(answers["answers"].values()) == {4}
    [letter] = loaded(files, "letters")
    assert letter["content"]["activities"][0]["feedback"][0]["overall"] == GIVEN_TEXT
    assert [i["opportunity"] for i in loaded(files, "opportunity_interest")] == \
        ["Join the QI committee"]
    assert [p["title"] for p in loaded(files, "proposals")] == ["Tia's journal club"]
    summary = files["summary.html"].decode()
    assert GIVEN_TEXT in summary and "Leadership in audit" in summary
    assert "made by an administrator at your request" in summary
    with app.app_context():  # counted in the audit trail, never copied there
        event = db.session.scalar(db.select(AuditEvent)
                                  .filter_by(action="subject_access.exported")
                                  .order_by(AuditEvent.id.desc()))
        assert event.detail["activities"] == 2 and event.detail["letters"] == 1
        assert "stretched" not in json.dumps(event.detail)


@pytest.mark.parametrize(("email", "kind", "text"), [
    (CHAMPION, "commitment_entries", "Board minutes May"),
    (CHAMPION, "board_reports", "A good quarter for feedback"),
    (OBSERVER, "written_feedback", GIVEN_TEXT)])
def test_a_champions_and_an_observers_exports_hold_what_they_recorded(app, world, admin, email,
                                                                      kind, text):
    files = export(admin, email)
    assert text in json.dumps(loaded(files, kind)) and text in files["summary.html"].decode()


def confirm_page(client, email: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/erasure")
    return client.post("/admin/erasure", data={"email": email, "csrf_token": csrf_token(page)})


def erase(client, email: str) -> str:  # type: ignore[no-untyped-def]
    page = confirm_page(client, email)
    assert page.status_code == 200, text_of(page)
    fields = form_fields(page, action="/admin/erasure/confirm")
    done = client.post("/admin/erasure/confirm", data={**fields, "confirmation": email})
    assert done.status_code == 200, text_of(done)
    return text_of(page)


@pytest.mark.parametrize(("email", "name", "listed"), [
    (TRAINEE, TRAINEE_NAME, "1 letter of achievement issued to them"),
    (OBSERVER, OBSERVER_NAME, "1 letter quoting their feedback"),
    (CHAMPION, CHAMPION_NAME, "1 board report they produced"),
    (SUPERVISOR, SUPERVISOR_NAME, "1 placement naming them as supervisor")])
def test_the_erased_name_and_address_are_nowhere_in_the_database(app, world, admin, email, name,
                                                                  listed):
    with app.app_context():
        last_before = db.session.scalar(db.select(db.func.max(AuditEvent.id)))
    assert any(email in text for _, _, text in texts_in_database(app))

    assert listed in erase(admin, email)

    left = [(where, event) for where, event, text in texts_in_database(app)
            if email in text or name.lower() in text]
    # only audit events written before the erasure, which nothing may change (documented)
    assert all(event is not None and event <= last_before for _, event in left), left


def test_an_erased_trainees_portfolio_goes_but_the_catalogue_stays(app, world, admin):
    erase(admin, TRAINEE)
    with app.app_context():
        assert db.session.scalars(db.select(LeadershipOpportunity.title)).all() == \
            ["Join the QI committee"]
        for model in (ActivityFeedbackRequest, Letter, Placement, OpportunityInterest):
            assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0
        # the board report keeps the figures it was produced with
        assert db.session.scalar(db.select(BoardReport.figures)) == {"trainees": 6}


def test_an_erased_observers_feedback_stays_unnamed_and_their_link_stops(app, world, admin):
    with app.app_context():
        before = db.session.scalar(db.select(ActivityFeedbackRequest)
                                   .filter_by(observer_email=OBSERVER)).token_nonce
    erase(admin, OBSERVER)
    with app.app_context():
        request = db.session.scalar(db.select(ActivityFeedbackRequest)
                                    .filter_by(observer_name=ERASED_OBSERVER))
        assert request.overall == GIVEN_TEXT and request.token_nonce != before
        assert request.observer_role is None
        feedback = db.session.scalar(db.select(Letter)).content["activities"][0]["feedback"][0]
        assert feedback["observer_name"] == ERASED_OBSERVER and feedback["overall"] == GIVEN_TEXT


def test_an_erased_champions_commitment_history_stays_unattributed(app, world, admin):
    erase(admin, CHAMPION)
    with app.app_context():
        [entry] = db.session.scalars(db.select(CommitmentStatus)).all()
        assert (entry.status, entry.evidence, entry.recorded_by_id) == \
            ("in_progress", "Board minutes May", None)
        assert db.session.scalar(db.select(BoardReport.produced_by_id)) is None
        assert db.session.scalar(db.select(User.name).filter_by(role="champion")) == \
            "Erased user"


@pytest.mark.parametrize("said", [
    "Written feedback on an activity is named, not anonymous",
    "by their coach only if the trainee chooses to share them",
    "only the trainee's name, the letter's title, who issued it and when",
    "board report, for the organisation's board, shows counts (never for groups smaller than "
    "4 trainees)",
    "who never gave it (they declined, the trainee withdrew the request, or its link expired), "
    "with any reason they gave and any unsent draft, are kept for 200 days after the request "
    "ended"])
def test_the_privacy_notice_tells_about_the_portfolio_and_workplace_data(make_app, said):
    page = make_app(RATER_DETAILS_RETENTION_DAYS=200, COHORT_MIN_TRAINEES=4
                    ).test_client().get("/privacy")
    words = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    assert said in words
