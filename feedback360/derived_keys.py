"""AES-GCM keys derived from ``SECRET_KEY`` by HKDF, one per purpose, and the secrets to try.

Each purpose (sealed answers, TOTP keys) names its own HKDF "info", so no derived key is ever
the key that signs links or sessions, nor another purpose's key. Sealing uses the current
``SECRET_KEY``; opening tries it, then each of ``SECRET_KEY_FALLBACKS``, so what was sealed
before a key rotation still opens.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


@lru_cache(maxsize=32)
def aead_for(secret: str | bytes, purpose: bytes) -> AESGCM:
    """The AES-256-GCM cipher keyed for ``purpose`` by ``secret``."""
    material = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)
    return AESGCM(key)


def app_secrets() -> list[str | bytes]:
    """The secret to seal with first, then the fallbacks that may still open."""
    return [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]
