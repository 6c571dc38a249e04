"""Every signed token the app issues: one serializer per purpose, each with its own salt.

A token for one purpose never verifies for another, and rotating ``SECRET_KEY`` (with the old
key in ``SECRET_KEY_FALLBACKS``) keeps outstanding tokens valid until they expire.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ACCOUNT_ACTIVATION = "account-activation"
PASSWORD_RESET = "password-reset"  # noqa: S105 - a salt name, not a secret
SURVEY_INVITATION = "survey-invitation"
ROSTER_IMPORT = "roster-import"  # a previewed CSV file, posted back to confirm the import
WRITTEN_FEEDBACK = "written-feedback"  # a named observer's link to one activity's feedback

SALTS = (ACCOUNT_ACTIVATION, PASSWORD_RESET, SURVEY_INVITATION, ROSTER_IMPORT, WRITTEN_FEEDBACK)


class TokenInvalid(Exception):
    """The token is tampered, for another purpose, or no longer valid."""


class TokenExpired(TokenInvalid):
    """The token was genuine but is too old."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    if salt not in SALTS:
        raise ValueError(f"unknown token purpose {salt!r}")
    keys = [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]
    # itsdangerous signs with the last key and accepts any of them.
    return URLSafeTimedSerializer(keys, salt=salt)


def issue(salt: str, payload: Any) -> str:
    return _serializer(salt).dumps(payload)


def read(salt: str, token: str, max_age: int | None = None) -> Any:
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired(str(exc)) from exc
    except BadSignature as exc:
        raise TokenInvalid(str(exc)) from exc


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the current password hash: a token carrying it dies once it is used."""
    return hashlib.sha256((password_hash or "no-password").encode()).hexdigest()[:16]
