"""Per-account throttling of sign-in failures and of reset and activation requests.

The per-address limits (Flask-Limiter, ``LOGIN_RATE_LIMIT``) cannot stop one account being
guessed from many addresses. These counts are kept per case-folded email in the limiter's own
storage (``RATELIMIT_STORAGE_URI``: Redis in production), so every worker and app server shares
them. The check runs for any email, account or not, so a refusal says nothing about which
addresses have accounts; the key is a keyed hash, so the store never holds the addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Response, current_app
from limits import RateLimitItem, parse_many
from limits.strategies import FixedWindowRateLimiter

from . import audit_requests
from .extensions import limiter

# Which setting limits which kind of attempt.
SETTINGS = {"login": "LOGIN_ACCOUNT_LIMIT", "reset": "RESET_ACCOUNT_LIMIT"}


@dataclass(frozen=True)
class Refusal:
    """Attempts for this account are refused until ``until`` (UTC)."""

    until: datetime

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds, as the per-address limits' 429 pages send it."""
        seconds = max(1, math.ceil((self.until - datetime.now(UTC)).total_seconds()))
        return {"Retry-After": str(seconds)}

    def message(self, kind: str) -> str:
        when = self.until.strftime("%H:%M UTC")
        if kind == "login":
            return (f"Too many failed sign-ins for this email address. Try again after {when}, "
                    "or reset your password with \u201cForgotten your password?\u201d: a reset "
                    "works straight away.")
        return (f"Too many requests for this email address. Try again after {when}, or use the "
                "link in the email already sent.")


def failed(response: Response) -> bool:
    """Flask-Limiter's ``deduct_when`` for the per-address limits: a success (a redirect) is
    never counted, so everyone behind one hospital proxy can still sign in."""
    return response.status_code >= 400


def _limits(kind: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[SETTINGS[kind]])


def _identifier(email: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    folded = email.strip().casefold().encode()
    return hmac.new(secret, folded, hashlib.sha256).hexdigest()[:32]


def _strategy() -> FixedWindowRateLimiter:
    return FixedWindowRateLimiter(limiter.storage)


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


def refusal(kind: str, email: str) -> Refusal | None:
    """A ``Refusal`` if ``email`` has used up any of its ``kind`` limits, else ``None``.

    A refusal is recorded in the audit trail (and committed) here, so no caller can forget to:
    callers check before changing anything and answer 429 at once."""
    if not _enabled():
        return None
    strategy, key = _strategy(), _identifier(email)
    resets = [strategy.get_window_stats(item, "account", kind, key).reset_time
              for item in _limits(kind) if not strategy.test(item, "account", kind, key)]
    if not resets:
        return None
    # Rounded up to the minute, so "try again after 10:15" is never a minute too early.
    refused = Refusal(until=datetime.fromtimestamp(math.ceil(max(resets) / 60) * 60, UTC))
    audit_requests.throttled("account", until=refused.until.isoformat(timespec="minutes"))
    return refused


def count(kind: str, email: str) -> None:
    """One more ``kind`` attempt for ``email`` (a failed sign-in, a reset request)."""
    if not _enabled():
        return
    strategy, key = _strategy(), _identifier(email)
    for item in _limits(kind):
        strategy.hit(item, "account", kind, key)
