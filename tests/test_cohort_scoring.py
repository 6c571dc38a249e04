"""The cohort report's pure aggregation (feedback360.scoring.cohort), with plain DataFrames.

The property tests ask for every selection a cohort allows (each launch choice x each filter
combination) and check what the reports show against the tests' own arithmetic: no shown set has
1..m-1 trainees, every shown mean is the plain mean of its trainees' values and lies on the
scale, and, by a rank test written here (not the module's own), no single cycle's value (nor
any small filter cell's sum) lies in the row space of everything shown.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback360.instruments.loader import load_instrument
from feedback360.scoring.cohort import (
    DIMENSIONS,
    CohortAnalysis,
    Selection,
    build_cohort_report,
    headings,
)

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

INSTRUMENT = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "clcf.yaml")
HEADS = headings(INSTRUMENT)
LAUNCHES = (11, 12)
SPECIALTIES, YEARS, SITES = ("A", "B"), (1, 2), ("X", "Y")
GROUPS = ("peer", "senior")


def frames(people: list[tuple[str | None, int | None, str | None]], seed: int) -> dict:
    """Cohort frames for ``people`` (specialty, year, site), cycles and scores drawn from seed."""
    rng = np.random.default_rng(seed)
    trainees = pd.DataFrame([(t, *p) for t, p in enumerate(people)],
                            columns=["trainee_id", "specialty", "training_year", "site"])
    cycles, scores, participation = [], [], []
    for trainee in range(len(people)):
        mine = [launch for launch in (None, *LAUNCHES) if rng.random() < 0.7]
        rng.shuffle(mine)  # closing order: the last one is the latest
        for position, launch in enumerate(mine):
            cycle = len(cycles)
            latest = position == len(mine) - 1
            # an earlier cycle may have closed at another site (attributes as at close)
            moved = not latest and rng.random() < 0.3
            closed_with = (*people[trainee][:2], SITES[1] if moved else people[trainee][2])
            cycles.append((cycle, trainee, launch, latest, bool(rng.random() < 0.85),
                           *closed_with))
            missing_others = rng.random() < 0.1
            missing_self = rng.random() < 0.2
            for i, (level, key, _, _) in enumerate(HEADS):
                others = round(float(rng.uniform(1, 5)), 2)
                own = float(rng.integers(1, 6))
                scores.append((cycle, level, key,
                               None if missing_self and i == 0 else own,
                               None if missing_others and i == len(HEADS) - 1 else others))
            for group in GROUPS:
                invited = int(rng.integers(1, 6))
                completed = int(rng.integers(0, invited + 1))
                participation.append((cycle, group, invited, completed,
                                      int(rng.integers(0, invited - completed + 1))))
    return {
        "trainees": trainees,
        "cycles": pd.DataFrame(cycles, columns=["cycle_id", "trainee_id", "launch_id", "latest",
                                                "enough", *DIMENSIONS]).astype(
            {"launch_id": "Int64", "latest": bool, "enough": bool}),
        "scores": pd.DataFrame(scores, columns=["cycle_id", "level", "key", "self_score",
                                                "others_mean"]).astype(
            {"self_score": "float64", "others_mean": "float64"}),
        "participation": pd.DataFrame(participation, columns=["cycle_id", "rater_group",
                                                              "invited", "completed",
                                                              "declined"]),
    }


def analyse(data: dict, m: int) -> CohortAnalysis:
    return CohortAnalysis(data["scores"], data["trainees"], data["cycles"], data["participation"],
                          INSTRUMENT, m, launches=LAUNCHES)


def selections():
    for launch, specialty, year, site in itertools.product(
            (None, *LAUNCHES), (None, *SPECIALTIES), (None, *YEARS), (None, *SITES)):
        yield Selection(launch, specialty, year, site)


class Truth:
    """What the tests compute themselves: who is in a set, and its values."""

    def __init__(self, data: dict) -> None:
        cycles = data["cycles"].copy()
        columns = pd.MultiIndex.from_tuples([(level, key) for level, key, _, _ in HEADS])
        wide = {name: data["scores"].pivot(index="cycle_id", columns=["level", "key"],
                                           values=name).reindex(index=cycles["cycle_id"],
                                                                columns=columns)
                for name in ("others_mean", "self_score")}
        self.others, self.own = wide["others_mean"], wide["self_score"]
        cycles["scored"] = cycles["enough"].to_numpy() & self.others.notna().all(axis=1).to_numpy()
        cycles["self_scored"] = cycles["scored"].to_numpy() & self.own.notna().all(
            axis=1).to_numpy()
        self.cycles = cycles
        self.participation = data["participation"]

    def members(self, selection: Selection, **fixed) -> pd.DataFrame:
        rows = self.cycles
        rows = rows[rows["latest"]] if selection.launch_id is None else rows[
            rows["launch_id"] == selection.launch_id]
        for dimension in ("specialty", "training_year", "site"):
            value = fixed.get(dimension, selection.value(dimension))
            if dimension in fixed and value is None:
                rows = rows[rows[dimension].isna()]
            elif value is not None:
                rows = rows[rows[dimension] == value]
        return rows


def in_row_space(rows: list[np.ndarray], vector: np.ndarray) -> bool:
    if not rows:
        return False
    matrix = np.array(rows)
    return np.linalg.matrix_rank(np.vstack([matrix, vector])) == np.linalg.matrix_rank(matrix)


def indicator(ids, universe: list[int]) -> np.ndarray:
    wanted = set(int(i) for i in ids)
    return np.array([1.0 if c in wanted else 0.0 for c in universe])


people_strategy = st.lists(
    st.tuples(st.sampled_from([*SPECIALTIES, None]), st.sampled_from([*YEARS, None]),
              st.sampled_from([*SITES, None])), min_size=0, max_size=24)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=people_strategy, seed=st.integers(0, 2**16), m=st.sampled_from([2, 3, 5]))
def test_nothing_shown_describes_or_gives_away_fewer_than_m_trainees(people, seed, m):
    data = frames(people, seed)
    truth, audited = Truth(data), analyse(data, m)
    everyone = [int(c) for c in truth.cycles["cycle_id"]]
    shown = {"participation": [], "scores": []}
    small = {"participation": [], "scores": []}
    for selection in selections():
        report = audited.report(selection)
        members = truth.members(selection)
        scored = members[members["scored"]]
        if 0 < len(members) < m:
            small["participation"].append(indicator(members["cycle_id"], everyone))
        if 0 < len(scored) < m:
            small["scores"].append(indicator(scored["cycle_id"], everyone))
        if report.participation is None:
            assert not report.domains and not report.breakdowns
            continue
        assert report.participation.launched == len(members) >= m
        assert report.participation.scored == len(scored)
        asked = truth.participation[truth.participation["cycle_id"].isin(members["cycle_id"])]
        assert report.participation.total.completed == asked["completed"].sum()
        shown["participation"].append(indicator(members["cycle_id"], everyone))
        if not report.domains:
            continue
        assert report.domains[0].others.n == len(scored) >= m
        check_means(report.domains + report.elements, truth.others.loc[scored["cycle_id"]])
        shown["scores"].append(indicator(scored["cycle_id"], everyone))
        if report.perception:
            own = scored[scored["self_scored"]]
            assert report.perception[0].n == len(own) >= m
            gaps = (truth.own.loc[own["cycle_id"]] - truth.others.loc[own["cycle_id"]])
            for row, (_, column) in zip(report.perception, gaps.items(), strict=True):
                assert row.gap == pytest.approx(column.mean())
            shown["scores"].append(indicator(own["cycle_id"], everyone))
        for breakdown in report.breakdowns:
            shown_values = {cell.value for cell in breakdown.cells if cell.n is not None}
            values = [None if pd.isna(v) else v for v in scored[breakdown.dimension]]
            hidden = scored[[v not in shown_values for v in values]]
            if 0 < len(hidden) < m:  # the hidden remainder of the breakdown
                small["scores"].append(indicator(hidden["cycle_id"], everyone))
            for cell in breakdown.cells:
                assert (cell.n is None) == (cell.hidden is not None)  # never a bare blank
                if cell.n is None:
                    continue
                child = truth.members(selection, **{breakdown.dimension: cell.value})
                child = child[child["scored"]]
                assert cell.n == len(child) >= m
                check_means(cell.rows, truth.others.loc[child["cycle_id"]])
    small["participation"] += alike(truth, everyone, m, ["in_launch"])
    small["scores"] += alike(truth, everyone, m, ["in_launch", "scored", "self_scored"])
    for family in shown:
        rows = shown[family]
        for position in range(len(everyone)):
            unit = np.zeros(len(everyone))
            unit[position] = 1.0
            assert not in_row_space(rows, unit), f"{family}: cycle {everyone[position]} exposed"
        for vector in small[family]:
            assert not in_row_space(rows, vector), f"{family}: a small cell is derivable"


def alike(truth: Truth, everyone: list[int], m: int, flags: list[str]) -> list[np.ndarray]:
    """Groups of 1..m-1 cycles no filter can tell apart (same attributes, same launch, same
    latest flag and, for scores, the same scored flags): their sum must stay hidden too."""
    cycles = truth.cycles.assign(in_launch=truth.cycles["launch_id"].astype("string"))
    columns = ["specialty", "training_year", "site", "latest", *flags]
    groups = cycles.fillna({"specialty": "", "training_year": 0, "site": "",
                            "in_launch": ""}).groupby(columns)["cycle_id"]
    return [indicator(ids, everyone) for _, ids in groups if 1 < len(ids) < m]


def check_means(rows, values: pd.DataFrame) -> None:
    for row in rows:
        column = values[(row.level, row.key)]
        assert row.others.mean == pytest.approx(column.mean())
        assert INSTRUMENT.scale.min <= row.others.mean <= INSTRUMENT.scale.max
        assert sum(row.others.bands) == len(column)


def test_a_specialty_minus_a_year_inside_it_cannot_single_one_out():
    """The brief's attack: specialty A has 10 trainees, year 2 has 9, all in A."""
    people = [("A", 2, "X")] * 9 + [("A", 1, "X")] + [("B", 1, "X")] * 6
    data = single_cycles(people)
    audited = analyse(data, 5)
    shown = [audited.report(Selection(specialty="A")).scores_shown,
             audited.report(Selection(training_year=2)).scores_shown,
             audited.report(Selection(specialty="A", training_year=2)).scores_shown]
    assert shown.count(True) < 3
    assert audited.report().scores_shown
    hidden = audited.report(Selection(specialty="A", training_year=1))
    assert hidden.participation is None and "too few trainees" in hidden.message


