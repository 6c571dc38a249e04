"""Signing in with a second factor: the state between the password and the code, and the gate
that keeps signed-in sessions without a second factor out of everything when their role needs one.

After a correct password the session holds only who is half-way through signing in (their id and
session nonce) and when: nobody is signed in, so every page but the code and set-up steps sends
them to sign in (Flask-Login sees no user). The state lasts ``PENDING_SECONDS`` and dies with the
user's sessions (a password reset rotates the nonce).
"""

from __future__ import annotations

import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from . import session_lifetime
from .authz import load_user
from .models import User
from .services import two_factor
from .urls import safe_next

PENDING = "_second_step"
PENDING_SECONDS = 5 * 60
# A signed-in session without its second factor may still reach these (setting one up, leaving).
_GATE_OPEN = frozenset({"static", "auth.logout", "two_factor.setup"})


def begin(user: User, wanted: str) -> None:
    """The password was right: wait for the second factor, then go to ``wanted``."""
    session.clear()
    session[PENDING] = {"user": user.get_id(), "at": int(time.time()), "next": wanted}


def pending_user() -> User | None:
    """Who is between the password and the code in this browser, if anyone (still in time)."""
    state = session.get(PENDING)
    if not isinstance(state, dict) or not isinstance(state.get("at"), int) \
            or not isinstance(state.get("user"), str):
        return None
    if not 0 <= int(time.time()) - state["at"] < PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    return load_user(state["user"])


def finish(user: User) -> str:
    """Sign ``user`` in, second factor given; where they were going."""
    wanted = (session.get(PENDING) or {}).get("next")
    session_lifetime.start(user, second_factor=True)
    return safe_next(wanted if isinstance(wanted, str) else None, url_for("home.index"))


def gate():  # type: ignore[no-untyped-def]
    """Before each request: a signed-in session whose role needs a second factor and which has
    not given one (signed in by activating the account, from before the role needed it) may set
    one up and nothing else; one enrolled since is signed out to sign in with its code."""
    if "_user_id" not in session or session.get(session_lifetime.SECOND_FACTOR) \
            or request.endpoint in _GATE_OPEN or request.blueprint == "assets":
        return None
    if not current_user.is_authenticated or not two_factor.required_for(current_user):
        return None
    if not two_factor.enrolled(current_user):
        return redirect(url_for("two_factor.setup"))
    logout_user()
    session.clear()
    flash("Sign in again with your password and a code from your authenticator app", "info")
    return redirect(url_for("auth.login"))


def register_sign_in_steps(app: Flask) -> None:
    app.before_request(gate)
