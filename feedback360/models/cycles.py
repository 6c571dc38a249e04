"""Feedback cycles, the instrument snapshots they use, cohort launches and invitations.

An ``Invitation`` is who was asked; it is never linked to what they answered (``responses``).
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
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:  # relationship targets are resolved by name through the registry
    from .people import Cohort, User
    from .reports import CycleSummary

CYCLE_STATUSES = ("draft", "open", "closed", "released")
INVITATION_STATUSES = ("pending", "sent", "opened", "declined", "completed")
NOMINEE_APPROVAL_STATUSES = ("requested", "approved", "returned")


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
        CheckConstraint("training_year_at_close IS NULL OR "
                        "(training_year_at_close BETWEEN 1 AND 10)",
                        name="training_year_at_close_range"),
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
    # The trainee's attributes as the cycle closed (``services.cycle_attributes``): cohort
    # reports group closed cycles by these, so correcting the user later moves no cycle
    # between published cells; only an audited admin correction changes them.
    specialty_at_close: Mapped[str | None] = mapped_column(String(120))
    training_year_at_close: Mapped[int | None] = mapped_column(SmallInteger)
    site_at_close: Mapped[str | None] = mapped_column(String(120))
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

    @property
    def closing_date(self) -> date:
        """The last day colleagues could answer, the one closing date every page shows: the
        date set, or the day the trainee closed early. ``close-due-cycles`` closes a cycle the
        morning after its date, and that morning is not the closing date."""
        if self.closed_at is not None and self.closed_at.date() < self.closes_on:
            return self.closed_at.date()
        return self.closes_on


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
        # One person once per cycle, whatever form their address was typed in (email_identity).
        UniqueConstraint("cycle_id", "rater_identity"),
        CheckConstraint("rater_identity LIKE '%_@_%'", name="identity_is_an_address"),
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
    # Where mail goes, as the trainee typed it (lower-cased).
    rater_email: Mapped[str] = mapped_column(String(254))
    # ``email_identity.canonical(rater_email)``: what every comparison between nominees uses.
    rater_identity: Mapped[str] = mapped_column(String(254))
    rater_name: Mapped[str] = mapped_column(String(120))
    rater_group: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    token_nonce: Mapped[str] = mapped_column(String(32))
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rater's answers so far, sealed to this invitation (``sealing``): readable by the app
    # that resumes the survey from the emailed link, never by a copy of the database.
    draft: Mapped[bytes | None] = mapped_column(LargeBinary)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the trainee withdraws the request. Kept apart from ``status`` because the trainee
    # must not learn from a refusal whether this colleague had already answered.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A day, never a time: a precise moment could be matched against anything else timed.
    completed_on: Mapped[date | None] = mapped_column(Date)

    cycle: Mapped[FeedbackCycle] = relationship(back_populates="invitations")


class NomineeApproval(db.Model):
    """The coach's approval of a cycle's nominee list, where the programme asks for one.

    ``fingerprint`` is the list as the trainee sent it (``services.nominee_approval``): a list
    changed since then, in any way, is no longer the one requested or approved.
    """

    __tablename__ = "nominee_approvals"
    __table_args__ = (
        CheckConstraint(_in("status", NOMINEE_APPROVAL_STATUSES), name="status_known"),
        CheckConstraint("status = 'requested' OR "
                        "(decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                        name="decided_has_who_and_when"),
        CheckConstraint("status <> 'requested' OR (decided_by_id IS NULL AND decided_at IS NULL)",
                        name="requested_is_undecided"),
        CheckConstraint("(status = 'returned') = (return_reason IS NOT NULL)",
                        name="returned_has_reason"),
        CheckConstraint("return_reason IS NULL OR length(return_reason) > 0",
                        name="reason_not_blank"),
        CheckConstraint("length(fingerprint) = 64", name="fingerprint_is_sha256"),
    )

    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_cycles.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    fingerprint: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # RESTRICT: an approval must always say who gave it; accounts are deactivated, not deleted.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)

    cycle: Mapped[FeedbackCycle] = relationship()
    decided_by: Mapped[User | None] = relationship()
