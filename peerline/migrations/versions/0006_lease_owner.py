"""lease owner: leases record the worker (heartbeat name) that holds them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_by', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_locked_by'), ['locked_by'], unique=False)
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('locked_by')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_locked_by'))
        batch_op.drop_column('locked_by')
