"""task keys: only a pending task holds its dedupe key (a conflict needs no second look)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A worker's claim frees the key; finished tasks from before that kept theirs.
    op.execute("UPDATE tasks SET dedupe_key = NULL WHERE status <> 'pending'")


def downgrade() -> None:
    pass  # nothing to restore: a freed key is never needed again
