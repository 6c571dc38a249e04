"""Comment labels follow the score rule (issue 9, point 4): no label, and no absence of a label,
narrows a comment to fewer than k colleagues, whatever groups answered and however many."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scoring import MINI, answers, scores  # five items, three of which make a response count

from feedback360.scoring import AnonymityRules, CycleReport, score_cycle
from feedback360.scoring.comments import comment_labels

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

GROUPS = MINI.group_keys
IDENTIFIABLE = {g.key for g in MINI.rater_groups if not g.anonymous}
DROPPED = {"a1": 3}  # one statement rated of five: the response does not count


def cycle(counting: dict[str, int], dropped: dict[str, int] | None = None) -> pd.DataFrame:
    """Self plus ``counting`` responses per group that count, and ``dropped`` ones that do not."""
    dropped = dropped or {}
    raters = [(g, scores(2 + n % 3)) for g in GROUPS for n in range(counting.get(g, 0))]
    raters += [(g, DROPPED) for g in GROUPS for _ in range(dropped.get(g, 0))]
    return answers((None, 4), *raters)


def labels_for(counting: dict[str, int], dropped: dict[str, int] | None = None, k: int = 3,
               ) -> tuple[CycleReport, dict[str, str | None]]:
    report = score_cycle(cycle(counting, dropped), MINI, AnonymityRules(min_group=k))
    responses = Counter(counting) + Counter(dropped or {})
    return report, comment_labels(report, dict(responses))


def test_pooled_groups_comments_are_labelled_as_the_pool_and_the_supervisor_as_theirs() -> None:
    # Before: the senior (1) and the supervisor (1) were the only unlabelled comments, so the
    # one unlabelled comment not in the supervisor's words was the senior's; the nurses (3)
    # were named in the comments while their scores were pooled.
    report, labels = labels_for({"supervisor": 1, "senior": 1, "peer": 6, "nursing": 3})
    assert [c.key for c in report.columns] == ["self", "all", "supervisor", "peer", "pooled"]
    assert labels == {"supervisor": "Supervisor", "senior": "Other colleagues",
                      "peer": "Fellow trainee", "nursing": "Other colleagues", "other": None}


def test_groups_shown_only_within_all_raters_are_unlabelled_together() -> None:
    # A nurse and another colleague are too few for a pool, so the supervisors' scores are
    # shown only within All raters too: their comments hide among the same five.
    report, labels = labels_for({"supervisor": 3, "nursing": 1, "other": 1})
    assert [c.key for c in report.columns] == ["self", "all"]
    assert set(labels.values()) == {None}


def test_responses_that_do_not_count_never_make_a_small_unlabelled_crowd() -> None:
    # Every counting response is in a labelled column; a nurse's response that did not count
    # would be the only unlabelled one: then no comment is labelled at all.
    report, labels = labels_for({"peer": 5}, {"nursing": 1})
    assert report.enough and report.dropped_responses == 1
    assert set(labels.values()) == {None}
    _, labels = labels_for({"peer": 5}, {"peer": 1})  # one that does not count, labelled
    assert labels["peer"] == "Fellow trainee"


def test_without_scores_no_comment_is_labelled() -> None:
    report, labels = labels_for({"peer": 3, "supervisor": 1})
    assert not report.enough and set(labels.values()) == {None}


@st.composite
def cycles(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int], int]:
    sizes = st.integers(0, 7)
    counting = {g: draw(sizes) for g in GROUPS}
    dropped = {g: draw(st.sampled_from((0, 0, 0, 1, 2))) for g in GROUPS}
    return counting, dropped, draw(st.integers(2, 4))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cycles())
def test_no_label_and_no_absence_of_one_narrows_a_comment_to_fewer_than_k(case) -> None:
    counting, dropped, k = case
    report, labels = labels_for(counting, dropped, k)
    responding = Counter(counting) + Counter(dropped)
    if not report.enough:  # no comment is shown at all (reports.dashboard_context)
        assert set(labels.values()) <= {None}
        return
    by_label: dict[str | None, set[str]] = {}
    for group in GROUPS:
        if responding[group]:
            by_label.setdefault(labels[group], set()).add(group)
    unlabelled = by_label.pop(None, set())
    # Unlabelled comments come from a crowd of at least k colleagues (or there are none).
    assert sum(responding[g] for g in unlabelled) in (0, *range(k, 10**6))
    columns = {c.label: c for c in report.columns if c.kind in ("group", "pool")}
    for label, groups in by_label.items():
        # Each label is a column of the scores, covering exactly the groups it is given to...
        assert set(columns[label].members) == groups
        # ...and at least k counting colleagues, unless its raters were told they are named.
        assert report.counts[columns[label].key] >= k or groups <= IDENTIFIABLE
    # Stored summaries give the same labels: the report round-trips through JSON.
    stored = CycleReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert comment_labels(stored, dict(responding)) == labels
