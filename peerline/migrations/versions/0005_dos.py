"""escalations updated while open (count, last seen, categories, peer alert pacing);
gateway_holds (Twilio refused the credentials: texts held, not lost)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_count', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('categories', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('volunteer_alerted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('alerted_volunteer_id', sa.Integer(), nullable=True))
    op.create_table('gateway_holds',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('last_refused_at', sa.DateTime(), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.Column('refusals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('gateway_holds')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_column('alerted_volunteer_id')
        batch_op.drop_column('volunteer_alerted_at')
        batch_op.drop_column('categories')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('seen_count')
