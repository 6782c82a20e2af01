"""Dedupe and store in one statement: a redelivered text changes nothing, whatever the
line did meanwhile; keyed tasks are added once."""

from __future__ import annotations

from sqlalchemy import func, select

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.models import Base, Conversation, Message, Survivor, Task

SURV = "+15550199101"
SID = "SMonce000000000000000000000000001"


def _count(svc, what) -> int:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(func.count()).select_from(what))


def test_a_redelivered_first_text_after_its_conversation_closed_changes_nothing(phones, svc):
    first = phones.text(SURV, "is anyone there", sid=SID)
    assert phones.replies(first)
    with svc.sessions.begin() as session:
        for conversation in session.scalars(select(Conversation)):
            conversation.status, conversation.closed_reason = "closed", "test"
    again = phones.text(SURV, "is anyone there", sid=SID)
    assert again.status_code == 200 and phones.replies(again) == []
    assert _count(svc, Conversation) == 1  # the redelivery's new conversation rolled back
    assert _count(svc, Message) == 1
    assert _count(svc, Survivor) == 1


def test_a_redelivered_text_of_a_new_survivor_stores_no_survivor(phones, svc):
    phones.text(SURV, "hello", sid=SID)
    with svc.sessions.begin() as session:  # as if the first had been erased since
        session.execute(Message.__table__.update().values(conversation_id=None))
        for table in reversed(Base.metadata.sorted_tables):
            if table is not Message.__table__:
                session.execute(table.delete())
    again = phones.text(SURV, "hello", sid=SID)
    assert again.status_code == 200 and phones.replies(again) == []
    assert _count(svc, Survivor) == 0 and _count(svc, Conversation) == 0


def test_a_keyed_task_is_added_once_until_a_worker_claims_it(svc):
    line = svc.line
    with svc.sessions.begin() as session:
        first = tasks.add(session, TaskKind.PAIR, None, line.now(), dedupe_key="pair")
        assert first is not None
        assert tasks.add(session, TaskKind.PAIR, None, line.now(), dedupe_key="pair") is None
    with svc.sessions.begin() as session:  # another transaction: the pending one holds it
        assert tasks.add(session, TaskKind.PAIR, None, line.now(), dedupe_key="pair") is None
    assert tasks.claim(svc.sessions, first.id, line.now(), 60) is not None
    with svc.sessions.begin() as session:  # claimed: the key is free for new work
        assert tasks.add(session, TaskKind.PAIR, None, line.now(), dedupe_key="pair")
    assert _count(svc, Task) == 2