def single_cycles(people):
    """One latest, scored cycle per trainee, every score 3 except trainee i's others = 1 + i/10."""
    trainees = pd.DataFrame([(t, *p) for t, p in enumerate(people)],
                            columns=["trainee_id", "specialty", "training_year", "site"])
    cycles = pd.DataFrame([(t, t, None, True, True, *p) for t, p in enumerate(people)],
                          columns=["cycle_id", "trainee_id", "launch_id", "latest", "enough",
                                   *DIMENSIONS])
    scores = pd.DataFrame([(t, level, key, 3.0, 1 + t / 10) for t in range(len(people))
                           for level, key, _, _ in HEADS],
                          columns=["cycle_id", "level", "key", "self_score", "others_mean"])
    participation = pd.DataFrame([(t, "peer", 5, 4, 1) for t in range(len(people))],
                                 columns=["cycle_id", "rater_group", "invited", "completed",
                                          "declined"])
    return {"trainees": trainees, "cycles": cycles.astype({"launch_id": "Int64"}),
            "scores": scores, "participation": participation}


@pytest.mark.parametrize("small_sites", [["Z"], ["Z", "W"]])
def test_a_breakdown_hides_another_cell_when_the_hidden_remainder_is_small(small_sites):
    """Sites X (6), Y (6) and small ones of 2 each: the whole minus X and Y would give the
    small ones away (one cell of 2, or two that together are 4)."""
    people = [("A", 1, "X")] * 6 + [("A", 1, "Y")] * 6
    people += [("A", 1, site) for site in small_sites for _ in range(2)]
    report = analyse(single_cycles(people), 5).report()
    (site,) = [b for b in report.breakdowns if b.dimension == "site"]
    hidden = {cell.label: cell.hidden for cell in site.cells if cell.hidden}
    assert set(small_sites) < set(hidden)
    assert set(hidden.values()) == {"Fewer than 5 trainees", "Not shown (protects a smaller group)"}


