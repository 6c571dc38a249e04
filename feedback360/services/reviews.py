"""The coach's review of a closed cycle: hide comments, keep private notes, release the report.

Only a coach assigned to the trainee may do any of it, and only once the cycle has closed (no
scores exist before, DESIGN.md rule 3). Releasing is what lets the trainee see their report; it
cannot be undone. A hidden comment keeps its text (the audit trail and the coach still need it):
it is only left out of what the trainee is shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import update

from .. import audit, mail
from ..extensions import db
from ..models import CoachNote, Comment, FeedbackCycle, Response, User
from ..models.responses import COMMENT_HANDLE_LENGTH
from ..urls import absolute_url
from . import DomainError, Forbidden, NotFound
from .coaching import is_coach_of

REVIEWABLE = ("closed", "released")
HIDE_REASON_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 4000

_HANDLE = re.compile(f"[A-Za-z0-9_-]{{{COMMENT_HANDLE_LENGTH}}}")


def coach_can_review(coach: User, cycle: FeedbackCycle) -> bool:
    return cycle.status in REVIEWABLE and is_coach_of(coach, cycle.trainee_id)


def _require_reviewer(coach: User, cycle: FeedbackCycle) -> None:
    if not is_coach_of(coach, cycle.trainee_id):
        raise Forbidden("Only the trainee's coach can review this report")
    if cycle.status not in REVIEWABLE:
        raise DomainError("The report can be reviewed once the cycle has closed")


# --- Comments ------------------------------------------------------------------------------------

def find_comment(cycle: FeedbackCycle, handle: str) -> Comment:
    """A colleague's comment in this cycle (never the trainee's own) by its handle; NotFound
    otherwise. The handle is the comment's alone: nothing the coach is given, and nothing the
    audit trail keeps, says which comments one rater wrote (DESIGN.md, Anonymity rule 3)."""
    # A handle is token_urlsafe's alphabet only: anything else (a NUL, which PostgreSQL refuses
    # in a query) cannot name a comment, so it never reaches the database.
    if not _HANDLE.fullmatch(handle):
        raise NotFound("That comment is not in this report")
    comment = db.session.scalar(
        db.select(Comment).join(Response, Response.id == Comment.response_id)
        .where(Comment.handle == handle, Response.cycle_id == cycle.id, ~Response.is_self))
    if comment is None:
        raise NotFound("That comment is not in this report")
    return comment


def check_hide_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Enter why you are hiding this comment", field="reason")
    if len(reason) > HIDE_REASON_MAX_LENGTH:
        raise DomainError(f"The reason must be {HIDE_REASON_MAX_LENGTH} characters or fewer",
                          field="reason")
    return reason


def hide_comment(cycle: FeedbackCycle, handle: str, coach: User, reason: str | None) -> Comment:
    """Hide a comment from the trainee (it identifies someone, or is unprofessional).

    Possible before and after release: taking down an identifying comment must always be possible.
    """
    _require_reviewer(coach, cycle)
    comment = find_comment(cycle, handle)
    reason = check_hide_reason(reason)
    if comment.hidden_at is not None:
        raise DomainError("This comment is already hidden from the trainee")
    comment.hidden_at = datetime.now(UTC)
    comment.hidden_by_id = coach.id
    comment.hidden_reason = reason
    db.session.flush()
    audit.record(coach, "comment.hidden", f"cycle:{cycle.id}",
                 comment=comment.handle, prompt=comment.prompt_key, reason=reason)
    return comment


def unhide_comment(cycle: FeedbackCycle, handle: str, coach: User) -> Comment:
    """Show a hidden comment again; only before release, so the trainee is never shown a comment
    that was judged unfit after they had read their report."""
    _require_reviewer(coach, cycle)
    comment = find_comment(cycle, handle)
    if comment.hidden_at is None:
        raise DomainError("This comment is not hidden")
    if cycle.status != "closed":
        raise DomainError("The report has been released, so hidden comments stay hidden")
    previous = comment.hidden_reason
    comment.hidden_at = comment.hidden_by_id = comment.hidden_reason = None
    db.session.flush()
    audit.record(coach, "comment.unhidden", f"cycle:{cycle.id}",
                 comment=comment.handle, prompt=comment.prompt_key, previous_reason=previous)
    return comment


# --- Notes ---------------------------------------------------------------------------------------

def check_note(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError("Enter your note", field="text")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(f"A note must be {NOTE_MAX_LENGTH:,} characters or fewer", field="text")
    return text


def add_note(cycle: FeedbackCycle, coach: User, text: str | None) -> CoachNote:
    """A private note: the trainee's coaches see it, the trainee never does."""
    _require_reviewer(coach, cycle)
    note = CoachNote(cycle_id=cycle.id, author_id=coach.id, text=check_note(text))
    db.session.add(note)
    db.session.flush()
    # Which note and how long, not its words: the trail is read by programme leads, and a
    # coach's notes are for the trainee's coaches alone.
    audit.record(coach, "note.added", f"cycle:{cycle.id}", note=note.id, length=len(note.text))
    return note


def notes_for(cycle: FeedbackCycle) -> list[CoachNote]:
    return list(db.session.scalars(
        db.select(CoachNote).where(CoachNote.cycle_id == cycle.id)
        .order_by(CoachNote.created_at, CoachNote.id)))


# --- Release -------------------------------------------------------------------------------------

def report_link(cycle: FeedbackCycle) -> str:
    return absolute_url("reports.dashboard", cycle_id=cycle.id)


def release(cycle: FeedbackCycle, coach: User) -> None:
    """Closed → released: the trainee may now read the report, and is emailed a link.

    Irreversible. The status changes by a conditional UPDATE, so two coaches (or a double click)
    releasing at once release it once, and only one email is queued.
    """
    _require_reviewer(coach, cycle)
    if cycle.status == "released":
        raise DomainError(already_released(cycle))
    now = datetime.now(UTC)
    result = db.session.execute(
        update(FeedbackCycle)
        .where(FeedbackCycle.id == cycle.id, FeedbackCycle.status == "closed")
        .values(status="released", released_at=now, released_by_id=coach.id))
    if result.rowcount != 1:  # someone else released it in the meantime
        db.session.expire(cycle)
        raise DomainError(already_released(cycle))
    db.session.expire(cycle, ["status", "released_at", "released_by_id", "released_by"])
    audit.record(coach, "cycle.released", f"cycle:{cycle.id}")
    trainee = cycle.trainee
    if trainee.active:
        mail.queue(trainee.email, "Your leadership feedback report is ready", "report_released",
                   trainee=trainee, coach=coach, cycle=cycle, link=report_link(cycle))


def already_released(cycle: FeedbackCycle) -> str:
    by = cycle.released_by.name if cycle.released_by else "a coach"
    when = f" on {cycle.released_at.day} {cycle.released_at:%B %Y}" if cycle.released_at else ""
    return f"This report was already released{when} by {by}. Release cannot be undone."
