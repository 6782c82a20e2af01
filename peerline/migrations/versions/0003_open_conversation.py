"""one open conversation per survivor and one bridge per call, held by partial
unique indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN_WHERE = "status IN ('waiting', 'active')"
ACCEPTED_WHERE = "status = 'accepted'"


def upgrade() -> None:
    # Close all but the newest open conversation of a survivor that a past race doubled,
    # so the index can be built on a live database.
    op.execute(
        "UPDATE conversations SET status = 'closed', closed_reason = 'duplicate', "
        "closed_at = CURRENT_TIMESTAMP "
        f"WHERE {OPEN_WHERE} AND id NOT IN ("
        f"SELECT MAX(id) FROM conversations WHERE {OPEN_WHERE} GROUP BY survivor_id)")
    op.create_index('uq_conversations_open_per_survivor', 'conversations', ['survivor_id'],
                    unique=True, postgresql_where=sa.text(OPEN_WHERE),
                    sqlite_where=sa.text(OPEN_WHERE))


    op.create_index('uq_call_rings_accepted_per_call', 'call_rings', ['call_id'],
                    unique=True, postgresql_where=sa.text(ACCEPTED_WHERE),
                    sqlite_where=sa.text(ACCEPTED_WHERE))


def downgrade() -> None:
    op.drop_index('uq_call_rings_accepted_per_call', table_name='call_rings')
    op.drop_index('uq_conversations_open_per_survivor', table_name='conversations')
