"""Erasure: removing one person, found by their email address, from everything the service holds.

A trainee's cycles go with all that hangs on them (invitations, their own and their raters'
responses, summaries, scores, goals, coach notes), and the mail sent to them or about them. An
account is never deleted: audit events point at it and may not be changed (``models.system``),
so it is anonymised instead (no name, no address, no password, no second factor, no sessions) and
stays as "Erased user". The portfolio and workplace data (activities, written feedback, time
reports, placements, letters, the commitment tracker) is ``erasure_portfolio``'s. A rater's
name, address, decline reason and unsent draft are blanked on every invitation sent to them;
the invitation itself stays, so the trainee's counts do not move.

The erasure is audited with kinds and counts only. Audit events written *before* it that name the
address (a subject access lookup, an import) cannot be changed and stay until the audit retention
purge removes them (``AUDIT_RETENTION_DAYS``). Flushes, never commits; the view commits, then
rebuilds the cohort analyses (in their own transaction, ``cohort_analyses``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import Delete, or_

from .. import audit
from ..email_identity import canonical
from ..extensions import db
from ..models import (
    ActivityFeedbackRequest,
    Answer,
    CoachAssignment,
    CoachNote,
    Cohort,
    CohortLaunchCycle,
    Comment,
    CycleScore,
    CycleSummary,
    DevelopmentGoal,
    FeedbackCycle,
    Invitation,
    LeadProgramme,
    NomineeApproval,
    OutboxMessage,
    RecoveryCode,
    Response,
    SealedResponse,
    StoredCohortAnalysis,
    TwoFactorKey,
    User,
)
from ..scoring.cohort import Selection
from . import DomainError, account_admin, erasure_portfolio
from .cohort_analyses import analysis, cohorts_affected
from .sessions import end_sessions

ERASED_NAME = "Erased user"
ERASED_RATER = "Erased rater"
# What each count means (one, several), in the order the confirmation page lists them.
KINDS = {
    "cycles": ("feedback cycle", "feedback cycles"),
    "invitations": ("invitation to a colleague for those cycles",
                    "invitations to colleagues for those cycles"),
    "responses": ("response (their self-assessment or a colleague's answers about them)",
                  "responses (their self-assessments and their colleagues' answers about them)"),
    "summaries": ("stored report summary", "stored report summaries"),
    "goals": ("development plan goal", "development plan goals"),
    "coach_notes": ("coach note", "coach notes"),
    "coach_assignments": ("coach assignment", "coach assignments"),
    "programmes": ("programme they lead", "programmes they lead"),
    "rater_invitations": (
        "invitation they were sent as a colleague (name, address and decline reason removed; "
        "the invitation stays so counts do not change)",
        "invitations they were sent as a colleague (name, address and decline reason removed; "
        "the invitations stay so counts do not change)"),
    "mail": ("email sent to them or about them", "emails sent to them or about them"),
    **erasure_portfolio.KINDS,
}


@dataclass
class Person:
    """Everyone an address stands for: an account, invitations to rate, requests for written
    feedback, or several of these."""

    email: str
    user: User | None
    invitations: list[Invitation] = field(default_factory=list)
    observed: list[ActivityFeedbackRequest] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.name
        if self.invitations:
            return self.invitations[0].rater_name
        return self.observed[0].observer_name if self.observed else self.email


def find(email: str) -> Person | None:
    """The person behind ``email`` (case-folded), or None when nothing is held about it."""
    folded = email.strip().lower()
    user = db.session.scalar(db.select(User).where(User.email == folded))
    try:
        identity = canonical(folded)
    except ValueError:  # not an address: only the text as typed can match
        identity = folded
    invitations = list(db.session.scalars(
        db.select(Invitation).where(or_(Invitation.rater_email == folded,
                                        Invitation.rater_identity == identity))
        .order_by(Invitation.id)))
    observed = erasure_portfolio.observer_requests(folded)
    if user is None and not invitations and not observed \
            and not erasure_portfolio.supervises(folded):
        return None
    return Person(email=folded, user=user, invitations=invitations, observed=observed)


def check(person: Person, *, by: User) -> None:
    """Refuse what would lock the service or the admin out."""
    user = person.user
    if user is None:
        return
    if user.id == by.id:
        raise DomainError("You cannot erase your own account. Ask another admin to do it")
    if user.role == "admin":
        account_admin._keep_an_admin(user, by, "erase your own account",
                                     "the last admin's account")


def _own_cycle_ids(person: Person) -> list[int]:
    if person.user is None:
        return []
    return list(db.session.scalars(
        db.select(FeedbackCycle.id).where(FeedbackCycle.trainee_id == person.user.id)))


def _rated(person: Person, own_cycles: list[int]) -> list[Invitation]:
    # invitations within their own cycles go with the cycles
    return [i for i in person.invitations if i.cycle_id not in own_cycles]


def _count(model: type, *where: object) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where)) or 0


def _mail_filter(person: Person, cycle_ids: list[int]) -> object:
    """Mail to them, and mail to their raters that names them (invitations, reminders)."""
    to_them = OutboxMessage.to_address == person.email
    if person.user is None:
        return to_them
    to_them = or_(to_them, erasure_portfolio.observer_mail(person.user))
    if not cycle_ids:
        return to_them
    raters = db.select(Invitation.rater_email).where(Invitation.cycle_id.in_(cycle_ids))
    name = person.user.name
    return or_(to_them, OutboxMessage.to_address.in_(raters) & or_(
        OutboxMessage.subject.contains(name, autoescape=True),
        OutboxMessage.text_body.contains(name, autoescape=True)))


def preview(person: Person) -> dict[str, int]:
    """What :func:`erase` would remove, by kind (only kinds with something in them)."""
    cycles = _own_cycle_ids(person)
    user = person.user
    counts = {
        "cycles": len(cycles),
        "invitations": _count(Invitation, Invitation.cycle_id.in_(cycles)),
        "responses": _count(Response, Response.cycle_id.in_(cycles))
        + _count(SealedResponse, SealedResponse.cycle_id.in_(cycles)),
        "summaries": _count(CycleSummary, CycleSummary.cycle_id.in_(cycles)),
        "goals": _count(DevelopmentGoal, DevelopmentGoal.cycle_id.in_(cycles)),
        "coach_notes": _count(CoachNote, CoachNote.cycle_id.in_(cycles)),
        "coach_assignments": _count(CoachAssignment, or_(
            CoachAssignment.coach_id == user.id, CoachAssignment.trainee_id == user.id))
        if user else 0,
        "programmes": _count(LeadProgramme, LeadProgramme.user_id == user.id) if user else 0,
        "rater_invitations": len(_rated(person, cycles)),
        "mail": _count(OutboxMessage, _mail_filter(person, cycles)),
        **erasure_portfolio.preview(user, person.email),
    }
    return {kind: n for kind, n in counts.items() if n}


def cohorts_concerned(person: Person) -> list[int]:
    """Cohorts whose analyses the erasure may change: read before it, while the trainee still
    belongs to their cohort."""
    if person.user is None:
        return []
    found = set(cohorts_affected(_own_cycle_ids(person)))
    if person.user.cohort_id is not None:
        found.add(person.user.cohort_id)
    return sorted(found)


def published_figures(cohort_ids: list[int]) -> dict[int, tuple[object, ...] | None]:
    """Each cohort's reports (every trainee, and each launch) as its lead sees them now."""
    found: dict[int, tuple[object, ...] | None] = {}
    for cohort_id in cohort_ids:
        made = analysis(cohort_id)
        found[cohort_id] = None if made is None else tuple(
            made.report(Selection(launch_id=launch)) for launch in made.choices)
    return found


