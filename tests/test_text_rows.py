"""One text to send is one prebuilt statement (``delivery/text_rows``): these fail when
that shortcut breaks a guarantee: words sealed at rest, opted-out recipients never
texted (both tables, and a change not yet flushed), texts in order, each sent once,
the task enqueued only after commit."""

from __future__ import annotations

from rq.job import Job
from sqlalchemy import event, func, select, text, update

from peerline.delivery import outbox
from peerline.extensions import RUN_TASK
from peerline.models import Message, OutboundMessage, Survivor, Task, Volunteer
from peerline.people.lookup import get_or_create_survivor

from .helpers import LINE, LINE2
from .test_text_line import ALEX, SURV, add_volunteer

WORDS = "my words 4471, for the peer only"


def _relays(svc, number):
    """(id, kind, status) of the outbound rows to ``number``, oldest first."""
    with svc.sessions() as session:
        return session.execute(select(OutboundMessage.id, OutboundMessage.kind,
                                      OutboundMessage.status)
                               .where(OutboundMessage.to_hash == svc.line.vault.hash(number))
                               .order_by(OutboundMessage.id)).all()


def test_a_relayed_text_is_sealed_at_rest_with_its_send_task(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, WORDS)
    with svc.engine.connect() as conn:  # what the database holds, past every column type
        body, to_enc, to_hash, row_id = conn.execute(text(
            "SELECT body, to_enc, to_hash, id FROM outbound_messages "
            "ORDER BY id DESC LIMIT 1")).one()
        tasks = conn.execute(text("SELECT kind, status FROM tasks WHERE ref_id = :id "
                                  "AND kind = 'send'"), {"id": row_id}).all()
    assert "4471" not in body and "peer only" not in body and ALEX not in to_enc
    assert svc.line.vault.decrypt(body) == WORDS
    assert svc.line.vault.decrypt(to_enc) == ALEX and to_hash == svc.line.vault.hash(ALEX)
    assert tasks == [("send", "pending")]
    jobs = [Job.fetch(i, connection=svc.redis()) for i in svc.queue().job_ids]
    assert [j.args for j in jobs if j.func_name == RUN_TASK][-1:] != []  # enqueued
    phones.work()
    assert phones.bodies(ALEX)[-1] == WORDS


