"""Inserts that know ``ON CONFLICT`` (PostgreSQL and SQLite): insert-if-new in one trip.

Why textual: SQLAlchemy 2.0 gives its dialect ``insert(...).on_conflict_do_nothing()``
no cache key, so such a statement is compiled afresh at every execution (~1 ms of CPU
each; the webhook ran three per first text). :func:`conflict_insert` writes the same SQL
once as a ``text()`` with typed bind parameters: it is cached like any statement, and
each value still goes through its column's type (a sealed column is encrypted, a date
is converted for SQLite). ``tests/test_upsert.py`` checks the SQL against the
dialect's own construct.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from peerline.models.delivery import Task
from peerline.models.peer import PeerChoice
from peerline.models.people import Survivor
from peerline.models.text import Conversation, Message


def insert_for(session: Session) -> Any:
    """``insert`` for the session's database: ``.on_conflict_do_nothing()`` and
    ``.returning()`` then work the same on both (compiled at each use: see the module)."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def conflict_insert(table: Table, columns: Sequence[str], conflict: Sequence[str],
                    returning: Sequence[str]) -> Any:
    """``INSERT INTO table (columns) VALUES (:column, ...) ON CONFLICT (conflict) DO
    NOTHING RETURNING returning``, the same text on PostgreSQL and SQLite (≥ 3.35).

    Every named column must be given a value at execution (no Python-side defaults are
    filled in); the binds carry the columns' types, the result the returned columns'.
    """
    for name in (*columns, *conflict, *returning):
        if name not in table.c:
            raise KeyError(f"{table.name} has no column {name}")
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join(':' + name for name in columns)}) "
           f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING "
           f"RETURNING {', '.join(returning)}")
    stmt: TextClause = text(sql).bindparams(
        *[bindparam(name, type_=table.c[name].type) for name in columns])
    return stmt.columns(*[table.c[name] for name in returning])


MESSAGE_COLUMNS = ("sid", "conversation_id", "sender", "sender_hash", "line_number", "body",
                   "num_media", "kind", "created_at")
TASK_COLUMNS = ("kind", "ref_id", "dedupe_key", "status", "not_before", "enqueued_at",
                "attempts", "created_at")
SURVIVOR_COLUMNS = ("phone_enc", "phone_hash", "lang", "opted_out", "created_at")


@cache
def insert_message() -> Any:
    """``INSERT INTO messages ... ON CONFLICT (sid) DO NOTHING RETURNING id`` (built once;
    the values, all of :data:`MESSAGE_COLUMNS`, are bound per call)."""
    return conflict_insert(Message.__table__, MESSAGE_COLUMNS, ["sid"], ["id"])


@cache
def insert_message_stamping() -> Any:
    """PostgreSQL: :func:`insert_message`, and in the same statement ``UPDATE
    conversations SET last_survivor_at = :stamp_at WHERE id = :conversation_id`` (a
    data-modifying CTE runs to completion whether or not the insert reads it)."""
    table = Conversation.__table__
    plain = insert_message()
    stmt: TextClause = text(
        "WITH stamped AS (UPDATE conversations SET last_survivor_at = :stamp_at "
        "WHERE id = :conversation_id) " + plain.element.text).bindparams(
        *[bindparam(name, type_=Message.__table__.c[name].type) for name in MESSAGE_COLUMNS],
        bindparam("stamp_at", type_=table.c.last_survivor_at.type))
    return stmt.columns(Message.__table__.c.id)


@cache
def insert_keyed_task() -> Any:
    """``INSERT INTO tasks ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``."""
    return conflict_insert(Task.__table__, TASK_COLUMNS, ["dedupe_key"], ["id"])


@cache
def insert_survivor() -> Any:
    """``INSERT INTO survivors ... ON CONFLICT (phone_hash) DO NOTHING RETURNING`` every
    column (for ``select(Survivor).from_statement(...)``: the new row as an ORM object)."""
    table = Survivor.__table__
    return conflict_insert(table, SURVIVOR_COLUMNS, ["phone_hash"], list(table.c.keys()))


@cache
def insert_conversation_and_task() -> Any:
    """PostgreSQL: ``INSERT INTO conversations`` (every column but id, bound as
    ``:c_<column>``) and, in the same statement, :func:`insert_keyed_task` (bound as
    ``:t_<column>``); the row is ``(conversation_id, task_id)``, ``task_id`` NULL when a
    pending twin holds the key (a data-modifying CTE runs whether or not it is read)."""
    conv, task = Conversation.__table__, Task.__table__
    names = [name for name in conv.c.keys() if name != "id"]
    stmt: TextClause = text(
        f"WITH c AS (INSERT INTO conversations ({', '.join(names)}) "
        f"VALUES ({', '.join(':c_' + name for name in names)}) RETURNING id), "
        f"t AS (INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) "
        f"VALUES ({', '.join(':t_' + name for name in TASK_COLUMNS)}) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id) "
        "SELECT c.id AS conversation_id, (SELECT t.id FROM t) AS task_id FROM c"
    ).bindparams(*[bindparam(f"c_{name}", type_=conv.c[name].type) for name in names],
                 *[bindparam(f"t_{name}", type_=task.c[name].type) for name in TASK_COLUMNS])
    return stmt.columns(conv.c.id.label("conversation_id"), task.c.id.label("task_id"))


@cache
def insert_survivor_reading_choice() -> Any:
    """PostgreSQL: :func:`insert_survivor`, and in the same statement the survivor's
    peer-choice row if one is kept for the phone hash (columns ``pc_<column>``, NULL
    when none): a new survivor's first text needs both. No row when a twin holds the
    phone hash (as :func:`insert_survivor`)."""
    table, choice = Survivor.__table__, PeerChoice.__table__
    names, kept = list(table.c.keys()), list(choice.c.keys())
    stmt: TextClause = text(
        "WITH s AS (" + insert_survivor().element.text + ") "
        f"SELECT {', '.join('s.' + name for name in names)}, "
        f"{', '.join(f'pc.{name} AS pc_{name}' for name in kept)} "
        "FROM s LEFT OUTER JOIN peer_choices pc ON pc.phone_hash = s.phone_hash"
    ).bindparams(*[bindparam(name, type_=table.c[name].type) for name in SURVIVOR_COLUMNS])
    return stmt.columns(*[table.c[name] for name in names],
                        *[choice.c[name].label(f"pc_{name}") for name in kept])

