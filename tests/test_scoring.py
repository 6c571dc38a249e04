"""Scoring: plain DataFrames in, anonymity-safe aggregates out (DESIGN.md "Anonymity", "Reports").

The worked example's figures are computed by hand in the comments. The property tests use the real
CLCF instrument and check the anonymity rules on random cycles.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback360.instruments import Instrument, load_instrument, parse_instrument
from feedback360.scoring import (
    ALL,
    POOLED,
    SELF,
    AnonymityRules,
    CycleReport,
    compare_cycles,
    score_cycle,
    t975,
)

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
CLCF = load_instrument(ROOT / "instruments" / "clcf.yaml")
COLUMNS = ["response", "group", "is_self", "item", "score"]


def mini(**replace_items: str) -> Instrument:
    """A five-item instrument: d1 = e1 (a1, a2) + e2 (a3); d2 = e3 (b1, b2). Three of the five
    items must be rated for a response to count. ``replace_items`` renames items (old=new)."""
    def item(key: str) -> dict[str, str]:
        key = replace_items.get(key, key)
        return {"key": key, "text": f"Statement {key}"}

    return parse_instrument({
        "key": "mini", "version": 2 if replace_items else 1, "title": "Mini 360",
        "scale": {"min": 1, "max": 5, "labels": {1: "Rarely", 5: "Always"},
                  "not_observed": "Not observed"},
        "rater_groups": [
            {"key": "supervisor", "label": "Supervisor", "anonymous": False, "senior": True},
            {"key": "senior", "label": "Consultant", "senior": True},
            {"key": "peer", "label": "Fellow trainee"},
            {"key": "nursing", "label": "Nurse"},
            {"key": "other", "label": "Other colleague"},
        ],
        "domains": [
            {"key": "d1", "title": "Domain one", "elements": [
                {"key": "e1", "title": "Element one", "items": [item("a1"), item("a2")]},
                {"key": "e2", "title": "Element two", "items": [item("a3")]}]},
            {"key": "d2", "title": "Domain two", "elements": [
                {"key": "e3", "title": "Element three", "items": [item("b1"), item("b2")]}]},
        ],
        "validity": {"min_responses": 5, "min_senior": 1, "min_rated_fraction": 0.6},
    }, "mini")


MINI = mini()


def scores(default: float | None = 4, instrument: Instrument = MINI,
           **items: float | None) -> dict[str, float | None]:
    """Every item of ``instrument`` scored ``default`` except ``items`` (None = not observed)."""
    return {**dict.fromkeys(instrument.item_keys, default), **items}


def answers(*responses: tuple[str | None, Any]) -> pd.DataFrame:
    """The long frame for ``(group, scores)`` pairs; group None is the self-assessment; scores is
    a dict of item -> score (None = not observed; absent = no row at all) or one MINI-wide score."""
    rows = []
    for number, (group, given_scores) in enumerate(responses):
        if not isinstance(given_scores, dict):
            given_scores = scores(given_scores)
        rows += [{"response": f"r{number}", "group": group, "is_self": group is None,
                  "item": item, "score": np.nan if score is None else float(score)}
                 for item, score in given_scores.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def times(count: int, group: str | None, given_scores: Any = 4) -> list[tuple[str | None, Any]]:
    return [(group, given_scores)] * count


def keys(report: CycleReport) -> list[str]:
    return [column.key for column in report.columns]


def all_cells(report: CycleReport):
    for level in ("domain", "element", "item"):
        yield from report.table(level)


# --- a worked example -------------------------------------------------------------------------

SELF_SCORES = {"a1": 5, "a2": 4, "a3": None, "b1": 2, "b2": 3}
PEERS = [  # five fellow trainees; None = not observed
    {"a1": 3, "a2": 4, "a3": 5, "b1": 4, "b2": 4},
    {"a1": 4, "a2": None, "a3": 2, "b1": 3, "b2": 5},
    {"a1": 4, "a2": 5, "a3": 4, "b1": None, "b2": 2},
    {"a1": 5, "a2": 5, "a3": None, "b1": 5, "b2": 5},
    {"a1": 2, "a2": 3, "a3": 3, "b1": 4, "b2": None},
]
WORKED = answers((None, SELF_SCORES), *[("peer", peer) for peer in PEERS])


def test_worked_example_items_have_hand_computed_mean_sd_and_clipped_ci() -> None:
    report = score_cycle(WORKED, MINI)
    assert report.enough and keys(report) == [SELF, ALL, "peer"]
    # a1: 3, 4, 4, 5, 2 -> mean 3.6; SD sqrt(5.2 / 4) = sqrt(1.3); t(4) = 2.7764
    a1 = report.row("item", "a1").cells[ALL]
    half = 2.7764 * math.sqrt(1.3) / math.sqrt(5)
    assert (a1.n, a1.mean, a1.sd) == (5, pytest.approx(3.6), pytest.approx(math.sqrt(1.3)))
    assert a1.ci_low == pytest.approx(3.6 - half) and a1.ci_high == 5.0  # 5.0157 clipped
    # a2: 4, (not observed), 5, 5, 3 -> n 4, mean 4.25, SD sqrt(2.75 / 3); t(3) = 3.1824
    a2 = report.row("item", "a2").cells["peer"]
    assert (a2.n, a2.mean, a2.sd) == (4, 4.25, pytest.approx(math.sqrt(2.75 / 3)))
    assert a2.ci_low == pytest.approx(4.25 - 3.1824 * math.sqrt(2.75 / 3) / 2)
    own = report.row("item", "a1").cells[SELF]
    assert (own.n, own.mean, own.sd, own.ci_low) == (1, 5.0, None, None)


def test_worked_example_domains_and_elements_average_each_response_first() -> None:
    report = score_cycle(WORKED, MINI)
    # e1 per response: 3.5, 4 (a2 not observed), 4.5, 5, 2.5 -> 3.9 (pooling ratings gives 35/9)
    e1 = report.row("element", "e1").cells[ALL]
    assert (e1.n, e1.mean, e1.sd) == (5, pytest.approx(3.9), pytest.approx(math.sqrt(3.7 / 4)))
    # d1 per response: 4, 3, 13/3, 5, 8/3 -> 19/5; self (5 + 4) / 2 = 4.5
    d1 = report.row("domain", "d1")
    assert d1.cells[ALL].mean == pytest.approx(3.8) and d1.cells[SELF].mean == 4.5
    assert d1.parent is None and report.row("item", "a3").parent == "e2"
    assert report.row("element", "e3").parent == "d2"
    gaps = {(g.level, g.key): g.gap for g in report.gaps}
    assert gaps["domain", "d1"] == pytest.approx(0.7) and gaps["item", "a3"] is None


def test_worked_example_distributions_counts_and_validity() -> None:
    report = score_cycle(WORKED, MINI)
    distribution = {d.item: d for d in report.distributions}
    assert distribution["a1"].counts == {1: 0, 2: 1, 3: 1, 4: 2, 5: 1}
    assert distribution["a2"].not_observed == 1 and sum(distribution["a2"].counts.values()) == 4
    assert report.counts == {SELF: 1, ALL: 5, "peer": 5}
    assert report.group_counts == {"supervisor": 0, "senior": 0, "peer": 5, "nursing": 0,
                                   "other": 0}
    assert report.message == "5 responses from 1 group."
    assert not report.validity.met and report.validity.senior == 0
    assert "Does not yet meet" in report.validity.message
    met = score_cycle(answers(*[("peer", p) for p in PEERS], ("senior", 4)), MINI).validity
    assert met.met and (met.responses, met.senior) == (6, 1) and met.message.startswith("Meets")


def test_t_critical_values() -> None:
    assert t975(1) == 12.7062 and t975(30) == 2.0423
    assert t975(31) == pytest.approx(2.0395, abs=1e-4) and t975(120) == pytest.approx(1.9799,
                                                                                     abs=1e-4)
    assert t975(10**6) == pytest.approx(1.96, abs=1e-3)


# --- not observed, validity --------------------------------------------------------------------

def test_not_observed_reduces_n_and_never_counts_as_a_score() -> None:
    # the same not-observed answer as NaN and as a missing row; as 1 or 0 it would lower the mean
    rows = [*times(4, "peer", scores(5)), ("peer", scores(5, a1=None)),
            ("peer", {k: v for k, v in scores(5).items() if k != "a1"})]
    report = score_cycle(answers(*rows), MINI)
    a1 = report.row("item", "a1").cells[ALL]
    assert (a1.n, a1.mean, a1.sd) == (4, 5.0, 0.0)
    assert report.row("element", "e1").cells[ALL].n == 6
    assert {d.item: d.not_observed for d in report.distributions}["a1"] == 2


def test_the_self_assessments_not_yet_is_no_score_like_a_raters_not_observed() -> None:
    # The trainee's "Not had the chance to do this yet" is stored as a rater's "not observed"
    # (None): the item has no self score, the element and domain self scores are those of the
    # statements rated, no gap is claimed for it, and raters' "not observed" counts exclude it.
    report = score_cycle(WORKED, MINI)  # the self-assessment has a3 "not yet"
    assert report.row("item", "a3").cells[SELF].mean is None
    assert report.row("element", "e2").cells[SELF].mean is None
    assert report.row("domain", "d1").cells[SELF].mean == 4.5  # a1 5 and a2 4, not a3
    gaps = [g.key for g in (*report.blind_spots, *report.hidden_strengths)]
    assert "a3" not in gaps
    assert {d.item: d.not_observed for d in report.distributions}["a3"] == 1  # one peer's


def test_under_rated_responses_are_dropped_before_anything_else() -> None:
    three = scores(1, b1=None, b2=None)  # 3 of 5 rated: counts (0.6 needed)
    two = scores(1, a3=None, b1=None, b2=None)  # 2 of 5: dropped
    report = score_cycle(answers(*times(5, "peer", 5), ("nursing", three), ("nursing", two),
                                 ("other", two)), MINI)
    assert report.dropped_responses == report.validity.dropped == 2
    assert report.group_counts["nursing"] == 1 and report.group_counts["other"] == 0
    assert report.column(ALL).n == 6 and "2 responses not counted" in report.message
    assert report.row("item", "a1").cells[ALL].mean == pytest.approx(26 / 6)


# --- reporting groups -----------------------------------------------------------------------------

def test_small_groups_are_pooled_as_other_colleagues() -> None:
    report = score_cycle(answers(*times(3, "senior", 2), *times(3, "peer", 3),
                                 *times(2, "nursing", 4), ("other", 5)), MINI)
    assert keys(report) == [SELF, ALL, "senior", "peer", POOLED]
    pool = report.column(POOLED)
    assert (pool.label, pool.kind, pool.n, pool.members) == ("Other colleagues", "pool", 3,
                                                             ("nursing", "other"))
    assert report.row("item", "a1").cells[POOLED].mean == pytest.approx(13 / 3)
    assert "Nurse and Other colleague" in report.notes[0]


def test_the_instruments_own_other_group_is_reported_like_any_group() -> None:
    report = score_cycle(answers(*times(3, "other", 2), *times(2, "peer", 3),
                                 *times(2, "nursing", 4)), MINI)
    assert keys(report) == [SELF, ALL, "other", POOLED]
    assert report.column("other").label == "Other colleague"
    assert report.column(POOLED).members == ("peer", "nursing")


def test_a_pool_under_k_makes_the_smallest_shown_group_fold_into_it() -> None:
    # nursing 1 alone would be All minus senior minus peer: peer (3, smaller than senior's 4)
    # joins the pool, which can then be shown
    report = score_cycle(answers(*times(4, "senior", 2), *times(3, "peer", 3),
                                 ("nursing", 5)), MINI)
    assert keys(report) == [SELF, ALL, "senior", POOLED]
    assert report.column(POOLED).members == ("peer", "nursing")
    assert report.row("item", "a1").cells[POOLED].mean == pytest.approx(14 / 4)
    assert any("Fellow trainee are shown within" in note for note in report.notes)


def test_complementary_suppression_hides_an_identifiable_group_when_nothing_else_can_fold() -> None:
    # supervisors 3 (identifiable) + peers 2: peers would be All minus supervisors, so the
    # supervisors are shown only inside All raters too
    report = score_cycle(answers((None, 3), *times(3, "supervisor", 5), *times(2, "peer", 1)),
                         MINI)
    assert keys(report) == [SELF, ALL]
    a1 = report.row("item", "a1").cells
    assert a1[ALL].mean == pytest.approx(17 / 5) and a1[SELF].mean == 3
    assert any("Supervisor are shown only within" in note for note in report.notes)
    assert report.group_counts["supervisor"] == 3  # counts are never secret (rule 6)


def test_an_identifiable_group_is_shown_alone_whatever_its_size() -> None:
    report = score_cycle(answers(("supervisor", 2), *times(4, "peer", 4)), MINI)
    assert keys(report) == [SELF, ALL, "supervisor", "peer"]
    supervisor = report.column("supervisor")
    assert supervisor.identifiable and supervisor.n == 1
    assert report.row("domain", "d2").cells["supervisor"].mean == 2


def test_under_min_total_there_are_no_scores_but_the_self_assessment() -> None:
    report = score_cycle(answers((None, SELF_SCORES), *times(4, "peer", 4)), MINI)
    assert not report.enough and keys(report) == [SELF]
    assert "1 more is needed" in report.message
    assert report.row("item", "a1").cells == {SELF: report.row("item", "a1").cells[SELF]}
    assert report.row("item", "a1").cells[SELF].mean == 5
    assert not (report.top_items or report.bottom_items or report.distributions
                or report.blind_spots or report.hidden_strengths)
    assert all(g.gap is None for g in report.gaps) and report.group_counts["peer"] == 4


# --- cell-level suppression -------------------------------------------------------------------

def hidden_columns(report: CycleReport, level: str, key: str) -> list[str]:
    return [c for c, cell in report.row(level, key).cells.items() if cell.suppressed]


def test_a_small_cell_is_hidden_with_the_next_smallest_so_it_cannot_be_derived() -> None:
    # one nurse does not observe b1: nursing's b1 cell (2) is hidden, and peer's (4, smaller than
    # senior's 5) with it, else All minus senior minus peer would give the two nurses away. (One
    # peer skips b2, so peer's e3 is no exact average of b1 and b2 that would give b1 back.)
    report = score_cycle(answers(*times(5, "senior", 3), *times(3, "peer", 4),
                                 ("peer", scores(4, b2=None)), *times(2, "nursing", 5),
                                 ("nursing", scores(5, b1=None))), MINI)
    b1 = report.row("item", "b1").cells
    assert hidden_columns(report, "item", "b1") == ["peer", "nursing"]
    assert b1["nursing"].n == 2 and b1["nursing"].mean is None and b1["senior"].mean == 3
    assert b1[ALL].mean == pytest.approx(41 / 11)
    assert hidden_columns(report, "item", "b2") == []
    assert report.row("domain", "d2").cells["nursing"].mean == 5  # rated b2, so n = 3
    assert any("not shown" in note for note in report.notes)


def test_a_hidden_cell_is_not_left_recoverable_from_its_element_and_siblings() -> None:
    # As above, but every peer and senior rates both e3 items, so their b1 is exactly
    # 2 x e3 - b2: hiding peer's b1 would not protect the nurses; All raters' b1 is hidden instead.
    report = score_cycle(answers(*times(3, "senior", 3), *times(3, "peer", 4),
                                 *times(2, "nursing", 5), ("nursing", scores(5, b1=None))), MINI)
    assert hidden_columns(report, "item", "b1") == [ALL, "nursing"]
    assert report.row("item", "b1").cells["peer"].mean == 4
    assert report.row("element", "e3").cells["nursing"].mean == 5
    assert attacker_finds(report, 3) == []


def test_all_raters_cell_is_hidden_when_only_identifiable_cells_remain() -> None:
    report = score_cycle(answers(*times(2, "supervisor", 5), ("peer", 1),
                                 *times(2, "peer", scores(1, b1=None))), MINI)
    b1 = report.row("item", "b1").cells
    assert b1["peer"].suppressed and b1[ALL].suppressed and b1["supervisor"].mean == 5
    assert "b1" not in {d.item for d in report.distributions}
    assert "b1" not in {i.key for i in (*report.top_items, *report.bottom_items)}


# --- gaps, rankings ---------------------------------------------------------------------------

def test_blind_spots_and_hidden_strengths_use_the_threshold() -> None:
    report = score_cycle(WORKED, MINI)
    # self - others: a1 5 - 3.6 = 1.4; b1 2 - 4 = -2; b2 3 - 4 = -1 (exactly the threshold)
    assert [(g.key, pytest.approx(g.gap)) for g in report.blind_spots] == [("a1", 1.4)]
    assert [(g.key, g.gap) for g in report.hidden_strengths] == [("b1", -2.0), ("b2", -1.0)]
    strict = score_cycle(WORKED, MINI, AnonymityRules(blind_spot_threshold=1.5))
    assert strict.blind_spots == () and [g.key for g in strict.hidden_strengths] == ["b1"]


def test_top_and_bottom_five_items_by_all_raters_break_ties_by_item_order() -> None:
    items = CLCF.item_keys
    given = {**dict.fromkeys(items, 3), **dict.fromkeys(items[:3], 5),
             **dict.fromkeys(items[3:8], 4), items[20]: 1, items[30]: 1,
             **dict.fromkeys(items[21:25], 2)}
    report = score_cycle(answers(*times(5, "peer", given)), CLCF)
    assert [i.key for i in report.top_items] == list(items[:5])
    assert [i.key for i in report.bottom_items] == [items[20], items[30], *items[21:24]]
    top = report.top_items[0]
    assert (top.mean, top.n, top.domain, top.element) == (
        5.0, 5, CLCF.domain_of_item(top.key).key, CLCF.element_of_item(top.key).key)


# --- storing and comparing ----------------------------------------------------------------------

@pytest.mark.parametrize("frame", [WORKED, answers(*times(2, "supervisor", 5), ("peer", 1),
                                                   *times(2, "peer", scores(1, b1=None))),
                                   answers((None, 3), ("peer", 2))])
def test_report_round_trips_through_json(frame: pd.DataFrame) -> None:
    report = score_cycle(frame, MINI)
    text = json.dumps(report.to_dict(), allow_nan=False)
    again = CycleReport.from_dict(json.loads(text))
    assert again == report and again.to_dict() == report.to_dict()
    data = json.loads(text)
    assert data["format"] == 1 and data["instrument_key"] == "mini"
    assert set(data["items"][0]["cells"]["self"]) == {"n", "mean", "sd", "ci_low", "ci_high",
                                                      "suppressed"}
    with pytest.raises(ValueError, match="format"):
        CycleReport.from_dict({**data, "format": 99})


def test_compare_cycles_matches_items_and_domains_by_key() -> None:
    before = score_cycle(answers((None, 2), *times(5, "peer", 3)), MINI)
    renamed = mini(b2="b9")
    after = score_cycle(answers((None, scores(3, renamed)), *times(5, "peer", scores(4, renamed)))
                        .assign(score=lambda f: f["score"].where(f["item"] != "a3")), renamed)
    changes = {(c.level, c.key): c for c in compare_cycles(before, after)}
    assert list(changes) == [("domain", "d1"), ("domain", "d2"), ("item", "a1"), ("item", "a2"),
                             ("item", "a3"), ("item", "b1")]
    a1 = changes["item", "a1"]
    assert (a1.previous_self, a1.current_self, a1.self_change) == (2, 3, 1)
    assert (a1.previous_all, a1.current_all, a1.all_change) == (3, 4, 1)
    assert changes["item", "a3"].all_change is None and changes["item", "a3"].previous_all == 3
    assert changes["domain", "d2"].all_change == pytest.approx(1)


@pytest.mark.parametrize(("frame", "problem"), [
    (answers(("peer", 4)).drop(columns="score"), "lack the column"),
    (answers(("peer", 4)).replace({"a1": "zz"}), "items not in"),
    (answers(("choir", 4)), "rater group"),
    (answers(("peer", 4)).replace({4.0: 6.0}), "whole points"),
    (pd.concat([answers(("peer", 4)), answers(("peer", 4))]), "same item twice"),
])
def test_bad_answers_are_refused(frame: pd.DataFrame, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        score_cycle(frame, MINI)


def test_scoring_imports_neither_flask_nor_the_database() -> None:
    # The package's __init__ builds the Flask app, so load the subpackage without running it.
    code = (
        "import sys, types\n"
        "package = types.ModuleType('feedback360')\n"
        f"package.__path__ = [{str(ROOT / 'feedback360')!r}]\n"
        "sys.modules['feedback360'] = package\n"
        "import feedback360.scoring\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'flask_sqlalchemy', 'sqlalchemy', 'werkzeug', 'jinja2'})\n"
        "bad += [m for m in ('feedback360.models', 'feedback360.extensions') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def attacker_finds(report: CycleReport, k: int) -> list[tuple[str, str, str]]:
    """Hidden cells of 1..k-1 anonymous responses an attacker can solve for from the report alone,
    using any equation with one unknown, again and again: each row's All raters = its reported
    columns + the rest; and, where the shown n's say every rater in a column rated the same items
    of an element or domain, that score = the average of those items'."""
    groups = [c.key for c in report.columns if c.kind in ("group", "pool")]
    named = [c.key for c in report.columns if c.kind == "group" and c.identifiable]
    if not report.enough:
        return []
    n, value, equations = {}, {}, []
    for row in all_cells(report):
        here = (row.level, row.key)
        for column in (ALL, *groups):
            cell = row.cells[column]
            n[here, column] = cell.n
            if cell.mean is not None or cell.n == 0:
                value[here, column] = cell.n * (cell.mean or 0.0)
        n[here, "rest"] = n[here, ALL] - sum(n[here, c] for c in groups)
        if n[here, "rest"] == 0:
            value[here, "rest"] = 0.0
        equations.append({(here, ALL): 1.0, **{(here, c): -1.0 for c in (*groups, "rest")}})
    domain_of = {e.key: e.parent for e in report.elements}
    for row in (*report.elements, *report.domains):
        items = [("item", i.key) for i in report.items
                 if row.key in (i.parent, domain_of[i.parent])]
        for column in (ALL, *groups, "rest"):
            total = n[(row.level, row.key), column]
            if total and all(n[i, column] in (0, total) for i in items):
                rated = [i for i in items if n[i, column]]
                equations.append({((row.level, row.key), column): float(len(rated)),
                                  **{(i, column): -1.0 for i in rated}})
    progress = True
    while progress:
        progress = False
        for equation in equations:
            missing = [v for v in equation if v not in value]
            if len(missing) == 1:
                v = missing[0]
                value[v] = -sum(c * value[w] for w, c in equation.items() if w != v) / equation[v]
                progress = True
    found = []
    for (here, column), _ in value.items():
        cell = report.row(*here).cells.get(column)
        if (cell is not None and cell.mean is not None) or column in named:
            continue
        people = n[here, column] - (sum(n[here, c] for c in named) if column == ALL else 0)
        if 0 < people < k:
            found.append((*here, column))
    for here in {here for here, _ in n}:  # All raters less what is known: the rest, together
        unknown = sum(n[here, c] for c in (*groups, "rest") if (here, c) not in value)
        if (here, ALL) in value and 0 < unknown < k:
            found.append((*here, "the hidden together"))
    return found


