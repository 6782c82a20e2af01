"""groups: group sessions by conference call (schedule, sign-ups, meetings, actions)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'group_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=120), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('start', sa.String(length=5), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('muted', sa.Boolean(), nullable=False),
        sa.Column('facilitator_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['facilitator_id'], ['volunteers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'group_signups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('occurs_on', sa.Date(), nullable=False),
        sa.Column('survivor_id', sa.Integer(), nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('pin_hash', sa.String(length=64), nullable=False),
        sa.Column('pin_sealed', sa.Text(), nullable=False),
        sa.Column('line_number', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['group_id'], ['group_sessions.id']),
        sa.ForeignKeyConstraint(['survivor_id'], ['survivors.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('group_id', 'occurs_on', 'phone_hash',
                            name='uq_group_signup_person'),
        sa.UniqueConstraint('group_id', 'occurs_on', 'pin_hash', name='uq_group_signup_pin'),
    )
    op.create_index('ix_group_signups_group_id', 'group_signups', ['group_id'])
    op.create_index('ix_group_signups_phone_hash', 'group_signups', ['phone_hash'])
    op.create_table(
        'group_meetings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('occurs_on', sa.Date(), nullable=False),
        sa.Column('conference_sid', sa.String(length=64), nullable=True),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('attended', sa.Integer(), nullable=False),
        sa.Column('present', sa.Integer(), nullable=False),
        sa.Column('peak', sa.Integer(), nullable=False),
        sa.Column('last_speaker_sid', sa.String(length=64), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['group_sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('group_id', 'occurs_on', name='uq_group_meeting'),
    )
    op.create_index('ix_group_meetings_group_id', 'group_meetings', ['group_id'])
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_meeting_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_joined_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key('fk_calls_group_meeting', 'group_meetings',
                                    ['group_meeting_id'], ['id'])
    op.create_table(
        'group_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('target_call_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['meeting_id'], ['group_meetings.id']),
        sa.ForeignKeyConstraint(['target_call_id'], ['calls.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_group_actions_meeting_id', 'group_actions', ['meeting_id'])


def downgrade() -> None:
    op.drop_index('ix_group_actions_meeting_id', table_name='group_actions')
    op.drop_table('group_actions')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint('fk_calls_group_meeting', type_='foreignkey')
        batch_op.drop_column('group_joined_at')
        batch_op.drop_column('group_meeting_id')
    op.drop_index('ix_group_meetings_group_id', table_name='group_meetings')
    op.drop_table('group_meetings')
    op.drop_index('ix_group_signups_phone_hash', table_name='group_signups')
    op.drop_index('ix_group_signups_group_id', table_name='group_signups')
    op.drop_table('group_signups')
    op.drop_table('group_sessions')
