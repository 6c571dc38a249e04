"""What ``flask purge`` removes once its retention period has passed (README, "Configuration").

One function per kind of data. Each finds what is past its period and, unless it is a dry run,
removes it and records how many in the audit trail (never what they were); each flushes and the
command commits it alone. Run twice, the second run finds nothing.

Nothing here changes what a released report or a published cohort report shows: invitations
stay, so every count of who was asked, answered or declined stays; a released cycle's answers go
only after its summary keeps the comments it shows (``summaries.comments_to_keep``); cohort
reports are built from ``cycle_scores`` and invitation counts, which are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, delete, func, literal, or_, select, update

from .. import audit
from ..extensions import db
from ..models import (
    ActivityFeedbackRequest,
    Answer,
    AuditEvent,
    AuditRetention,
    Comment,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    User,
)
from .summaries import KEPT_COMMENTS, comments_to_keep, store_summary

# Invalid by RFC 2606, so never delivered to; unique per row (the unique email indexes), and
# still an address to the check constraints.
PURGED_RATER_DOMAIN = "@purged.invalid"
PURGED_RATER_NAME = "Name removed"
ANONYMISED_DOMAIN = "@anonymised.invalid"
ANONYMISED_NAME = "Former user"
_AGED_OUT = datetime.min.replace(tzinfo=UTC)  # a deactivation whose event the audit purge removed


@dataclass(frozen=True)
class Purged:
    kind: str
    setting: str
    cutoff: datetime | None  # None: the setting is 0, this kind is kept
    count: int  # removed, or (a dry run) that would be
    noun: str  # what was counted, and
    verb: str  # what is done to it: for the command's summary line


def _cutoff(setting: str, now: datetime) -> datetime | None:
    days = current_app.config[setting]
    return now - timedelta(days=days) if days else None


def _run(kind: str, setting: str, what: tuple[str, str], now: datetime, dry_run: bool,
         find: Callable[[datetime], list[int]], remove: Callable[[list[int]], None]) -> Purged:
    cutoff = _cutoff(setting, now)
    if cutoff is None:
        return Purged(kind, setting, None, 0, *what)
    ids = find(cutoff)
    if ids and not dry_run:
        remove(ids)
        db.session.flush()
        audit.record(None, "retention.purged", kind, count=len(ids),
                     before=cutoff.isoformat(timespec="seconds"))
    return Purged(kind, setting, cutoff, len(ids), *what)


# --- Raters' names, addresses and decline reasons ----------------------------------------------

def _invitations_due(cutoff: datetime) -> list[int]:
    return list(db.session.scalars(
        select(Invitation.id).join(FeedbackCycle, FeedbackCycle.id == Invitation.cycle_id)
        .where(FeedbackCycle.status.in_(("closed", "released")),
               FeedbackCycle.closed_at < cutoff,
               ~Invitation.rater_email.endswith(PURGED_RATER_DOMAIN))))


def _blank_invitations(ids: list[int]) -> None:
    blanked_address = literal("purged-").concat(cast(Invitation.id, String)).concat(
        PURGED_RATER_DOMAIN)
    db.session.execute(
        update(Invitation).where(Invitation.id.in_(ids))
        .values(rater_email=blanked_address, rater_identity=blanked_address,
                rater_name=PURGED_RATER_NAME, decline_reason=None, draft=None)
        .execution_options(synchronize_session=False))


def rater_details(now: datetime, *, dry_run: bool = False) -> Purged:
    """Invitations of cycles closed before the cutoff: name, address, decline reason and any
    draft blanked. The rows stay, with their group and status, for every count shown."""
    return _run("rater details", "RATER_DETAILS_RETENTION_DAYS", ("invitation(s)", "blanked"), now,
                dry_run, _invitations_due, _blank_invitations)


# --- Observers' names, addresses and decline reasons on written feedback never given ------------

PURGED_OBSERVER_NAME = "Name removed"
_RETIRED_NONCE = "retired-by-purge"  # no link was ever issued with it
_UNANSWERED = ("sent", "opened", "declined", "withdrawn")


def observer_requests_ended() -> dict[int, datetime]:
    """When each request that was never answered, and is not yet purged, ended: declined when
    the observer declined; withdrawn when the trainee withdrew it (its audit event; without one,
    the latest email, the last time it is known to have been live); unanswered when its latest
    link expired (``OBSERVER_LINK_MAX_AGE_DAYS`` after the latest email)."""
    link_days = timedelta(days=current_app.config["OBSERVER_LINK_MAX_AGE_DAYS"])
    rows = db.session.execute(
        select(ActivityFeedbackRequest.id, ActivityFeedbackRequest.status,
               ActivityFeedbackRequest.declined_at, ActivityFeedbackRequest.created_at,
               func.coalesce(ActivityFeedbackRequest.last_reminded_at,
                             ActivityFeedbackRequest.sent_at))
        .where(ActivityFeedbackRequest.status.in_(_UNANSWERED),
               ~ActivityFeedbackRequest.observer_email.endswith(PURGED_RATER_DOMAIN))).all()
    withdrawn = dict(db.session.execute(
        select(AuditEvent.target, func.max(AuditEvent.created_at))
        .where(AuditEvent.action == "written_feedback.withdrawn",
               AuditEvent.target.in_([f"feedback_request:{row[0]}" for row in rows
                                      if row[1] == "withdrawn"]))
        .group_by(AuditEvent.target)).all())
    ended: dict[int, datetime] = {}
    for request_id, status, declined_at, created_at, emailed in rows:
        if status == "declined":
            ended[request_id] = declined_at or emailed or created_at
        elif status == "withdrawn":
            ended[request_id] = withdrawn.get(f"feedback_request:{request_id}",
                                              emailed or created_at)
        elif emailed is not None:
            ended[request_id] = emailed + link_days
    return ended


def _observer_requests_due(cutoff: datetime) -> list[int]:
    return sorted(request_id for request_id, ended in observer_requests_ended().items()
                  if ended < cutoff)


def _blank_observer_requests(ids: list[int]) -> None:
    blanked_address = literal("purged-observer-").concat(
        cast(ActivityFeedbackRequest.id, String)).concat(PURGED_RATER_DOMAIN)
    # A new nonce retires every link emailed to the old address (a resend would go nowhere).
    db.session.execute(
        update(ActivityFeedbackRequest).where(ActivityFeedbackRequest.id.in_(ids))
        .values(observer_email=blanked_address, observer_name=PURGED_OBSERVER_NAME,
                observer_role=None, decline_reason=None, answers={}, overall="",
                token_nonce=_RETIRED_NONCE)
        .execution_options(synchronize_session=False))


def observer_details(now: datetime, *, dry_run: bool = False) -> Purged:
    """Requests for written feedback never answered (declined, withdrawn, expired) that ended
    before the cutoff: the observer's name, address, role, decline reason and any draft blanked.
    The rows stay, with their status, for the trainee's and the champion's counts. Feedback
    given is the trainee's record and is kept with the observer's name (it goes with the
    trainee's erasure, or the observer's)."""
    return _run("observer details", "RATER_DETAILS_RETENTION_DAYS",
                ("written feedback request(s)", "blanked"), now, dry_run,
                _observer_requests_due, _blank_observer_requests)


# --- Raters' answers and comments ---------------------------------------------------------------

def _cycles_with_answers(cutoff: datetime) -> list[int]:
    return list(db.session.scalars(
        select(FeedbackCycle.id).where(
            FeedbackCycle.status == "released", FeedbackCycle.closed_at < cutoff,
            select(Response.id).where(Response.cycle_id == FeedbackCycle.id,
                                      ~Response.is_self).exists())
        .order_by(FeedbackCycle.id)))


def _delete_answers(cycle_ids: list[int]) -> None:
    for cycle in db.session.scalars(select(FeedbackCycle).where(FeedbackCycle.id.in_(cycle_ids))):
        summary = cycle.summary
        if summary is None:  # closed before summaries existed: store it while the answers are here
            summary = store_summary(cycle)
        # A new dict, so the JSON column is seen to change; computed_at stays, as cohort
        # reports' basis includes it and nothing they read has changed.
        summary.report = {**summary.report, KEPT_COMMENTS: comments_to_keep(cycle)}
    responses = select(Response.id).where(Response.cycle_id.in_(cycle_ids), ~Response.is_self)
    for table in (Comment, Answer):
        db.session.execute(delete(table).where(table.response_id.in_(responses))
                           .execution_options(synchronize_session=False))
    db.session.execute(delete(Response).where(Response.cycle_id.in_(cycle_ids), ~Response.is_self)
                       .execution_options(synchronize_session=False))


def answers(now: datetime, *, dry_run: bool = False) -> Purged:
    """Colleagues' answers and comments of released cycles closed before the cutoff. The
    trainee's own self-assessment is theirs and stays with their account."""
    return _run("answers", "ANSWER_RETENTION_DAYS", ("released cycle(s)", "cleared of answers"),
                now,
                dry_run, _cycles_with_answers, _delete_answers)


