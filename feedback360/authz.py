"""Who is signed in, and what their role lets them reach. Checked on the server for every route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, request, session
from flask_login import COOKIE_NAME, LoginManager, current_user

from .extensions import db
from .models import User

F = TypeVar("F", bound=Callable[..., Any])


def load_user(user_id: str) -> User | None:
    """The session holds ``<id>:<nonce>``; a rotated nonce ends the session (sign-out, password
    change or reset: ``services.sessions.end_sessions``), as does deactivation."""
    raw_id, _, nonce = user_id.partition(":")
    if not raw_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or user.session_nonce != nonce or not user.is_active:
        return None
    return user


def configure_login_manager(manager: LoginManager) -> None:
    manager.user_loader(load_user)
    manager.login_view = "auth.login"
    manager.login_message = "Sign in to continue"
    manager.login_message_category = "info"
    manager.session_protection = "strong"


def settle_anonymous_visitor() -> None:
    """Before a request that carries no sign-in, settle that nobody is signed in.

    For raters (``views/survey.py``), who have no account. Flask-Login would find nobody too,
    but on the way its "strong" session protection takes any session without its identifier
    (a rater's holds only the survey reference and the CSRF token) for a stolen one: it deletes
    its keys and asks for the remember-me cookie to be cleared, so every page that reads
    ``current_user`` (the layout does) re-signed and re-sent the session cookie and sent an
    expired ``remember_token``. A request whose session holds a user id, or that carries a
    remember-me cookie, is left to Flask-Login, session protection included. (This app has no
    request or header loader, the only other ways Flask-Login finds a user.)
    """
    if "_login_user" in g or "_user_id" in session:
        return
    if current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies:
        return
    from .extensions import login_manager

    g._login_user = login_manager.anonymous_user()  # where Flask-Login keeps the request's user


def role_required(*roles: str) -> Callable[[F], F]:
    """Signed in with one of ``roles``: anonymous users go to sign in, others get a 403 page."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from .extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
