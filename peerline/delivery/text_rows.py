"""One text to send stored by one prebuilt statement: its outbound row and its send task.

A webhook's usual follow-up is one text (a survivor's words relayed to their peer). The
ORM way cost about a third of a live text's Python for it: a look-up of who opted out,
a unit-of-work flush of an ``OutboundMessage`` and a ``Task`` object for its send. Here,
on PostgreSQL, one ``INSERT`` of the text ``SELECT``s its values only when neither a
survivor nor a volunteer with that phone hash opted out, and a data-modifying CTE
inserts its send task from the row it returned: one round trip, no ORM object, the
opt-out read by the insert itself. SQLite (the embedded default) has no
data-modifying CTE, so there it is the same guarded ``INSERT``, then the task's.

What does not change: the body goes through its sealed column type (encrypted at rest),
the text is stored in the caller's transaction and its task enqueued after commit, and a
text's id orders it among the texts to the same person (the worker sends them oldest
first, each once). ``tests/test_text_rows.py`` fails when one of these breaks.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from peerline.delivery import send_batch
from peerline.delivery.tasks import TaskKind, TaskStatus
from peerline.models import OutboundMessage, OutboundStatus, Survivor, Task, Volunteer


class Queued(NamedTuple):
    """A text stored to send (its outbound row's id; its send task refers to it)."""

    id: int


class DueTask(NamedTuple):
    """A task as the after-commit hook reads it (``Services._after_commit``)."""

    id: int
    not_before: datetime


#: The longest body stored for one text (Twilio's limit for a message).
MAX_TEXT = 1600
#: The outbound row's columns bound per text (status and attempts are constants).
TEXT_COLUMNS = ("conversation_id", "offer_id", "kind", "to_enc", "to_hash", "from_number",
                "body", "created_at")
_NOT_OPTED_OUT = ("NOT EXISTS (SELECT 1 FROM survivors WHERE phone_hash = :to_hash "
                  "AND opted_out = :yes) AND NOT EXISTS (SELECT 1 FROM volunteers "
                  "WHERE phone_hash = :to_hash AND opted_out = :yes)")
_INSERT_TEXT = (f"INSERT INTO outbound_messages ({', '.join(TEXT_COLUMNS)}, status, attempts) "
                f"SELECT {', '.join(':' + name for name in TEXT_COLUMNS)}, :status, 0 "
                f"WHERE {_NOT_OPTED_OUT} RETURNING id")
_INSERT_TASK = ("INSERT INTO tasks (kind, ref_id, status, not_before, enqueued_at, attempts, "
                "created_at) {source} RETURNING id")
_TASK_VALUES = ":task_kind, {ref}, :task_status, :created_at, :created_at, 0, :created_at"


def _binds(*names: str) -> list[Any]:
    """Typed binds: the text's columns, its constants and the task's (a sealed body is
    encrypted by its column type, a date converted for SQLite)."""
    texts, tasks = OutboundMessage.__table__, Task.__table__
    types = {**{name: texts.c[name].type for name in TEXT_COLUMNS},
             "status": texts.c.status.type, "yes": Survivor.__table__.c.opted_out.type,
             "task_kind": tasks.c.kind.type, "task_status": tasks.c.status.type,
             "ref_id": tasks.c.ref_id.type}
    return [bindparam(name, type_=types[name]) for name in names]


@cache
def _text_and_task() -> Any:
    """PostgreSQL: the guarded text and its send task, one statement (returns the
    task's id and the text's)."""
    tasks = Task.__table__
    sql = (f"WITH queued AS ({_INSERT_TEXT}) "
           + _INSERT_TASK.format(source=f"SELECT {_TASK_VALUES.format(ref='queued.id')} "
                                        "FROM queued") + ", ref_id")
    return text(sql).bindparams(*_binds(*TEXT_COLUMNS, "status", "yes", "task_kind",
                                        "task_status")).columns(tasks.c.id, tasks.c.ref_id)


@cache
def _text_only() -> Any:
    """SQLite: the guarded text (returns its id, or no row for an opted-out recipient)."""
    return text(_INSERT_TEXT).bindparams(*_binds(*TEXT_COLUMNS, "status", "yes")).columns(
        OutboundMessage.__table__.c.id)


@cache
def _task_only() -> Any:
    """SQLite: the text's send task (returns its id)."""
    sql = _INSERT_TASK.format(source=f"VALUES ({_TASK_VALUES.format(ref=':ref_id')})")
    return text(sql).bindparams(*_binds("created_at", "ref_id", "task_kind", "task_status")
                                ).columns(Task.__table__.c.id)


def _opt_out_unflushed(session: Session) -> bool:
    """True when the session holds an opt-out the database has not seen yet: a new
    survivor or volunteer row, or a changed ``opted_out`` on a held one.

    Only then is it flushed before the insert. What else is pending (an escalation's
    changes, an alert) goes at the next flush, as before: the insert reads nothing else,
    and what it refers to (a conversation, an offer) has an id, so it is written already.
    """
    for obj in session.new:
        if isinstance(obj, Survivor | Volunteer):
            return True
    return any(isinstance(obj, Survivor | Volunteer)
               and get_history(obj, "opted_out").has_changes() for obj in session.dirty)


def queue_one(session: Session, now: datetime, *, to_enc: str, to_hash: str,
              from_number: str, body: str, kind: str = "system",
              conversation_id: int | None = None, offer_id: int | None = None
              ) -> Queued | None:
    """Store one text to send (``to_enc``: the recipient's sealed number, ``to_hash``
    its keyed hash) and its send task, due ``now``, in the caller's transaction; None,
    and nothing stored, when the recipient opted out. The task is enqueued after commit.
    """
    if _opt_out_unflushed(session):
        session.flush()  # the statement reads opt-outs from the database
    values = {"conversation_id": conversation_id, "offer_id": offer_id, "kind": kind,
              "to_enc": to_enc, "to_hash": to_hash, "from_number": from_number,
              "body": body[:MAX_TEXT], "created_at": now, "status": OutboundStatus.QUEUED,
              "yes": True, "task_kind": TaskKind.SEND, "task_status": TaskStatus.PENDING}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        row = connection.execute(_text_and_task(), values).first()
        if row is None:
            return None
        task_id, text_id = row
    else:
        text_id = connection.execute(_text_only(), values).scalar()
        if text_id is None:
            return None
        task_id = connection.execute(_task_only(), {**values, "ref_id": text_id}).scalar_one()
    task = DueTask(task_id, now)
    session.info.setdefault("new_tasks", []).append(task)
    send_batch.note(session, kind, task)
    return Queued(text_id)
