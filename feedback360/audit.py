"""The audit trail: who did what to what, and when (logins, releases, exports, erasures)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent, User
from .models.system import USER_AGENT_LENGTH


def record(actor: User | None, action: str, target: str | None = None,
           **detail: Any) -> AuditEvent:
    """Add an audit event to the current transaction; the request commits it with the change."""
    event = AuditEvent(actor_id=actor.id if actor else None, action=action, target=target,
                       detail=detail or None, **_origin())
    db.session.add(event)
    return event


def _origin() -> dict[str, str | None]:
    """The request's client address and browser; nothing outside a request (CLI, jobs)."""
    if not has_request_context() or request.blueprint == "survey":
        # Raters are anonymous: no address or browser is kept beside a survey request.
        return {}
    # PostgreSQL refuses NUL in text: a forged header must not turn an audited request into a 500.
    agent = request.user_agent.string.replace("\x00", "")[:USER_AGENT_LENGTH] or None
    address = request.remote_addr
    return {"client_address": address[:45] if address else None, "user_agent": agent}
