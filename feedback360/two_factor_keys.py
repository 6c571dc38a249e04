"""TOTP keys sealed at rest: a copy of the database alone gives no working codes.

AES-GCM under a key derived (HKDF-SHA256, a purpose of its own) from ``SECRET_KEY``, which never
reaches the database, as ``sealing.py`` does for raters' answers; the associated data binds each
blob to its user, so a key copied onto another account will not open. Opening tries
``SECRET_KEY`` and then each of ``SECRET_KEY_FALLBACKS``, so rotating the key loses no enrolment.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .derived_keys import aead_for, app_secrets
from .services import DomainError

FORMAT = b"\x01"
NONCE_BYTES = 12
# Never the key that seals answers, signs links or sessions.
KEY_PURPOSE = b"feedback360 totp keys v1"


class KeyUnreadable(DomainError):
    """The key that sealed this TOTP key is gone (``SECRET_KEY`` rotated without a fallback)."""

    def __init__(self) -> None:
        super().__init__("Your two-step verification could not be checked. Ask a programme lead "
                         "to reset it, then set it up again")


def _aead(secret: str | bytes) -> AESGCM:
    return aead_for(secret, KEY_PURPOSE)


def _associated(user_id: int) -> bytes:
    return f"feedback360:totp:{user_id}".encode()


def seal(secret: str, user_id: int) -> bytes:
    """The base32 TOTP ``secret`` sealed for ``user_id``."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT + nonce + _aead(app_secrets()[0]).encrypt(nonce, secret.encode(),
                                                      _associated(user_id))


def unseal(blob: bytes, user_id: int) -> str:
    """The TOTP secret sealed in ``blob``; ``KeyUnreadable`` if no key opens it for this user."""
    blob = bytes(blob)
    nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    if blob[:1] != FORMAT or len(nonce) != NONCE_BYTES:
        raise KeyUnreadable
    for secret in app_secrets():
        try:
            return _aead(secret).decrypt(nonce, ciphertext, _associated(user_id)).decode()
        except InvalidTag:
            continue
    raise KeyUnreadable
