"""The trainee's leadership portfolio (issue 13): the opportunities catalogue, activities done and
education taken, named written feedback on an activity, time reports and letters of achievement.

Unlike a 360 response, everything here is *named*: an observer's written feedback is given under
their own name and the observer is told so before answering. Time-unavailable reports keep the
trainee's site and specialty as they were when reported, as cycles keep them at close, so a
later move does not shift an aggregate that was already seen.
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
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:  # relationship targets are resolved by name through the registry
    from .people import User
    from .workplace import Placement, Site

# What kind of real leadership task an opportunity (or an activity that is "doing") is.
OPPORTUNITY_KINDS = ("meeting", "chairing", "interview_panel", "shadowing", "training_role",
                     "qi_project", "committee", "forum", "teaching", "mentoring", "project",
                     "other")
# A trainee proposes (status ``proposed``); a lead approves it (``open``) or declines it.
OPPORTUNITY_STATUSES = ("proposed", "open", "closed", "declined")
ACTIVITY_KINDS = ("doing", "education")
EDUCATION_CATEGORIES = ("course", "observation", "reading", "other_education")
ACTIVITY_CATEGORIES = OPPORTUNITY_KINDS + EDUCATION_CATEGORIES
FEEDBACK_REQUEST_STATUSES = ("pending", "sent", "opened", "declined", "given", "withdrawn")
TIME_REPORT_KINDS = ("used", "unavailable")
TIME_UNAVAILABLE_REASONS = ("rota", "service_pressure", "leave_refused", "other")


class LeadershipOpportunity(db.Model):
    """One entry of the catalogue a programme lead keeps, co-produced with trainees."""

    __tablename__ = "leadership_opportunities"
    __table_args__ = (
        CheckConstraint(_in("kind", OPPORTUNITY_KINDS), name="kind_known"),
        CheckConstraint(_in("status", OPPORTUNITY_STATUSES), name="status_known"),
        CheckConstraint("length(title) > 0", name="title_not_blank"),
        # A proposal names who proposed it; a catalogue entry a lead wrote needs nobody.
        CheckConstraint("status <> 'proposed' OR proposed_by_id IS NOT NULL",
                        name="proposal_has_proposer"),
        Index("ix_leadership_opportunities_status_kind", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable key of an entry seeded from the FMLM appendix (None for entries added later).
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    contact: Mapped[str | None] = mapped_column(String(200))
    how_to_join: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    elements: Mapped[list[OpportunityElement]] = relationship(
        cascade="all, delete-orphan", order_by="OpportunityElement.element_key")
    interests: Mapped[list[OpportunityInterest]] = relationship(
        cascade="all, delete-orphan", back_populates="opportunity")


class OpportunityElement(db.Model):
    """A CLCF element an opportunity develops (and its domain, so filtering needs no join to the
    instrument)."""

    __tablename__ = "opportunity_elements"
    __table_args__ = (Index("ix_opportunity_elements_domain", "domain_key"),)

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("leadership_opportunities.id", ondelete="CASCADE"), primary_key=True)
    element_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain_key: Mapped[str] = mapped_column(String(64))


class OpportunityInterest(db.Model):
    """A trainee registered interest in an opportunity; the lead sees who."""

    __tablename__ = "opportunity_interests"

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("leadership_opportunities.id", ondelete="CASCADE"), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    opportunity: Mapped[LeadershipOpportunity] = relationship(back_populates="interests")
    trainee: Mapped[User] = relationship()


class Activity(db.Model):
    """A leadership activity the trainee did (``doing``) or leadership education they took."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint(_in("kind", ACTIVITY_KINDS), name="kind_known"),
        CheckConstraint(
            f"(kind = 'doing' AND {_in('category', OPPORTUNITY_KINDS)}) OR "
            f"(kind = 'education' AND {_in('category', EDUCATION_CATEGORIES)})",
            name="category_fits_kind"),
        CheckConstraint("length(title) > 0", name="title_not_blank"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates_in_order"),
        CheckConstraint("hours IS NULL OR (hours >= 0 AND hours <= 2000)", name="hours_range"),
        Index("ix_activities_trainee_started", "trainee_id", "started_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    # What they did and their role in it (for education: what the course or reading covered).
    description: Mapped[str] = mapped_column(Text, default="")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    hours: Mapped[float | None] = mapped_column(Numeric(7, 2, asdecimal=False))
    went_well: Mapped[str] = mapped_column(Text, default="")
    do_differently: Mapped[str] = mapped_column(Text, default="")
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("leadership_opportunities.id", ondelete="SET NULL"), index=True)
    goal_id: Mapped[int | None] = mapped_column(
        ForeignKey("development_goals.id", ondelete="SET NULL"))
    placement_id: Mapped[int | None] = mapped_column(
        ForeignKey("placements.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    trainee: Mapped[User] = relationship()
    opportunity: Mapped[LeadershipOpportunity | None] = relationship()
    placement: Mapped[Placement | None] = relationship()
    elements: Mapped[list[ActivityElement]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityElement.element_key")
    feedback_requests: Mapped[list[ActivityFeedbackRequest]] = relationship(
        cascade="all, delete-orphan", back_populates="activity",
        order_by="ActivityFeedbackRequest.id")


class ActivityElement(db.Model):
    """A CLCF element an activity exercised."""

    __tablename__ = "activity_elements"
    __table_args__ = (Index("ix_activity_elements_domain", "domain_key"),)

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    element_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain_key: Mapped[str] = mapped_column(String(64))


class ActivityFeedbackRequest(db.Model):
    """A named observer asked for written feedback on one activity (FMLM: Feedback, essential).

    The observer answers through a signed link (``tokens``: its own purpose and salt) that
    carries this row's id and ``token_nonce``; changing the nonce retires every earlier link.
    ``answers`` maps each chosen element key to the observer's text; ``overall`` is their
    general comment. A draft is kept while ``status`` is ``opened`` and ``given_at`` is empty.
    """

    __tablename__ = "activity_feedback_requests"
    __table_args__ = (
        CheckConstraint(_in("status", FEEDBACK_REQUEST_STATUSES), name="status_known"),
        CheckConstraint("observer_email = lower(observer_email)", name="email_case_folded"),
        CheckConstraint("length(observer_name) > 0", name="observer_named"),
        CheckConstraint("(status = 'given') = (given_at IS NOT NULL)", name="given_has_time"),
        CheckConstraint("reminder_count >= 0", name="reminders_positive"),
        Index("ix_activity_feedback_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    observer_name: Mapped[str] = mapped_column(String(120))
    observer_email: Mapped[str] = mapped_column(String(254))
    observer_role: Mapped[str | None] = mapped_column(String(120))
    # The trainee's note to the observer (shown on the feedback page).
    message: Mapped[str] = mapped_column(Text, default="")
    element_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_nonce: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overall: Mapped[str] = mapped_column(Text, default="")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    reminder_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship(back_populates="feedback_requests")


class TimeReport(db.Model):
    """Protected development time used, or a time leadership development could not get
    (FMLM: Time, desirable: "a mechanism to report when they have been unable to access
    dedicated time")."""

    __tablename__ = "time_reports"
    __table_args__ = (
        CheckConstraint(_in("kind", TIME_REPORT_KINDS), name="kind_known"),
        CheckConstraint(
            f"(kind = 'used' AND reason IS NULL) OR "
            f"(kind = 'unavailable' AND {_in('reason', TIME_UNAVAILABLE_REASONS)})",
            name="reason_fits_kind"),
        CheckConstraint("hours IS NULL OR (hours > 0 AND hours <= 2000)", name="hours_range"),
        Index("ix_time_reports_kind_on", "kind", "occurred_on"),
        Index("ix_time_reports_trainee", "trainee_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    occurred_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float | None] = mapped_column(Numeric(7, 2, asdecimal=False))
    # For ``used``: what the time went on; for ``unavailable``: what was lost.
    description: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(String(24))
    reason_detail: Mapped[str] = mapped_column(Text, default="")
    # As they were when reported (see the module docstring).
    site: Mapped[str | None] = mapped_column(String(120))
    specialty: Mapped[str | None] = mapped_column(String(120))
    placement_id: Mapped[int | None] = mapped_column(
        ForeignKey("placements.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainee: Mapped[User] = relationship()


class Letter(db.Model):
    """A letter of achievement (FMLM: Recognition, desirable), frozen as issued.

    ``content`` is the snapshot the PDF is drawn from (the trainee's name, the activities and
    the written feedback quoted), so later edits to an activity never change an issued letter.
    The public verify page shows only what ``verification_code`` confirms: that the letter
    exists, for whom, by whom and when.
    """

    __tablename__ = "letters"
    __table_args__ = (
        CheckConstraint("length(verification_code) >= 10", name="code_length"),
        CheckConstraint("revoked_at IS NULL OR revoked_at >= issued_at", name="revoked_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issuer_name: Mapped[str] = mapped_column(String(120))
    issuer_role: Mapped[str] = mapped_column(String(120), default="")
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    trainee: Mapped[User] = relationship(foreign_keys=[trainee_id])


__all__ = [
    "ACTIVITY_CATEGORIES",
    "ACTIVITY_KINDS",
    "EDUCATION_CATEGORIES",
    "FEEDBACK_REQUEST_STATUSES",
    "OPPORTUNITY_KINDS",
    "OPPORTUNITY_STATUSES",
    "TIME_REPORT_KINDS",
    "TIME_UNAVAILABLE_REASONS",
    "Activity",
    "ActivityElement",
    "ActivityFeedbackRequest",
    "LeadershipOpportunity",
    "Letter",
    "OpportunityElement",
    "OpportunityInterest",
    "TimeReport",
]
