"""audit events: client address and browser; append-only

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00.000000

Each audit event records the client address and browser of the request that made it, and the
database refuses UPDATE and DELETE of audit rows (triggers on PostgreSQL and SQLite; the same
statements as ``feedback360.models.system.APPEND_ONLY_DDL``, copied so this revision never changes).
It comes after 0007, which rewrote old audit rows.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

MESSAGE = "audit events are append-only: they cannot be changed or deleted"

TRIGGERS = {
    'postgresql': (
        "CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()",
    ),
    'sqlite': (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ),
}

DROP_TRIGGERS = {
    'postgresql': (
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP FUNCTION audit_events_refuse_change()",
    ),
    'sqlite': (
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
    ),
}


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=200), nullable=True))
    # After the columns: a batch table rebuild on SQLite would drop triggers made before it.
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('client_address')
