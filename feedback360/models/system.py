"""The outbox of email still to send, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:  # relationship targets are resolved by name through the registry
    from .people import User

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
USER_AGENT_LENGTH = 200
APPEND_ONLY_MESSAGE = "audit events are append-only: they cannot be changed or deleted"
APPEND_ONLY_DDL = {
    "postgresql": (
        "CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()",
    ),
    "sqlite": tuple(
        f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        for verb in ("UPDATE", "DELETE")),
}


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
    # Where the request came from (after the trusted-proxy setting) and the browser it named:
    # a reviewer tracing a misuse needs both; None for the CLI and scheduled jobs.
    client_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))

    actor: Mapped[User | None] = relationship()


# The trail is append-only in the database itself, so neither a bug nor someone with the app's
# credentials can rewrite history through the app's connection. Migration 0009 creates the same
# triggers; these copies give a schema built from the models (the tests) the same guarantee.
# Deleting a user who has events is refused too (``actor_id`` SET NULL would be an UPDATE): the app
# deactivates users and never deletes them.
for _statement in APPEND_ONLY_DDL["postgresql"]:
    event.listen(AuditEvent.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))
for _statement in APPEND_ONLY_DDL["sqlite"]:
    event.listen(AuditEvent.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))
