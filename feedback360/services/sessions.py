"""Ending a user's sessions: every signed-in browser of theirs is signed out on its next request."""

from __future__ import annotations

import secrets

from ..models import User


def end_sessions(user: User) -> None:
    """Sign ``user`` out everywhere: the session id embeds this nonce (``User.get_id``)."""
    user.session_nonce = secrets.token_hex(16)
