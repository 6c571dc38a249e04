"""Who is signed in, and what their role lets them reach. Checked on the server for every route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import LoginManager, current_user

from .extensions import db
from .models import User

F = TypeVar("F", bound=Callable[..., Any])


def load_user(user_id: str) -> User | None:
    """The session holds ``<id>:<nonce>``; a rotated nonce (password changed) ends the session."""
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