def test_teaching_priorities_self_against_others_and_bands():
    people = [("A", 1, "X")] * 6
    data = single_cycles(people)
    # element "planning" is everyone's weakest, "self-awareness" their strongest
    data["scores"]["others_mean"] = 3.0
    data["scores"].loc[data["scores"]["key"] == "planning", "others_mean"] = 1.5
    data["scores"].loc[data["scores"]["key"] == "self-awareness", "others_mean"] = 4.8
    report = build_cohort_report(data["scores"], data["trainees"], data["cycles"],
                                 data["participation"], INSTRUMENT, 5)
    assert report.weakest[0].key == "planning" and report.weakest[0].others.n == 6
    assert report.strongest[0].key == "self-awareness"
    row = next(p for p in report.perception if p.key == "planning")
    assert (row.gap, row.over, row.under) == (pytest.approx(1.5), 6, 0)
    assert report.band_labels == ("Below 3", "3 to under 4", "4 or above")
    planning = next(r for r in report.elements if r.key == "planning")
    assert planning.others.bands == (6, 0, 0)
    assert report.participation.responses_per_trainee == 4


def test_a_cohort_too_small_shows_nothing_and_says_why():
    report = analyse(single_cycles([("A", 1, "X")] * 4), 5).report()
    assert not report.publishable and "fewer than 5" in report.message


def test_trend_shows_intakes_with_enough_trainees_only():
    rows = []
    for cohort, year, size in (("2024", 2024, 6), ("2025", 2025, 3), ("2026", 2026, 5)):
        for t in range(size):
            cycle = len({r[3] for r in rows})
            rows += [(cohort, year, cohort == "2026", cycle, True, level, key, 3.0, 2.0 + t / 10)
                     for level, key, _, _ in HEADS]
    intakes = pd.DataFrame(rows, columns=["cohort", "intake_year", "current", "cycle_id",
                                          "enough", "level", "key", "self_score", "others_mean"])
    data = single_cycles([("A", 1, "X")] * 5)
    trend = CohortAnalysis(data["scores"], data["trainees"], data["cycles"],
                           data["participation"], INSTRUMENT, 5, intakes=intakes).trend
    assert [(p.cohort, p.n, p.current) for p in trend] == [
        ("2024", 6, False), ("2025", None, False), ("2026", 5, True)]
    assert trend[0].means["personal-qualities"] == pytest.approx(2.25)
