"""Coach approval of a trainee's nominee list, for programmes that ask for it.

Where a cohort sets ``nominee_approval_required``, the trainee sends their list to their
assigned coach, who approves it or returns it with a reason, and the cycle cannot launch until
the list as it stands is approved. The approval is of a list, not of a moment: it holds a
fingerprint of the list, so any change afterwards (a colleague added, removed, or changed)
needs approval again, and colleagues added to an open cycle are emailed only once it is given.
Cycles opened by a cohort launch follow their launch's cohort; others their trainee's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import audit, mail
from ..extensions import db
from ..models import (
    Cohort,
    CohortLaunch,
    CohortLaunchCycle,
    FeedbackCycle,
    NomineeApproval,
    User,
)
from ..urls import absolute_url
from . import DomainError
from .coaching import assignments_of

REASON_MAX_LENGTH = 1000


@dataclass(frozen=True)
class ApprovalState:
    """Where a cycle's list stands, for the trainee's and the coach's pages.

    ``status``: ``not_sent``, ``requested``, ``approved`` or ``returned``; ``changed`` is true
    when the list has changed since it was sent (then it counts as not sent)."""

    required: bool
    status: str
    changed: bool = False
    reason: str | None = None
    decided_by: User | None = None

    @property
    def approved(self) -> bool:
        return not self.required or self.status == "approved"

    @property
    def can_send(self) -> bool:
        return self.required and self.status in ("not_sent", "returned")


def programme_cohort(cycle: FeedbackCycle) -> Cohort | None:
    return cycle.cohort_launch.cohort if cycle.cohort_launch else cycle.trainee.cohort


def required(cycle: FeedbackCycle) -> bool:
    cohort = programme_cohort(cycle)
    return cohort is not None and cohort.nominee_approval_required


def fingerprint(cycle: FeedbackCycle) -> str:
    """The list as the coach would see it: who, at which address, in which group."""
    rows = sorted([i.rater_identity, i.rater_email, i.rater_name, i.rater_group]
                  for i in cycle.invitations if i.removed_at is None)
    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


def state(cycle: FeedbackCycle) -> ApprovalState:
    if not required(cycle):
        return ApprovalState(required=False, status="approved")
    row = db.session.get(NomineeApproval, cycle.id)
    if row is None:
        return ApprovalState(required=True, status="not_sent")
    if row.status == "returned":
        return ApprovalState(required=True, status="returned", reason=row.return_reason,
                             decided_by=row.decided_by)
    if row.fingerprint != fingerprint(cycle):
        return ApprovalState(required=True, status="not_sent", changed=True)
    return ApprovalState(required=True, status=row.status, decided_by=row.decided_by)


def check_approved(cycle: FeedbackCycle) -> None:
    current = state(cycle)
    if current.approved:
        return
    if current.status == "requested":
        raise DomainError("Your coach has not approved your list of colleagues yet")
    raise DomainError("Send your list of colleagues to your coach for approval before you "
                      "launch" + (": it has changed since they approved it"
                                  if current.changed else ""))


def coaches_of(trainee: User) -> list[User]:
    return [a.coach for a in assignments_of(trainee) if a.coach.active]


def request_approval(cycle: FeedbackCycle) -> list[User]:
    """Send the list as it stands to the trainee's coaches; the coaches emailed."""
    if cycle.status not in ("draft", "open"):
        raise DomainError("The list of colleagues can only change before the cycle closes")
    current = state(cycle)
    if not current.required:
        raise DomainError("Your programme does not ask for your list to be approved")
    if current.status == "requested":
        raise DomainError("Your list is already waiting for your coach's approval")
    if current.status == "approved":
        raise DomainError("Your coach has already approved this list")
    if not any(i.removed_at is None for i in cycle.invitations):
        raise DomainError("Nominate colleagues before you send the list for approval")
    coaches = coaches_of(cycle.trainee)
    if not coaches:
        raise DomainError("You do not have a coach yet, so nobody can approve your list. Ask "
                          "your programme lead to assign you a coach.")
    row = db.session.get(NomineeApproval, cycle.id) or NomineeApproval(cycle_id=cycle.id)
    row.status, row.fingerprint, row.requested_at = "requested", fingerprint(cycle), _now()
    row.decided_by_id, row.decided_at, row.return_reason = None, None, None
    db.session.add(row)
    db.session.flush()
    for coach in coaches:
        mail.queue(coach.email, f"{cycle.trainee.name} asks you to approve their colleagues",
                   "nominees_for_approval", coach=coach, cycle=cycle, trainee=cycle.trainee,
                   nominees=_count(cycle),
                   link=absolute_url("nominee_review.nominees", cycle_id=cycle.id))
    audit.record(cycle.trainee, "cycle.nominees_sent_for_approval", f"cycle:{cycle.id}",
                 nominees=_count(cycle))
    return coaches


