"""comment handles

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 08:10:00.000000

Each comment gets a random handle, which the coach's hide and show-again links, forms and audit
events carry instead of the response id (which paired a rater's comments). Existing comments are
given one each here, drawn as the model's default draws them, and the audit events that named a
comment by its response id name it by its handle. A downgrade drops the handles; it cannot put
the response ids back into those events.
"""
import secrets
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handle', sa.String(length=22), nullable=True))

    comments = sa.table('comments', sa.column('response_id', sa.Uuid()),
                        sa.column('prompt_key', sa.String()), sa.column('handle', sa.String()))
    connection = op.get_bind()
    handles = {(str(response_id), prompt_key): secrets.token_urlsafe(16)
               for response_id, prompt_key in connection.execute(
                   sa.select(comments.c.response_id, comments.c.prompt_key))}
    if handles:
        connection.execute(
            comments.update()
            .where(comments.c.response_id == sa.bindparam('key_response', type_=sa.Uuid()),
                   comments.c.prompt_key == sa.bindparam('key_prompt'))
            .values(handle=sa.bindparam('new_handle')),
            [{'key_response': uuid.UUID(response_id), 'key_prompt': prompt_key,
              'new_handle': handle} for (response_id, prompt_key), handle in handles.items()])

    # Hiding and showing again were audited with the response id, which pairs a rater's
    # comments: each such event now names the comment by its handle instead (or by nothing,
    # for a comment since deleted with its cycle).
    events = sa.table('audit_events', sa.column('id', sa.Integer()),
                      sa.column('action', sa.String()), sa.column('detail', sa.JSON()))
    rewritten = []
    for event_id, detail in connection.execute(
            sa.select(events.c.id, events.c.detail)
            .where(events.c.action.in_(('comment.hidden', 'comment.unhidden')))):
        if not isinstance(detail, dict) or 'response' not in detail:
            continue
        detail = dict(detail)
        handle = handles.get((str(detail.pop('response')), detail.get('prompt')))
        if handle is not None:
            detail['comment'] = handle
        rewritten.append({'event_id': event_id, 'new_detail': detail})
    if rewritten:
        connection.execute(
            events.update().where(events.c.id == sa.bindparam('event_id'))
            .values(detail=sa.bindparam('new_detail', type_=sa.JSON())), rewritten)

    # SQLite rebuilds the table for NOT NULL: keep it WITHOUT ROWID, as the model has it.
    with op.batch_alter_table('comments', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.alter_column('handle', existing_type=sa.String(length=22), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_comments_handle'), ['handle'])
        batch_op.create_check_constraint(batch_op.f('ck_comments_handle_length'),
                                         'length(handle) = 22')


def downgrade():
    with op.batch_alter_table('comments', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_comments_handle_length'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_comments_handle'), type_='unique')
        batch_op.drop_column('handle')
