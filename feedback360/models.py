"""The data model (DESIGN.md, "Data model"): typed SQLAlchemy 2.0 models and nothing else.

Check constraints make invalid states impossible in the database itself, whatever code writes to it.
Who answered (``Invitation``) is kept apart from what they answered (``Response``, ``Answer``,
``Comment``): no column, foreign key or timestamp links the two (DESIGN.md, Anonymity rule 1).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("trainee", "coach", "admin")
CYCLE_STATUSES = ("draft", "open", "closed", "released")
INVITATION_STATUSES = ("pending", "sent", "opened", "declined", "completed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
GOAL_STATUSES = ("not_started", "in_progress", "achieved", "dropped")
COMMENT_MAX_LENGTH = 4000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    programme: Mapped[str | None] = mapped_column(String(120))
    intake_year: Mapped[int | None] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainees: Mapped[list[User]] = relationship(back_populates="cohort")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint("email = lower(email)", name="email_case_folded"),
        CheckConstraint("training_year IS NULL OR (training_year BETWEEN 1 AND 10)",
                        name="training_year_range"),
        Index("ix_users_role_cohort", "role", "cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated whenever the password changes, so every other signed-in session ends.
    session_nonce: Mapped[str] = mapped_column(String(32))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    specialty: Mapped[str | None] = mapped_column(String(120))
    training_year: Mapped[int | None] = mapped_column(SmallInteger)
    site: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort | None] = relationship(back_populates="trainees")

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated or never-activated users cannot sign in
        return self.active and self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"


class CoachAssignment(db.Model):
    __tablename__ = "coach_assignments"
    __table_args__ = (
        UniqueConstraint("coach_id", "trainee_id"),
        CheckConstraint("coach_id <> trainee_id", name="not_self"),
        Index("ix_coach_assignments_trainee", "trainee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    trainee: Mapped[User] = relationship(foreign_keys=[trainee_id])


class InstrumentVersion(db.Model):
    """A frozen copy of an instrument as a cycle first used it; old reports never change."""

    __tablename__ = "instrument_versions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    # Deferred: loaded only when a process first rebuilds the instrument (instrument_cache).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackCycle(db.Model):
    __tablename__ = "feedback_cycles"
    __table_args__ = (
        CheckConstraint(_in("status", CYCLE_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'released') = (released_at IS NOT NULL AND released_by_id IS NOT NULL)",
            name="released_has_when_and_who",
        ),
        CheckConstraint("status IN ('draft', 'open') OR closed_at IS NOT NULL",
                        name="closed_has_when"),
        CheckConstraint("status = 'draft' OR opened_at IS NOT NULL", name="opened_has_when"),
        CheckConstraint("opens_on IS NULL OR closes_on >= opens_on", name="closes_after_opens"),
        CheckConstraint("length(title) > 0", name="title_not_blank"),
        Index("ix_feedback_cycles_trainee_status", "trainee_id", "status"),
        Index("ix_feedback_cycles_status_closes_on", "status", "closes_on"),
        # "the trainee's previous cycle": without statistics SQLite would otherwise walk every
        # closed cycle of every trainee (bench/README.md, "dashboard").
        Index("ix_feedback_cycles_trainee_closes_on", "trainee_id", "closes_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # RESTRICT: a released cycle must always say who released it (see the check above);
    # accounts are deactivated, not deleted.
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    last_trainee_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The self-assessment in progress; it becomes a Response (is_self) when submitted.
    self_draft: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    trainee: Mapped[User] = relationship(foreign_keys=[trainee_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    instrument_version: Mapped[InstrumentVersion] = relationship()
    invitations: Mapped[list[Invitation]] = relationship(back_populates="cycle",
                                                          cascade="all, delete-orphan")
    summary: Mapped[CycleSummary | None] = relationship(cascade="all, delete-orphan",
                                                         passive_deletes=True)
    # Set when a programme lead opened this cycle for a whole cohort.
    cohort_launch: Mapped[CohortLaunch | None] = relationship(
        secondary="cohort_launch_cycles", viewonly=True)


class CohortLaunch(db.Model):
    """A programme lead's 360 round for a whole cohort: one cycle per trainee, same instrument
    and close date. Its cycles point back here, which is how the lead follows their progress."""

    __tablename__ = "cohort_launches"
    __table_args__ = (
        CheckConstraint("length(title) > 0", name="title_not_blank"),
        Index("ix_cohort_launches_cohort", "cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    title: Mapped[str] = mapped_column(String(200))
    closes_on: Mapped[date] = mapped_column(Date)
    launched_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    launched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    launched_by: Mapped[User | None] = relationship()
    cycles: Mapped[list[FeedbackCycle]] = relationship(secondary="cohort_launch_cycles",
                                                       viewonly=True)


class CohortLaunchCycle(db.Model):
    """Which cycle a cohort launch opened for which trainee: at most one each.

    A table of its own rather than a column on ``feedback_cycles``: SQLite can add a foreign-key
    column only by rebuilding that table, which invitations and responses reference.
    """

    __tablename__ = "cohort_launch_cycles"
    __table_args__ = (UniqueConstraint("launch_id", "trainee_id"),)

    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_cycles.id", ondelete="CASCADE"), primary_key=True)
    launch_id: Mapped[int] = mapped_column(ForeignKey("cohort_launches.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Invitation(db.Model):
    """Who was asked. Never linked to what they answered."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("cycle_id", "rater_email"),
        CheckConstraint(_in("status", INVITATION_STATUSES), name="status_known"),
        CheckConstraint("rater_email = lower(rater_email)", name="email_case_folded"),
        CheckConstraint("(status = 'completed') = (completed_on IS NOT NULL)",
                        name="completed_has_day"),
        CheckConstraint("(status NOT IN ('completed', 'declined') AND removed_at IS NULL) "
                        "OR draft IS NULL", name="no_draft_when_finished"),
        CheckConstraint("sent_count >= 0 AND reminded_count >= 0", name="counters_positive"),
        Index("ix_invitations_cycle_status", "cycle_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycles.id", ondelete="CASCADE"))
    rater_email: Mapped[str] = mapped_column(String(254))
    rater_name: Mapped[str] = mapped_column(String(120))
    rater_group: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    token_nonce: Mapped[str] = mapped_column(String(32))
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # none_as_null: Python None must be SQL NULL (not JSON "null") for the check constraints.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the trainee withdraws the request. Kept apart from ``status`` because the trainee
    # must not learn from a refusal whether this colleague had already answered.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A day, never a time: a precise moment could be matched against anything else timed.
    completed_on: Mapped[date | None] = mapped_column(Date)

    cycle: Mapped[FeedbackCycle] = relationship(back_populates="invitations")


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
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    prompt_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="comments")


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


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_when"),
        Index("ix_outbox_messages_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_created_at", "created_at"),
        Index("ix_audit_events_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
