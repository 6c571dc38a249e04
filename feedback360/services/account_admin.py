"""A programme lead managing one account: its details, role, deactivation and sign-in links.

The rules are those of the CSV import (``roster``): case-folded unique emails, names and texts of
at most ``roster.TEXT_MAX_LENGTH`` characters, training years 1 to 10, only trainees in a cohort,
no archived cohort newly given. On top: the service is never left without an admin who can sign
in, nobody locks themself out (their own deactivation or role change), and a lead limited to
some programmes keeps trainees in those programmes' cohorts (``lead_scope``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .. import audit
from ..extensions import db
from ..models import ROLES, AuditEvent, CoachAssignment, Cohort, User
from . import DomainError, accounts, coaching, lead_scope, roster
from .sessions import end_sessions

# An admin clicking twice, or again before the first email could arrive, sends one email.
RESEND_INTERVAL = timedelta(minutes=10)
ACTIVATION_SENT = ("user.invited", "user.activation_sent")


@dataclass(frozen=True)
class Details:
    """What an admin may change about a person (never the password or its hash)."""

    name: str
    email: str
    role: str
    cohort_id: int | None
    specialty: str | None
    training_year: int | None
    site: str | None

    @classmethod
    def of(cls, user: User) -> Details:
        return cls(name=user.name, email=user.email, role=user.role, cohort_id=user.cohort_id,
                   specialty=user.specialty, training_year=user.training_year, site=user.site)


def _target(user: User) -> str:
    return f"user:{user.id}"


def _text(value: str | None, label: str) -> str | None:
    text = " ".join((value or "").split()) or None
    if text and len(text) > roster.TEXT_MAX_LENGTH:
        raise DomainError(f"The {label} must be {roster.TEXT_MAX_LENGTH} characters or fewer",
                          field=label.replace(" ", "_"))
    return text


def _checked(user: User, wanted: Details, by: User) -> Details:
    name = _text(wanted.name, "name")
    if name is None:
        raise DomainError("Enter the person's full name", field="name")
    email = accounts.normalise_email(wanted.email)
    if email != user.email and accounts.find_by_email(email) is not None:
        raise DomainError("Another account already uses this email address", field="email")
    if wanted.role not in ROLES:
        raise DomainError("Select a role", field="role")
    if wanted.role == "champion" and user.organisation_id is None:
        raise DomainError("A leadership champion acts for an organisation: invite them from "
                          "Leadership champions", field="role")
    if user.role == "admin" and wanted.role != "admin":
        _keep_an_admin(user, by, "change your own role", "the role of the last admin")
    if wanted.training_year is not None and wanted.training_year not in roster.TRAINING_YEARS:
        raise DomainError(f"Training year must be between {roster.TRAINING_YEARS.start} and "
                          f"{roster.TRAINING_YEARS.stop - 1}", field="training_year")
    if wanted.cohort_id is not None:
        if wanted.role != "trainee":
            raise DomainError("Only trainees belong to a cohort: choose No cohort",
                              field="cohort_id")
        cohort = db.session.get(Cohort, wanted.cohort_id)
        if cohort is None:
            raise DomainError("Select a cohort", field="cohort_id")
        if cohort.archived and cohort.id != user.cohort_id:
            raise DomainError(f"The cohort {cohort.name} is archived", field="cohort_id")
    lead_scope.check_account(by, role=wanted.role, cohort=db.session.get(
        Cohort, wanted.cohort_id) if wanted.cohort_id is not None else None)
    return Details(name=name, email=email, role=wanted.role, cohort_id=wanted.cohort_id,
                   specialty=_text(wanted.specialty, "specialty"),
                   training_year=wanted.training_year, site=_text(wanted.site, "site"))


def update_details(user: User, wanted: Details, *, by: User) -> dict[str, list[object]]:
    """Apply ``wanted``; returns (and audits) each changed field as ``[before, after]``."""
    checked = _checked(user, wanted, by)
    before, after = asdict(Details.of(user)), asdict(checked)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if not changes:
        return {}
    if "role" in changes:
        _end_coaching_as(user, before["role"], by)
        user.organisation_id = user.organisation_id if checked.role == "champion" else None
    for key, value in after.items():
        setattr(user, key, value)
    if "cohort_id" in changes:
        user.cohort = db.session.get(Cohort, checked.cohort_id) if checked.cohort_id else None
    db.session.flush()
    audit.record(by, "user.updated", _target(user), changes=changes)
    return changes


def _end_coaching_as(user: User, role: str, by: User) -> None:
    """A coach who stops being one no longer reaches their trainees (nor again if made a coach
    later); a trainee who stops being one has no coach."""
    side = {"coach": CoachAssignment.coach_id, "trainee": CoachAssignment.trainee_id}.get(role)
    if side is None:
        return
    for assignment in db.session.scalars(db.select(CoachAssignment).where(side == user.id)):
        coaching.remove(assignment, by=by)


def _keep_an_admin(user: User, by: User, own: str, last: str) -> None:
    if user.id == by.id:
        raise DomainError(f"You cannot {own}. Ask another admin to do it")
    # Locked on PostgreSQL, so two admins demoting each other at once cannot both succeed.
    others = db.session.scalars(
        db.select(User.id).where(User.role == "admin", User.active.is_(True),
                                 User.password_hash.is_not(None), User.id != user.id)
        .with_for_update()).all()
    if not others:
        raise DomainError(f"You cannot change {last}: nobody could then manage the service")


def deactivate(user: User, *, by: User) -> None:
    """They cannot sign in, and every browser they are signed in on is signed out."""
    if not user.active:
        raise DomainError(f"{user.name}'s account is already deactivated")
    if user.role == "admin":
        _keep_an_admin(user, by, "deactivate your own account", "the last admin's account")
    user.active = False
    end_sessions(user)
    db.session.flush()
    audit.record(by, "user.deactivated", _target(user))


def reactivate(user: User, *, by: User) -> None:
    if user.active:
        raise DomainError(f"{user.name}'s account is already active")
    user.active = True
    db.session.flush()
    audit.record(by, "user.reactivated", _target(user))


def sign_out_everywhere(user: User, *, by: User) -> None:
    end_sessions(user)
    db.session.flush()
    audit.record(by, "user.signed_out_everywhere", _target(user))


def activation_last_sent(user: User) -> datetime | None:
    """When the last activation email was queued for ``user`` (invitation or resend)."""
    return db.session.scalar(
        db.select(AuditEvent.created_at)
        .where(AuditEvent.target == _target(user), AuditEvent.action.in_(ACTIVATION_SENT))
        .order_by(AuditEvent.created_at.desc()).limit(1))


def resend_activation(user: User, *, by: User) -> None:
    if user.password_hash is not None:
        raise DomainError("This account is already active")
    if not user.active:
        raise DomainError(f"{user.name}'s account is deactivated. Reactivate it first")
    last = activation_last_sent(user)
    now = datetime.now(UTC)
    if last is not None and now - last < RESEND_INTERVAL:
        wait = -(-(RESEND_INTERVAL - (now - last)).total_seconds() // 60)
        raise DomainError(f"An activation email was sent to {user.email} at {last:%H:%M} UTC. "
                          f"Ask them to check their junk folder, or try again in {wait:.0f} "
                          f"minute{'s' if wait != 1 else ''}")
    accounts.send_activation(user, by)
    audit.record(by, "user.activation_sent", _target(user))
