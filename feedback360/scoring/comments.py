"""Which group label a rater's comment may carry: the one its scores are shown under, or none.

A comment's label, or its lack of one, tells the reader which raters could have written it. So
labels follow the report's columns (rule 2 of :mod:`feedback360.scoring`): a comment is labelled
with the group column or the "Other colleagues" pool that its rater's scores are shown in, both
of which hold at least k responses unless the group is identifiable (``anonymous: false``, whose
raters were told their answers are shown as theirs). A comment of a group shown only within "All
raters" carries no label, and the raters of every such group together are the crowd it hides
in: should that crowd be 1..k-1 responses (possible only through responses that did not count,
which the columns do not hold), no comment carries any label, and each hides among all raters.
"""

from __future__ import annotations

from collections.abc import Mapping

from .report import CycleReport


def comment_labels(report: CycleReport, responses: Mapping[str, int]) -> dict[str, str | None]:
    """Each rater group's comment label (None: no label), given ``responses``: how many rater
    responses of each group have comments that may be shown, counted or not, commenting or not
    (the trainee knows neither who commented nor whose response did not count)."""
    groups = {*report.group_counts, *responses}
    if not report.enough:
        return dict.fromkeys(groups)
    shown = {group: column.label for column in report.columns if column.kind in ("group", "pool")
             for group in column.members}
    unlabelled = sum(n for group, n in responses.items() if group not in shown)
    if 0 < unlabelled < report.rules.min_group:
        return dict.fromkeys(groups)
    return {group: shown.get(group) for group in groups}
