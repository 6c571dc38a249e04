"""The cohort audit counts people, not cycles (issue 9, point 5): no two selections a programme
lead can reach differ by 1..m-1 trainees, where a trainee counted through one cycle in one
selection and another cycle in the other is a difference too.

The property test draws cohorts of trainees with one to three closed cycles each (some opened by
launches, some closed under other attributes than the trainee has now) and checks, with its own
arithmetic, every pair of sets the audit admitted."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cohort_scoring import HEADS, INSTRUMENT

from feedback360.scoring.cohort import DIMENSIONS, CohortAnalysis, Selection, dimension_key

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

LAUNCHES = (11, 12)
VALUES = {"specialty": ("A", "B", None), "training_year": (1, 2, None), "site": ("X", "Y", None)}
FAMILIES = {"participation": ("participation",), "scores": ("others", "self")}

attributes = st.tuples(*(st.sampled_from(VALUES[d]) for d in DIMENSIONS))
trainee = st.tuples(
    attributes,  # now
    st.lists(st.tuples(st.sampled_from((None, *LAUNCHES)), st.booleans(), st.booleans(),
                       st.booleans(), attributes),  # launch, enough, self, moved, then
             min_size=1, max_size=3, unique_by=lambda c: c[0] or object()))


def cohort(people: list, seed: int) -> dict[str, pd.DataFrame]:
    """Frames as ``cohort_basis`` gives them: each trainee's latest cycle (the last one) and
    every launch cycle; a cycle that is neither is not in scope."""
    rng = np.random.default_rng(seed)
    trainees, cycles, scores, counts = [], [], [], []
    for person, (now, mine) in enumerate(people):
        trainees.append((person, *now))
        for position, (launch, enough, own, moved, then) in enumerate(mine):
            latest = position == len(mine) - 1
            if launch is None and not latest:
                continue
            cycle = len(cycles)
            cycles.append((cycle, person, launch, latest, enough, *(then if moved else now)))
            for level, key, _, _ in HEADS:
                scores.append((cycle, level, key, float(rng.integers(1, 6)) if own else None,
                               round(float(rng.uniform(1, 5)), 2)))
            counts.append((cycle, "peer", 4, 3, 1))
    return {
        "trainees": pd.DataFrame(trainees, columns=["trainee_id", *DIMENSIONS]),
        "cycles": pd.DataFrame(cycles, columns=["cycle_id", "trainee_id", "launch_id", "latest",
                                                "enough", *DIMENSIONS]).astype(
            {"launch_id": "Int64", "latest": bool, "enough": bool}),
        "scores": pd.DataFrame(scores, columns=["cycle_id", "level", "key", "self_score",
                                                "others_mean"]).astype(
            {"self_score": "float64", "others_mean": "float64"}),
        "participation": pd.DataFrame(counts, columns=["cycle_id", "rater_group", "invited",
                                                       "completed", "declined"]),
    }


def analyse(data: dict[str, pd.DataFrame], m: int) -> CohortAnalysis:
    return CohortAnalysis(data["scores"], data["trainees"], data["cycles"], data["participation"],
                          INSTRUMENT, m, launches=LAUNCHES)


def contributions(data: dict[str, pd.DataFrame], kind: str, key) -> dict[int, int]:
    """trainee -> the cycle through which the admitted set ``key`` counts them (our arithmetic:
    the cycle's own attributes, scored = enough responses, self = a self-score too)."""
    choice, values = key
    launch = (None, *LAUNCHES)[choice]
    rows = data["cycles"]
    rows = rows[rows["latest"]] if launch is None else rows[rows["launch_id"] == launch]
    for dimension, value in zip(DIMENSIONS, values, strict=True):
        if value is not None:
            rows = rows[rows[dimension].map(dimension_key) == value]
    if kind != "participation":
        rows = rows[rows["enough"]]
    if kind == "self":
        own = data["scores"].groupby("cycle_id")["self_score"].count() == len(HEADS)
        rows = rows[rows["cycle_id"].map(own).fillna(False).astype(bool)]
    return dict(zip(rows["trainee_id"], rows["cycle_id"], strict=True))


def differing(one: dict[int, int], other: dict[int, int]) -> int:
    return sum(one.get(t) != other.get(t) for t in one.keys() | other.keys())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(trainee, max_size=22), seed=st.integers(0, 2**16),
       m=st.sampled_from([2, 3, 5]))
def test_no_two_admitted_selections_differ_by_fewer_than_m_trainees(people, seed, m):
    data = cohort(people, seed)
    audited = analyse(data, m)
    for kinds in FAMILIES.values():
        sets = [contributions(data, kind, key) for kind in kinds
                for key in sorted(audited.admitted[kind], key=repr)]
        for one in sets:
            assert len(one) >= m
        for one, other in itertools.combinations(sets, 2):
            assert differing(one, other) in (0, *range(m, len(people) + 1))


def second_cycles(movers: int, stayers: int) -> dict[str, pd.DataFrame]:
    """Everyone took part in launch 11; ``movers`` trainees have had a later cycle since."""
    people = [((("A", 1, "X")), [(11, True, True, False, ("A", 1, "X"))] +
               ([(None, True, True, False, ("A", 1, "X"))] if t < movers else []))
              for t in range(movers + stayers)]
    return cohort(people, seed=7)


def test_most_recent_minus_a_launch_cannot_isolate_one_trainees_second_cycle():
    """The attack: the launch's figures and "each trainee's most recent cycle" differ in one
    trainee only, so subtracting one from the other gives that trainee's change. Only one of the
    two is published now."""
    audited = analyse(second_cycles(movers=1, stayers=9), 5)
    latest, launch = audited.report(Selection()), audited.report(Selection(launch_id=11))
    assert latest.scores_shown != launch.scores_shown
    assert latest.publishable != launch.publishable  # participation is one trainee apart too


@pytest.mark.parametrize("movers", [5, 6])
def test_selections_that_differ_by_enough_trainees_are_both_shown(movers):
    audited = analyse(second_cycles(movers=movers, stayers=5), 5)
    assert audited.report(Selection()).scores_shown
    assert audited.report(Selection(launch_id=11)).scores_shown


def test_a_trainee_counted_under_the_site_their_cycle_closed_at():
    """Five trainees closed their cycle at X, then one of them moved to Y: the cell is still the
    five of X (their attributes as at close), not four."""
    people = [(("A", 1, "Y" if t == 0 else "X"), [(None, True, True, True, ("A", 1, "X"))])
              for t in range(5)]
    report = analyse(cohort(people, seed=1), 5).report(Selection(site="X"))
    assert report.scores_shown and report.domains[0].others.n == 5