def test_live_texts_reach_the_peer_in_order_each_once(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    said = [f"text {i} of a long night" for i in range(6)]
    for words in said:
        phones.text(SURV, words)
    thanks = "thank you, that helps"
    assert phones.text(SURV, thanks, sid="SM" + "7" * 32).status_code == 200
    phones.text(SURV, thanks, sid="SM" + "7" * 32)  # Twilio delivered it twice
    with svc.sessions() as session:  # every send task hinted twice (a sweeper's too)
        for task_id in session.scalars(select(Task.id).where(Task.status == "pending")):
            svc.queue().enqueue(RUN_TASK, task_id)
    phones.work()
    relayed = [body for line, body in phones.received(ALEX) if line == number]
    assert relayed[-7:] == [*said, thanks] and relayed.count(thanks) == 1
    assert all(relayed.count(words) == 1 for words in said)
    rows = _relays(svc, ALEX)
    assert [status for _, _, status in rows] == ["sent"] * len(rows)
    with svc.sessions() as session:
        sends = session.execute(select(Task.ref_id, func.count()).where(Task.kind == "send")
                                .group_by(Task.ref_id)).all()
    assert [dict(sends).get(row_id) for row_id, _, _ in rows] == [1] * len(rows)


def test_an_opted_out_peer_gets_no_text_and_no_task(phones, svc):
    volunteer_id = add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    before = _relays(svc, ALEX)
    with svc.sessions.begin() as session:  # the carrier's STOP, recorded by a failed send
        session.execute(update(Volunteer).where(Volunteer.id == volunteer_id)
                        .values(opted_out=True))
    assert phones.text(SURV, WORDS).status_code == 200
    assert _relays(svc, ALEX) == before
    with svc.sessions() as session:  # the survivor's words are stored all the same
        assert session.scalar(select(func.count()).select_from(Message)
                              .where(Message.sender == "survivor")) == 2
        assert session.scalar(select(func.count()).select_from(Task).where(
            Task.kind == "send", Task.status == "pending")) == 0


def test_a_survivor_row_that_opted_out_with_the_peers_number_counts(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    before = _relays(svc, ALEX)
    with svc.sessions.begin() as session:  # the same phone once texted as a survivor
        get_or_create_survivor(session, svc.line, ALEX, "en").opted_out = True
    phones.text(SURV, WORDS)
    assert _relays(svc, ALEX) == before


def test_an_opt_out_not_yet_flushed_is_seen(svc):
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        volunteer = session.scalar(select(Volunteer))
        volunteer.opted_out = True  # pending in this session only
        assert outbox.text_volunteer(session, svc.line, volunteer, LINE, WORDS) is None
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        survivor.opted_out = True
        assert outbox.text_survivor(session, svc.line, survivor, LINE, WORDS) is None
        assert session.info.get("new_tasks", []) == []
    assert _relays(svc, ALEX) == [] and _relays(svc, SURV) == []


def test_texts_queued_in_one_transaction_keep_their_order(svc):
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        volunteer = session.scalar(select(Volunteer))
        first = outbox.text_volunteer(session, svc.line, volunteer, LINE, "first")
        both = outbox.queue_texts(session, svc.line, [outbox.Outgoing(ALEX, LINE2, "second"),
                                                      outbox.Outgoing(SURV, LINE, "other")])
        third = outbox.queue_text(session, svc.line, ALEX, LINE, "third", kind="alert")
        assert first is not None and both[0] is not None and third is not None
        ids = [first.id, both[0].id, third.id]
        assert len(session.info["new_tasks"]) == 4  # enqueued after commit
    assert ids == sorted(ids)
    with svc.sessions() as session:
        bodies = session.scalars(select(OutboundMessage.body).where(
            OutboundMessage.to_hash == svc.line.vault.hash(ALEX)).order_by(OutboundMessage.id))
        assert list(bodies) == ["first", "second", "third"]
        sends = session.scalars(select(Task.ref_id).where(Task.kind == "send")
                                .order_by(Task.ref_id))
        assert [ref for ref in sends if ref in ids] == ids


def test_one_text_is_one_statement_and_no_orm_object(svc):
    add_volunteer(svc, "Alex", ALEX)
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_args):
        seen.append(" ".join(sql.split()))

    with svc.sessions.begin() as session:
        volunteer = session.scalar(select(Volunteer))
        event.listen(svc.engine, "before_cursor_execute", statement)
        try:
            queued = outbox.text_volunteer(session, svc.line, volunteer, LINE, WORDS,
                                           kind="relay")
        finally:
            event.remove(svc.engine, "before_cursor_execute", statement)
        assert queued is not None and not session.new and not session.dirty
    expected = 1 if svc.engine.dialect.name == "postgresql" else 2
    assert len(seen) == expected and "NOT EXISTS" in seen[0]
    assert all("outbound_messages" in s or "tasks" in s for s in seen)


def test_a_rolled_back_text_is_neither_stored_nor_enqueued(svc):
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions() as session:
        with session.begin():
            volunteer = session.scalar(select(Volunteer))
            assert outbox.text_volunteer(session, svc.line, volunteer, LINE, WORDS)
            session.rollback()
    assert _relays(svc, ALEX) == [] and svc.queue().job_ids == []
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Survivor)) == 0


def test_a_new_row_that_opted_out_is_seen_before_it_is_flushed(svc):
    with svc.sessions.begin() as session:  # e.g. a roster add carrying the number's STOP
        session.add(Volunteer(name="Kim", phone_enc=svc.line.vault.encrypt(ALEX),
                              phone_hash=svc.line.vault.hash(ALEX), languages="en",
                              capacity=2, active=True, on_shift=False, opted_out=True,
                              created_at=svc.line.now()))
        assert outbox.queue_text(session, svc.line, ALEX, LINE, WORDS) is None
    assert _relays(svc, ALEX) == []
