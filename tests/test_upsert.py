"""The textual ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` statements
(``models/upsert``): the same rows as the dialect's own construct, once per key, every
value through its column's type (a sealed column encrypted), and cacheable."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import object_session

from peerline.models import Message, Survivor, Task
from peerline.models.upsert import (
    MESSAGE_COLUMNS,
    conflict_insert,
    insert_keyed_task,
    insert_message,
    insert_survivor,
)
from peerline.people.lookup import get_or_create_survivor
from peerline.text import conversations

from .races import needs_postgres

AT = datetime(2026, 12, 5, 13, 0, 0, 123000)


def _message(sid: str, body: str | None = "I need someone to talk to") -> dict[str, object]:
    return {"sid": sid, "conversation_id": None, "sender": "survivor", "sender_hash": "h" * 64,
            "line_number": "+15550000001", "body": body, "num_media": 0, "kind": "text",
            "created_at": AT}


def test_a_message_is_stored_once_and_its_words_sealed(svc):
    with svc.sessions.begin() as session:
        first = session.connection().execute(insert_message(), _message("SMup1")).scalar()
        again = session.connection().execute(insert_message(),
                                             _message("SMup1", "other")).scalar()
    assert isinstance(first, int)
    assert again is None  # the sid is stored already: no row, no id
    with svc.sessions.begin() as session:
        row = session.scalars(select(Message).where(Message.sid == "SMup1")).one()
        raw = session.execute(text("SELECT body FROM messages WHERE sid = 'SMup1'")).scalar()
        assert row.id == first
        assert row.body == "I need someone to talk to"  # the first one's words, unchanged
        assert row.created_at == AT
        assert "talk" not in raw  # encrypted at rest, as through the ORM


def test_a_keyed_task_is_added_once(svc):
    values = {"kind": "pair", "ref_id": None, "dedupe_key": "up:pair", "status": "pending",
              "not_before": AT, "enqueued_at": AT, "attempts": 0, "created_at": AT}
    with svc.sessions.begin() as session:
        first = session.connection().execute(insert_keyed_task(), values).scalar()
        second = session.connection().execute(insert_keyed_task(), values).scalar()
    assert isinstance(first, int) and second is None
    with svc.sessions.begin() as session:
        tasks = session.scalars(select(Task).where(Task.dedupe_key == "up:pair")).all()
    assert [t.id for t in tasks] == [first]
    assert tasks[0].not_before == AT and tasks[0].status == "pending"


def test_a_new_survivor_comes_back_as_a_tracked_row(svc):
    values = {"phone_enc": "sealed-elsewhere", "phone_hash": "u" * 64, "lang": "es",
              "opted_out": False, "created_at": AT}
    with svc.sessions.begin() as session:
        made = session.scalars(select(Survivor).from_statement(insert_survivor()),
                               values).one_or_none()
        assert made is not None and object_session(made) is session
        assert made.lang == "es" and made.opted_out_at is None and made.erased_at is None
        twin = session.scalars(select(Survivor).from_statement(insert_survivor()),
                               values).one_or_none()
        assert twin is None  # the phone hash is taken: no second row
        made.opted_out = True  # a change to the returned object is written at commit
    with svc.sessions.begin() as session:
        again = session.scalars(select(Survivor).where(Survivor.phone_hash == "u" * 64)).one()
        assert again.id == made.id and again.opted_out is True


def test_the_text_is_the_dialects_own_statement():
    own = (postgresql.insert(Message.__table__)
           .on_conflict_do_nothing(index_elements=["sid"]).returning(Message.__table__.c.id))
    compiled = str(own.compile(dialect=postgresql.dialect(), column_keys=list(MESSAGE_COLUMNS)))
    ours = str(insert_message().compile(dialect=postgresql.dialect()))

    def words(sql: str) -> list[str]:
        return sql.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()

    assert words(ours) == words(compiled.replace("RETURNING messages.id", "RETURNING id"))
    assert own._generate_cache_key() is None  # why the textual one exists
    assert insert_message()._generate_cache_key() is not None  # compiled once, then cached
    assert set(MESSAGE_COLUMNS) == set(Message.__table__.c.keys()) - {"id"}


def test_an_unknown_column_is_refused():
    with pytest.raises(KeyError):
        conflict_insert(Message.__table__, ["sid", "nope"], ["sid"], ["id"])


def _start(svc, number: str):  # noqa: ANN001, ANN202
    """A survivor's new conversation through ``conversations.start``, with the SQL it ran."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(statement)

    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, number, "en")
        session.flush()
        event.listen(svc.engine, "before_cursor_execute", note)
        try:
            conversation = conversations.start(session, svc.line, survivor, "+15550000001")
        finally:
            event.remove(svc.engine, "before_cursor_execute", note)
        again = list(session.info.get("ask_again") or [])
        new_tasks = [t.id for t in session.info.get("new_tasks") or []]
    return conversation, seen, again, new_tasks


def test_a_new_conversation_and_its_pairing_request_are_one_statement(svc):
    needs_postgres(svc)
    conversation, seen, again, new_tasks = _start(svc, "+15550188001")
    assert len(seen) == 1 and "INSERT INTO tasks" in seen[0]  # one round trip for both
    with svc.sessions() as session:
        task = session.scalars(select(Task).where(Task.dedupe_key == "pair")).one()
    assert new_tasks == [task.id] and not again  # queued after commit, as tasks.add does
    # A pending twin holds the key: the conversation is still stored, the request is
    # made again after the commit (tasks.add's ask-again), and no second task is added.
    second, seen, again, new_tasks = _start(svc, "+15550188002")
    assert len(seen) == 1 and second.id != conversation.id
    assert new_tasks == [] and [kind for kind, *_ in again] == ["pair"]
    with svc.sessions() as session:
        assert session.get(type(second), second.id) is not None
        assert len(session.scalars(select(Task).where(Task.kind == "pair")).all()) == 1
