"""Sealed blobs: what a rater has answered, unreadable to anyone holding only the database.

AES-GCM under a key derived (HKDF-SHA256) from the app's ``SECRET_KEY``, which never reaches the
database, so a copy of the database, its backups, its WAL or a ``pg_dump`` holds ciphertext only
(DESIGN.md, Anonymity rule 1). The associated data binds each blob to its purpose and owner (a
submitted answer to its cycle, a draft to its invitation): a blob copied onto another row will not
open. The plaintext is padded to a fixed bucket so the length of a blob says nothing about how
long the comments in it are. Opening tries ``SECRET_KEY`` and then every key in
``SECRET_KEY_FALLBACKS``, so rotating the key does not lose what was sealed before.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .derived_keys import aead_for, app_secrets
from .services import DomainError

# One format byte, so a later format can be told apart without guessing.
FORMAT = b"\x01"
NONCE_BYTES = 12  # 96 bits, random per seal: AES-GCM's safe size
TAG_BYTES = 16
LENGTH_BYTES = 4
# Every plaintext is padded to a multiple of this. Two comments of 4,000 characters compress
# to well under it, so in practice every blob of a purpose has the same length.
BUCKET_BYTES = 8192
# The HKDF "info": a key for this purpose only, never the key that signs links or sessions.
KEY_PURPOSE = b"feedback360 sealed answers v1"

SUBMITTED = "answer"  # owner: the cycle's id
DRAFT = "draft"  # owner: the invitation's id


class SealBroken(DomainError):
    """A blob that will not open: the key that sealed it is gone, or it was altered."""

    def __init__(self) -> None:
        super().__init__("Saved answers could not be read: they were sealed with a key this "
                         "server no longer has, or have been altered")


def _aead(secret: str | bytes) -> AESGCM:
    return aead_for(secret, KEY_PURPOSE)


def _associated(purpose: str, owner: int) -> bytes:
    return f"feedback360:{purpose}:{owner}".encode()


def padded_length(size: int) -> int:
    """The bucketed length of a plaintext of ``size`` bytes (with its length prefix)."""
    return -(-(size + LENGTH_BYTES) // BUCKET_BYTES) * BUCKET_BYTES


def seal(payload: Any, *, purpose: str, owner: int) -> bytes:
    """``payload`` (JSON-able) as one sealed blob for ``purpose`` and ``owner``."""
    body = zlib.compress(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    plain = len(body).to_bytes(LENGTH_BYTES, "big") + body
    plain += bytes(padded_length(len(body)) - len(plain))
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT + nonce + _aead(app_secrets()[0]).encrypt(nonce, plain,
                                                      _associated(purpose, owner))


def unseal(blob: bytes, *, purpose: str, owner: int) -> Any:
    """The payload sealed in ``blob``; ``SealBroken`` if no key opens it for this owner."""
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[:1] != FORMAT:
        raise SealBroken
    nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    associated = _associated(purpose, owner)
    for secret in app_secrets():
        try:
            plain = _aead(secret).decrypt(nonce, ciphertext, associated)
        except InvalidTag:
            continue
        size = int.from_bytes(plain[:LENGTH_BYTES], "big")
        try:
            return json.loads(zlib.decompress(plain[LENGTH_BYTES:LENGTH_BYTES + size]))
        except (zlib.error, ValueError) as exc:  # authentic but not ours: never happens
            raise SealBroken from exc
    raise SealBroken
