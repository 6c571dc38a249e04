"""The development plan (issue 4, point 6): goals the trainee and their coach agree after release,
and suggestions from the lowest-scoring domains and the open entries of the opportunities
catalogue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import audit_events, form_fields
from test_coach_review import (
    assign,
    build_cycle,
    flash_after,
    needs_dashboard,
    post,
    release_as,
    text_of,
)

from feedback360.extensions import db
from feedback360.models import (
    DevelopmentGoal,
    FeedbackCycle,
    LeadershipOpportunity,
    OpportunityElement,
    User,
)
from feedback360.services import DomainError, Forbidden, opportunity_seed, plans
from feedback360.services.plans import NotReleased
from feedback360.services.summaries import report_for


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee")


@pytest.fixture
def coach(app, make_user, trainee):
    user = make_user("cora.coach@nhs.net", role="coach", name="Cora Coach")
    assign(app, user.id, trainee.id)
    return user


@pytest.fixture
def coach_client(app, coach, login):
    client = app.test_client()
    assert login(client, coach).status_code == 302
    return client


@pytest.fixture
def trainee_client(app, trainee, login):
    client = app.test_client()
    assert login(client, trainee).status_code == 302
    return client


@pytest.fixture
def closed_id(app, trainee) -> int:
    return build_cycle(app, trainee.id)


@pytest.fixture
def released_id(closed_id, coach_client) -> int:
    assert release_as(coach_client, closed_id).status_code == 302
    return closed_id


def date_fields(day: date) -> dict[str, str]:
    return {"due_on-day": str(day.day), "due_on-month": str(day.month),
            "due_on-year": str(day.year)}


NEXT_MONTH = date.today() + timedelta(days=30)
GOOD = {"focus": "managing-services/people", "action": "Take on the rota for the next rotation",
        "support": "Rota co-ordinator; FMLM opportunity", "status": "not_started",
        **date_fields(NEXT_MONTH)}


def add_goal(client, cycle_id: int, **changes: str):
    page = f"/cycles/{cycle_id}/goals/new"
    return post(client, page, data={**GOOD, **changes})


def goals(app) -> list[DevelopmentGoal]:
    with app.app_context():
        rows = db.session.scalars(db.select(DevelopmentGoal).order_by(DevelopmentGoal.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


# --- Suggestions ---------------------------------------------------------------------------------

@pytest.fixture
def catalogue(app):
    """The catalogue as `flask seed-opportunities` fills it."""
    with app.app_context():
        opportunity_seed.seed()
        db.session.commit()


def in_domain(app, titles, domain_key: str) -> bool:
    with app.app_context():
        rows = db.session.scalars(db.select(LeadershipOpportunity)
                                  .where(LeadershipOpportunity.title.in_(titles))).all()
        return len(rows) == len(titles) and all(
            domain_key in {e.domain_key for e in row.elements} for row in rows)


def test_suggestions_name_the_lowest_domains_and_open_catalogue_entries(app, closed_id,
                                                                        catalogue):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, closed_id)
        first, second = plans.suggestions(cycle, report_for(cycle))
    assert (first.domain_key, first.mean, first.source) == ("managing-services", 3.0, "all")
    assert first.text.startswith("Managing services is your lowest-rated domain (3.0). "
                                 "Opportunities: ")
    assert len(first.opportunities) == plans.OPPORTUNITIES_PER_DOMAIN
    assert in_domain(app, [o.title for o in first.opportunities], "managing-services")
    # those developing most of the domain's elements first: three of its four
    assert "shadow a clinical director, clinical lead or head of service" in first.text
    assert (second.domain_key, second.mean) == ("improving-services", 3.5)
    assert "next lowest-rated domain (3.5)" in second.text
    assert in_domain(app, [o.title for o in second.opportunities], "improving-services")


def test_suggestions_follow_the_catalogue_as_leads_change_it(app, closed_id, catalogue):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, closed_id)
        shown = plans.suggestions(cycle, report_for(cycle))[0].opportunities
        db.session.get(LeadershipOpportunity, shown[0].id).status = "closed"
        mine = LeadershipOpportunity(title="Run the rota for the rotation", kind="project",
                                     status="open", elements=[
                                         OpportunityElement(element_key=key,
                                                            domain_key="managing-services")
                                         for key in ("planning", "resources", "people",
                                                     "performance")])
        db.session.add(mine)
        db.session.flush()
        now_shown = plans.suggestions(cycle, report_for(cycle))[0].opportunities
    assert shown[0].id not in [o.id for o in now_shown]  # closed: no longer suggested
    assert now_shown[0] == plans.Opportunity(mine.id, "Run the rota for the rotation")


def test_with_an_empty_catalogue_suggestions_name_the_domain_alone(app, closed_id):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, closed_id)
        first = plans.suggestions(cycle, report_for(cycle))[0]
    assert first.opportunities == ()
    assert first.text == "Managing services is your lowest-rated domain (3.0)."


def test_suggestions_fall_back_to_the_self_assessment(app, trainee):
    few = build_cycle(app, trainee.id, raters=["peer"] * 3)
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, few)
        report = report_for(cycle)
        assert not report.enough
        suggestions = plans.suggestions(cycle, report)
    assert [s.source for s in suggestions] == ["self", "self"]
    assert suggestions[0].text.startswith(
        "Demonstrating personal qualities is the domain you rated yourself lowest (4.0).")


@needs_dashboard
def test_dashboard_shows_suggestions_to_the_trainee(app, trainee_client, released_id,
                                                    catalogue):
    page = trainee_client.get(f"/cycles/{released_id}/report")
    text = text_of(page)
    assert "Development plan" in text and "Add a goal" in text
    assert "Managing services is your lowest-rated domain (3.0)." in text
    assert "Shadow a clinical director, clinical lead or head of service" in text
    with app.app_context():
        entry = db.session.scalar(db.select(LeadershipOpportunity.id)
                                  .filter_by(key="shadow-clinical-director"))
    assert f'href="/opportunities/{entry}"' in page.text


# --- Goals ---------------------------------------------------------------------------------------

def test_trainee_adds_a_goal_and_the_coach_edits_it(app, trainee, coach, trainee_client,
                                                    coach_client, released_id):
    form = trainee_client.get(f"/cycles/{released_id}/goals/new")
    assert form.status_code == 200
    assert '<optgroup label="Managing services">' in form.text
    assert 'value="managing-services/people"' in form.text and "Not started" in form.text
    response = add_goal(trainee_client, released_id)
    assert response.status_code == 302
    assert response.location.endswith(f"/cycles/{released_id}/report#development-plan")
    [goal] = goals(app)
    assert (goal.cycle_id, goal.author_id, goal.domain_key, goal.element_key) == (
        released_id, trainee.id, "managing-services", "people")
    assert goal.due_on == NEXT_MONTH and goal.status == "not_started"
    assert goal.support == "Rota co-ordinator; FMLM opportunity"

    edit = f"/cycles/{released_id}/goals/{goal.id}/edit"
    fields = form_fields(coach_client.get(edit), index=1)  # the header's sign-out form is first
    assert fields["focus"] == "managing-services/people" and fields["status"] == "not_started"
    assert fields["action"].strip() == GOOD["action"]
    changed = post(coach_client, edit, data={**fields, "status": "in_progress",
                                             "focus": "managing-services"})
    assert "Goal updated" in flash_after(coach_client, changed)
    [goal] = goals(app)
    assert goal.status == "in_progress" and goal.element_key is None
    assert goal.author_id == trainee.id  # who wrote it stays

    # Both audited; the trainee's words only by their length (the trail is read by leads).
    [(actor, target, added)] = audit_events(app, "goal.added")
    assert (actor, target, added["goal"]) == (trainee.id, f"cycle:{released_id}", goal.id)
    assert added["fields"]["status"] == "not_started" and GOOD["action"] not in str(added)
    assert audit_events(app, "goal.updated") == [(coach.id, f"cycle:{released_id}", {
        "goal": goal.id, "changes": {"element_key": ["people", None],
                                     "status": ["not_started", "in_progress"]}})]
    reworded = post(coach_client, edit, data={**fields, "status": "in_progress",
                                              "focus": "managing-services",
                                              "action": GOOD["action"].upper()})
    assert reworded.status_code == 302
    length = len(GOOD["action"])
    assert audit_events(app, "goal.updated")[1][2]["changes"] == {
        "action_length": [length, length]}


@needs_dashboard
def test_goals_show_on_the_dashboard_for_both(trainee_client, coach_client, released_id):
    add_goal(coach_client, released_id, action="Shadow the clinical director for a day")
    for client in (trainee_client, coach_client):
        text = text_of(client.get(f"/cycles/{released_id}/report"))
        assert "Shadow the clinical director for a day" in text
        assert "Managing services: Managing people" in text or "Managing services" in text


@pytest.mark.parametrize(("changes", "message"), [
    ({"action": "  "}, "Enter what you will do"),
    ({"action": "a" * 1001}, "The action must be 1,000 characters or fewer"),
    ({"support": "s" * 1001}, "The support or opportunity must be 1,000 characters or fewer"),
    ({"focus": ""}, "Select the domain or element this goal develops"),
    ({"focus": "no-such-domain"}, "Select the domain or element this goal develops"),
    ({"focus": "managing-services/teams"}, "Select an element of that domain"),
    ({"status": "abandoned"}, "Select the goal's status"),
    (date_fields(date.today() - timedelta(days=1)), "The due date must be today or in the future"),
    (date_fields(date.today() + timedelta(days=4 * 365)), "The due date must be within 3 years"),
    ({"due_on-day": "31", "due_on-month": "2", "due_on-year": "2030"},
     "Due date must be a real date"),
    ({"due_on-day": "", "due_on-month": "", "due_on-year": ""}, "Enter the due date"),
])
def test_goal_validation_messages(app, trainee_client, released_id, changes, message):
    response = add_goal(trainee_client, released_id, **changes)
    assert response.status_code == 400
    text = text_of(response)
    assert "There is a problem" in text and message in text
    assert goals(app) == []


def test_an_empty_goal_shows_every_problem_at_once(app, trainee_client, released_id):
    response = add_goal(trainee_client, released_id, focus="", action="", **{
        "due_on-day": "", "due_on-month": "", "due_on-year": ""})
    assert response.status_code == 400
    text = text_of(response)
    for message in ("Select the domain or element this goal develops", "Enter what you will do",
                    "Enter the due date"):
        assert text.count(message) == 2, message  # in the summary and at the field
    assert goals(app) == []


def test_goal_due_today_is_accepted(app, trainee_client, released_id):
    assert add_goal(trainee_client, released_id, **date_fields(date.today())).status_code == 302


def test_an_overdue_goal_can_still_be_updated(app, trainee_client, released_id):
    add_goal(trainee_client, released_id)
    [goal] = goals(app)
    with app.app_context():
        db.session.get(DevelopmentGoal, goal.id).due_on = date.today() - timedelta(days=10)
        db.session.commit()
    edit = f"/cycles/{released_id}/goals/{goal.id}/edit"
    fields = form_fields(trainee_client.get(edit), index=1)
    response = post(trainee_client, edit, data={**fields, "status": "achieved"})
    assert response.status_code == 302
    [goal] = goals(app)
    assert goal.status == "achieved" and goal.due_on < date.today()


def test_no_goals_before_release(app, trainee_client, coach_client, closed_id, trainee, coach):
    for client in (trainee_client, coach_client):
        assert client.get(f"/cycles/{closed_id}/goals/new").status_code == 409
        assert add_goal(client, closed_id).status_code == 409
    assert goals(app) == []
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, closed_id)
        with pytest.raises(NotReleased, match="once the coach has released"):
            plans.add_goal(cycle, db.session.get(User, trainee.id), "managing-services", None,
                           "Act", None, NEXT_MONTH)


def test_only_the_trainee_and_an_assigned_coach_may_plan(app, make_user, released_id):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, released_id)
        for email, role in (("other.trainee@nhs.net", "trainee"),
                            ("other.coach@nhs.net", "coach"), ("lead@nhs.net", "admin")):
            user = make_user(email, role=role)
            with pytest.raises(Forbidden):
                plans.add_goal(cycle, user, "managing-services", None, "Act", None, NEXT_MONTH)
        with pytest.raises(DomainError, match="Enter what you will do"):
            plans.add_goal(cycle, cycle.trainee, "managing-services", None, "", None, NEXT_MONTH)


@pytest.fixture
def someones_goal(app, trainee_client, released_id) -> dict[str, int]:
    add_goal(trainee_client, released_id)
    return {"cycle": released_id, "goal": goals(app)[0].id}


PLAN_ROUTES = ["/cycles/{cycle}/goals/new", "/cycles/{cycle}/goals/{goal}/edit"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", PLAN_ROUTES)
@pytest.mark.parametrize(("role", "status"), [("trainee", 404), ("coach", 404), ("admin", 403)])
def test_others_cannot_reach_the_plan(app, make_user, login, someones_goal, role, status,
                                      route, method):
    client = app.test_client()
    login(client, make_user(f"nosy.{role}@nhs.net", role=role))
    path = route.format(**someones_goal)
    if method == "GET":
        response = client.get(path)
    else:
        response = post(client, "/", path, data={**GOOD, "action": "Sabotage"})
    assert response.status_code == status
    assert [g.action for g in goals(app)] == [GOOD["action"]]


def test_a_goal_of_another_cycle_is_not_found(app, trainee, trainee_client, someones_goal,
                                              coach_client):
    other = build_cycle(app, trainee.id, comments=False)
    release_as(coach_client, other)
    response = trainee_client.get(f"/cycles/{other}/goals/{someones_goal['goal']}/edit")
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, someones_goal):
    response = client.get(PLAN_ROUTES[0].format(**someones_goal))
    assert response.status_code == 302 and "/auth/login" in response.location
