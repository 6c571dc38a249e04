"""Where trainees work and what their workplace affords (issue 14): organisations (employing
trusts) and their sites, placements, affordances answers, and the employer's FMLM Leadership
Commitment tracker and quarterly board reports.

A trainee's own affordances answers are theirs (and their coach's only when the trainee shares
them); leads and champions see affordances only in aggregate, under the cohort threshold and the
differencing audit, so a trainee can be frank about a poor department. The criteria of the
commitment are data (``feedback360/data/leadership_commitment.yaml``); the database keeps each
organisation's status history against their keys.
"""

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:  # relationship targets are resolved by name through the registry
    from .cycles import FeedbackCycle, InstrumentVersion
    from .people import User

COMMITMENT_THEMES = ("opportunities", "time", "feedback", "recognition", "role_modelling")
COMMITMENT_STATUSES = ("not_started", "in_progress", "met", "not_met")


class Organisation(db.Model):
    """An employing organisation (an NHS trust) that may sign the Leadership Commitment."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="organisation",
                                             order_by="Site.name")


class Site(db.Model):
    """A hospital or other site of an organisation."""

    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint("length(name) > 0", name="name_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")


class Placement(db.Model):
    """Where a trainee was, and when: affordances, activities and 360 cycles are tied to it."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("length(department) > 0", name="department_not_blank"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates_in_order"),
        Index("ix_placements_trainee_started", "trainee_id", "started_on"),
        Index("ix_placements_site", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    department: Mapped[str] = mapped_column(String(120))
    specialty: Mapped[str | None] = mapped_column(String(120))
    supervisor_name: Mapped[str | None] = mapped_column(String(120))
    supervisor_email: Mapped[str | None] = mapped_column(String(254))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainee: Mapped[User] = relationship()
    site: Mapped[Site] = relationship()


class AffordanceResponse(db.Model):
    """A trainee's answers to the affordances questionnaire about one placement.

    ``instrument_version_id`` points at the questionnaire's frozen snapshot (the same
    ``instrument_versions`` table the 360 instruments use). ``cycle_id`` is the feedback cycle it
    was answered in, if any (a placement change is answered outside a cycle).
    """

    __tablename__ = "affordance_responses"
    __table_args__ = (Index("ix_affordance_responses_trainee", "trainee_id", "submitted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    placement_id: Mapped[int] = mapped_column(
        ForeignKey("placements.id", ondelete="CASCADE"), index=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    cycle_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_cycles.id", ondelete="SET NULL"), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    shared_with_coach: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainee: Mapped[User] = relationship()
    placement: Mapped[Placement] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    cycle: Mapped[FeedbackCycle | None] = relationship()
    answers: Mapped[list[AffordanceAnswer]] = relationship(
        cascade="all, delete-orphan", back_populates="response")


class AffordanceAnswer(db.Model):
    """One item of an affordances response: a score, or NULL for "does not apply"."""

    __tablename__ = "affordance_answers"
    __table_args__ = (CheckConstraint("score IS NULL OR score BETWEEN 1 AND 10",
                                      name="score_range"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("affordance_responses.id", ondelete="CASCADE"), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[int | None] = mapped_column(SmallInteger)

    response: Mapped[AffordanceResponse] = relationship(back_populates="answers")


class CommitmentStatus(db.Model):
    """One recorded state of one Leadership Commitment criterion for one organisation.

    Append-only history: the tracker shows each criterion's latest row; earlier rows are its
    history (who changed what, when).
    """

    __tablename__ = "commitment_statuses"
    __table_args__ = (
        CheckConstraint(_in("status", COMMITMENT_STATUSES), name="status_known"),
        Index("ix_commitment_statuses_org_criterion", "organisation_id", "criterion_key",
              "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    criterion_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(200), default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    review_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()


class BoardReport(db.Model):
    """The champion's quarterly report to the board: commentary and the figures as produced."""

    __tablename__ = "board_reports"
    __table_args__ = (
        UniqueConstraint("organisation_id", "year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        CheckConstraint("year BETWEEN 2000 AND 2999", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(SmallInteger)
    commentary: Mapped[str] = mapped_column(Text, default="")
    # The figures as they stood when the report was produced, so a board paper never changes.
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    produced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    produced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()


__all__ = [
    "COMMITMENT_STATUSES", "COMMITMENT_THEMES", "AffordanceAnswer", "AffordanceResponse",
    "BoardReport", "CommitmentStatus", "Organisation", "Placement", "Site",
]
