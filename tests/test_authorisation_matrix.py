"""Every route, every role, against someone else's objects: the server refuses what it should.

Trainee B owns a released cycle (with invitations, comments and a goal) and is coached by coach X.
Trainee A, coach Y (coaches A only) and the admin must get 403 or 404 on every route that touches
B's objects; visitors are sent to sign in. Positive controls prove the objects are reachable by
the people who should reach them, so a blanket 404 could not pass for security.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import (
    PUBLIC_PREFIXES,
    add_activity,
    add_activity_with_feedback,
    add_placement,
    add_rater_responses,
    csrf_token,
)

from feedback360.extensions import db
from feedback360.instruments import snapshot
from feedback360.models import (
    ActivityFeedbackRequest,
    AffordanceAnswer,
    AffordanceResponse,
    CoachAssignment,
    Cohort,
    Comment,
    DevelopmentGoal,
    Invitation,
    LeadershipOpportunity,
    OpportunityElement,
    Organisation,
    Site,
    User,
)
from feedback360.models.portfolio import TimeReport
from feedback360.quarters import Quarter
from feedback360.services import affordances, board_reports, cohort_launches, cycles, letters

ROLE_HOMES = {"trainee": {"trainee.cycles", "trainee.new_cycle", "opportunities.browse",
                          "opportunities.propose", "opportunities.proposals",
                          "workplace.placements_page", "workplace.new_placement",
                          "workplace.answer", "portfolio.mine", "letters.mine",
                          "evidence.pack"},
              "coach": {"coach.trainees", "opportunities.browse"},
              "admin": {"admin.users", "admin.invite_user", "home.admin_home", "admin.cohorts",
                        "admin.new_cohort", "admin.import_users", "admin.confirm_import",
                        "admin.audit_trail", "admin.audit_download",
                        "admin.subject_access_request", "admin.erasure_request",
                        "admin.erase_person", "opportunity_admin.catalogue",
                        "opportunity_admin.seed_examples", "opportunity_admin.new",
                        "admin.organisations", "admin.new_organisation",
                        "champion_admin.champions"},
              # Their own organisation's pages: no route names an organisation.
              "champion": {"champion.home", "champion.tracker", "champion.criterion",
                           "champion_board.reports", "champion_board.report",
                           "champion_board.commentary", "champion_board.reproduce",
                           "champion_board.pdf", "champion_board.csv"}}
ROLE_HOMES["trainee"] |= {"activities.index", "activities.new_activity", "time_reports.index",
                          "time_reports.new_report"}
ROLE_HOMES["admin"] |= {"time_reports.aggregate", "time_reports.download"}
# A signed-in person's own account, whatever their role (password, second factor).
EVERY_ROLE = {"account.change_password", "two_factor.manage"}
# Routes taking objects that programme leads manage (B's account, a cohort, B's coach
# assignment, a cohort launch): the admin reaches them, everybody else still gets 403.
ADMIN_MANAGED = {"admin.resend_activation", "admin.user", "admin.edit_user",
                 "admin.deactivate_user", "admin.reactivate_user", "admin.sign_out_user",
                 "admin.reset_two_factor",
                 "admin.cohort", "admin.edit_cohort",
                 "admin.archive_cohort", "admin.unarchive_cohort", "admin.assign_cohort_coach",
                 "admin.trainee_coaches", "admin.remove_assignment", "cohort.launch",
                 "cohort.launches", "cohort.progress", "cohort.add_to_launch", "cohort.remind",
                 "cohort_reports.report", "admin.trainee_cycles",
                 "admin.cycle_attributes_at_close",
                 "cohort_reports.download",
                 # the opportunities catalogue: B's proposal is the lead's to review
                 "opportunity_admin.entry", "opportunity_admin.edit",
                 "opportunity_admin.open_entry", "opportunity_admin.close_entry",
                 "opportunity_admin.approve", "opportunity_admin.decline",
                 "opportunity_admin.interest_csv",
                 "admin.organisation", "admin.edit_organisation", "admin.delete_organisation",
                 "admin.new_site", "admin.edit_site", "admin.delete_site",
                 "admin.trainee_placements", "admin.new_trainee_placement",
                 "admin.edit_trainee_placement",
                 # B's letters of achievement (a lead reaching B may issue, read and revoke)
                 "letters.for_trainee", "letters.issue", "letters.download", "letters.revoke"}
# Routes on a programme lead's own account (their programmes): B is a trainee, so 404 for the
# admin too. A lead limited to programmes is walked over every route in test_lead_scope.py.
LEAD_ACCOUNT = {"admin.user_programmes"}


@pytest.fixture
def world(app, make_user, make_cohort):
    """B's released cycle and its objects, and a cohort launched by the admin (for trainee C);
    returns the ids that fill the URL rules."""
    cohort = make_cohort("World cohort")
    make_user("c@nhs.net", name="Cy Sea", cohort=cohort)
    trainee_b = make_user("b@nhs.net", name="Bea Bee", cohort=make_cohort("B's intake"))
    trainee_a = make_user("a@nhs.net", name="Ann Aye")
    coach_x = make_user("x@nhs.net", role="coach", name="Xan Coach")
    coach_y = make_user("y@nhs.net", role="coach", name="Yas Coach")
    admin = make_user("admin@nhs.net", role="admin", name="Ada Admin")
    with app.app_context():
        organisation = Organisation(name="World Trust", sites=[Site(name="World Hospital")])
        db.session.add(organisation)
        db.session.commit()
        organisation_id = organisation.id
    champion = make_user("champ@nhs.net", role="champion", name="Cham Pion",
                         organisation_id=organisation_id)
    quarter = Quarter.containing(date.today())
    with app.test_request_context():
        board_reports.produce(db.session.get(Organisation, organisation_id), quarter,
                              by=db.session.get(User, champion.id), today=date.today())
        launch = cohort_launches.launch_for_cohort(
            db.session.get(Cohort, cohort.id), instrument_key="clcf", title="World launch",
            closes_on=date.today() + timedelta(days=30), launched_by=db.session.get(User, admin.id))
        assignment_b = CoachAssignment(coach_id=coach_x.id, trainee_id=trainee_b.id)
        db.session.add_all([assignment_b,
                            CoachAssignment(coach_id=coach_y.id, trainee_id=trainee_a.id)])
        owner = db.session.get(User, trainee_b.id)
        cycle = cycles.create_cycle(owner, instrument_key="clcf", title="B's cycle",
                                    closes_on=date.today() + timedelta(days=30))
        groups = ["supervisor", "senior", *["peer"] * 10]
        for number, group in enumerate(groups):
            cycles.nominate(cycle, name=f"Rater {number}", email=f"r{number}@nhs.net",
                            group=group)
        cycles.launch(cycle)
        add_rater_responses(cycle, groups,
                            [f"Comment {number}" for number in range(len(groups))])
        cycles.close_cycle(cycle, by=None)
        cycle.status, cycle.released_at, cycle.released_by_id = \
            "released", datetime.now(UTC), coach_x.id
        goal = DevelopmentGoal(cycle_id=cycle.id, author_id=trainee_b.id,
                               domain_key="managing-services", action="Chair a meeting")
        # B's proposal for the catalogue: B and the leads reach it, nobody else yet
        proposal = LeadershipOpportunity(
            title="Shadow the ward manager", kind="shadowing", description="A day.",
            how_to_join="Ask.", status="proposed", proposed_by_id=trainee_b.id,
            elements=[OpportunityElement(element_key="people", domain_key="managing-services")])
        db.session.add_all([goal, proposal])
        # B's placement and B's answers about it (not shared: coach X cannot read them either).
        placement = add_placement(trainee_b.id, date.today() - timedelta(days=90))
        answers = AffordanceResponse(
            trainee_id=trainee_b.id, placement_id=placement.id,
            instrument_version_id=snapshot(affordances.questionnaire()).id, comment="Frank",
            answers=[AffordanceAnswer(item_key="role-models", score=2)])
        db.session.add(answers)
        activity = add_activity(trainee_b.id)
        feedback_request = ActivityFeedbackRequest(
            activity=activity, observer_name="Olu Observer", observer_email="olu@nhs.net",
            element_keys=["teams"], token_nonce="0" * 32, status="sent")
        db.session.add(feedback_request)
        chairing = add_activity_with_feedback(trainee_b.id, "B's chairing")
        letter = letters.issue(owner, activity_ids=[chairing.id], title="B's letter",
                               citation="For chairing", by=db.session.get(User, coach_x.id))
        time_report = TimeReport(trainee_id=trainee_b.id, kind="unavailable", reason="rota",
                                 occurred_on=date.today(), description="Lost a half day")
        db.session.add(time_report)
        db.session.commit()
        comment = db.session.scalars(db.select(Comment)).first()
        invitation = db.session.scalars(db.select(Invitation)).first()
        return {"cycle_id": cycle.id, "invitation_id": invitation.id, "goal_id": goal.id,
                "handle": comment.handle,
                "user_id": trainee_b.id, "page": 1, "n": 1, "token": "not-a-token",
                "filename": "app.css", "cohort_id": cohort.id, "launch_id": launch.id,
                "assignment_id": assignment_b.id, "opportunity_id": proposal.id,
                "placement_id": placement.id,
                "response_id": answers.id, "organisation_id": placement.site.organisation_id,
                "site_id": placement.site_id, "activity_id": activity.id,
                "feedback_request_id": feedback_request.id, "letter_id": letter.id,
                "code": letter.verification_code,
                "key": "time-self-development", "year": quarter.year, "quarter": quarter.number,
                "report_id": time_report.id}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def request(client, rule, method, values):
    url = rule.build(values, append_unknown=False)[1]
    if method == "GET":
        return client.get(url)
    token = csrf_token(client.get("/auth/login" if not client.signed_in else "/",
                                  follow_redirects=True))
    return client.post(url, data={"csrf_token": token})


def client_for(app, login, email: str | None):
    client = app.test_client()
    client.signed_in = email is not None
    if email:
        assert login(client, email).status_code == 302
    return client


@pytest.mark.parametrize("who", [None, "a@nhs.net", "y@nhs.net", "admin@nhs.net",
                                 "champ@nhs.net"])
def test_nobody_else_reaches_trainee_bs_objects(app, world, login, who):
    client = client_for(app, login, who)
    role = {None: None, "a@nhs.net": "trainee", "y@nhs.net": "coach",
            "admin@nhs.net": "admin", "champ@nhs.net": "champion"}[who]
    checked = 0
    for rule, method in routes(app):
        if rule.rule.startswith(PUBLIC_PREFIXES) or rule.rule == "/":
            continue
        response = request(client, rule, method, world)
        where = f"{method} {rule.rule} as {role or 'visitor'}"
        takes_object = bool(rule.arguments)
        if role is None:
            assert response.status_code == 302 and "/auth/login" in response.location, where
        elif role == "admin" and rule.endpoint in LEAD_ACCOUNT:
            assert response.status_code == 404, f"{where}: {response.status_code}"
        elif takes_object and not (role == "admin" and rule.endpoint in ADMIN_MANAGED) and not (
                role == "champion" and rule.endpoint in ROLE_HOMES["champion"]):
            assert response.status_code in (403, 404), f"{where}: {response.status_code}"
        elif rule.endpoint in ROLE_HOMES[role] | EVERY_ROLE or (
                role == "admin" and rule.endpoint in ADMIN_MANAGED):
            assert response.status_code < 500 and response.status_code not in (403, 404), where
        else:
            assert response.status_code == 403, f"{where}: {response.status_code}"
        checked += 1
    assert checked > 25


@pytest.mark.parametrize(("who", "path"), [
    ("b@nhs.net", "/cycles/{cycle_id}"),
    ("b@nhs.net", "/cycles/{cycle_id}/report"),
    ("b@nhs.net", "/cycles/{cycle_id}/goals/{goal_id}/edit"),
    ("x@nhs.net", "/cycles/{cycle_id}/report"),
    ("x@nhs.net", "/cycles/{cycle_id}/goals/{goal_id}/edit"),
    ("x@nhs.net", "/coach/cycles/{cycle_id}/comments/{handle}/hide"),
    ("x@nhs.net", "/coach/cycles/{cycle_id}/nominees"),
    ("b@nhs.net", "/portfolio"),
    ("x@nhs.net", "/coach/trainees/{user_id}/portfolio"),
    ("admin@nhs.net", "/cohorts/{cohort_id}/report"),
    ("b@nhs.net", "/opportunities/{opportunity_id}"),
    ("admin@nhs.net", "/admin/opportunities/{opportunity_id}"),
    ("b@nhs.net", "/portfolio/affordances/{response_id}"),
    ("b@nhs.net", "/portfolio/placements/{placement_id}/edit"),
    ("admin@nhs.net", "/admin/users/{user_id}/placements/{placement_id}/edit"),
    ("admin@nhs.net", "/admin/organisations/{organisation_id}"),
    ("b@nhs.net", "/activities/{activity_id}/written-feedback"),
    ("b@nhs.net", "/activities/{activity_id}/written-feedback/new"),
    ("x@nhs.net", "/activities/{activity_id}/written-feedback"),
    ("b@nhs.net", "/letters/{letter_id}/letter.pdf"),
    ("x@nhs.net", "/trainees/{user_id}/letters/new"),
    ("x@nhs.net", "/letters/{letter_id}/revoke"),
    ("champ@nhs.net", "/champion/commitment/{key}"),
    ("champ@nhs.net", "/champion/board/{year}/{quarter}"),
    ("b@nhs.net", "/portfolio/activities/{activity_id}"),
    ("b@nhs.net", "/portfolio/activities/{activity_id}/edit"),
    ("b@nhs.net", "/portfolio/activities/{activity_id}/delete"),
    ("b@nhs.net", "/portfolio/time/{report_id}/edit"),
    ("b@nhs.net", "/portfolio/time/{report_id}/delete"),
    ("x@nhs.net", "/portfolio/activities/{activity_id}"),
    ("x@nhs.net", "/coach/trainees/{user_id}/activities"),
    ("x@nhs.net", "/coach/trainees/{user_id}/time"),
    ("admin@nhs.net", "/admin/time-reports"),
])
def test_the_right_people_do_reach_them(app, world, login, who, path):
    client = client_for(app, login, who)
    assert client.get(path.format(**world)).status_code == 200


def test_public_routes_never_fail_on_nonsense(app, world, client):
    for rule, method in routes(app):
        if not rule.rule.startswith(PUBLIC_PREFIXES) or rule.endpoint == "static":
            continue
        client.signed_in = False
        response = request(client, rule, method, world)
        assert response.status_code < 500, f"{method} {rule.rule}: {response.status_code}"
