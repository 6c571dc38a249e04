"""How long a sign-in lasts: an idle timeout and an absolute lifetime, enforced on the server.

The signed session holds when the sign-in began and when it was last used. Every request of a
signed-in browser checks both against ``SESSION_IDLE_MINUTES`` and ``SESSION_MAX_MINUTES``, so
a copied cookie dies at the same moment as the original, whatever expiry the browser was told.
(A permanent session is re-sent on every response anyway, so recording the last use costs
nothing extra.) Ending *every* session of a user is ``services.sessions.end_sessions``.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import login_user, logout_user

from .models import User
from .urls import safe_next

SIGNED_IN_AT = "_signed_in_at"
LAST_SEEN_AT = "_last_seen_at"
# Set when this sign-in passed the second factor (``sign_in_steps.py``).
SECOND_FACTOR = "_second_factor"
# Requests a stale session may still make: static files (a page already shown needs them) and
# signing out (which ends the user's other sessions too).
_UNCHECKED_ENDPOINTS = frozenset({"static", "auth.logout"})


def start(user: User, *, second_factor: bool = False) -> None:
    """Sign ``user`` in on a fresh session, stamped with the time (and with whether they gave
    a second factor)."""
    # Nothing from before the sign-in (or planted in the session) survives it.
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    if second_factor:
        session[SECOND_FACTOR] = True


def expiry_message() -> str | None:
    """Why this browser's sign-in is over, or None while it is still good; records the use."""
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(LAST_SEEN_AT)
    longest = current_app.config["SESSION_MAX_MINUTES"]
    idle = current_app.config["SESSION_IDLE_MINUTES"]
    now = int(time.time())
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int) \
            or now - signed_in_at >= longest * 60:
        # No stamps: a session from before sign-ins were stamped, or not made by ``start``.
        return f"You have been signed out after {longest} minutes. Sign in again to continue."
    if now - seen_at >= idle * 60:
        return (f"You have been signed out after {idle} minutes without activity. "
                "Sign in again to continue.")
    session[LAST_SEEN_AT] = now
    return None


def end_stale_session():  # type: ignore[no-untyped-def]
    """Before each request: a signed-in browser past either limit is signed out and sent to
    sign in again, back to the page it asked for when that is a safe local GET."""
    if "_user_id" not in session or request.endpoint in _UNCHECKED_ENDPOINTS \
            or request.blueprint == "assets":
        return None
    message = expiry_message()
    if message is None:
        return None
    logout_user()
    session.clear()
    flash(message, "info")
    wanted = None
    if request.method == "GET":
        wanted = safe_next(request.script_root + request.full_path.rstrip("?"), "") or None
    return redirect(url_for("auth.login", next=wanted))


def register_session_lifetime(app: Flask) -> None:
    app.before_request(end_stale_session)
