"""sealed answers: drafts and open cycles' rater responses sealed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:00:00.000000

Upgrading seals what was readable: every rater's draft (to its invitation) and the rater
responses of cycles still open (one sealed row each, to the cycle), then removes the plain rows.
Sealing needs the app's SECRET_KEY: the migration runs inside the Flask app (flask db upgrade).
Downgrading opens them again (with the same key) into the old readable form.
"""
import json
import random
import secrets
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NOT_OBSERVED = "na"

invitations = sa.table('invitations', sa.column('id', sa.Integer()),
                       sa.column('draft', sa.LargeBinary()))
cycles = sa.table('feedback_cycles', sa.column('id', sa.Integer()),
                  sa.column('status', sa.String()))
sealed_responses = sa.table('sealed_responses', sa.column('id', sa.Uuid()),
                            sa.column('cycle_id', sa.Integer()),
                            sa.column('sealed', sa.LargeBinary()))
responses = sa.table('responses', sa.column('id', sa.Uuid()), sa.column('cycle_id', sa.Integer()),
                     sa.column('rater_group', sa.String()), sa.column('is_self', sa.Boolean()))
answers = sa.table('answers', sa.column('response_id', sa.Uuid()),
                   sa.column('item_key', sa.String()), sa.column('score', sa.SmallInteger()))
comments = sa.table('comments', sa.column('response_id', sa.Uuid()),
                    sa.column('prompt_key', sa.String()), sa.column('text', sa.Text()))


def _sealing():
    from feedback360 import sealing  # needs the app context flask db upgrade provides

    return sealing


def _draft_type(old_type, new_type, using):
    # SQLite cannot change a column's type in place: batch mode rebuilds the table.
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.alter_column('draft', existing_type=old_type, type_=new_type,
                              existing_nullable=True, postgresql_using=using)


def upgrade():
    sealing = _sealing()
    bind = op.get_bind()
    op.create_table('sealed_responses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('length(sealed) > 0', name=op.f('ck_sealed_responses_sealed_not_empty')),
    sa.ForeignKeyConstraint(['cycle_id'], ['feedback_cycles.id'], name=op.f('fk_sealed_responses_cycle_id_feedback_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_responses')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sealed_responses', schema=None) as batch_op:
        batch_op.create_index('ix_sealed_responses_cycle', ['cycle_id'], unique=False)

    # Drafts: read in clear, column emptied and retyped, written back sealed.
    drafts = bind.execute(sa.text(
        "SELECT id, draft FROM invitations WHERE draft IS NOT NULL")).all()
    bind.execute(sa.text("UPDATE invitations SET draft = NULL"))
    _draft_type(sa.JSON(), sa.LargeBinary(), 'NULL::bytea')
    for invitation_id, draft in drafts:
        value = json.loads(draft) if isinstance(draft, str) else draft
        bind.execute(invitations.update().where(invitations.c.id == invitation_id).values(
            draft=sealing.seal(value, purpose=sealing.DRAFT, owner=invitation_id)))

    # Rater responses of open cycles: sealed, one row each, and the plain rows removed.
    rows = bind.execute(
        sa.select(responses.c.id, responses.c.cycle_id, responses.c.rater_group)
        .join(cycles, cycles.c.id == responses.c.cycle_id)
        .where(cycles.c.status == 'open', responses.c.is_self.is_(False))).all()
    for response_id, cycle_id, group in rows:
        payload = {
            "g": group,
            "answers": {key: NOT_OBSERVED if score is None else score for key, score in
                        bind.execute(sa.select(answers.c.item_key, answers.c.score)
                                     .where(answers.c.response_id == response_id))},
            "comments": {key: text for key, text in
                         bind.execute(sa.select(comments.c.prompt_key, comments.c.text)
                                      .where(comments.c.response_id == response_id))},
        }
        bind.execute(sealed_responses.insert().values(
            id=uuid.uuid4(), cycle_id=cycle_id,
            sealed=sealing.seal(payload, purpose=sealing.SUBMITTED, owner=cycle_id)))
        for table in (answers, comments):
            bind.execute(table.delete().where(table.c.response_id == response_id))
        bind.execute(responses.delete().where(responses.c.id == response_id))


def downgrade():
    sealing = _sealing()
    bind = op.get_bind()
    # Sealed responses of open cycles back to plain rows, in shuffled order, fresh ids.
    opened = [(cycle_id, sealing.unseal(blob, purpose=sealing.SUBMITTED, owner=cycle_id))
              for cycle_id, blob in bind.execute(
                  sa.select(sealed_responses.c.cycle_id, sealed_responses.c.sealed))]
    random.Random(secrets.randbits(64)).shuffle(opened)  # noqa: S311 - order only
    for cycle_id, payload in opened:
        response_id = uuid.uuid4()
        bind.execute(responses.insert().values(id=response_id, cycle_id=cycle_id,
                                               rater_group=payload["g"], is_self=False))
        for key, score in payload["answers"].items():
            bind.execute(answers.insert().values(
                response_id=response_id, item_key=key,
                score=None if score == NOT_OBSERVED else score))
        for key, text in payload["comments"].items():
            bind.execute(comments.insert().values(response_id=response_id, prompt_key=key,
                                                  text=text))

    drafts = [(invitation_id, sealing.unseal(blob, purpose=sealing.DRAFT, owner=invitation_id))
              for invitation_id, blob in bind.execute(
                  sa.select(invitations.c.id, invitations.c.draft)
                  .where(invitations.c.draft.is_not(None)))]
    bind.execute(sa.text("UPDATE invitations SET draft = NULL"))
    _draft_type(sa.LargeBinary(), sa.JSON(), 'NULL::json')
    plain = sa.table('invitations', sa.column('id', sa.Integer()), sa.column('draft', sa.JSON()))
    for invitation_id, draft in drafts:
        bind.execute(plain.update().where(plain.c.id == invitation_id).values(draft=draft))

    with op.batch_alter_table('sealed_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_sealed_responses_cycle')
    op.drop_table('sealed_responses')
