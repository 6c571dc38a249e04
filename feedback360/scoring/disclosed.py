"""A cycle report's words as they may be shown: nothing said about a group too small to show.

:func:`score_cycle` keeps, and stored summaries hold, a message ("12 responses from 4 groups"),
notes naming the groups that were pooled ("Fewer than 3 responses each from Nurse or midwife")
and a validity statement ("3 of them senior"). Each can tell the reader that a group of fewer
than k colleagues answered: the number of groups counts it, a note names it, and the senior count
less the columns that show seniors is its size. :func:`disclosed` rewrites them from what the
report shows anyway (its columns and their counts), so that summaries stored by any version are
shown safely as they are, with no recomputation:

- the message gives the number who answered (and how many did not count), not the groups;
- the notes say that smaller groups are combined, never which;
- how many raters were senior is said only when every senior group is a column of its own (or
  identifiable and silent), so that it adds nothing to the columns; otherwise the rule's senior
  part is "not shown", and so is whether the rule is met (the report reads as not shown to meet
  it, with a warning to read the scores with that in mind).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .engine import group_columns
from .report import POOLED_LABEL, AnonymityRules, CycleReport, Validity

if TYPE_CHECKING:
    from ..instruments import Instrument


def senior_told(report: CycleReport, instrument: Instrument) -> bool:
    """Whether the report may say how many of its raters were senior: when each senior group is
    a column of its own, or identifiable and silent (its silence is its own, as it was told)."""
    if not report.validity.min_senior:
        return True
    alone = {c.members[0] for c in report.columns if c.kind == "group" and len(c.members) == 1}
    return _seniors_alone(instrument, alone, report.group_counts)


def senior_told_for_counts(instrument: Instrument, counts: Mapping[str, int],
                           rules: AnonymityRules) -> bool:
    """What :func:`senior_told` would say of the report of responses counted ``counts`` per
    group, grouped as that report would group them: for counts shown before the cycle closes."""
    if not instrument.validity.min_senior:
        return True
    alone = {members[0] for kind, members in group_columns(instrument, dict(counts), rules)
             if kind == "group" and len(members) == 1}
    return _seniors_alone(instrument, alone, counts)


def _seniors_alone(instrument: Instrument, alone: set[str], counts: Mapping[str, int]) -> bool:
    return all(group.key in alone or (not group.anonymous and not counts.get(group.key, 0))
               for group in instrument.rater_groups if group.senior)


def disclosed(report: CycleReport, instrument: Instrument) -> CycleReport:
    """``report`` with its message, notes and validity as they may be shown."""
    validity = report.validity
    message = _message(report)
    if senior_told(report, instrument):
        shown_validity = validity
    else:
        shown_validity = dataclasses.replace(
            validity, senior=0, met=False, message=_not_told(validity))
    return dataclasses.replace(report, message=message, notes=_notes(report),
                               validity=shown_validity)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _dropped(report: CycleReport) -> str:
    if not report.dropped_responses:
        return ""
    return (f" {_plural(report.dropped_responses, 'response')} not counted: fewer than "
            f"{report.validity.min_rated_fraction:.0%} of statements rated.")


def _message(report: CycleReport) -> str:
    total = report.validity.responses
    if not report.enough:
        return report.message  # a total and how many more are needed: no group in it
    return f"{_plural(total, 'response')}." + _dropped(report)


def _notes(report: CycleReport) -> tuple[str, ...]:
    k = report.rules.min_group
    notes = []
    shown = sum(c.n for c in report.columns if c.kind in ("group", "pool"))
    if any(c.kind == "pool" for c in report.columns):
        notes.append(f'Groups with fewer than {k} responses are shown together as '
                     f'"{POOLED_LABEL}", with a larger group where that is needed so that '
                     "their answers cannot be worked out from the rest.")
    if report.enough and report.validity.responses > shown:
        notes.append('Some answers are shown only within "All raters", so that the answers of '
                     f"groups with fewer than {k} responses cannot be worked out.")
    if any(cell.suppressed for level in ("domain", "element", "item")
           for row in report.table(level) for cell in row.cells.values()):
        notes.append(f"Scores given by fewer than {k} colleagues are not shown, nor are the "
                     "scores that would let someone work them out.")
    return tuple(notes)


def _not_told(validity: Validity) -> str:
    s = validity.min_senior
    text = (f"{_plural(validity.responses, 'colleague')} responded ({validity.min_responses} "
            f"needed). The rule also asks for {s} senior "
            f"{'colleague' if s == 1 else 'colleagues'}: whether that part is met is not shown, "
            "as it would tell whether colleagues of a group too small to show separately "
            "answered. Read the scores with that in mind.")
    if validity.dropped:
        text += (f" {_plural(validity.dropped, 'response')} not counted: fewer than "
                 f"{validity.min_rated_fraction:.0%} of statements rated.")
    return text
