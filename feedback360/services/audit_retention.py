"""Deleting audit events older than ``AUDIT_RETENTION_DAYS`` (``flask purge-audit``).

The database decides what may go, not this module: its triggers delete only events older than the
cutoff in ``audit_retention``, and move that cutoff only forward and never into the last 89 days
(``models.system``). A purge first moves the cutoff, then deletes what is older, then records
itself (how many, up to when; never what they were).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func

from .. import audit
from ..extensions import db
from ..models import AuditEvent, AuditRetention


@dataclass(frozen=True)
class Purge:
    cutoff: datetime | None  # None: the retention is 0, events are kept forever
    count: int  # deleted, or (a dry run) that would be


def cutoff(now: datetime | None = None) -> datetime | None:
    """Events created before this are past their retention; None if kept forever."""
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    if not days:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge(*, dry_run: bool = False) -> Purge:
    """Delete (or, with ``dry_run``, count) the events past their retention. Idempotent: a second
    run deletes nothing more, though it is recorded too."""
    before = cutoff()
    if before is None:
        return Purge(None, 0)
    old = AuditEvent.created_at < before
    if dry_run:
        return Purge(before, db.session.scalar(
            db.select(func.count()).select_from(AuditEvent).where(old)) or 0)
    kept = db.session.get(AuditRetention, 1, with_for_update=True)
    if kept is None:
        db.session.add(AuditRetention(id=1, purged_before=before))
    elif kept.purged_before < before:  # a lengthened retention leaves the cutoff where it was
        kept.purged_before = before
    db.session.flush()
    deleted = db.session.execute(delete(AuditEvent).where(old).execution_options(
        synchronize_session=False)).rowcount
    audit.record(None, "audit.purged", None, deleted=deleted,
                 before=before.isoformat(timespec="seconds"))
    return Purge(before, deleted)
