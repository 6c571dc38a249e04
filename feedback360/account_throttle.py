"""Per-account throttling of sign-in failures and of reset and activation requests.

The per-address limits (Flask-Limiter, ``LOGIN_RATE_LIMIT``) cannot stop one account being
guessed from many addresses. These counts are kept per case-folded email in the limiter's own
storage (``RATELIMIT_STORAGE_URI``: Redis in production), so every worker and app server shares
them. The check runs for any email, account or not, so a refusal says nothing about which
addresses have accounts; the key is a keyed hash, so the store never holds the addresses.

If that storage stops answering (Redis down, or dying mid-run), sign-in must not fail with it:
the counts are kept in this process's memory meanwhile (a warning is logged; each worker then
counts alone, as with ``memory://``), and the shared storage is tried again every
``RETRY_SECONDS``, so the counts are shared again once it is back. Flask-Limiter's per-address
limits do the same (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``, config.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from flask import Response, current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from . import audit_requests
from .extensions import limiter

# Which setting limits which kind of attempt.
SETTINGS = {"login": "LOGIN_ACCOUNT_LIMIT", "reset": "RESET_ACCOUNT_LIMIT"}
# How long to count in memory after the shared storage failed before trying it again.
RETRY_SECONDS = 15

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Fallback:
    """This app's in-memory counts, used while the shared storage is unreachable."""

    memory: MemoryStorage | None = None  # made at the first outage (it starts a timer thread)
    retry_at: float | None = None  # while the shared storage is down: when to try it again

    def strategy(self) -> FixedWindowRateLimiter:
        if self.memory is None:
            self.memory = MemoryStorage()
        return FixedWindowRateLimiter(self.memory)


def _fallback() -> _Fallback:
    if "account_throttle" not in current_app.extensions:
        current_app.extensions["account_throttle"] = _Fallback()
    return current_app.extensions["account_throttle"]


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


def _counted(operation: Callable[[FixedWindowRateLimiter], T]) -> T:
    """``operation`` on the shared storage, or on this process's memory while it is down."""
    fallback = _fallback()
    shared = limiter.storage
    if fallback.retry_at is None or time.time() >= fallback.retry_at:
        try:
            result = operation(FixedWindowRateLimiter(shared))
        except (StorageError, *_as_tuple(shared.base_exceptions)) as error:
            if fallback.retry_at is None:
                log.warning("The rate-limit storage (RATELIMIT_STORAGE_URI) is unreachable "
                            "(%s): per-account sign-in counts are kept in this process's memory "
                            "until it answers again", type(error).__name__)
            fallback.retry_at = time.time() + RETRY_SECONDS
        else:
            if fallback.retry_at is not None:
                log.warning("The rate-limit storage answers again: per-account sign-in counts "
                            "are shared again")
                fallback.retry_at = None
            return result
    return operation(fallback.strategy())


def _as_tuple(exceptions: type[Exception] | tuple[type[Exception], ...]
              ) -> tuple[type[Exception], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


def refusal(kind: str, email: str) -> Refusal | None:
    """A ``Refusal`` if ``email`` has used up any of its ``kind`` limits, else ``None``.

    A refusal is recorded in the audit trail (and committed) here, so no caller can forget to:
    callers check before changing anything and answer 429 at once."""
    if not _enabled():
        return None
    key, items = _identifier(email), _limits(kind)

    def used_up(strategy: FixedWindowRateLimiter) -> list[float]:
        return [strategy.get_window_stats(item, "account", kind, key).reset_time
                for item in items if not strategy.test(item, "account", kind, key)]

    resets = _counted(used_up)
    if _fallback().memory is not None:  # failures counted in an outage hold after it too
        resets += used_up(_fallback().strategy())
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
    key, items = _identifier(email), _limits(kind)
    _counted(lambda strategy: [strategy.hit(item, "account", kind, key) for item in items])
