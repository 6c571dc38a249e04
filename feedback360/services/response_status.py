"""How far a launched cycle is from its rule, as anyone may be told it (DESIGN.md rule 3).

The trainee's cycle page, the coach's list and the launch progress page show how many colleagues
answered in all, and whether the rule is met, never a count per group: counts per group while the
cycle is open could be set against the report's own grouping (which pools groups by how many
answered) to single out a small group. The rule's senior part is told only as met or not yet, and
only when every anonymous senior group the trainee asked has at least k colleagues in it: with
fewer, "met" would say that those colleagues had answered (and so would a "Close now" button).

The senior part is also counted as met only as the report groups the responses (every senior
group a column of its own), and a closed cycle's status is read from its report: the page and the
report never disagree about how many answered or whether the rule was met.

Nothing here changes when a colleague is removed or added back, whatever they had done: the
groups are judged on everyone ever asked (a removed colleague's answers stay in the report), and
declines are counted on every invitation, removed or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..instruments import Instrument
from ..models import FeedbackCycle
from ..scoring import AnonymityRules, CycleReport
from ..scoring.disclosed import senior_told, senior_told_for_counts
from .cycles import response_counts
from .instrument_cache import instrument_for


@dataclass(frozen=True)
class ResponseStatus:
    count: int  # responses that count under the rule, all groups together
    required: int
    senior_required: int
    senior_met: bool | None  # None: not told, as it would say whether a small group answered
    declined: int

    @property
    def senior_told(self) -> bool:
        return self.senior_met is not None

    @property
    def met(self) -> bool:
        """The rule is met, as far as may be told: never while the senior part is not told."""
        return self.count >= self.required and (not self.senior_required or bool(self.senior_met))


def disclose(instrument: Instrument, asked: Mapping[str, int], answered: Mapping[str, int],
             min_group: int, declined: int = 0, *,
             min_total: int = AnonymityRules.min_total) -> ResponseStatus:
    """What may be told of ``answered`` (counting responses per group) for a cycle whose trainee
    asked ``asked`` colleagues per group (removed ones included).

    The senior part counts as met only as the report would say it is: with the responses
    grouped as the report groups them, every senior group a column of its own. Otherwise a
    senior colleague pooled with a small group would make it "met" here and "not shown" there.
    """
    rule = instrument.validity
    senior_met: bool | None = None
    if rule.min_senior:
        small = [g for g in instrument.rater_groups if g.senior and g.anonymous
                 and 0 < max(asked.get(g.key, 0), answered.get(g.key, 0)) < min_group]
        if not small:
            senior = sum(answered.get(key, 0) for key in instrument.senior_group_keys)
            rules = AnonymityRules(min_group, min_total)
            senior_met = senior >= rule.min_senior \
                and senior_told_for_counts(instrument, answered, rules)
    return ResponseStatus(sum(answered.values()), rule.min_responses, rule.min_senior,
                          senior_met, declined)


def from_report(report: CycleReport, instrument: Instrument, declined: int) -> ResponseStatus:
    """A closed cycle's status, as its report tells it (the same count, the same senior part)."""
    validity = report.validity
    senior_met = validity.senior >= validity.min_senior \
        if senior_told(report, instrument) else None
    return ResponseStatus(validity.responses, validity.min_responses, validity.min_senior,
                          senior_met if validity.min_senior else None, declined)


def response_status(cycle: FeedbackCycle, min_group: int,
                    min_total: int = AnonymityRules.min_total) -> ResponseStatus:
    asked: dict[str, int] = {}
    for invitation in cycle.invitations:  # removed ones too: their answers may be in
        asked[invitation.rater_group] = asked.get(invitation.rater_group, 0) + 1
    declined = sum(1 for invitation in cycle.invitations if invitation.status == "declined")
    instrument = instrument_for(cycle)
    if cycle.summary is not None:
        return from_report(CycleReport.from_dict(cycle.summary.report), instrument, declined)
    return disclose(instrument, asked, response_counts(cycle), min_group, declined,
                    min_total=min_total)
