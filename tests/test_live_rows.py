"""A live text's conversation and peer are read by one prebuilt Core statement and its
``last_survivor_at`` written by one prebuilt UPDATE: the objects are the ORM's own
(tracked, every column, the peer loaded), with no ORM query and no flush for them."""

from __future__ import annotations

from sqlalchemy import event, inspect, select

from peerline.models import Conversation, Volunteer
from peerline.people.lookup import get_or_create_survivor
from peerline.text import conversations

from .helpers import LINE, LINE2
from .test_text_line import ALEX, SURV, add_volunteer


def columns(obj):
    return {name: getattr(obj, name) for name in inspect(type(obj)).columns.keys()}


def test_the_open_conversation_and_its_peer_without_orm_queries(phones, svc, clock):
    volunteer_id = add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    with svc.sessions() as session:
        stored = columns(session.scalar(select(Conversation)))
        peer = columns(session.get(Volunteer, volunteer_id))
    orm_queries: list[str] = []
    flushed: list[str] = []

    def query(state):
        orm_queries.append(str(state.statement)[:60])

    def flush(session, _context, _instances):
        flushed.extend(type(o).__name__ for o in (*session.new, *session.dirty))

    event.listen(svc.sessions, "do_orm_execute", query)
    event.listen(svc.sessions, "before_flush", flush)
    try:
        with svc.sessions.begin() as session:
            survivor = get_or_create_survivor(session, svc.line, SURV, "en")
            conversation, _last = conversations.open_with_last_words(
                session, survivor.id, survivor.phone_hash)
            assert conversation is not None and columns(conversation) == stored
            assert inspect(conversation).persistent and not session.dirty
            assert "volunteer" in inspect(conversation).dict  # loaded: no lazy load later
            assert conversation.volunteer is session.get(Volunteer, volunteer_id)
            loaded = inspect(conversation.volunteer).dict  # what a relay reads, no more
            assert {k: loaded[k] for k in conversations.PEER_COLUMNS} == {
                k: peer[k] for k in conversations.PEER_COLUMNS}
            assert orm_queries == []
            assert columns(conversation.volunteer) == peer  # the rest: loaded on first use
            assert len(orm_queries) == 1 and "volunteers" in orm_queries[0]
            orm_queries.clear()
            assert conversation.survivor is survivor
            again, _ = conversations.open_with_last_words(session, survivor.id,
                                                          survivor.phone_hash)
            assert again is conversation  # never a second copy
            clock.advance(30)
            conversations.stamp_survivor(session, conversation, clock.now)
            assert conversation.last_survivor_at == clock.now and not session.dirty
            conversation.volunteer_line = LINE2  # any other change is written as usual
        assert orm_queries == [] and "Conversation" in flushed  # only for that change
    finally:
        event.remove(svc.sessions, "do_orm_execute", query)
        event.remove(svc.sessions, "before_flush", flush)
    with svc.sessions() as session:
        after = session.scalar(select(Conversation))
        assert after.last_survivor_at == clock.now and after.volunteer_line == LINE2


def test_a_waiting_conversation_has_no_peer(svc):
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        started = conversations.start(session, svc.line, survivor, LINE)
        started_id = started.id
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        conversation, last = conversations.open_with_last_words(session, survivor.id,
                                                                survivor.phone_hash)
        assert conversation.id == started_id and last is None
        assert "volunteer" in inspect(conversation).dict and conversation.volunteer is None


def test_a_live_text_stamps_the_conversation(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    clock.advance(60)
    phones.text(SURV, "thanks for listening")
    with svc.sessions() as session:
        assert session.scalar(select(Conversation.last_survivor_at)) == clock.now


def test_a_live_text_is_stored_and_stamped_together_and_a_duplicate_stamps_nothing(
        phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    clock.advance(60)
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_args):
        seen.append(" ".join(sql.split()))

    event.listen(svc.engine, "before_cursor_execute", statement)
    try:
        phones.text(SURV, "thanks for listening", sid="SM" + "5" * 32)
        stamped_at = clock.now
        clock.advance(60)
        phones.text(SURV, "thanks for listening", sid="SM" + "5" * 32)  # redelivered
    finally:
        event.remove(svc.engine, "before_cursor_execute", statement)
    with svc.sessions() as session:
        assert session.scalar(select(Conversation.last_survivor_at)) == stamped_at
    stamps = [s for s in seen if "UPDATE conversations SET last_survivor_at" in s]
    if svc.engine.dialect.name == "postgresql":  # one statement: the stamp in the insert
        assert len(stamps) == 2 and all("INSERT INTO messages" in s for s in stamps)
    else:
        assert len(stamps) == 2
