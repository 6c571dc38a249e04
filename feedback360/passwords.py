"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app, has_app_context

# argon2id with the library's current recommended parameters.
_STRONG = PasswordHasher()
# The test-suite's profile only (PASSWORD_HASH_FAST): the same algorithm, far cheaper settings.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return FAST_HASHER
    return _STRONG


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says why, for the person choosing it."""


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships a ranked list of the 30,000 most common leaked passwords.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, min_length: int, max_length: int,
                 personal: tuple[str, ...] = ()) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"Password must be at least {min_length} characters long")
    if len(password) > max_length:
        raise WeakPassword(f"Password must be {max_length} characters or fewer")
    folded = password.casefold()
    if folded in _common_passwords() or folded.strip("0123456789!") in _common_passwords():
        raise WeakPassword("This password is too common. Choose one that other people "
                           "are unlikely to use, such as three or four random words")
    if len(set(password)) < 4:
        raise WeakPassword("Password must not repeat just a few characters")
    for part in personal:
        if part and len(part) >= 4 and part.casefold() in folded:
            raise WeakPassword("Password must not contain your name or email address")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Made once per hasher (so with its parameters): verifying against it costs what a real
    # account's check costs, and no password matches it.
    return hasher.hash("no account has this password")


def prepare_dummy_hash(app: Flask) -> None:
    """Called from ``create_app``: made at start-up, the dummy hash does not make the first
    sign-in of an unknown address slower than the others."""
    with app.app_context():
        _dummy_hash(_hasher())


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (no such account, or one never activated) the same
    argon2 work is done against a dummy hash, so the time taken does not tell them apart."""
    hasher = _hasher()
    try:
        matches = hasher.verify(password_hash or _dummy_hash(hasher), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
