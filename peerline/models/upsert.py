"""Inserts that know ``ON CONFLICT`` (PostgreSQL and SQLite): insert-if-new in one trip."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from peerline.models.text import Message


def insert_for(session: Session) -> Any:
    """``insert`` for the session's database: ``.on_conflict_do_nothing()`` and
    ``.returning()`` then work the same on both."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def insert_message(session: Session) -> Any:
    """``INSERT INTO messages ... ON CONFLICT (sid) DO NOTHING RETURNING id`` (Core, built
    once per database kind; the values are bound per call)."""
    return _insert_message(session.get_bind().dialect.name)


@cache
def _insert_message(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Message.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["sid"]).returning(table.c.id)
