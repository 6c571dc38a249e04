"""Audit events the error handlers record: CSRF failures and refused access to an object.

Recorded in one place (the error handlers) rather than per route, so a new object route is covered
without anyone remembering to. Raters are never recorded: their survey pages are anonymous, and an
address and a time beside a survey endpoint could point at an answer.
"""

from __future__ import annotations

import logging

from flask import request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .extensions import db

log = logging.getLogger(__name__)

ANONYMOUS_BLUEPRINTS = frozenset({"survey"})


def _signed_in_user():  # type: ignore[no-untyped-def]
    return current_user._get_current_object() if current_user.is_authenticated else None


def _object_ids() -> dict[str, int]:
    """The route's integer arguments (``cycle_id`` ...): the object that was asked for."""
    return {name: value for name, value in (request.view_args or {}).items()
            if isinstance(value, int)}


def _save(action: str, actor, **detail: object) -> None:  # type: ignore[no-untyped-def]
    # The request failed: nothing it changed may be saved with the event, and a database that
    # cannot take the event must not turn an error page into a 500.
    db.session.rollback()
    try:
        audit.record(actor, action, (request.endpoint or "")[:200] or None, **detail)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("Could not record the audit event %s", action)


def csrf_failed() -> None:
    """A form refused for a missing or wrong CSRF token: a forged request, or an expired page."""
    if request.blueprint in ANONYMOUS_BLUEPRINTS:
        return
    _save("csrf.failed", _signed_in_user(), method=request.method)


def access_refused(code: int) -> None:
    """A signed-in user refused (403) or not shown (404) an object a route names by id."""
    if code not in (403, 404) or request.blueprint in ANONYMOUS_BLUEPRINTS:
        return
    user, ids = _signed_in_user(), _object_ids()
    if user is None or not ids:
        return
    _save("access.refused", user, status=code, **ids)
