"""The dialect's ``insert`` construct that knows ``ON CONFLICT`` (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session) -> Any:
    """``insert`` for the session's database: ``.on_conflict_do_nothing()`` and
    ``.returning()`` then work the same on both (one round trip for insert-if-new)."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
