"""group feedback: feedback after a group meeting, calls linked to their sign-up (a
removed caller cannot rejoin), wrong session PINs counted per caller across calls

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_signup_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_calls_group_signup', 'group_signups',
                                    ['group_signup_id'], ['id'])
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.alter_column('conversation_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('group_meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_feedback_group_meeting', 'group_meetings',
                                    ['group_meeting_id'], ['id'])
        batch_op.create_unique_constraint('uq_feedback_group_person',
                                          ['group_meeting_id', 'phone_hash'])
    op.create_table(
        'group_pin_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(), nullable=True),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('phone_hash'),
    )


def downgrade() -> None:
    op.drop_table('group_pin_failures')
    op.execute("DELETE FROM feedback WHERE conversation_id IS NULL")
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint('uq_feedback_group_person', type_='unique')
        batch_op.drop_constraint('fk_feedback_group_meeting', type_='foreignkey')
        batch_op.drop_column('group_meeting_id')
        batch_op.alter_column('conversation_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint('fk_calls_group_signup', type_='foreignkey')
        batch_op.drop_column('group_signup_id')
