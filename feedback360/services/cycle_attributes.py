"""A cycle's trainee attributes as at close (specialty, training year, site).

Cohort reports group a closed cycle by these, not by the trainee's current profile, so that
correcting a user afterwards moves no closed cycle from one published cell to another
(README, "Cohort reports"). They are recorded when the cycle closes and change only by
:func:`correct`, an explicit, audited programme lead's action after which the caller rebuilds
the analyses of the cohorts returned. Flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import audit
from ..extensions import db
from ..models import FeedbackCycle, User
from . import DomainError
from .cohort_analyses import cohorts_affected

CLOSED = ("closed", "released")


@dataclass(frozen=True)
class AttributesAtClose:
    specialty: str | None
    training_year: int | None
    site: str | None

    def as_dict(self) -> dict[str, str | int | None]:
        return {"specialty": self.specialty, "training_year": self.training_year,
                "site": self.site}


def record_at_close(cycle: FeedbackCycle) -> None:
    """Keep the trainee's attributes as they are now, as the cycle closes."""
    trainee = cycle.trainee
    cycle.specialty_at_close = trainee.specialty
    cycle.training_year_at_close = trainee.training_year
    cycle.site_at_close = trainee.site


def at_close(cycle: FeedbackCycle) -> AttributesAtClose:
    return AttributesAtClose(cycle.specialty_at_close, cycle.training_year_at_close,
                             cycle.site_at_close)


def closed_cycles(trainee: User) -> list[FeedbackCycle]:
    return list(db.session.scalars(
        db.select(FeedbackCycle).where(FeedbackCycle.trainee_id == trainee.id,
                                       FeedbackCycle.status.in_(CLOSED))
        .order_by(FeedbackCycle.closed_at.desc(), FeedbackCycle.id.desc())))


def correct(cycle: FeedbackCycle, corrected: AttributesAtClose, *, reason: str,
            by: User) -> list[int]:
    """Correct a closed cycle's attributes at close; the cohorts whose analyses must be rebuilt
    (after the caller commits)."""
    if cycle.status not in CLOSED:
        raise DomainError("Only a closed cycle's attributes at close can be corrected: an open "
                          "cycle takes the trainee's as it closes.")
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the attributes are being corrected", field="reason")
    corrected = AttributesAtClose(_text(corrected.specialty), corrected.training_year,
                                  _text(corrected.site))
    before = at_close(cycle)
    if corrected == before:
        raise DomainError("These are the attributes the cycle has already: nothing to correct")
    cycle.specialty_at_close = corrected.specialty
    cycle.training_year_at_close = corrected.training_year
    cycle.site_at_close = corrected.site
    audit.record(by, "cycle.attributes_corrected", f"cycle:{cycle.id}",
                 before=before.as_dict(), after=corrected.as_dict(), reason=reason)
    db.session.flush()
    return cohorts_affected([cycle.id])


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None
