"""The figures beside the tracker: counted for the organisation's trainees in a quarter, and
never about fewer than COHORT_MIN_TRAINEES trainees, alone or by differencing."""

from __future__ import annotations

from datetime import date

import pytest
from champion_helpers import activity, champion_world, make_organisation, place, time_lost
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback360.extensions import db
from feedback360.models import Site
from feedback360.quarters import Quarter
from feedback360.services import DomainError
from feedback360.services.commitment_figures import compute

Q2 = Quarter(2026, 2)


@pytest.fixture
def world(app, make_user):
    return champion_world(app, make_user, trainees=6)


def _values(figures) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    return {f.key: f.value for f in (*figures.figures, *figures.reasons)}


def test_counts_the_organisations_trainees_in_the_quarter(app, world, make_user):
    outsider = make_user("elsewhere@nhs.net").id
    with app.app_context():
        _, (other_site,) = make_organisation("Another Trust", ("Far Hospital",))
        place(outsider, other_site)
        for trainee in [*world.trainee_ids, outsider]:
            activity(trainee, kind="education", category="course", title="Course", hours=2)
            activity(trainee, category="shadowing", title="Shadowed the medical director")
            activity(trainee, on=date(2026, 7, 1))  # the next quarter
        db.session.commit()
        figures = compute(world.organisation_id, Q2)
    assert figures.trainees == 6
    values = _values(figures)
    assert values["education_logged"] == 6 and values["education_hours"] == 12
    assert values["shadowing"] == 6 and values["portfolio_activities"] == 12
    assert values["letters_issued"] == 0  # nobody: shown as zero


def test_a_figure_about_fewer_than_k_trainees_is_not_shown(app, world):
    with app.app_context():
        for trainee in world.trainee_ids[:4]:
            activity(trainee, category="shadowing")
        db.session.commit()
        figures = compute(world.organisation_id, Q2)
    assert _values(figures)["shadowing"] is None
    assert next(f for f in figures.figures if f.key == "shadowing").trainees is None


def test_a_reason_cannot_be_worked_out_from_the_total(app, make_user):
    world = champion_world(app, make_user, trainees=12)
    with app.app_context():
        for trainee in world.trainee_ids[:10]:
            time_lost(trainee, "rota")
        time_lost(world.trainee_ids[10], "leave_refused")
        db.session.commit()
        values = _values(compute(world.organisation_id, Q2))
    assert values["reason_leave_refused"] is None
    # 11 trainees lost time, 10 to the rota: showing both would give away the eleventh.
    assert values["time_unavailable"] is None or values["reason_rota"] is None


def test_an_organisation_with_too_few_trainees_shows_no_figures(app, make_user):
    world = champion_world(app, make_user, trainees=3)
    with app.app_context():
        figures = compute(world.organisation_id, Q2)
    assert figures.trainees is None and figures.figures == ()


def test_two_quarters_count_disjoint_events_so_differencing_isolates_nobody(app, world,
                                                                            make_user):
    """The attack: add one trainee's activity in the next quarter and compare. Periods are
    whole quarters, so the earlier quarter cannot change, and the later one shows nothing
    about a single trainee."""
    with app.app_context():
        for trainee in world.trainee_ids:
            activity(trainee, kind="education", category="course", title="Course")
        db.session.commit()
        before = compute(world.organisation_id, Q2)
        activity(world.trainee_ids[0], on=date(2026, 7, 3), kind="education",
                 category="course", title="Course")
        db.session.commit()
        assert compute(world.organisation_id, Q2) == before
        assert _values(compute(world.organisation_id, Quarter(2026, 3)))[
            "education_logged"] is None


@pytest.mark.parametrize("text", ["", "2026", "2026-Q5", "2026-Q0", "1999-Q1", "26-Q1",
                                  "2026-01-01", "2026-Q1x"])
def test_only_whole_quarters_are_periods(text):
    with pytest.raises(DomainError):
        Quarter.parse(text)


def test_quarters_and_their_trend():
    assert (Q2.starts_on, Q2.ends_on) == (date(2026, 4, 1), date(2026, 6, 30))
    assert [q.value for q in Quarter(2026, 1).trend()] == [
        "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert Quarter.parse("2026-q4") == Quarter(2026, 4)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["rota", "service_pressure", None]),
                          st.booleans()), min_size=5, max_size=11))
def test_no_shown_figure_or_difference_of_two_is_about_fewer_than_k(app, people):
    """Property: for any trainees' mix of shadowing, lost time and education, each shown figure
    has at least k trainees, and any two shown figures' trainees (as sets) are equal or differ
    by at least k."""
    k = app.config["COHORT_MIN_TRAINEES"]
    from feedback360.models import User

    with app.app_context():
        _, sites = make_organisation(f"Trust {id(people)}-{len(people)}", ("A",))
        who: dict[str, set[int]] = {}
        for n, (shadowed, reason, educated) in enumerate(people):
            trainee = User(email=f"p{id(people)}-{n}@nhs.net", name=f"P {n}", role="trainee",
                           active=True, session_nonce="x" * 32)
            db.session.add(trainee)
            db.session.flush()
            place(trainee.id, db.session.get(Site, sites[0].id))
            if shadowed:
                activity(trainee.id, category="shadowing")
                who.setdefault("shadowing", set()).add(trainee.id)
            if reason:
                time_lost(trainee.id, reason)
                who.setdefault(f"reason_{reason}", set()).add(trainee.id)
                who.setdefault("time_unavailable", set()).add(trainee.id)
            if educated:
                activity(trainee.id, kind="education", category="course")
                who.setdefault("education_logged", set()).add(trainee.id)
            who.setdefault("all", set()).add(trainee.id)
            if shadowed or educated:
                who.setdefault("portfolio_activities", set()).add(trainee.id)
        db.session.flush()
        figures = compute(sites[0].organisation_id, Q2)
        db.session.rollback()
    shown = [key for key, value in _values(figures).items() if value and key in who]
    if figures.trainees is not None:
        shown.append("all")
    for key in shown:
        assert len(who[key]) >= k, key
        for other in shown:
            gap = len(who[key] ^ who[other])
            assert gap == 0 or gap >= k, (key, other)
