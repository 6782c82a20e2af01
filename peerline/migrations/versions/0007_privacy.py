"""privacy: words sealed at rest, quick-exit bookkeeping

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00

- Message bodies (in and out), offer previews and alerts (outbound bodies), escalation
  spans, voicemail transcripts and recording URLs, and the local gateway's records are
  encrypted with the line's vault (the keys of PEERLINE_ENCRYPTION_KEYS / SECRET_KEY).
  Existing plain text is encrypted here, so run it through ``flask --app wsgi db
  upgrade`` (which knows the keys), never with the bare Alembic CLI on a database that
  holds messages.
- ``escalations.matched`` becomes TEXT (a token is longer than the 200 characters kept).
- ``survivors.erased_at``, ``voicemails.transcription_sid`` and ``remote_deletions``.
"""
from alembic import context, op
import sqlalchemy as sa
from cryptography.fernet import InvalidToken


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: (table, column) of every sealed column, as of this revision.
SEALED = (("messages", "body"), ("outbound_messages", "body"), ("escalations", "matched"),
          ("voicemails", "transcript"), ("voicemails", "recording_url"),
          ("local_messages", "body"))
BATCH = 500


def _vault(required: bool):
    from peerline.privacy.sealed import find_vault

    if context.is_offline_mode():
        raise RuntimeError("0003_privacy encrypts stored words: run it online "
                           "(flask --app wsgi db upgrade), not as offline SQL")
    vault = find_vault(op.get_bind().dialect)
    if vault is None and required:
        raise RuntimeError("0003_privacy must encrypt stored words but knows no keys: run "
                           "`flask --app wsgi db upgrade` with the line's settings")
    return vault


def _rewrite(table_name: str, column: str, change) -> None:
    """Apply ``change(value) -> value | None`` to every non-null value, in id order."""
    bind = op.get_bind()
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.Text))
    col = table.c[column]
    last = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, col).where(table.c.id > last,
                                                             col.is_not(None))
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row_id, value in rows:
            new = change(value)
            if new is not None and new != value:
                bind.execute(table.update().where(table.c.id == row_id).values({column: new}))
        last = rows[-1][0]


def _has_words() -> bool:
    bind = op.get_bind()
    for table_name, column in SEALED:
        table = sa.table(table_name, sa.column(column, sa.Text))
        if bind.execute(sa.select(sa.literal(1)).select_from(table)
                        .where(table.c[column].is_not(None)).limit(1)).first():
            return True
    return False


def upgrade() -> None:
    # Words already stored are sealed below: know the keys before changing anything.
    vault = None
    if not context.is_offline_mode() and _has_words():
        vault = _vault(required=True)
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.alter_column('matched', existing_type=sa.String(length=200),
                              type_=sa.Text(), existing_nullable=True)
    with op.batch_alter_table('survivors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('voicemails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcription_sid', sa.String(length=64),
                                      nullable=True))
    op.create_table('remote_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['survivor_id'], ['survivors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'sid', name='uq_remote_deletions_sid')
    )
    with op.batch_alter_table('remote_deletions', schema=None) as batch_op:
        batch_op.create_index('ix_remote_deletions_due',
                              ['survivor_id', 'status', 'next_try_at'], unique=False)

    # Data: seal every word already stored (a value that is already a token is kept).
    if vault is None:
        return

    def seal(value: str) -> str:
        try:
            vault.decrypt(value)
            return value
        except (InvalidToken, ValueError, TypeError):
            return vault.encrypt(value)

    for table_name, column in SEALED:
        _rewrite(table_name, column, seal)


def downgrade() -> None:
    if not context.is_offline_mode() and _has_words():
        vault = _vault(required=True)

        def open_(value: str) -> str:
            try:
                return vault.decrypt(value)
            except (InvalidToken, ValueError, TypeError):
                return value

        for table_name, column in SEALED:
            _rewrite(table_name, column, open_)
        _rewrite("escalations", "matched", lambda value: value[:200])
    with op.batch_alter_table('remote_deletions', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_deletions_due')
    op.drop_table('remote_deletions')
    with op.batch_alter_table('voicemails', schema=None) as batch_op:
        batch_op.drop_column('transcription_sid')
    with op.batch_alter_table('survivors', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.alter_column('matched', existing_type=sa.Text(),
                              type_=sa.String(length=200), existing_nullable=True)
