"""second factor: TOTP keys and recovery codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:00:00.000000

A staff member's sealed TOTP key and their one-use recovery codes (hashed), each a table of its
own so that ``users`` is not rebuilt on SQLite.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('two_factor_keys',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('last_step IS NULL OR last_step >= 0', name=op.f('ck_two_factor_keys_last_step_positive')),
    sa.CheckConstraint('confirmed_at IS NOT NULL OR last_step IS NULL', name=op.f('ck_two_factor_keys_used_only_once_confirmed')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factor_keys'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(code_hash) = 64', name=op.f('ck_recovery_codes_hash_length')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    op.create_index('ix_recovery_codes_user', 'recovery_codes', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_recovery_codes_user', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_table('two_factor_keys')
