"""A crisis in a live conversation: the open escalation is read, and a new one inserted,
by prebuilt Core statements whose rows become the session's objects. These fail when
that breaks a guarantee: one open escalation per conversation (also when the survivor's
text and the peer's ``#CRISIS`` come at once), the matched words sealed at rest, later
changes to the record written."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text, update

from peerline.models import Conversation, Escalation, EscalationSource, Survivor
from peerline.people.lookup import get_or_create_survivor
from peerline.text import conversations, escalation

from .helpers import LINE, Phones
from .races import needs_postgres, second_while_first_holds
from .test_text_line import ALEX, SURV, add_volunteer

CRISIS = "i took a bottle of pills"


def _open_records(svc):
    with svc.sessions() as session:
        return session.execute(select(Escalation.id, Escalation.seen_count).where(
            Escalation.acknowledged_at.is_(None)).order_by(Escalation.id)).all()


def test_a_second_crisis_updates_the_open_record_sealed_at_rest(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, CRISIS)
    phones.text(SURV, "i want to die tonight")
    [(record_id, seen)] = _open_records(svc)
    assert seen == 2
    with svc.sessions() as session:
        record = session.get(Escalation, record_id)
        assert record.categories.split(",") == ["means", "suicidal_intent"]
        assert record.category == "suicidal_intent" and record.matched
        assert record.alerted.startswith("paired volunteer")
        matched = record.matched
    with svc.engine.connect() as conn:
        raw = conn.execute(text("SELECT matched FROM escalations")).scalar_one()
    assert matched not in raw and svc.line.vault.decrypt(raw) == matched


def test_the_open_record_is_the_held_object_with_every_column(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, CRISIS)
    with svc.sessions() as session:
        loaded = session.scalar(select(Escalation))
        expected = {c: getattr(loaded, c) for c in Escalation.__table__.c.keys()}
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        conversation, _ = conversations.open_with_last_words(session, survivor.id,
                                                             survivor.phone_hash)
        record = escalation.escalate(session, svc.line, conversation,
                                     source=EscalationSource.DETECTOR,
                                     category="self_harm", matched="cut")
        assert record.id == expected["id"] and record.seen_count == 2
        assert session.get(Escalation, record.id) is record  # tracked, never a copy
        assert not session.dirty  # its changes were written at once, not left to a flush
        same = [c for c in expected if c not in (
            "seen_count", "last_seen_at", "categories", "alerted", "volunteer_alerted_at")]
        assert {c: getattr(record, c) for c in same} == {c: expected[c] for c in same}
        record.acknowledged_by = "later change"  # and a later change is flushed as usual
    with svc.sessions() as session:
        stored = session.get(Escalation, expected["id"])
        assert stored.categories == "means,self_harm" and stored.seen_count == 2
        assert stored.acknowledged_by == "later change"
        assert session.scalar(select(Conversation.priority)) == 1


def test_an_unflushed_acknowledgement_is_seen(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, CRISIS)
    with svc.sessions.begin() as session:
        [record_id] = session.scalars(select(Escalation.id))
        escalation.acknowledge(session, svc.line, record_id, "coordinator")  # not flushed
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        conversation, _ = conversations.open_with_last_words(session, survivor.id,
                                                             survivor.phone_hash)
        fresh = escalation.escalate(session, svc.line, conversation,
                                    source=EscalationSource.DETECTOR, category="means",
                                    matched="pills")
        assert fresh.id != record_id and fresh.seen_count == 1
    assert [seen for _, seen in _open_records(svc)] == [1]


def test_a_crisis_text_and_the_peers_crisis_at_once_make_one_record(app, svc, monkeypatch):
    """The survivor's text reads the open record (none), then pauses; the peer's
    ``#CRISIS`` comes meanwhile and must wait for it, then join its record. (Several
    locks order them: the survivor's stamp of the conversation, which lets the read skip
    its own lock, and the message row's key lock on the conversation; this checks the
    outcome, one record, not which of them did it.)"""
    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX)
    number = Phones(app, app.test_client()).pair(ALEX, SURV)
    with svc.sessions.begin() as session:  # the hotline was just sent: neither writes
        session.execute(update(Survivor).values(last_hotline_at=svc.line.now()))
    read = escalation._open_record

    def slow_read(session, conversation):  # the survivor's read, then a long pause
        record = read(session, conversation)
        if threading.current_thread().name == "survivor":
            time.sleep(0.6)  # the peer's #CRISIS comes meanwhile
        return record

    monkeypatch.setattr(escalation, "_open_record", slow_read)
    codes: list[int] = []

    def text_from(sender: str, body: str, to: str) -> None:
        with app.app_context():
            codes.append(Phones(app, app.test_client()).text(sender, body, to=to).status_code)

    survivor = threading.Thread(target=text_from, args=(SURV, CRISIS, LINE), name="survivor")
    peer = threading.Thread(target=text_from, args=(ALEX, "#crisis", number))
    survivor.start()
    time.sleep(0.3)  # the survivor's text is being handled
    peer.start()
    survivor.join()
    peer.join()
    assert codes == [200, 200]
    with svc.sessions() as session:
        records = session.execute(select(Escalation.source, Escalation.seen_count)).all()
    assert [seen for _, seen in records] == [2]  # one record: the second joined the first


def test_the_peers_crisis_takes_the_survivors_row_before_the_conversation(app, svc):
    """Found by webfast3: a survivor's text locks the survivor's row, then the
    conversation; the peer's ``#CRISIS`` locked the conversation, then (the hotline's
    time) the survivor's row, so the two at the same moment deadlocked and PostgreSQL
    aborted one. Here the survivor's side holds its row while the peer's ``#CRISIS``
    runs, then takes the conversation: the peer must be waiting for the survivor's row,
    not holding the conversation."""
    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX)
    number = Phones(app, app.test_client()).pair(ALEX, SURV)
    with svc.sessions() as session:
        conversation_id, survivor_id = session.execute(
            select(Conversation.id, Conversation.survivor_id)).one()
    codes: list[int] = []

    def peer_crisis() -> None:
        with app.app_context():
            codes.append(Phones(app, app.test_client()).text(
                ALEX, "#crisis", to=number).status_code)

    def survivor_row(session) -> None:  # noqa: ANN001 - the survivor's text holds it
        session.execute(text("SET LOCAL lock_timeout = '20s'"))
        session.execute(select(Survivor.id).where(Survivor.id == survivor_id)
                        .with_for_update())

    errors = second_while_first_holds(  # then the survivor's text takes the conversation
        svc, survivor_row, peer_crisis, then=lambda session: session.execute(
            select(Conversation.id).where(Conversation.id == conversation_id)
            .with_for_update()))
    assert errors == []
    assert codes == [200]
    with svc.sessions() as session:  # handled now, not spooled by an aborted transaction
        assert session.scalars(select(Escalation.source)).all() == [
            EscalationSource.VOLUNTEER]
