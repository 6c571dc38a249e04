"""A staff member's second factor: their TOTP key (sealed) and one-use recovery codes.

Tables of their own rather than columns on ``users``: SQLite could add them only by rebuilding
``users``, which every other table refers to.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .people import User


class TwoFactorKey(db.Model):
    """The TOTP key, sealed under a key derived from ``SECRET_KEY`` (``two_factor_keys.py``), so
    a copy of the database alone gives no working codes. Until ``confirmed_at`` the person has
    been shown the key but not yet proved their app makes its codes: it is not yet asked for."""

    __tablename__ = "two_factor_keys"
    __table_args__ = (
        CheckConstraint("last_step IS NULL OR last_step >= 0", name="last_step_positive"),
        CheckConstraint("confirmed_at IS NOT NULL OR last_step IS NULL",
                        name="used_only_once_confirmed"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 30-second time step of the last code accepted: that code, and every earlier one, is
    # refused from then on (a code seen over someone's shoulder cannot be replayed).
    last_step: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """One recovery code, as the SHA-256 of its 50 random bits' text: usable once, instead of a
    code from the app, by someone who has lost their phone."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        CheckConstraint("length(code_hash) = 64", name="hash_length"),
        Index("ix_recovery_codes_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
