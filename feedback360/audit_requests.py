"""Audit events about a request rather than a change: CSRF failures, refused access to an object,
and throttled sign-ins, resets and activations.

Recorded in one place (the error handlers, and the per-account refusal) rather than per route, so
a new object route is covered without anyone remembering to. Raters are never recorded: their
survey pages are anonymous, and an address and a time beside a survey endpoint could point at an
answer.
"""

from __future__ import annotations

import logging

from flask import request
from flask_login import current_user
from limits import RateLimitItemPerMinute
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .extensions import db, limiter

log = logging.getLogger(__name__)

ANONYMOUS_BLUEPRINTS = frozenset({"survey"})
ONE_A_MINUTE = RateLimitItemPerMinute(1)


# The action a throttled request is recorded as, by endpoint; anything else is "request.throttled".
THROTTLED_ACTIONS = {"auth.login": "login.throttled",
                     "account.change_password": "password_change.throttled",
                     "auth.forgot_password": "password_reset.throttled",
                     "auth.reset_password": "password_reset.throttled",
                     "auth.activate": "activation.throttled"}


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
    _commit(action, actor, **detail)


def _commit(action: str, actor, **detail: object) -> None:  # type: ignore[no-untyped-def]
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


def throttled(scope: str, **detail: object) -> None:
    """A sign-in, reset, activation or password change refused by a limit: ``scope`` is
    "address" (Flask-Limiter's per-address limits) or "account" (``account_throttle``).

    The email typed is kept, as for a failed sign-in, so a reviewer sees which account was
    being guessed at; the password and any link's token never are (the target is the endpoint,
    not the path that carries the token)."""
    if request.blueprint in ANONYMOUS_BLUEPRINTS:
        return
    action = THROTTLED_ACTIONS.get(request.endpoint or "", "request.throttled")
    if not _first_this_minute(action, scope):
        return
    email = (request.form.get("email") or "").strip().lower()
    if "@" in email:  # never a password typed into the wrong box
        detail["email"] = email[:200]
    # The per-address refusal comes to the error handler mid-request: its changes are dropped.
    # The per-account one is checked before the view changes anything: nothing to drop.
    (_save if scope == "address" else _commit)(action, _signed_in_user(), scope=scope, **detail)


def _first_this_minute(action: str, scope: str) -> bool:
    """Whether this is the first such refusal from this address this minute: a flood of
    refused requests must not become a flood of rows (one says the address was refused)."""
    try:
        return limiter.limiter.hit(ONE_A_MINUTE, "audit", action, scope,
                                   request.remote_addr or "")
    except Exception:  # the storage failing now: record the refusal rather than lose it
        log.warning("Could not check the rate-limit storage before auditing %s", action)
        return True
