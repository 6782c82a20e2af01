"""wellbeing: a cool-down after a crisis conversation, per-volunteer conversation caps

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cooldown_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cap_per_shift', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cap_per_week', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('cap_per_week')
        batch_op.drop_column('cap_per_shift')
        batch_op.drop_column('cooldown_until')
