"""peer support: volunteers' lived-experience tags, survivors' choice of peer, matching
and continuity on conversations, feedback, applications to volunteer

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.String(length=300), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('no_match_tags', sa.String(length=300),
                                      server_default='', nullable=False))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('same_peer_id', sa.Integer(), nullable=True))
    op.create_table('peer_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('tag', sa.Text(), nullable=True),
    sa.Column('asked_at', sa.DateTime(), nullable=True),
    sa.Column('asked_conversation_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone_hash')
    )
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('words', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_phone_hash', ['phone_hash'], unique=False)
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.String(length=20), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('languages', sa.Text(), nullable=True),
    sa.Column('availability', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=254), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['survivor_id'], ['survivors.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_survivor_id', ['survivor_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_survivor_id')
    op.drop_table('applications')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_phone_hash')
    op.drop_table('feedback')
    op.drop_table('peer_choices')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('same_peer_id')
        batch_op.drop_column('match_until')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('no_match_tags')
        batch_op.drop_column('tags')