def changed_cohorts(before: dict[int, tuple[object, ...] | None],
                    after: dict[int, tuple[object, ...] | None]) -> list[str]:
    """The names of the cohorts whose reports show other figures after the erasure."""
    changed = [cohort_id for cohort_id in before if before[cohort_id] != after.get(cohort_id)]
    return list(db.session.scalars(db.select(Cohort.name).where(Cohort.id.in_(changed))
                                   .order_by(Cohort.name))) if changed else []


def _delete(statement: Delete) -> int:
    return db.session.execute(statement, execution_options={"synchronize_session": False}
                              ).rowcount or 0


def _erase_cycles(cycles: list[int]) -> dict[str, int]:
    # Explicit, child tables first: SQLite does not enforce the ON DELETE CASCADEs.
    responses = db.select(Response.id).where(Response.cycle_id.in_(cycles))
    _delete(db.delete(Answer).where(Answer.response_id.in_(responses)))
    _delete(db.delete(Comment).where(Comment.response_id.in_(responses)))
    counts = {
        "responses": _delete(db.delete(Response).where(Response.cycle_id.in_(cycles)))
        + _delete(db.delete(SealedResponse).where(SealedResponse.cycle_id.in_(cycles))),
        "summaries": _delete(db.delete(CycleSummary).where(CycleSummary.cycle_id.in_(cycles))),
        "goals": _delete(db.delete(DevelopmentGoal).where(DevelopmentGoal.cycle_id.in_(cycles))),
        "coach_notes": _delete(db.delete(CoachNote).where(CoachNote.cycle_id.in_(cycles))),
    }
    _delete(db.delete(CycleScore).where(CycleScore.cycle_id.in_(cycles)))
    _delete(db.delete(NomineeApproval).where(NomineeApproval.cycle_id.in_(cycles)))
    _delete(db.delete(CohortLaunchCycle).where(CohortLaunchCycle.cycle_id.in_(cycles)))
    counts["invitations"] = _delete(db.delete(Invitation).where(Invitation.cycle_id.in_(cycles)))
    counts["cycles"] = _delete(db.delete(FeedbackCycle).where(FeedbackCycle.id.in_(cycles)))
    return counts


