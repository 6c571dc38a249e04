"""comment handles

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 08:10:00.000000

Each comment gets a random handle, which the coach's hide and show-again links, forms and audit
events carry instead of the response id (which paired a rater's comments). Existing comments are
given one each here, drawn as the model's default draws them.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handle', sa.String(length=22), nullable=True))

    comments = sa.table('comments', sa.column('response_id', sa.Uuid()),
                        sa.column('prompt_key', sa.String()), sa.column('handle', sa.String()))
    connection = op.get_bind()
    keys = connection.execute(sa.select(comments.c.response_id, comments.c.prompt_key)).all()
    if keys:
        connection.execute(
            comments.update()
            .where(comments.c.response_id == sa.bindparam('key_response'),
                   comments.c.prompt_key == sa.bindparam('key_prompt'))
            .values(handle=sa.bindparam('new_handle')),
            [{'key_response': response_id, 'key_prompt': prompt_key,
              'new_handle': secrets.token_urlsafe(16)} for response_id, prompt_key in keys])

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
