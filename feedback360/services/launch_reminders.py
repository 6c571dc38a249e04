"""The programme lead's "Send a reminder" on a cohort launch's progress page.

It emails every trainee of the launch whose cycle is still a draft: those the page says to
remind (to rate themself, nominate colleagues or launch). Once a cycle is open its colleagues
are the trainee's to remind (``cycles.remind_now``), so they are not emailed from here.

At most one reminder every three days per launch, as for a trainee's own reminders: the time of
the last one is the audit event it left, so no column is needed to keep it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .. import audit, mail
from ..extensions import db
from ..models import AuditEvent, CohortLaunch, CohortLaunchCycle, FeedbackCycle, User
from ..urls import absolute_url
from . import DomainError, accounts, cohort_launches

REMINDER_GAP = timedelta(days=3)
ACTION = "cohort.launch_reminded"


def to_remind(launch: CohortLaunch) -> list[tuple[User, FeedbackCycle]]:
    """Trainees with an active account whose cycle in this launch is still a draft, by name."""
    return [(trainee, cycle) for trainee, cycle in db.session.execute(
        db.select(User, FeedbackCycle)
        .join(FeedbackCycle, FeedbackCycle.trainee_id == User.id)
        .join(CohortLaunchCycle, CohortLaunchCycle.cycle_id == FeedbackCycle.id)
        .where(CohortLaunchCycle.launch_id == launch.id, FeedbackCycle.status == "draft",
               User.active)
        .order_by(User.name, User.id)).all()]


def last_reminded_at(launch: CohortLaunch) -> datetime | None:
    return db.session.scalar(db.select(db.func.max(AuditEvent.created_at)).where(
        AuditEvent.action == ACTION, AuditEvent.target == f"cohort_launch:{launch.id}"))


def next_reminder_at(launch: CohortLaunch) -> datetime | None:
    """When the next reminder may be sent; None when one may be sent now."""
    last = last_reminded_at(launch)
    if last is None:
        return None
    next_at = last.replace(tzinfo=last.tzinfo or UTC) + REMINDER_GAP
    return next_at if next_at > datetime.now(UTC) else None


def send(launch: CohortLaunch, *, reminded_by: User) -> list[User]:
    """Email each trainee :func:`to_remind` names, record it (flushed); who was reminded.

    The caller holds the launch's cohort locked (PostgreSQL), so a double click sends once.
    """
    if launch.cohort.archived or not cohort_launches.is_running(launch):
        raise DomainError("This launch is no longer running, so there is nobody to remind.")
    next_at = next_reminder_at(launch)
    if next_at is not None:
        raise DomainError(f"A reminder was sent recently. You can send another from "
                          f"{next_at:%H:%M} UTC on {next_at.day} {next_at:%B}.")
    due = to_remind(launch)
    if not due:
        raise DomainError("Every trainee of this launch has launched their cycle (or has a "
                          "deactivated account): there is nobody to remind.")
    lead = reminded_by
    for trainee, cycle in due:
        # As the launch email: a trainee who never activated gets a fresh activation link.
        activation = (accounts.activation_link(trainee) if trainee.password_hash is None
                      else None)
        mail.queue(trainee.email,
                   f"Reminder from {lead.name}: rate yourself, nominate colleagues and launch "
                   f"your 360 leadership feedback",
                   "cohort_cycle_reminder", trainee=trainee, cycle=cycle, launch=launch,
                   cohort=launch.cohort, lead=lead,
                   link=absolute_url("trainee.cycle", cycle_id=cycle.id),
                   activation_link=activation, activation_days=accounts.activation_days())
    audit.record(reminded_by, ACTION, f"cohort_launch:{launch.id}", cohort_id=launch.cohort_id,
                 trainee_ids=[trainee.id for trainee, _ in due])
    db.session.flush()
    return [trainee for trainee, _ in due]
