"""The second factor: TOTP enrolment, checking codes (no replay) and one-use recovery codes.

Which roles must have one is ``TWO_FACTOR_REQUIRED_ROLES`` (admins always). The key is sealed at
rest (``two_factor_keys.py``); recovery codes are kept as SHA-256 hashes (50 random bits each, so
a hash cannot be worked back by guessing, and a slow password hash would add nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from flask import current_app

from .. import audit, two_factor_keys
from ..extensions import db
from ..models import RecoveryCode, TwoFactorKey, User
from ..models.columns import utcnow
from . import DomainError
from .sessions import end_sessions

ISSUER = "feedback360"
STEP_SECONDS = 30  # pyotp's default and every authenticator app's
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: recovery codes are read off paper and typed.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10  # 10 characters of 31: about 50 bits

CODE_REFUSED = "Enter the 6-digit code your authenticator app shows now, or a recovery code"


def required_for(user: User) -> bool:
    return user.role in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def _key(user: User) -> TwoFactorKey | None:
    return db.session.get(TwoFactorKey, user.id)


def enrolled(user: User) -> bool:
    key = _key(user)
    return key is not None and key.confirmed_at is not None


def pending_secret(user: User) -> str:
    """The key being set up for ``user`` (made on first asking; the same until confirmed)."""
    key = _key(user)
    if key is not None and key.confirmed_at is not None:
        raise DomainError("Two-step verification is already set up for this account")
    if key is not None:
        try:
            return two_factor_keys.unseal(key.sealed_secret, user.id)
        except two_factor_keys.KeyUnreadable:
            db.session.delete(key)
            db.session.flush()
    secret = pyotp.random_base32()
    db.session.add(TwoFactorKey(user_id=user.id,
                                sealed_secret=two_factor_keys.seal(secret, user.id)))
    db.session.flush()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The key in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _current_step() -> int:
    return int(time.time()) // STEP_SECONDS


def _accepted_step(key: TwoFactorKey, user: User, code: str) -> int | None:
    """The time step ``code`` belongs to, within one step either side of now and after the last
    code accepted; None if it is no such code."""
    digits = "".join(code.split())
    if len(digits) != 6 or not (digits.isascii() and digits.isdigit()):  # not "١٢٣٤٥٦"
        return None
    totp = pyotp.TOTP(two_factor_keys.unseal(key.sealed_secret, user.id))
    now = _current_step()
    for step in (now - 1, now, now + 1):
        if key.last_step is not None and step <= key.last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Switch the second factor on once ``code`` shows the app makes the key's codes; the new
    recovery codes, to show once."""
    key = _key(user)
    if key is None or key.confirmed_at is not None:
        raise DomainError("Start setting up two-step verification again", field="code")
    step = _accepted_step(key, user, code)
    if step is None:
        raise DomainError("The code is not right. Enter the 6-digit code your authenticator "
                          "app shows now", field="code")
    key.confirmed_at, key.last_step = utcnow(), step
    audit.record(user, "two_factor.enrolled", f"user:{user.id}")
    return _new_recovery_codes(user)


def enrol_with_secret(user: User, secret: str) -> None:
    """Switch the second factor on with a known key: ``create-admin`` and the demo print it for
    the person to add to their app (they cannot prove it with a code before they have it)."""
    key = _key(user)
    if key is not None:
        db.session.delete(key)
        db.session.flush()
    db.session.add(TwoFactorKey(user_id=user.id, confirmed_at=utcnow(),
                                sealed_secret=two_factor_keys.seal(secret, user.id)))
    audit.record(None, "two_factor.enrolled", f"user:{user.id}")
    db.session.flush()


def _normalised_recovery(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalised_recovery(code).encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code))
                       for code in codes)
    db.session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def regenerate_recovery_codes(user: User) -> list[str]:
    """Fresh recovery codes; every earlier one stops working."""
    if not enrolled(user):
        raise DomainError("Set up two-step verification first")
    codes = _new_recovery_codes(user)
    audit.record(user, "two_factor.recovery_codes_regenerated", f"user:{user.id}")
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def verify(user: User, code: str) -> str:
    """Check a code from the app, or failing that an unused recovery code (used up by this);
    ``"totp"`` or ``"recovery"``. A wrong code is audited and raises ``DomainError``."""
    key = _key(user)
    if key is None or key.confirmed_at is None:
        raise DomainError(CODE_REFUSED, field="code")
    step = _accepted_step(key, user, code)
    if step is not None:
        key.last_step = step
        db.session.flush()
        return "totp"
    normalised = _normalised_recovery(code)
    if len(normalised) == _RECOVERY_LENGTH:
        recovery = db.session.scalar(db.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == _recovery_hash(normalised)))
        if recovery is not None:
            recovery.used_at = utcnow()
            audit.record(user, "two_factor.recovery_code_used", f"user:{user.id}",
                         left=recovery_codes_left(user))
            db.session.flush()
            return "recovery"
    audit.record(user, "two_factor.failed", f"user:{user.id}")
    raise DomainError(CODE_REFUSED, field="code")


def _remove(user: User) -> None:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(db.delete(TwoFactorKey).where(TwoFactorKey.user_id == user.id))


def disable(user: User) -> None:
    """Someone whose role does not need a second factor turns theirs off."""
    if required_for(user):
        raise DomainError("Your role needs two-step verification: it cannot be turned off")
    if not enrolled(user):
        raise DomainError("Two-step verification is not on")
    _remove(user)
    audit.record(user, "two_factor.disabled", f"user:{user.id}")
    db.session.flush()


def reset(user: User, *, by: User | None) -> None:
    """An admin removes someone's second factor (a lost phone): their key and recovery codes go,
    every session of theirs ends, and they set it up again at their next sign-in."""
    if by is not None and by.id == user.id:
        # A stolen admin session could otherwise swap in a phone of the thief's choosing.
        raise DomainError("Another admin can reset your two-step verification; you cannot "
                          "reset it yourself")
    if _key(user) is None:
        raise DomainError(f"{user.name} has not set up two-step verification")
    _remove(user)
    end_sessions(user)
    audit.record(by, "two_factor.reset", f"user:{user.id}")
    db.session.flush()
