"""audit retention: a purge cutoff that only moves forward; deletes only before it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:15:00.000000

``flask purge-audit`` deletes audit events older than AUDIT_RETENTION_DAYS. The database still
refuses every UPDATE of an event, and a DELETE of any event not older than the cutoff kept in the
one-row ``audit_retention`` table (no row: no deletes at all). That row's own triggers refuse to
move the cutoff back, into the last 89 days, or to delete it. The statements are those of
``feedback360.models.system`` (``APPEND_ONLY_DDL``, ``RETENTION_DDL``), copied so this revision
never changes; downgrading restores 0009's triggers.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

MESSAGE = ("audit events are append-only: they cannot be changed, nor deleted until the "
           "retention period has passed")
OLD_MESSAGE = "audit events are append-only: they cannot be changed or deleted"
CUTOFF_MESSAGE = "the audit purge cutoff only moves forward, and never into the last 89 days"
SQLITE_FLOOR = "datetime('now', '-89 days')"

UPGRADE = {
    'postgresql': (
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' AND OLD.created_at < "
        "(SELECT purged_before FROM audit_retention WHERE id = 1) THEN RETURN OLD; END IF; "
        f"RAISE EXCEPTION '{MESSAGE}'; END $$",
        "CREATE FUNCTION audit_retention_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' OR NEW.purged_before > now() - interval '89 days' OR "
        "(TG_OP = 'UPDATE' AND NEW.purged_before < OLD.purged_before) THEN "
        f"RAISE EXCEPTION '{CUTOFF_MESSAGE}'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER audit_retention_forward_only BEFORE INSERT OR UPDATE OR DELETE "
        "ON audit_retention FOR EACH ROW EXECUTE FUNCTION audit_retention_forward_only()",
    ),
    'sqlite': (
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "WHEN NOT coalesce(OLD.created_at < "
        "(SELECT purged_before FROM audit_retention WHERE id = 1), 0) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER audit_retention_no_delete BEFORE DELETE ON audit_retention "
        f"BEGIN SELECT RAISE(ABORT, '{CUTOFF_MESSAGE}'); END",
        "CREATE TRIGGER audit_retention_insert BEFORE INSERT ON audit_retention "
        f"WHEN NEW.purged_before > {SQLITE_FLOOR} "
        f"BEGIN SELECT RAISE(ABORT, '{CUTOFF_MESSAGE}'); END",
        "CREATE TRIGGER audit_retention_update BEFORE UPDATE ON audit_retention "
        f"WHEN NEW.purged_before > {SQLITE_FLOOR} OR NEW.purged_before < OLD.purged_before "
        f"BEGIN SELECT RAISE(ABORT, '{CUTOFF_MESSAGE}'); END",
    ),
}

DOWNGRADE = {
    'postgresql': (
        "DROP TRIGGER audit_retention_forward_only ON audit_retention",
        "DROP FUNCTION audit_retention_forward_only()",
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{OLD_MESSAGE}'; END $$",
    ),
    'sqlite': (
        "DROP TRIGGER audit_retention_no_delete",
        "DROP TRIGGER audit_retention_insert",
        "DROP TRIGGER audit_retention_update",
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{OLD_MESSAGE}'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{OLD_MESSAGE}'); END",
    ),
}


def upgrade():
    op.create_table('audit_retention',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('purged_before', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_retention_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_retention'))
    )
    for statement in UPGRADE[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table('audit_retention')