# --- properties on the real instrument ------------------------------------------------------------

STYLES = ("full", "full", "gaps", "sparse", "blind", "few-missing", "rows-omitted")
PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _ratings(style: str, rng: np.random.Generator) -> np.ndarray:
    values = rng.integers(CLCF.scale.min, CLCF.scale.max + 1, size=len(CLCF.item_keys))
    values = values.astype(float)
    missing = {"full": 0.0, "gaps": 0.3, "sparse": 0.7, "few-missing": 0.05,
               "rows-omitted": 0.4}.get(style)
    if missing is None:  # "blind": cannot observe one or two whole domains
        blind = rng.choice(len(CLCF.domains), size=rng.integers(1, 3), replace=False)
        gone = {CLCF.domains[d].key for d in blind}
        values[[CLCF.domain_of_item(k).key in gone for k in CLCF.item_keys]] = np.nan
    else:
        values[rng.random(len(values)) < missing] = np.nan
    return values


@st.composite
def cycles(draw: st.DrawFn) -> tuple[pd.DataFrame, AnonymityRules]:
    groups = draw(st.lists(st.sampled_from(CLCF.group_keys), min_size=3, max_size=7, unique=True))
    count = draw(st.integers(0, 25))
    members = draw(st.lists(st.sampled_from(groups), min_size=count, max_size=count))
    with_self = draw(st.booleans())
    styles = draw(st.lists(st.sampled_from(STYLES), min_size=count + 1, max_size=count + 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    min_group = draw(st.integers(2, 4))
    rules = AnonymityRules(min_group=min_group, min_total=draw(st.integers(1, 6)))
    rows = []
    for number, (group, style) in enumerate(zip([None, *members], styles, strict=True)):
        if group is None and not with_self:
            continue
        rows += [(f"r{number}", group, group is None, item, score)
                 for item, score in zip(CLCF.item_keys, _ratings(style, rng), strict=True)
                 if not (style == "rows-omitted" and np.isnan(score))]
    return pd.DataFrame(rows, columns=COLUMNS), rules


def _disjoint(report: CycleReport) -> list[str]:
    return [c.key for c in report.columns if c.kind in ("group", "pool")]


@PROPERTY
@given(cycles())
def test_property_no_shown_anonymous_cell_has_fewer_than_k(cycle) -> None:
    frame, rules = cycle
    report = score_cycle(frame, CLCF, rules)
    anonymous = {c.key for c in report.columns if not c.identifiable}
    for column in report.columns:
        assert column.kind != "group" or column.identifiable or column.n >= rules.min_group
    for row in all_cells(report):
        for key, cell in row.cells.items():
            if key in anonymous and cell.mean is not None:
                assert cell.n >= rules.min_group, (row.key, key, cell)
            assert cell.suppressed <= (cell.mean is None)


@PROPERTY
@given(cycles())
def test_property_no_hidden_group_can_be_derived_from_what_is_shown(cycle) -> None:
    frame, rules = cycle
    report = score_cycle(frame, CLCF, rules)
    if not report.enough:
        assert [c.key for c in report.columns] == [SELF]
        return
    rest = report.column(ALL).n - sum(report.column(c).n for c in _disjoint(report))
    assert rest == 0 or rest >= rules.min_group
    for row in all_cells(report):
        everyone = row.cells[ALL]
        if everyone.mean is None:
            continue
        shown = [row.cells[c] for c in _disjoint(report) if row.cells[c].mean is not None]
        hidden_n = everyone.n - sum(cell.n for cell in shown)
        hidden_sum = everyone.n * everyone.mean - sum(cell.n * cell.mean for cell in shown)
        assert hidden_n == 0 or hidden_n >= rules.min_group, (row.key, hidden_n)
        if hidden_n == 0:
            assert hidden_sum == pytest.approx(0, abs=1e-6)
        else:  # what stays hidden is a real mean of >= k responses
            assert CLCF.scale.min - 1e-6 <= hidden_sum / hidden_n <= CLCF.scale.max + 1e-6
    # nor across rows: elements and domains are exact averages where raters rated alike
    assert attacker_finds(report, rules.min_group) == []


@PROPERTY
@given(cycles())
def test_property_every_shown_mean_and_interval_lies_on_the_scale(cycle) -> None:
    frame, rules = cycle
    report = score_cycle(frame, CLCF, rules)
    low, high = CLCF.scale.min, CLCF.scale.max
    for row in all_cells(report):
        for cell in row.cells.values():
            if cell.mean is not None:
                assert low <= cell.mean <= high
            if cell.ci_low is not None:
                assert low <= cell.ci_low <= cell.mean <= cell.ci_high <= high
                assert cell.n >= 2 and cell.sd is not None
    json.dumps(report.to_dict(), allow_nan=False)


@PROPERTY
@given(cycles(), st.data())
def test_property_not_observed_never_counts(cycle, data) -> None:
    frame, rules = cycle
    report = score_cycle(frame, CLCF, rules)
    per_response = frame.groupby("response").agg(rated=("score", "count"),
                                                 is_self=("is_self", "first"))
    need = CLCF.validity.min_rated_fraction * len(CLCF.item_keys)
    counting = per_response.index[(per_response["rated"] >= need) & ~per_response["is_self"]]
    if report.enough:  # n is the number of real ratings, and the mean is theirs alone
        ratings = frame[frame["response"].isin(counting)].groupby("item")["score"]
        expected = pd.DataFrame({"n": ratings.count(), "mean": ratings.mean()})
        for row in report.items:
            n, mean = expected.loc[row.key] if row.key in expected.index else (0, None)
            assert row.cells[ALL].n == n
            if row.cells[ALL].mean is not None:
                assert row.cells[ALL].mean == pytest.approx(mean)
    # a not-observed answer turned into any score adds one to n (self; all raters if scored)
    scored = frame["is_self"] | (frame["response"].isin(counting) & report.enough)
    candidates = list(frame.index[frame["score"].isna() & scored])
    if not candidates:
        return
    index = data.draw(st.sampled_from(candidates))
    changed = frame.copy()
    changed.loc[index, "score"] = float(data.draw(st.integers(CLCF.scale.min, CLCF.scale.max)))
    after = score_cycle(changed, CLCF, rules)
    column = SELF if frame.at[index, "is_self"] else ALL
    item = frame.at[index, "item"]
    assert (after.row("item", item).cells[column].n
            == report.row("item", item).cells[column].n + 1)
