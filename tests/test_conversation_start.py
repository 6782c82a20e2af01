"""A new conversation is one prebuilt INSERT, and the object it gives back is the ORM's
own: tracked, every column as stored, later changes written, the survivor's other
pending changes not lost."""

from __future__ import annotations

from sqlalchemy import event, inspect, select

from peerline.models import Conversation, ConversationStatus, Survivor
from peerline.people.lookup import get_or_create_survivor
from peerline.text import conversations

from .helpers import LINE


def test_start_writes_one_insert_and_gives_a_tracked_conversation(svc, clock):
    flushed_new: list[str] = []
    statements: list[str] = []

    def before_flush(session, _context, _instances):
        flushed_new.extend(type(obj).__name__ for obj in session.new)

    event.listen(svc.sessions, "before_flush", before_flush)
    event.listen(svc.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2].split()[0]))
    try:
        with svc.sessions.begin() as session:
            survivor = get_or_create_survivor(session, svc.line, "+15557770401", "en")
            survivor.lang = "es"  # a pending change: written before the conversation
            flushed_new.clear()
            statements.clear()
            conversation = conversations.start(session, svc.line, survivor, LINE)
            assert "Conversation" not in flushed_new  # no unit-of-work INSERT
            # The conversation and the pairing task: one statement on PostgreSQL.
            assert statements[-2:] in (["INSERT", "INSERT"], ["UPDATE", "WITH"])
            assert statements.count("INSERT") + 2 * statements.count("WITH") == 2
            state = inspect(conversation)
            assert state.persistent and not session.dirty and conversation in session
            assert session.get(Conversation, conversation.id) is conversation
            assert conversation.lang == "es" and conversation.survivor is survivor
            assert conversation.volunteer is None and conversation.status == "waiting"
            assert conversation.id in conversations.started_here(session)
            conversation.wait_notice_at = clock.now  # changed later in the request
            values = {name: getattr(conversation, name)
                      for name in inspect(Conversation).columns.keys()}
            survivor_id = survivor.id
    finally:
        event.remove(svc.sessions, "before_flush", before_flush)
    with svc.sessions() as session:
        stored = session.scalar(select(Conversation))
        assert {name: getattr(stored, name)
                for name in inspect(Conversation).columns.keys()} == values
        assert stored.wait_notice_at == clock.now and stored.created_at == clock.now
        assert stored.status == ConversationStatus.WAITING and stored.priority == 0
        assert session.get(Survivor, survivor_id).lang == "es"


def test_a_first_text_starts_one_conversation_and_changes_it(phones, svc):
    # Nobody on shift: the new conversation's wait notice is stamped after the INSERT.
    assert phones.replies(phones.text("+15557770402", "hello, is anyone there"))
    with svc.sessions() as session:
        [conversation] = session.scalars(select(Conversation)).all()
        assert conversation.wait_notice_at is not None
        assert conversation.last_survivor_at == conversation.created_at
