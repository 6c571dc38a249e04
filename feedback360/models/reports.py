"""What closed cycles produce: stored summaries and scores, cohorts' stored analyses, development
goals, coach notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
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


class StoredCohortAnalysis(db.Model):
    """A cohort's audited analysis (``scoring.cohort.CohortAnalysis``) as its report last found it,
    so a report needs neither the score rows nor the disclosure audit again until what it is
    built from changes.

    A derived cache, one row per cohort, never the only copy of anything: ``basis_key`` is a hash
    of everything the analysis depends on (the cohort's trainees and their details, its closed
    cycles and their summaries' times, its launches, the programme's other intakes, the
    anonymity settings and the payload's format), so a row whose key no longer matches is simply
    rebuilt. ``payload`` is NumPy's ``.npz`` (arrays and one JSON document, read with
    ``allow_pickle=False``): nothing in the database is ever executed. It holds no more than
    ``cycle_scores`` already does, plus which sets the audit admitted.
    """

    __tablename__ = "cohort_analyses"
    __table_args__ = (
        CheckConstraint("length(basis_key) = 64", name="basis_key_is_sha256"),
    )

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    basis_key: Mapped[str] = mapped_column(String(64))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