# --- Sent email --------------------------------------------------------------------------------

def _mail_due(cutoff: datetime) -> list[int]:
    return list(db.session.scalars(select(OutboxMessage.id).where(or_(
        (OutboxMessage.status == "sent") & (OutboxMessage.sent_at < cutoff),
        (OutboxMessage.status == "failed") & (OutboxMessage.created_at < cutoff)))))


def _delete_mail(ids: list[int]) -> None:
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids))
                       .execution_options(synchronize_session=False))


def mail(now: datetime, *, dry_run: bool = False) -> Purged:
    """Messages sent (or given up on) before the cutoff: their bodies hold live survey links."""
    return _run("mail", "MAIL_RETENTION_DAYS", ("message(s)", "deleted"), now, dry_run, _mail_due,
                _delete_mail)


# --- Deactivated accounts ----------------------------------------------------------------------

def _deactivated_before(cutoff: datetime) -> list[int]:
    """Inactive, not yet anonymised accounts deactivated before the cutoff: their latest
    (de|re)activation event is a deactivation before it, or has itself aged out of a purged
    audit trail (so it is older than AUDIT_RETENTION_DAYS, which then bounds this period)."""
    latest = (select(AuditEvent.target, func.max(AuditEvent.id).label("id"))
              .where(AuditEvent.action.in_(("user.deactivated", "user.reactivated")))
              .group_by(AuditEvent.target).subquery())
    recorded = dict(db.session.execute(
        select(AuditEvent.target, AuditEvent.created_at)
        .join(latest, latest.c.id == AuditEvent.id)
        .where(AuditEvent.action == "user.deactivated")).all())
    trail_purged = db.session.get(AuditRetention, 1) is not None
    candidates = db.session.scalars(select(User.id).where(
        User.active.is_(False), ~User.email.endswith(ANONYMISED_DOMAIN)))
    due = []
    for user_id in candidates:
        when = recorded.get(f"user:{user_id}", _AGED_OUT if trail_purged else None)
        if when is not None and when < cutoff:
            due.append(user_id)
    return due


def _anonymise(ids: list[int]) -> None:
    """Rows stay (audit events, releases and approvals point to them); who they were goes."""
    db.session.execute(
        update(User).where(User.id.in_(ids))
        .values(name=ANONYMISED_NAME, password_hash=None,
                email=literal("former-user-").concat(cast(User.id, String))
                .concat(ANONYMISED_DOMAIN))
        .execution_options(synchronize_session=False))


def deactivated_accounts(now: datetime, *, dry_run: bool = False) -> Purged:
    return _run("deactivated accounts", "DEACTIVATED_ACCOUNT_RETENTION_DAYS",
                ("account(s)", "anonymised"), now, dry_run, _deactivated_before, _anonymise)


KINDS = (rater_details, observer_details, answers, mail, deactivated_accounts)


def now_utc() -> datetime:
    return datetime.now(UTC)
