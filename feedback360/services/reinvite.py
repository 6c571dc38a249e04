"""Re-inviting the colleagues of the trainee's previous cycle, when they have moved placement.

A trainee who starts a cycle in a new placement often wants the colleagues of the last one to
say how they have grown since. When their previous cycle (the latest launched one before this)
was during a different placement than this cycle's (placement dates against the cycle's launch,
or today for a draft), the nomination step offers that cycle's colleagues: names, addresses and
groups from its invitations, without those the trainee withdrew and those whose details
``flask purge`` has blanked. The trainee ticks whom; each goes through the normal nomination
rules (``cycles.nominate``), so a refusal comes back with its reason.

Colleagues who declined last time are offered like the rest, on purpose: leaving them out would
tell the trainee who declined, which no page does (README, "What a page leaves out").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..email_identity import InvalidAddress, canonical
from ..extensions import db
from ..models import FeedbackCycle, Invitation, Placement
from . import DomainError
from .cycles import active_invitations, nominate, today
from .instrument_cache import instrument_for
from .placements import placement_on
from .retention import PURGED_RATER_DOMAIN


@dataclass(frozen=True)
class Candidate:
    invitation_id: int
    name: str
    email: str
    group: str
    group_label: str


@dataclass(frozen=True)
class Offer:
    previous: FeedbackCycle
    placement: Placement
    candidates: list[Candidate]


def identity_of(address: str) -> str:
    try:
        return canonical(address)
    except InvalidAddress:  # an address stored before addresses were validated
        return address


def _day_of(cycle: FeedbackCycle) -> date:
    return cycle.opens_on or today()


def _previous_cycle(cycle: FeedbackCycle) -> FeedbackCycle | None:
    return db.session.scalar(
        db.select(FeedbackCycle).where(
            FeedbackCycle.trainee_id == cycle.trainee_id, FeedbackCycle.id != cycle.id,
            FeedbackCycle.opens_on.is_not(None), FeedbackCycle.opens_on <= _day_of(cycle))
        .order_by(FeedbackCycle.opens_on.desc(), FeedbackCycle.id.desc()).limit(1))


def offer(cycle: FeedbackCycle) -> Offer | None:
    """What to offer on ``cycle``'s nomination step, or None (no earlier cycle, no placement
    known for it, the same placement, or nobody left to offer)."""
    if cycle.status not in ("draft", "open"):
        return None
    previous = _previous_cycle(cycle)
    if previous is None or previous.opens_on is None:
        return None
    before = placement_on(cycle.trainee_id, previous.opens_on)
    now = placement_on(cycle.trainee_id, _day_of(cycle))
    if before is None or (now is not None and now.id == before.id):
        return None
    taken = {identity_of(i.rater_email) for i in active_invitations(cycle)}
    labels = {group.key: group.label for group in instrument_for(cycle).rater_groups}
    candidates = [
        Candidate(i.id, i.rater_name, i.rater_email, i.rater_group,
                  labels.get(i.rater_group, i.rater_group))
        for i in sorted(previous.invitations, key=lambda i: (i.rater_name.casefold(), i.id))
        if i.removed_at is None and not i.rater_email.endswith(PURGED_RATER_DOMAIN)
        and identity_of(i.rater_email) not in taken]
    if not candidates:
        return None
    return Offer(previous, before, candidates)


@dataclass(frozen=True)
class Outcome:
    added: list[Invitation]
    refused: list[tuple[Candidate, str]]


def reinvite(cycle: FeedbackCycle, invitation_ids: list[int]) -> Outcome:
    """Nominate the ticked colleagues of the offer; each refusal with its reason."""
    current = offer(cycle)
    if current is None:
        raise DomainError("There are no colleagues from your previous placement to ask again")
    chosen = [c for c in current.candidates if c.invitation_id in set(invitation_ids)]
    if not chosen:
        raise DomainError("Select the colleagues you want to ask again", field="invitations")
    added, refused = [], []
    for candidate in chosen:
        try:
            added.append(nominate(cycle, name=candidate.name, email=candidate.email,
                                  group=candidate.group))
        except DomainError as error:
            refused.append((candidate, error.message))
    return Outcome(added, refused)
