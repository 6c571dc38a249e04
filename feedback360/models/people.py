"""Accounts and cohorts: users, their roles and trainee profile, and coach assignments."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

ROLES = ("trainee", "coach", "admin", "champion")


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    programme: Mapped[str | None] = mapped_column(String(120))
    intake_year: Mapped[int | None] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(default=False)
    # The programme asks each trainee's coach to approve their nominee list before launch.
    nominee_approval_required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainees: Mapped[list[User]] = relationship(back_populates="cohort")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint("email = lower(email)", name="email_case_folded"),
        CheckConstraint("training_year IS NULL OR (training_year BETWEEN 1 AND 10)",
                        name="training_year_range"),
        # A leadership champion acts for one organisation (DESIGN.md, "People").
        CheckConstraint("role <> 'champion' OR organisation_id IS NOT NULL",
                        name="champion_has_organisation"),
        Index("ix_users_role_cohort", "role", "cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on sign-out and whenever the password changes (services/sessions.py), so every
    # signed-in session of the user, and any copy of its cookie, ends.
    session_nonce: Mapped[str] = mapped_column(String(32))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    specialty: Mapped[str | None] = mapped_column(String(120))
    training_year: Mapped[int | None] = mapped_column(SmallInteger)
    site: Mapped[str | None] = mapped_column(String(120))
    # The organisation a leadership champion acts for (None for every other role).
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"))
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


class LeadProgramme(db.Model):
    """A programme a programme lead (an admin) is limited to. An admin with no rows is unscoped
    and sees every programme; the rule that reads these is ``services/lead_scope.py``."""

    __tablename__ = "lead_programmes"
    __table_args__ = (
        UniqueConstraint("user_id", "programme"),
        CheckConstraint("length(programme) > 0 AND programme = trim(programme)",
                        name="programme_trimmed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    programme: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
