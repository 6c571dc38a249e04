"""What closed cycles produce: stored summaries and scores, development goals, coach notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:  # relationship targets are resolved by name through the registry
    from .people import User

GOAL_STATUSES = ("not_started", "in_progress", "achieved", "dropped")


class CycleSummary(db.Model):
    """A closed cycle's anonymity-safe aggregates, computed once when it closes.

    A closed cycle never changes, so dashboards and cohort reports read this instead of
    rescanning answers.
    """

    __tablename__ = "cycle_summaries"

    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_cycles.id", ondelete="CASCADE"), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    enough_responses: Mapped[bool] = mapped_column()
    response_count: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CycleScore(db.Model):
    """One domain, element or item of a closed cycle's summary, as a narrow row: the trainee's
    own score and all raters' mean (None where the summary shows none).

    Written with ``CycleSummary``, from the same anonymity-safe report. Cohort reports read these
    rows (a few per cycle and key) instead of decoding every cycle's whole report.
    """

    __tablename__ = "cycle_scores"
    __table_args__ = (
        CheckConstraint(_in("level", ("domain", "element", "item")), name="level_known"),
        CheckConstraint("others_n >= 0", name="others_n_positive"),
        Index("ix_cycle_scores_level_key", "level", "key"),
    )

    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_cycles.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    self_score: Mapped[float | None] = mapped_column()
    others_mean: Mapped[float | None] = mapped_column()
    others_n: Mapped[int] = mapped_column(Integer, default=0)


class DevelopmentGoal(db.Model):
    __tablename__ = "development_goals"
    __table_args__ = (
        CheckConstraint(_in("status", GOAL_STATUSES), name="status_known"),
        CheckConstraint("length(action) > 0", name="action_not_blank"),
        Index("ix_development_goals_cycle", "cycle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycles.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    domain_key: Mapped[str] = mapped_column(String(64))
    element_key: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(Text)
    support: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship()


class CoachNote(db.Model):
    __tablename__ = "coach_notes"
    __table_args__ = (
        CheckConstraint("length(text) > 0", name="text_not_blank"),
        Index("ix_coach_notes_cycle", "cycle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycles.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()
