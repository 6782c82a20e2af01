"""schedule: shifts, cancelled dates, their occurrences; volunteers.shift_said_at

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shifts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('volunteer_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('start_time', sa.Time(), nullable=False),
        sa.Column('end_time', sa.Time(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('removed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_shifts_volunteer_id', 'shifts', ['volunteer_id'])
    op.create_table(
        'shift_exceptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('on_date', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['shift_id'], ['shifts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('shift_id', 'on_date', name='uq_shift_exception'),
    )
    op.create_index('ix_shift_exceptions_shift_id', 'shift_exceptions', ['shift_id'])
    op.create_table(
        'shift_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('volunteer_id', sa.Integer(), nullable=True),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('open_since', sa.DateTime(), nullable=True),
        sa.Column('open_reason', sa.String(length=16), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['shift_id'], ['shifts.id']),
        sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('shift_id', 'starts_at', name='uq_shift_slot'),
    )
    op.create_index('ix_shift_slots_shift_id', 'shift_slots', ['shift_id'])
    op.create_index('ix_shift_slots_volunteer_id', 'shift_slots', ['volunteer_id'])
    op.create_index('ix_shift_slots_starts_at', 'shift_slots', ['starts_at'])
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shift_said_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('shift_said_at')
    op.drop_table('shift_slots')
    op.drop_table('shift_exceptions')
    op.drop_table('shifts')
