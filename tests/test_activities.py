"""The activity log (issue 13, point 2): a trainee logs leadership they did and education they
took, with CLCF elements, links and a reflection; the balance of the two shows; their coach reads
it; nobody else reaches it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import form_fields, post_form, text_of

from feedback360.extensions import db
from feedback360.models import CoachAssignment
from feedback360.models.portfolio import Activity, LeadershipOpportunity, OpportunityElement
from feedback360.models.workplace import Organisation, Placement, Site
from feedback360.services import DomainError, DomainErrors, activities
from feedback360.services.activities import ActivityValues

ELEMENT = "integrity"  # checked against the framework in test_elements_are_the_clcfs


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee", site="Old Site",
                     specialty="Genomics")


@pytest.fixture
def trainee_client(app, trainee, login):
    client = app.test_client()
    assert login(client, trainee).status_code == 302
    return client


def fields(**changes: object) -> dict[str, object]:
    """A valid activity as the form posts it."""
    today = date.today()
    values: dict[str, object] = {
        "title": "Chaired the junior doctors' forum", "category": "chairing",
        "description": "Set the agenda and chaired it.",
        "started_on-day": str(today.day), "started_on-month": str(today.month),
        "started_on-year": str(today.year), "hours": "2.5", "elements": [ELEMENT],
        "went_well": "Kept to time.", "do_differently": "Circulate papers earlier."}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def values(**changes: object) -> ActivityValues:
    base = dict(kind="doing", category="chairing", title="Chaired", description="Did it",
                started_on=date.today(), ended_on=None, hours=1.0, element_keys=(ELEMENT,))
    base.update(changes)
    return ActivityValues(**base)  # type: ignore[arg-type]


def test_elements_are_the_clcfs(app):
    with app.app_context():
        from feedback360.services import clcf_framework

        assert ELEMENT in clcf_framework.elements_by_key()


def test_a_trainee_logs_an_activity_and_sees_the_balance(app, trainee_client):
    assert "Nothing logged yet" in text_of(trainee_client.get("/portfolio/activities"))
    response = post_form(trainee_client, "/portfolio/activities/new?kind=doing", fields())
    assert response.status_code == 302
    detail = trainee_client.get(response.location)
    assert "Chaired the junior doctors' forum" in text_of(detail)
    assert "Circulate papers earlier." in text_of(detail)
    education = fields(title="Read 'Leadership in healthcare'", category="reading", hours="4")
    assert post_form(trainee_client, "/portfolio/activities/new?kind=education",
                     education).status_code == 302
    page = text_of(trainee_client.get("/portfolio/activities"))
    assert "Leadership activity 2.5 hours in 1 entry" in page
    assert "Leadership education 4 hours in 1 entry" in page
    only_education = text_of(trainee_client.get("/portfolio/activities?kind=education"))
    assert "Leadership in healthcare" in only_education and "forum" not in only_education


def test_filter_by_domain(app, trainee_client):
    post_form(trainee_client, "/portfolio/activities/new?kind=doing", fields())
    with app.app_context():
        from feedback360.services import clcf_framework

        mine = clcf_framework.elements_by_key()[ELEMENT].domain_key
        other = next(d.key for d in clcf_framework.domains() if d.key != mine)
    assert "forum" in trainee_client.get(f"/portfolio/activities?domain={mine}").text
    assert "Nothing logged matches" in text_of(
        trainee_client.get(f"/portfolio/activities?domain={other}"))


@pytest.mark.parametrize("query", ["kind=nonsense", "domain=nonsense", "kind=%00"])
def test_unknown_filters_are_404(trainee_client, query):
    assert trainee_client.get(f"/portfolio/activities?{query}").status_code == 404


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": ""}, "title", "Enter a title for the activity"),
    ({"category": "reading"}, "category", "Select what kind of activity it was"),
    ({"description": "  "}, "description", "Describe what you did and your role"),
    ({"elements": []}, "elements", "Select at least one leadership element"),
    ({"elements": ["not-an-element"]}, "elements", "Select leadership elements from the list"),
    ({"hours": "NaN"}, "hours", "must be a number of hours"),
    ({"hours": "1e400"}, "hours", "must be a number of hours"),
    ({"hours": "2001"}, "hours", "between 0 and 2000 hours"),
    ({"started_on-year": "2999"}, "started_on", "Start date must be today or in the past"),
    ({"started_on-day": "2200000000"}, "started_on", "Start date must be a real date"),
    ({"ended_on-day": "1", "ended_on-month": "1", "ended_on-year": "2000"}, "ended_on",
     "End date must be the same as or after the start date"),
    ({"goal_id": "99"}, "goal_id", "Select one of your development goals"),
    ({"opportunity_id": "99999999999999"}, "opportunity_id", "Select an open opportunity"),
    ({"placement_id": "5"}, "placement_id", "Select one of your placements"),
])
def test_each_rule_shows_beside_its_field(app, trainee_client, changes, field, message):
    response = post_form(trainee_client, "/portfolio/activities/new?kind=doing",
                         fields(**changes))
    assert response.status_code == 400
    assert message in text_of(response)
    assert f'href="#{field}' in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0


def test_all_problems_show_at_once(trainee_client):
    response = post_form(trainee_client, "/portfolio/activities/new?kind=doing",
                         fields(title="", elements=[], hours="x"))
    page = text_of(response)
    assert all(m in page for m in ("Enter a title", "Select at least one leadership element",
                                   "must be a number of hours"))


@pytest.fixture
def opportunity(app):
    with app.app_context():
        entry = LeadershipOpportunity(title="Sit on an interview panel", kind="interview_panel",
                                      status="open")
        entry.elements.append(OpportunityElement(element_key=ELEMENT,
                                                 domain_key="personal-qualities"))
        db.session.add(entry)
        db.session.commit()
        return entry.id


def test_starting_from_the_catalogue_prefills_and_links(app, trainee_client, opportunity):
    entry = trainee_client.get(f"/opportunities/{opportunity}")
    assert f"/portfolio/activities/new?opportunity={opportunity}" in entry.text
    page = trainee_client.get(f"/portfolio/activities/new?opportunity={opportunity}")
    sent = form_fields(page, index=1)
    assert sent["title"] == "Sit on an interview panel"
    assert sent["category"] == "interview_panel"
    assert sent["opportunity_id"] == str(opportunity)
    assert f'value="{ELEMENT}" checked' in page.text
    response = post_form(trainee_client, f"/portfolio/activities/new?opportunity={opportunity}",
                         fields(title=sent["title"], category=sent["category"],
                                opportunity_id=str(opportunity)))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(Activity)).one().opportunity_id == opportunity
        db.session.get(LeadershipOpportunity, opportunity).status = "closed"
        db.session.commit()
    # a closed entry can no longer be started from, but an activity already linked keeps it
    assert trainee_client.get(
        f"/portfolio/activities/new?opportunity={opportunity}").status_code == 404
    edit = response.location + "/edit"
    kept = form_fields(trainee_client.get(edit), index=1)
    assert kept["opportunity_id"] == str(opportunity)
    assert post_form(trainee_client, edit, {**kept, "title": "Renamed"}).status_code == 302


def test_placement_defaults_to_the_one_covering_the_start(app, trainee, trainee_client):
    with app.app_context():
        site = Site(name="St Elsewhere", organisation=Organisation(name="Elsewhere Trust"))
        placement = Placement(trainee_id=trainee.id, site=site, department="Cardiology",
                              started_on=date.today() - timedelta(days=30))
        db.session.add(placement)
        db.session.commit()
        placement_id = placement.id
    assert post_form(trainee_client, "/portfolio/activities/new", fields()).status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(Activity)).one().placement_id == placement_id


def test_edit_and_delete_with_confirmation(app, trainee_client):
    created = post_form(trainee_client, "/portfolio/activities/new", fields()).location
    edited = post_form(trainee_client, created + "/edit",
                       {**form_fields(trainee_client.get(created + "/edit"), index=1),
                        "title": "Chaired the forum twice"})
    assert edited.status_code == 302
    assert "Chaired the forum twice" in trainee_client.get(created).text
    confirm = trainee_client.get(created + "/delete")
    assert "This cannot be undone" in text_of(confirm)
    assert post_form(trainee_client, created + "/delete", {}).status_code == 302
    assert trainee_client.get(created).status_code == 404


def test_coach_reads_only_their_own_trainees(app, trainee, trainee_client, make_user, login):
    created = post_form(trainee_client, "/portfolio/activities/new", fields()).location
    mine = make_user("cora.coach@nhs.net", role="coach")
    other = make_user("otto.coach@nhs.net", role="coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=mine.id, trainee_id=trainee.id))
        db.session.commit()
    for coach, status in ((mine, 200), (other, 404)):
        client = app.test_client()
        login(client, coach)
        assert client.get(f"/coach/trainees/{trainee.id}/activities").status_code == status
        assert client.get(created).status_code == status
        assert client.get(created + "/edit").status_code == 403
    client = app.test_client()
    login(client, mine)
    page = client.get(created)
    assert "Change the activity" not in page.text and "Kept to time." in page.text


def test_services_refuse_others_and_non_trainees(app, trainee, make_user):
    other = make_user("other@nhs.net")
    coach = make_user("c@nhs.net", role="coach")
    with app.test_request_context():
        owner = db.session.merge(trainee)
        activity = activities.add_activity(owner, values())
        with pytest.raises(DomainError):
            activities.update_activity(activity, db.session.merge(other), values())
        with pytest.raises(DomainError):
            activities.delete_activity(activity, db.session.merge(other))
        with pytest.raises(DomainError):
            activities.add_activity(db.session.merge(coach), values())
        with pytest.raises(DomainErrors):
            activities.add_activity(owner, values(title="", hours=-1.0))
