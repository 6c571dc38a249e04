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
APPEND_ONLY_MESSAGE = ("audit events are append-only: they cannot be changed, nor deleted until "
                       "the retention period has passed")
RETENTION_MESSAGE = ("the audit purge cutoff only moves forward, and never into the last "
                     "{days} days")
# The database keeps at least this many days of the trail whatever the app asks (a day's slack
# under the shortest AUDIT_RETENTION_DAYS, for clocks that differ): even someone with the app's
# own credentials cannot move the cutoff close enough to now to erase what they just did.
RETENTION_FLOOR_DAYS = 89
_RETENTION_REFUSED = RETENTION_MESSAGE.format(days=RETENTION_FLOOR_DAYS)
# UPDATE of an event is always refused; DELETE only of events older than the purge cutoff in
# ``audit_retention`` (none while it has no row). Migration 0012 has the same statements.
APPEND_ONLY_DDL = {
    "postgresql": (
        # (S608: these statements are made of constants, never of input.)
        "CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql "  # noqa: S608
        "AS $$ BEGIN IF TG_OP = 'DELETE' AND OLD.created_at < "
        "(SELECT purged_before FROM audit_retention WHERE id = 1) THEN RETURN OLD; END IF; "
        f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()",
    ),
    "sqlite": (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "  # noqa: S608
        "WHEN NOT coalesce(OLD.created_at < "
        "(SELECT purged_before FROM audit_retention WHERE id = 1), 0) "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    ),
}
RETENTION_DDL = {
    "postgresql": (
        "CREATE FUNCTION audit_retention_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' OR NEW.purged_before > "
        f"now() - interval '{RETENTION_FLOOR_DAYS} days' OR (TG_OP = 'UPDATE' AND "
        "NEW.purged_before < OLD.purged_before) THEN "
        f"RAISE EXCEPTION '{_RETENTION_REFUSED}'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER audit_retention_forward_only BEFORE INSERT OR UPDATE OR DELETE "
        "ON audit_retention FOR EACH ROW EXECUTE FUNCTION audit_retention_forward_only()",
    ),
    # SQLite keeps these datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text: compared as text.
    "sqlite": (
        "CREATE TRIGGER audit_retention_no_delete BEFORE DELETE ON audit_retention "
        f"BEGIN SELECT RAISE(ABORT, '{_RETENTION_REFUSED}'); END",
        "CREATE TRIGGER audit_retention_insert BEFORE INSERT ON audit_retention "
        f"WHEN NEW.purged_before > datetime('now', '-{RETENTION_FLOOR_DAYS} days') "
        f"BEGIN SELECT RAISE(ABORT, '{_RETENTION_REFUSED}'); END",
        "CREATE TRIGGER audit_retention_update BEFORE UPDATE ON audit_retention "
        f"WHEN NEW.purged_before > datetime('now', '-{RETENTION_FLOOR_DAYS} days') "
        "OR NEW.purged_before < OLD.purged_before "
        f"BEGIN SELECT RAISE(ABORT, '{_RETENTION_REFUSED}'); END",
    ),
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


class AuditRetention(db.Model):
    """The one row saying how far the trail has been purged: events created before
    ``purged_before`` may be deleted, no others. Its triggers let it only move forward."""

    __tablename__ = "audit_retention"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purged_before: Mapped[datetime] = mapped_column(UTCDateTime)


# The trail is append-only in the database itself, so neither a bug nor someone with the app's
# credentials can rewrite history through the app's connection, nor delete what is inside the
# retention period. Migrations 0009 and 0012 create the same triggers; these copies give a schema
# built from the models (the tests) the same guarantee.
# Deleting a user who has events is refused too (``actor_id`` SET NULL would be an UPDATE): the app
# deactivates users and never deletes them.
for _table, _ddl in ((AuditEvent.__table__, APPEND_ONLY_DDL),
                     (AuditRetention.__table__, RETENTION_DDL)):
    for _dialect, _statements in _ddl.items():
        for _statement in _statements:
            event.listen(_table, "after_create", DDL(_statement).execute_if(dialect=_dialect))
