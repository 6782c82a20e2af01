"""text code lock: wrong codes texted back (CANT/SWAP, an application's code) are counted
apart from voice PINs, so a faked From cannot lock a volunteer's voice access

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_failures', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('code_failed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('code_locked_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('code_locked_until')
        batch_op.drop_column('code_failed_at')
        batch_op.drop_column('code_failures')