def _waiting_row(cycle: FeedbackCycle) -> NomineeApproval:
    row = db.session.get(NomineeApproval, cycle.id)
    if row is None or row.status != "requested" or cycle.status not in ("draft", "open"):
        raise DomainError("This list is not waiting for approval")
    if row.fingerprint != fingerprint(cycle):
        raise DomainError(f"{cycle.trainee.name} has changed the list since sending it. It "
                          "will come back to you when they send it again.")
    return row


def approve(cycle: FeedbackCycle, coach: User) -> None:
    """Approve the list; on an open cycle, email the colleagues waiting for it.

    How many were waiting is told to nobody: a colleague withdrawn and added back is asked
    again only if they had not answered, so the number would say whether they had."""
    row = _waiting_row(cycle)
    row.status, row.decided_by_id, row.decided_at = "approved", coach.id, _now()
    _send_held(cycle)
    db.session.flush()
    audit.record(coach, "cycle.nominees_approved", f"cycle:{cycle.id}", nominees=_count(cycle))
    mail.queue(cycle.trainee.email, "Your coach has approved your colleagues",
               "nominees_decided", cycle=cycle, trainee=cycle.trainee, coach=coach,
               approved=True, reason=None,
               link=absolute_url("trainee.cycle", cycle_id=cycle.id))


def return_list(cycle: FeedbackCycle, coach: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say what the trainee should change", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(f"Reason must be {REASON_MAX_LENGTH:,} characters or fewer",
                          field="reason")
    row = _waiting_row(cycle)
    row.status, row.decided_by_id, row.decided_at = "returned", coach.id, _now()
    row.return_reason = reason
    db.session.flush()
    # The reason stays with the list, not in the audit trail: it may name colleagues.
    audit.record(coach, "cycle.nominees_returned", f"cycle:{cycle.id}", nominees=_count(cycle))
    mail.queue(cycle.trainee.email, "Your coach has returned your list of colleagues",
               "nominees_decided", cycle=cycle, trainee=cycle.trainee, coach=coach,
               approved=False, reason=reason,
               link=absolute_url("trainee.cycle", cycle_id=cycle.id))


def release_held(cohort: Cohort) -> None:
    """The programme no longer asks for approval: email the colleagues added to its open cycles
    while it did, who were waiting for it."""
    launched = (db.select(CohortLaunchCycle.cycle_id)
                .join(CohortLaunch, CohortLaunch.id == CohortLaunchCycle.launch_id)
                .where(CohortLaunch.cohort_id == cohort.id))
    open_cycles = db.session.scalars(
        db.select(FeedbackCycle).join(User, User.id == FeedbackCycle.trainee_id)
        .where(FeedbackCycle.status == "open",
               (User.cohort_id == cohort.id) | FeedbackCycle.id.in_(launched))).all()
    for cycle in open_cycles:
        if not required(cycle):
            _send_held(cycle)


def _send_held(cycle: FeedbackCycle) -> None:
    """Invite the open cycle's colleagues who were added but not yet asked."""
    from .cycles import send_invitation  # cycles asks this module first: imported when used

    if cycle.status != "open":
        return
    for invitation in cycle.invitations:
        if invitation.removed_at is None and invitation.status == "pending":
            send_invitation(invitation)


def waiting_cycle_ids(cycles: list[FeedbackCycle]) -> set[int]:
    """Those of ``cycles`` whose list is waiting for approval as it stands now."""
    candidates = [c for c in cycles if c.status in ("draft", "open")]
    if not candidates:
        return set()
    rows = db.session.scalars(db.select(NomineeApproval).where(
        NomineeApproval.cycle_id.in_([c.id for c in candidates]),
        NomineeApproval.status == "requested")).all()
    by_id = {c.id: c for c in candidates}
    return {row.cycle_id for row in rows if required(by_id[row.cycle_id])
            and row.fingerprint == fingerprint(by_id[row.cycle_id])}


def _count(cycle: FeedbackCycle) -> int:
    return sum(1 for i in cycle.invitations if i.removed_at is None)


def _now() -> datetime:
    return datetime.now(UTC)
