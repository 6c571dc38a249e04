"""The audit trail: who did what to what, and when (logins, releases, exports, erasures)."""

from __future__ import annotations

from typing import Any

from .extensions import db
from .models import AuditEvent, User


def record(actor: User | None, action: str, target: str | None = None,
           **detail: Any) -> AuditEvent:
    """Add an audit event to the current transaction; the request commits it with the change."""
    event = AuditEvent(actor_id=actor.id if actor else None, action=action, target=target,
                       detail=detail or None)
    db.session.add(event)
    return event
