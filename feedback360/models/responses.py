"""What raters answered: sealed until the cycle closes, then responses, answers and comments,
with no link to an invitation."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime

COMMENT_MAX_LENGTH = 4000
COMMENT_HANDLE_LENGTH = 22  # secrets.token_urlsafe(16): 128 random bits


def new_comment_handle() -> str:
    return secrets.token_urlsafe(16)


class SealedResponse(db.Model):
    """A rater's submitted answers while their cycle is open: one sealed blob (``sealing``).

    No invitation, no time, and (unlike ``Response``) not even the rater group in clear: a row
    written when an invitation completed can be paired with that invitation by a database copy,
    so it holds nothing readable. Closing the cycle opens every row of the cycle and writes them
    out as ``Response`` rows in shuffled order, in one transaction that deletes these.
    """

    __tablename__ = "sealed_responses"
    __table_args__ = (
        Index("ix_sealed_responses_cycle", "cycle_id"),
        CheckConstraint("length(sealed) > 0", name="sealed_not_empty"),
        # Keyed by random UUID, no rowid: storage order is not submission order.
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycles.id", ondelete="CASCADE"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Response(db.Model):
    """What one rater (or the trainee, ``is_self``) answered: no invitation, no email, no time."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(
            "(is_self AND rater_group IS NULL) OR (NOT is_self AND rater_group IS NOT NULL)",
            name="self_has_no_group",
        ),
        Index("uq_responses_one_self_per_cycle", "cycle_id", unique=True,
              sqlite_where=text("is_self"), postgresql_where=text("is_self")),
        Index("ix_responses_cycle_group", "cycle_id", "rater_group"),
        # SQLite would otherwise keep rows in insertion (rowid) order, which a dump could line
        # up with invitations' completion days; keyed by random UUID the order means nothing.
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycles.id", ondelete="CASCADE"))
    rater_group: Mapped[str | None] = mapped_column(String(64))
    is_self: Mapped[bool] = mapped_column(default=False)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan",
                                                 back_populates="response")
    comments: Mapped[list[Comment]] = relationship(cascade="all, delete-orphan",
                                                   back_populates="response")


class Answer(db.Model):
    """One item's score; NULL means "not observed". Keyed by response, so no insertion order."""

    __tablename__ = "answers"
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score BETWEEN 0 AND 10)", name="score_range"),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[int | None] = mapped_column(SmallInteger)

    response: Mapped[Response] = relationship(back_populates="answers")


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint(f"length(text) BETWEEN 1 AND {COMMENT_MAX_LENGTH}", name="text_length"),
        CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_has_reason"),
        CheckConstraint(f"length(handle) = {COMMENT_HANDLE_LENGTH}", name="handle_length"),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    prompt_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    # What the coach addresses the comment by (links, forms, audit events): random, so it pairs
    # no two comments of one rater, as the response id would. A Python-side default, so Core
    # inserts (``insert(Comment.__table__)``) get one too.
    handle: Mapped[str] = mapped_column(String(COMMENT_HANDLE_LENGTH), unique=True,
                                        default=new_comment_handle)

    response: Mapped[Response] = relationship(back_populates="comments")
