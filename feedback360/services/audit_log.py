"""Reading the audit trail for the admin audit page and its CSV export (newest first)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select

from ..extensions import db
from ..models import AuditEvent, User

EXPORT_COLUMNS = ["time_utc", "actor", "action", "target", "client_address", "browser", "detail"]


@dataclass(frozen=True)
class AuditFilters:
    who: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query(filters: AuditFilters) -> Select[tuple[AuditEvent]]:
    statement = db.select(AuditEvent).outerjoin(User, AuditEvent.actor_id == User.id)
    if filters.who:
        statement = statement.where(
            User.email.ilike(f"%{_escape_like(filters.who.lower())}%", escape="\\"))
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.date_from:
        statement = statement.where(AuditEvent.created_at >= _midnight(filters.date_from))
    if filters.date_to:  # the whole of the "to" day
        statement = statement.where(
            AuditEvent.created_at < _midnight(filters.date_to + timedelta(days=1)))
    return statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def actions() -> list[str]:
    """Every action recorded so far, for the filter's choices."""
    return list(db.session.scalars(
        db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def export_rows(filters: AuditFilters) -> Iterator[dict[str, Any]]:
    for event in db.session.scalars(query(filters)):
        yield {"time_utc": event.created_at.astimezone(UTC).isoformat(timespec="seconds"),
               "actor": event.actor.email if event.actor else "",
               "action": event.action, "target": event.target or "",
               "client_address": event.client_address or "",
               "browser": event.user_agent or "",
               "detail": "" if event.detail is None else json.dumps(event.detail, sort_keys=True,
                                                                   default=str)}
