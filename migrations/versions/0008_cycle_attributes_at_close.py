"""cycle attributes at close

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-05 08:10:00.000000

The trainee's specialty, training year and site as each cycle closed (DESIGN.md's data model).
Cycles closed before this revision get their trainee's current values: the best record there is.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback_cycles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('specialty_at_close', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('training_year_at_close', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('site_at_close', sa.String(length=120), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_feedback_cycles_training_year_at_close_range'),
            'training_year_at_close IS NULL OR (training_year_at_close BETWEEN 1 AND 10)')

    for column in ('specialty', 'training_year', 'site'):
        op.execute(
            f"UPDATE feedback_cycles SET {column}_at_close = "
            f"(SELECT users.{column} FROM users WHERE users.id = feedback_cycles.trainee_id) "
            "WHERE status IN ('closed', 'released')")


def downgrade():
    with op.batch_alter_table('feedback_cycles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feedback_cycles_training_year_at_close_range'),
                                 type_='check')
        batch_op.drop_column('site_at_close')
        batch_op.drop_column('training_year_at_close')
        batch_op.drop_column('specialty_at_close')
