"""nomination safeguards: canonical rater addresses, coach approval of nominee lists

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05 08:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from feedback360.email_identity import InvalidAddress, canonical


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _identities(connection):
    """Each invitation's canonical address. Two rows of one cycle that turn out to be one person
    (nominated before this revision as name+tag@ and name@) cannot both take it: the first keeps
    it and the others keep their typed address, so the upgrade never fails and no new duplicate
    can be added afterwards."""
    rows = connection.execute(sa.text(
        "SELECT id, cycle_id, rater_email FROM invitations ORDER BY cycle_id, id")).all()
    candidates = []
    for invitation_id, cycle_id, email in rows:
        try:
            identity = canonical(email)
        except InvalidAddress:
            identity = email
        candidates.append((invitation_id, cycle_id, email, identity))
    # A row typed in the canonical form first: its identity is its own address, which no other
    # row may then take (typed addresses are already unique per cycle).
    candidates.sort(key=lambda row: (row[1], row[2] != row[3], row[0]))
    taken = set()
    for invitation_id, cycle_id, email, identity in candidates:
        if (cycle_id, identity) in taken:
            identity = email
        taken.add((cycle_id, identity))
        yield invitation_id, identity


def upgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nominee_approval_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rater_identity', sa.String(length=254), nullable=True))
    connection = op.get_bind()
    for invitation_id, identity in list(_identities(connection)):
        connection.execute(sa.text("UPDATE invitations SET rater_identity = :identity "
                                   "WHERE id = :id"), {"identity": identity, "id": invitation_id})
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.alter_column('rater_identity', existing_type=sa.String(length=254),
                              nullable=False)
        batch_op.create_unique_constraint(op.f('uq_invitations_cycle_id_rater_identity'),
                                          ['cycle_id', 'rater_identity'])
        batch_op.create_check_constraint(op.f('ck_invitations_identity_is_an_address'),
                                         "rater_identity LIKE '%_@_%'")

    op.create_table('nominee_approvals',
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status = 'requested' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)", name=op.f('ck_nominee_approvals_decided_has_who_and_when')),
    sa.CheckConstraint("status <> 'requested' OR (decided_by_id IS NULL AND decided_at IS NULL)", name=op.f('ck_nominee_approvals_requested_is_undecided')),
    sa.CheckConstraint("(status = 'returned') = (return_reason IS NOT NULL)", name=op.f('ck_nominee_approvals_returned_has_reason')),
    sa.CheckConstraint("return_reason IS NULL OR length(return_reason) > 0", name=op.f('ck_nominee_approvals_reason_not_blank')),
    sa.CheckConstraint("length(fingerprint) = 64", name=op.f('ck_nominee_approvals_fingerprint_is_sha256')),
    sa.CheckConstraint("status IN ('requested', 'approved', 'returned')", name=op.f('ck_nominee_approvals_status_known')),
    sa.ForeignKeyConstraint(['cycle_id'], ['feedback_cycles.id'], name=op.f('fk_nominee_approvals_cycle_id_feedback_cycles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_nominee_approvals_decided_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('cycle_id', name=op.f('pk_nominee_approvals'))
    )


def downgrade():
    op.drop_table('nominee_approvals')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_identity_is_an_address'), type_='check')
        batch_op.drop_constraint(op.f('uq_invitations_cycle_id_rater_identity'), type_='unique')
        batch_op.drop_column('rater_identity')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('nominee_approval_required')
