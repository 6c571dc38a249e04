"""The trainee's leadership portfolio (issue 13, point 6): counts by CLCF domain, the latest
released 360 beside them, the gap rule and the catalogue opportunities it offers, the trainee
home's card, and who may see it (the trainee, and their assigned coach read-only)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import audit_events, text_of

from feedback360.extensions import db
from feedback360.models import (
    Activity,
    ActivityElement,
    ActivityFeedbackRequest,
    CoachAssignment,
    CycleScore,
    CycleSummary,
    LeadershipOpportunity,
    Letter,
    OpportunityElement,
    TimeReport,
    User,
)
from feedback360.services import cycles, portfolio_summary
from feedback360.services.clcf_framework import elements_by_key

DOMAINS = ("personal-qualities", "working-with-others", "managing-services",
           "improving-services", "setting-direction")
# Colleagues' means: managing services is lowest, setting direction below the midpoint (3).
MEANS = {"personal-qualities": 4.2, "working-with-others": 4.0, "managing-services": 2.4,
         "improving-services": 3.6, "setting-direction": 2.9}


def element_of(domain_key: str, index: int = 0) -> str:
    return [e.key for e in elements_by_key().values() if e.domain_key == domain_key][index]


def released_cycle(trainee_id: int, means: dict[str, float | None], *, enough: bool = True,
                   status: str = "released", title: str = "Spring 360"):
    """A closed cycle whose stored summary has exactly these domain rows (self one point up)."""
    cycle = cycles.create_cycle(db.session.get(User, trainee_id), instrument_key="clcf",
                                title=title, closes_on=date.today() + timedelta(days=1))
    cycle.status = status
    cycle.opened_at = datetime.now(UTC) - timedelta(days=30)
    cycle.closed_at = datetime.now(UTC) - timedelta(days=3)
    if status == "released":
        cycle.released_at = datetime.now(UTC) - timedelta(days=1)
        cycle.released_by_id = trainee_id  # any account will do here
    db.session.add(CycleSummary(cycle_id=cycle.id, report={}, enough_responses=enough,
                                response_count=12 if enough else 3))
    db.session.add_all(CycleScore(cycle_id=cycle.id, level="domain", key=key,
                                  self_score=None if mean is None else min(mean + 1, 5),
                                  others_mean=mean, others_n=12 if mean is not None else 0)
                       for key, mean in means.items())
    db.session.flush()
    return cycle


def activity(trainee_id: int, kind: str, element_keys: list[str], *, hours: float | None = 2,
             title: str | None = None, feedback: tuple[str, ...] = ()) -> Activity:
    row = Activity(trainee_id=trainee_id, kind=kind,
                   category="committee" if kind == "doing" else "course",
                   title=title or f"{kind} {secrets.token_hex(3)}", started_on=date(2026, 3, 2),
                   hours=hours)
    row.elements = [ActivityElement(element_key=key, domain_key=elements_by_key()[key].domain_key)
                    for key in element_keys]
    row.feedback_requests = [
        ActivityFeedbackRequest(observer_name="Dr Observer", observer_email="obs@nhs.net",
                                token_nonce=secrets.token_hex(8), status=status,
                                given_at=datetime.now(UTC) if status == "given" else None)
        for status in feedback]
    db.session.add(row)
    db.session.flush()
    return row


def opportunity(title: str, domain_key: str, status: str = "open", proposer: int | None = None):
    row = LeadershipOpportunity(title=title, kind="committee", status=status,
                                proposed_by_id=proposer)
    row.elements = [OpportunityElement(element_key=element_of(domain_key), domain_key=domain_key)]
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def trainee(make_user):
    return make_user("trainee@nhs.net", name="Tia Trainee")


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def gaps_of(trainee_id: int) -> list[str]:
    return [d.key for d in portfolio_summary.summary_for(db.session.get(User, trainee_id)).gaps]


# --- The gap rule ------------------------------------------------------------------------------

@pytest.mark.parametrize(("doing_in", "education_in", "expected"), [
    # nothing done: the lowest domain and the one below the midpoint are both gaps
    ({}, {}, ["managing-services", "setting-direction"]),
    # one activity is still little; two are not
    ({"managing-services": 1}, {}, ["managing-services", "setting-direction"]),
    ({"managing-services": 2, "setting-direction": 2}, {}, []),
    # education beside doing does not replace it
    ({}, {"managing-services": 3}, ["managing-services", "setting-direction"]),
    # a domain rated well is never a gap, however little was done in it
    ({"managing-services": 2}, {}, ["setting-direction"]),
])
def test_gap_is_a_low_rated_domain_with_little_done(app, ctx, trainee, doing_in, education_in,
                                                    expected):
    released_cycle(trainee.id, MEANS)
    for kind, where in (("doing", doing_in), ("education", education_in)):
        for domain_key, n in where.items():
            for _ in range(n):
                activity(trainee.id, kind, [element_of(domain_key)])
    assert gaps_of(trainee.id) == expected


def test_lowest_domain_is_low_even_above_the_midpoint(app, ctx, trainee):
    released_cycle(trainee.id, {**MEANS, "managing-services": 3.5, "setting-direction": 3.8})
    assert gaps_of(trainee.id) == ["managing-services"]


@pytest.mark.parametrize("case", ["none", "closed_not_released", "too_few_answers",
                                  "suppressed"])
def test_no_gap_without_scores_the_released_report_shows(app, ctx, trainee, case):
    if case == "closed_not_released":
        released_cycle(trainee.id, MEANS, status="closed")
    elif case == "too_few_answers":
        released_cycle(trainee.id, MEANS, enough=False)
    elif case == "suppressed":
        released_cycle(trainee.id, dict.fromkeys(MEANS))
    summary = portfolio_summary.summary_for(db.session.get(User, trainee.id))
    assert summary.gaps == []
    assert all(d.others_mean is None for d in summary.domains)


def test_a_cycle_released_before_summaries_were_stored_gets_one(app, ctx, trainee):
    cycle = released_cycle(trainee.id, MEANS)
    db.session.execute(db.delete(CycleScore).where(CycleScore.cycle_id == cycle.id))
    db.session.execute(db.delete(CycleSummary).where(CycleSummary.cycle_id == cycle.id))
    summary = portfolio_summary.summary_for(db.session.get(User, trainee.id))
    assert not summary.scores_shown  # no colleague answered this one
    assert db.session.get(CycleSummary, cycle.id) is not None


def test_the_latest_released_cycle_counts(app, ctx, trainee):
    older = released_cycle(trainee.id, MEANS, title="Old")
    older.released_at = datetime.now(UTC) - timedelta(days=300)
    released_cycle(trainee.id, {**MEANS, "managing-services": 4.5, "setting-direction": 4.4},
                   title="New")
    summary = portfolio_summary.summary_for(db.session.get(User, trainee.id))
    assert summary.released_cycle.title == "New"
    assert [d.key for d in summary.gaps] == ["improving-services"]


def test_gap_offers_open_opportunities_of_that_domain_only(app, ctx, trainee):
    released_cycle(trainee.id, {**MEANS, "setting-direction": 3.9})
    opportunity("Join the rota planning group", "managing-services")
    opportunity("Observe the budget meeting", "managing-services")
    opportunity("Closed panel", "managing-services", status="closed")
    opportunity("Trainee's idea", "managing-services", status="proposed", proposer=trainee.id)
    opportunity("Lead a QI project", "improving-services")
    summary = portfolio_summary.summary_for(db.session.get(User, trainee.id))
    (gap,) = summary.gaps
    assert [o.title for o in gap.opportunities] == ["Join the rota planning group",
                                                    "Observe the budget meeting"]


# --- Counting ----------------------------------------------------------------------------------

def test_counts_by_domain_and_totals(app, ctx, trainee, make_user):
    managing = [element_of("managing-services", 0), element_of("managing-services", 1)]
    # two elements of one domain count the activity once there
    activity(trainee.id, "doing", [*managing, element_of("working-with-others")], hours=3,
             feedback=("given", "given", "sent", "declined"))
    activity(trainee.id, "doing", [element_of("managing-services")], hours=None,
             feedback=("opened",))
    activity(trainee.id, "education", [element_of("managing-services")], hours=1.5)
    other = make_user("other@nhs.net")
    activity(other.id, "doing", managing, hours=40, feedback=("given",))
    db.session.add_all([
        TimeReport(trainee_id=trainee.id, kind="used", occurred_on=date(2026, 3, 1), hours=4),
        TimeReport(trainee_id=trainee.id, kind="used", occurred_on=date(2026, 3, 8), hours=2.5),
        TimeReport(trainee_id=trainee.id, kind="unavailable", occurred_on=date(2026, 3, 15),
                   reason="rota"),
        Letter(trainee_id=trainee.id, issuer_name="Dr Coach", verification_code="ABCD-EFGH-JK",
               title="Letter", content={}),
        Letter(trainee_id=trainee.id, issuer_name="Dr Coach", verification_code="ABCD-EFGH-JM",
               title="Revoked", content={}, issued_at=datetime.now(UTC) - timedelta(days=2),
               revoked_at=datetime.now(UTC)),
    ])
    db.session.flush()
    summary = portfolio_summary.summary_for(db.session.get(User, trainee.id))
    by_key = {d.key: d for d in summary.domains}
    assert (by_key["managing-services"].doing, by_key["managing-services"].education,
            by_key["managing-services"].hours, by_key["managing-services"].feedback_given) \
        == (2, 1, 4.5, 2)
    assert (by_key["working-with-others"].doing, by_key["working-with-others"].hours) == (1, 3)
    assert by_key["setting-direction"].doing == 0
    assert summary.totals == portfolio_summary.Totals(
        doing=2, education=1, doing_hours=3, education_hours=1.5, feedback_given=2,
        feedback_waiting=2, time_used_hours=6.5, time_unavailable=1, letters=1)
    assert summary.released_cycle is None and summary.gaps == []


def test_queries_do_not_grow_with_activities(app, ctx, trainee):
    released_cycle(trainee.id, MEANS)
    opportunity("Join the rota planning group", "managing-services")

    def statements() -> int:
        count = 0

        def counter(*_args):  # type: ignore[no-untyped-def]
            nonlocal count
            count += 1
        engine = db.engine
        db.event.listen(engine, "before_cursor_execute", counter)
        try:
            db.session.expire_all()
            portfolio_summary.summary_for(db.session.get(User, trainee.id))
        finally:
            db.event.remove(engine, "before_cursor_execute", counter)
        return count

    activity(trainee.id, "doing", [element_of("personal-qualities")], feedback=("given",))
    statements()  # the instrument's definition is cached after the first
    few = statements()
    # in the well-rated domains, so the gaps (one query each for opportunities) stay the same
    for number in range(30):
        activity(trainee.id, "doing" if number % 3 else "education",
                 [element_of(DOMAINS[number % 2], number % 4), element_of("improving-services")],
                 feedback=("given", "sent"))
    assert statements() == few


# --- Pages -------------------------------------------------------------------------------------

@pytest.fixture
def world(app, trainee, make_user):
    coach = make_user("coach@nhs.net", role="coach", name="Cal Coach")
    make_user("other.coach@nhs.net", role="coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        released_cycle(trainee.id, MEANS)
        activity(trainee.id, "doing", [element_of("managing-services")],
                 title="Chaired the departmental audit meeting", feedback=("given",))
        activity(trainee.id, "education", [element_of("setting-direction")],
                 title="Read The King's Fund on system leadership")
        opportunity("Sit on a band 6 interview panel", "managing-services")
        db.session.commit()
    return trainee


def test_trainee_page_shows_counts_scores_and_the_gap_in_words(app, client, login, world):
    login(client, "trainee@nhs.net")
    page = client.get("/portfolio")
    assert page.status_code == 200
    text = text_of(page)
    assert "You have logged 1 leadership activity in Managing services" in text
    assert ("colleagues rated you 2.4 out of 5 in it (your lowest domain, and below the middle "
            "of the scale)") in text
    assert "Sit on a band 6 interview panel" in text
    assert "2.9 out of 5 in it (below the middle of the scale)" in text  # setting direction
    assert "Chaired the departmental audit meeting" in text
    assert "Spring 360" in text and "4.2" in text and "5.0" not in text.split("By leadership")[0]
    # other parts' pages are linked only once this app serves them, never as a dead link
    html = page.get_data(as_text=True)
    served = {rule.rule for rule in app.url_map.iter_rules()}
    for path in ("/portfolio/activities", "/portfolio/time", "/opportunities"):
        linked = f'href="{path}"' in html or f'href="{path}/"' in html
        assert linked == (path in served or f"{path}/" in served), path


def test_new_trainee_sees_an_empty_state(app, client, login, make_user):
    make_user("new@nhs.net")
    login(client, "new@nhs.net")
    text = text_of(client.get("/portfolio"))
    assert "Your portfolio is empty for now" in text
    assert "By leadership domain" not in text
    assert "Where to do more" not in text


def test_home_card_and_navigation(app, client, login, world):
    login(client, "trainee@nhs.net")
    page = client.get("/cycles/")
    text = text_of(page)
    assert "My leadership portfolio" in text
    assert "Managing services" in text and "Go to my portfolio" in text
    assert 'href="/portfolio"' in page.get_data(as_text=True)


def test_assigned_coach_reads_the_same_page(app, client, login, world):
    login(client, "coach@nhs.net")
    assert f"/coach/trainees/{world.id}/portfolio" in client.get(
        "/coach/trainees").get_data(as_text=True)
    page = client.get(f"/coach/trainees/{world.id}/portfolio")
    assert page.status_code == 200
    text = text_of(page)
    assert "Tia Trainee" in text
    assert "They have logged 1 leadership activity in Managing services" in text
    assert "<form" not in page.get_data(as_text=True).split("<main")[1]
    assert [target for _actor, target, _detail in audit_events(app, "portfolio.viewed")] \
        == [f"user:{world.id}"]


@pytest.mark.parametrize(("who", "path", "status"), [
    ("other.coach@nhs.net", "/coach/trainees/{id}/portfolio", 404),
    ("coach@nhs.net", "/coach/trainees/{coach_id}/portfolio", 404),
    ("coach@nhs.net", "/coach/trainees/999999/portfolio", 404),
    ("trainee@nhs.net", "/coach/trainees/{id}/portfolio", 403),
    ("coach@nhs.net", "/portfolio", 403),
])
def test_nobody_else_sees_it(app, client, login, world, who, path, status):
    with app.app_context():
        coach_id = db.session.scalar(db.select(User.id).where(User.email == "coach@nhs.net"))
    login(client, who)
    assert client.get(path.format(id=world.id, coach_id=coach_id)).status_code == status
