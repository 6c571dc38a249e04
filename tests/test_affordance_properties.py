"""Property tests for the affordance breakdowns' disclosure control (issue 14, point 7).

For random cohorts (sites, departments, specialties, answers with "does not apply", activities,
pairs of cycles) the figures ``scoring.affordances`` and ``scoring.affordance_change`` show are
checked with this file's own arithmetic, over *contributions* (a trainee's latest answer, a
trainee's current placement): every shown figure describes at least k trainees; no hidden set of
1..k-1 trainees, and no difference of two reachable sets, lies in the span of the shown sets
(nothing small is derivable from the shown cells and totals); a shown total less its shown cells
is empty or has k or more trainees (complementary suppression); and no two shown sets differ by
1..k-1 trainees, counting a trainee reached through different contributions as a difference.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback360.scoring.affordance_change import GROUPS, build_change, t_quantile
from feedback360.scoring.affordances import OVERALL, Item, Scale, build_figures

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ITEMS = (Item("leadership", "Leadership"), Item("supervisor", "Supervisor"),
         Item("time", "Protected time"))
SCALE = Scale(1, 5)
PROPERTY = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
DIMENSIONS = ("site", "unit", "specialty")

place = st.tuples(st.sampled_from("AB"), st.sampled_from("XY"),
                  st.sampled_from(("S", "T", None)))
answers = st.tuples(*(st.sampled_from((None, 1, 2, 3, 4, 5, 5)) for _ in ITEMS))
trainee = st.tuples(place, st.one_of(st.none(), answers),  # None: never answered
                    st.one_of(st.none(), st.tuples(place, st.integers(0, 3))))


def frames(people: list) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    responses, rows, activities = [], [], []
    for t, ((site, department, specialty), scores, current) in enumerate(people):
        if scores is not None:
            responses.append((t, 100 + t, site, f"{site}:{department}", specialty))
            rows += [(100 + t, item.key, np.nan if s is None else float(s))
                     for item, s in zip(ITEMS, scores, strict=True)]
        if current is not None:
            (site, department, specialty), logged = current
            activities.append((t, site, f"{site}:{department}", specialty, logged))
    return (pd.DataFrame(responses, columns=["trainee_id", "response_id", *DIMENSIONS]),
            pd.DataFrame(rows, columns=["response_id", "item", "score"]),
            pd.DataFrame(activities, columns=["trainee_id", *DIMENSIONS, "activities"]))


def attributes(people: list, kind: str) -> dict[int, tuple[str, str, str | None]]:
    """Per trainee, the attributes of their contribution of this kind."""
    found = {}
    for t, (placed, scores, current) in enumerate(people):
        if kind == "response" and scores is not None:
            found[t] = (placed[0], f"{placed[0]}:{placed[1]}", placed[2])
        elif kind == "placement" and current is not None:
            (site, department, specialty), _ = current
            found[t] = (site, f"{site}:{department}", specialty)
    return found


def members(people: list, figure: str, cell: tuple) -> frozenset[tuple[int, str]]:
    """The contributions (trainee, kind) a figure of a cell sums over, by our own arithmetic."""
    kind = "placement" if figure == "activities" else "response"
    chosen = set()
    for t, values in attributes(people, kind).items():
        if any(c is not None and c != (v or "") for c, v in zip(cell, values, strict=True)):
            continue
        scores = people[t][1]
        if figure == OVERALL and not any(s is not None for s in scores):
            continue
        if figure not in (OVERALL, "activities") and \
                scores[[i.key for i in ITEMS].index(figure)] is None:
            continue
        chosen.add((t, kind))
    return frozenset(chosen)


def trainees(members_: frozenset[tuple[int, str]]) -> set[int]:
    return {t for t, _ in members_}


def differing(one: frozenset, other: frozenset) -> int:
    """Trainees not counted alike: in one set only, or through another contribution."""
    by_one, by_other = dict(one), dict(other)
    return sum(by_one.get(t) != by_other.get(t) for t in by_one.keys() | by_other.keys())


def check_audit(shown: set[frozenset], candidates: set[frozenset], k: int,
                breakdowns: list[tuple[frozenset, list[frozenset]]]) -> None:
    for one in shown:
        assert len(trainees(one)) >= k
    for one, other in itertools.combinations(shown, 2):
        assert differing(one, other) == 0 or differing(one, other) >= k
    columns = sorted({c for s in candidates for c in s})
    index = {c: i for i, c in enumerate(columns)}

    def vector(contributions: frozenset, sign: float = 1.0) -> np.ndarray:
        v = np.zeros(len(columns))
        for c in contributions:
            v[index[c]] += sign
        return v

    basis = np.array([vector(s) for s in shown]) if shown else np.zeros((0, len(columns)))
    rank = np.linalg.matrix_rank(basis) if len(basis) else 0

    def derivable(v: np.ndarray) -> bool:
        return np.linalg.matrix_rank(np.vstack([basis, v])) == rank

    small = [vector(s) for s in candidates if 0 < len(trainees(s)) < k]
    small += [vector(a) - vector(b) for a, b in itertools.combinations(candidates, 2)
              if 0 < differing(a, b) < k]
    for v in small:
        assert not derivable(v)
    for total, cells in breakdowns:
        if total in shown:
            rest = vector(total) - sum((vector(c) for c in cells if c in shown),
                                       np.zeros(len(columns)))
            touched = {columns[i][0] for i in np.nonzero(np.abs(rest) > 1e-9)[0]}
            assert len(touched) == 0 or len(touched) >= k


@PROPERTY
@given(people=st.lists(trainee, max_size=18), k=st.sampled_from([2, 3, 5]))
def test_no_affordance_figure_is_small_derivable_or_a_difference(people, k):
    responses, answers, activities = frames(people)
    figures = build_figures(responses, answers, activities, ITEMS, SCALE, {}, {}, k)
    keys = [OVERALL, *(item.key for item in ITEMS)]
    cells: list[tuple[tuple, object, str | None]] = [((None, None, None), figures.total, None)]
    for position, breakdown in enumerate(figures.breakdowns):
        for group in breakdown.groups:
            cell = tuple(group.key if i == position else None for i in range(3))
            cells.append((cell, group, breakdown.dimension))
    shown, candidates, by_dimension = set(), set(), {}
    for cell, group, dimension in cells:
        for figure in [*keys, "activities"]:
            chosen = members(people, figure, cell)
            value = group.activities if figure == "activities" else group.items[figure]
            if chosen:
                candidates.add(chosen)
            if value is not None:
                assert value.n == len(chosen)
                shown.add(chosen)
            if dimension is not None:
                by_dimension.setdefault((figure, dimension), []).append(chosen)
    # every reachable cell of the page is a candidate: none is missing from the breakdowns
    for kind in ("response", "placement"):
        for position in range(3):
            values = {v[position] or "" for v in attributes(people, kind).values()}
            found = {g.key for g in figures.breakdowns[position].groups}
            assert values <= found
    totals = {figure: members(people, figure, (None, None, None))
              for figure in [*keys, "activities"]}
    check_audit(shown, candidates, k, [(totals[figure], cells_)
                                       for (figure, _), cells_ in by_dimension.items()])


@PROPERTY
@given(pairs=st.lists(st.tuples(st.floats(1, 5), st.floats(-2, 2), st.floats(-2, 2)),
                      max_size=25),
       k=st.sampled_from([2, 3, 5]))
def test_the_change_by_affordance_third_is_audited_and_its_intervals_hold(pairs, k):
    frame = pd.DataFrame([(t, a, x, y) for t, (a, x, y) in enumerate(pairs)],
                         columns=["trainee_id", "affordance", "one", "two"])
    change = build_change(frame, [("one", "One"), ("two", "Two")], SCALE, k)
    third = SCALE.band(frame["affordance"].to_numpy(float)) if len(frame) else np.array([])

    def group_members(key: str) -> frozenset:
        return frozenset((t, "pair") for t in range(len(pairs))
                         if key == "" or GROUPS[third[t]] == key)

    shown, candidates = set(), set()
    for group in (*change.groups, change.total):
        chosen = group_members(group.key)
        if chosen:
            candidates.add(chosen)
        if group.n is not None:
            assert group.n == len(chosen)
            shown.add(chosen)
            values = frame.loc[[t for t, _ in chosen], ["one", "two"]].to_numpy()
            assert group.changes["overall"].mean == pytest.approx(values.mean())
            for interval in group.changes.values():
                assert interval.low <= interval.mean + 1e-12
                assert interval.mean <= interval.high + 1e-12
    check_audit(shown, candidates, k,
                [(group_members(""), [group_members(g) for g in GROUPS])])


@pytest.mark.parametrize(("df", "expected"), [(1, 12.706), (4, 2.776), (30, 2.042),
                                              (31, 2.040), (60, 2.000), (120, 1.980),
                                              (10_000, 1.960)])
def test_the_t_quantile(df, expected):
    assert t_quantile(df) == pytest.approx(expected, abs=1.5e-3)
