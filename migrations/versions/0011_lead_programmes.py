"""lead programmes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:10:00.000000

The programmes a programme lead (an admin) is limited to. An admin with none is unscoped, as
every admin was before this revision, so nobody's view changes on upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lead_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('programme', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(programme) > 0 AND programme = trim(programme)', name=op.f('ck_lead_programmes_programme_trimmed')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lead_programmes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_programmes')),
    sa.UniqueConstraint('user_id', 'programme', name=op.f('uq_lead_programmes_user_id_programme'))
    )


def downgrade():
    op.drop_table('lead_programmes')