def _anonymise(user: User) -> dict[str, int]:
    counts = {
        "coach_assignments": _delete(db.delete(CoachAssignment).where(or_(
            CoachAssignment.coach_id == user.id, CoachAssignment.trainee_id == user.id))),
        "programmes": _delete(db.delete(LeadProgramme).where(LeadProgramme.user_id == user.id)),
    }
    _delete(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _delete(db.delete(TwoFactorKey).where(TwoFactorKey.user_id == user.id))
    # ``.invalid`` is reserved (RFC 2606): no mail can ever reach it, and the id keeps it unique.
    user.name, user.email = ERASED_NAME, f"erased-{user.id}@invalid"
    user.password_hash, user.active = None, False
    user.cohort_id = user.specialty = user.training_year = user.site = None
    user.activated_at = user.last_login_at = None
    end_sessions(user)
    return counts


def _blank(invitation: Invitation) -> None:
    address = f"erased-{invitation.id}@invalid"
    invitation.rater_name, invitation.rater_email, invitation.rater_identity = \
        ERASED_RATER, address, address
    invitation.decline_reason = invitation.draft = None
    # the emailed link stops working: nobody may answer in the erased person's name
    invitation.token_nonce = secrets.token_hex(16)


def erase(person: Person, *, by: User) -> dict[str, int]:
    """Erase ``person`` (after :func:`check`); returns what went, by kind."""
    check(person, by=by)
    cycles, cohorts = _own_cycle_ids(person), cohorts_concerned(person)
    counts = {"mail": _delete(db.delete(OutboxMessage).where(_mail_filter(person, cycles)))}
    rated = _rated(person, cycles)
    for invitation in rated:
        _blank(invitation)
    counts["rater_invitations"] = len(rated)
    # before the cycles (activities may point at their goals) and the account's name go
    counts |= erasure_portfolio.erase(person.user, person.email)
    if cycles:
        counts |= _erase_cycles(cycles)
    # A stored analysis built with them would no longer be used, but would still hold their
    # scores: gone now, rebuilt by the view once this commits.
    _delete(db.delete(StoredCohortAnalysis).where(StoredCohortAnalysis.cohort_id.in_(cohorts)))
    user = person.user
    if user is not None:
        counts |= _anonymise(user)
    db.session.flush()
    kept = {kind: n for kind, n in counts.items() if n}
    audit.record(by, "person.erased", f"user:{user.id}" if user else None,
                 account=user is not None, role=user.role if user else None, **kept)
    db.session.flush()
    return kept
