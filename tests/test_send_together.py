"""A broadcast's texts claimed in one transaction, sent side by side, recorded in one
(``peerline.delivery.send_together``): each guarantee of a single send still holds.

The real Twilio client against the fake Twilio, real RQ (SimpleWorker) and the sweeper.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from peerline.delivery import gateway_hold, heartbeat, outbox, send_together
from peerline.delivery.sweeper import sweep
from peerline.extensions import RUN_BATCH, RUN_TASK
from peerline.handlers import HANDLERS
from peerline.line import Line
from peerline.models import Offer, OutboundMessage, Task, Volunteer
from peerline.telephony.twilio_gateway import TwilioGateway

from .helpers import LINE

CRISIS = "I want to end it all tonight, I have the pills right here"
SURV = "+15550299001"
PEERS = [f"+1555020{n:04d}" for n in range(1, 5)]
OWNER = "worker-a"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs."""




def _on_shift(svc, phones) -> None:  # noqa: ANN001
    """Every peer of PEERS on the roster and on shift."""
    from peerline.people import roster

    for i, phone in enumerate(PEERS):
        with svc.sessions.begin() as session:
            roster.add_volunteer(session, svc.line, f"Peer {i}", phone, "en", 1)
        phones.text(phone, "ON")
    phones.work()


def _each_recorded_with_its_one_acceptance(svc, fake) -> None:  # noqa: ANN001
    """Every peer's text accepted by Twilio once and recorded as sent with that sid."""
    for phone in PEERS:
        [accepted] = fake.delivered(phone)
        with svc.sessions() as session:
            row = session.scalar(select(OutboundMessage).where(
                OutboundMessage.to_hash == svc.line.vault.hash(phone)))
            assert (row.status, row.sid) == ("sent", accepted.sid)


def _alerts(svc, peers=PEERS, body="alert") -> list[int]:  # noqa: ANN001
    """One transaction queues a text to each of ``peers`` (one batch); their task ids."""
    with svc.sessions.begin() as session:
        ids = [outbox.queue_text(session, svc.line, p, LINE, f"{body} {p[-2:]}",
                                 kind="alert").id for p in peers]
    return _tasks_of(svc, ids)


def _tasks_of(svc, message_ids) -> list[int]:  # noqa: ANN001
    with svc.sessions() as session:
        by_ref = dict(session.execute(select(Task.ref_id, Task.id).where(
            Task.kind == "send", Task.ref_id.in_(message_ids))).all())
    return [by_ref[m] for m in message_ids]


def _posts(fake) -> int:  # noqa: ANN001
    return sum(1 for method, kind, _ in fake.requests if method == "POST" and kind == "message")


def _queued_jobs(svc) -> list[str]:  # noqa: ANN001
    from rq.job import Job

    ids = [i.decode() for i in svc.redis().lrange("rq:queue:peerline", 0, -1)]
    return [job.func_name for job in Job.fetch_many(ids, connection=svc.redis()) if job]


def test_the_pair_job_sends_its_broadcast_itself_and_enqueues_no_send_job(
        twilio_settings, phones, svc, fake):
    from workers.jobs import run_task

    _on_shift(svc, phones)
    fake.configure(slow_s=0.3)
    assert phones.text(SURV, CRISIS).status_code == 200
    with svc.sessions() as session:
        pair_id = session.scalar(select(Task.id).where(Task.kind == "pair",
                                                       Task.status == "pending"))
    svc.redis().flushdb()  # only the PAIR job runs here, by hand

    assert run_task(pair_id) == "done"

    for phone in PEERS:  # sent by that job, each once, side by side
        assert [b[:12] for b in fake.bodies(phone)][-1:] == ["CRISIS OFFER"], phone
    assert fake.peak_in_flight >= 2
    assert [f for f in _queued_jobs(svc) if f in (RUN_BATCH, RUN_TASK)] == []  # no hop
    from rq.registry import ScheduledJobRegistry

    timers = ScheduledJobRegistry(queue=svc.queue()).get_job_ids(cleanup=False)
    assert len(timers) == len(PEERS)  # the offers' time-outs, enqueued after the sends
    with svc.sessions() as session:
        offers = session.scalars(select(OutboundMessage).where(
            OutboundMessage.kind == "offer")).all()
        assert {(m.status, m.attempts) for m in offers} == {("sent", 1)}
        sends = session.scalars(select(Task).where(
            Task.ref_id.in_([m.id for m in offers]), Task.kind == "send")).all()
        assert {(t.status, t.attempts, t.locked_by) for t in sends} == {("done", 1, None)}


def test_a_worker_dying_after_the_pair_commit_loses_no_offer(
        twilio_settings, phones, svc, fake, clock, monkeypatch):
    from workers import jobs

    _on_shift(svc, phones)
    phones.text(SURV, CRISIS)
    with svc.sessions() as session:
        pair_id = session.scalar(select(Task.id).where(Task.kind == "pair",
                                                       Task.status == "pending"))
    svc.redis().flushdb()

    def killed(*_args):  # noqa: ANN202
        raise WorkerKilled

    monkeypatch.setattr(jobs.send_together, "send_safely", killed)
    with pytest.raises(WorkerKilled):
        jobs.run_task(pair_id)
    monkeypatch.undo()
    assert not any(b.startswith("CRISIS OFFER") for p in PEERS for b in fake.bodies(p))

    clock.advance(11)  # the sweeper's backstop: due tasks nobody enqueued lately
    assert sweep(svc)["re_enqueued"] >= len(PEERS)
    phones.work()
    for phone in PEERS:
        assert [b[:12] for b in fake.bodies(phone)].count("CRISIS OFFER") == 1, phone


def test_one_transaction_claims_only_the_oldest_text_owed_to_each_person(svc):
    earlier = _alerts(svc, PEERS[:1], body="earlier")  # its job went nowhere
    batch = _alerts(svc, [PEERS[0], PEERS[1], PEERS[1], PEERS[2]])
    claimed, rest = send_together.claim_all(svc.sessions, svc.line, batch)
    # PEERS[0] still has an earlier text on its way; PEERS[1]'s second text waits.
    assert [c.task_id for c in claimed] == [batch[1], batch[3]]
    assert rest == [batch[0], batch[2]]
    with svc.sessions() as session:
        assert {m.status for m in session.scalars(select(OutboundMessage).where(
            OutboundMessage.id.in_([c.message_id for c in claimed])))} == {"sending"}
        assert session.get(Task, earlier[0]).locked_by is None
        for task_id in rest:
            assert session.get(Task, task_id).locked_until is None


def test_texts_to_one_person_leave_in_order_through_the_batch(twilio_settings, svc, fake):
    _alerts(svc, PEERS[:1], body="earlier")
    batch = _alerts(svc, [PEERS[0], PEERS[1], PEERS[0]], body="later")
    send_together.send(svc.sessions, svc.line, batch, HANDLERS)
    assert fake.bodies(PEERS[0]) == ["earlier 01", "later 01", "later 01"]
    assert fake.bodies(PEERS[1]) == ["later 02"]


def test_a_broadcast_to_twelve_goes_out_in_one_wave_each_recorded_once(
        twilio_settings, svc, fake):
    """All of a broadcast's sends held by Twilio at once (8 threads sent a tenth text
    only after one of the first eight came back); a refusal mid-way is recorded for
    that recipient alone, and every other text once, with the sid Twilio gave it."""
    many = [f"+1555021{n:04d}" for n in range(1, 13)]
    fake.configure(slow_s=0.3, permanent={many[5]: 21211})
    batch = _alerts(svc, many)

    outcomes = send_together.send(svc.sessions, svc.line, batch, HANDLERS)

    assert outcomes == ["done"] * 12
    assert fake.peak_in_flight == 11  # every accepted send held at the same time
    with svc.sessions() as session:
        rows = {r.to_hash: r for r in session.scalars(select(OutboundMessage).where(
            OutboundMessage.id.in_(session.scalars(select(Task.ref_id).where(
                Task.id.in_(batch))))))}
        for phone in many:
            row = rows[svc.line.vault.hash(phone)]
            if phone == many[5]:
                assert (row.status, row.error_code, fake.delivered(phone)) == \
                    ("failed", 21211, [])
            else:
                [accepted] = fake.delivered(phone)
                assert (row.status, row.sid, row.attempts) == ("sent", accepted.sid, 1)
        assert {(t.status, t.attempts, t.locked_by) for t in session.scalars(
            select(Task).where(Task.id.in_(batch)))} == {("done", 1, None)}
    assert _posts(fake) == 12  # one request each, the refused one included


def test_a_refused_recipient_does_not_block_the_others_and_its_offer_moves_on(
        twilio_settings, phones, svc, fake):

    _on_shift(svc, phones)
    fake.configure(permanent={PEERS[1]: 21211})
    phones.text(SURV, CRISIS)
    phones.work()
    with svc.sessions() as session:
        for text in session.scalars(select(OutboundMessage).where(
                OutboundMessage.kind == "offer")):
            offer = session.get(Offer, text.offer_id)
            if text.to_hash == svc.line.vault.hash(PEERS[1]):
                assert (text.status, text.error_code, offer.status) == ("failed", 21211,
                                                                        "failed")
            else:
                assert (text.status, offer.status) == ("sent", "pending")
    assert sum(1 for _, kind, outcome in fake.requests
               if kind == "message" and outcome == "21211") == 1


def test_a_recipient_who_opted_out_after_the_queueing_gets_nothing(
        twilio_settings, phones, svc, fake):
    from peerline.people import roster

    with svc.sessions.begin() as session:
        gone = roster.add_volunteer(session, svc.line, "Gone", PEERS[1], "en", 1).id
    batch = _alerts(svc)
    with svc.sessions.begin() as session:  # STOP, after the texts were queued
        session.get(Volunteer, gone).opted_out = True
    send_together.send(svc.sessions, svc.line, batch, HANDLERS)
    assert fake.bodies(PEERS[1]) == []
    assert all(len(fake.bodies(p)) == 1 for p in PEERS if p != PEERS[1])
    with svc.sessions() as session:
        assert session.get(OutboundMessage, session.get(Task, batch[1]).ref_id).status \
            == "cancelled"


def test_a_failing_failure_hook_undoes_no_other_recipients_outcome(
        twilio_settings, svc, fake):
    def broken(session, _line, _message):  # noqa: ANN001, ANN202
        session.execute(text("SELECT * FROM no_such_table"))  # a database error

    svc.line.text_failed["alert"] = broken
    fake.configure(permanent={PEERS[1]: 21211})
    batch = _alerts(svc)
    outcomes = send_together.send(svc.sessions, svc.line, batch, HANDLERS)
    assert outcomes == ["done", "retry", "done", "done"]
    with svc.sessions() as session:
        statuses = [session.get(OutboundMessage, session.get(Task, t).ref_id).status
                    for t in batch]
        assert statuses == ["sent", "queued", "sent", "sent"]
        assert session.get(Task, batch[1]).status == "pending"


def test_an_unheard_acceptance_is_never_sent_again(twilio_settings, phones, svc, fake, clock):
    fake.configure(fault_rate=1.0, faults=("accept_500",))
    batch = _alerts(svc)
    assert send_together.send(svc.sessions, svc.line, batch, HANDLERS) == ["retry"] * 4
    assert all(len(fake.delivered(p)) == 1 for p in PEERS)  # Twilio has each one
    with svc.sessions() as session:
        for task_id in batch:
            task = session.get(Task, task_id)
            message = session.get(OutboundMessage, task.ref_id)
            # Leases ended, back-off set, and the text still counts its try: its retry
            # asks Twilio first.
            assert (task.status, task.locked_until, task.locked_by) == ("pending", None, None)
            assert task.not_before > clock.now and task.last_error
            assert (message.status, message.attempts) == ("queued", 1)
    fake.configure(fault_rate=0.0)
    phones.work()
    assert _posts(fake) == len(PEERS)  # not one resend
    _each_recorded_with_its_one_acceptance(svc, fake)


def test_a_clear_no_is_retried_without_asking_first(twilio_settings, phones, svc, fake):
    fake.configure(fault_rate=1.0, faults=("429",), retry_after="0")
    batch = _alerts(svc)
    assert send_together.send(svc.sessions, svc.line, batch, HANDLERS) == ["retry"] * 4
    with svc.sessions() as session:
        assert {m.attempts for m in session.scalars(select(OutboundMessage))} == {0}
    fake.configure(fault_rate=0.0)
    phones.work()
    assert all(len(fake.delivered(p)) == 1 for p in PEERS)
    assert not [r for r in fake.requests if r[0] == "GET" and r[1] == "message"]


def test_faults_on_a_third_of_the_sends_each_text_once_and_in_order(
        twilio_settings, phones, svc, fake):
    fake.configure(fault_rate=0.3, faults=("500", "429", "accept_500", "accept_drop"),
                   retry_after="0")
    expected = {phone: [] for phone in PEERS}
    for round_ in range(4):
        with svc.sessions.begin() as session:  # one batch a round
            for phone in PEERS:
                body = f"alert {round_} for {phone[-2:]}"
                outbox.queue_text(session, svc.line, phone, LINE, body, kind="alert")
                expected[phone].append(body)
    phones.work(rounds=60)
    for phone, bodies in expected.items():
        assert fake.bodies(phone) == bodies  # each exactly once, in order
    assert sum(fake.faults_seen().get(f, 0) for f in ("500", "429", "accept_500",
                                                      "accept_drop")) > 0
    with svc.sessions() as session:
        assert set(session.scalars(select(OutboundMessage.status))) == {"sent"}


def test_a_worker_killed_between_claim_and_record_resends_only_what_twilio_never_had(
        twilio_settings, phones, svc, fake, clock, monkeypatch):
    batch = _alerts(svc)
    svc.redis().flushdb()  # the batch's job was on the dying worker
    never = set(PEERS[2:])  # it died before these reached Twilio

    class Dying(TwilioGateway):
        def send_sms(self, to, *args, **kwargs):  # noqa: ANN001, ANN202
            if to in never:
                raise ConnectionError("the process is going down")
            return super().send_sms(to, *args, **kwargs)

    dying = Line(settings=svc.line.settings, vault=svc.line.vault, clock=clock, owner=OWNER,
                 gateway=Dying(fake.account_sid, fake.auth_token, fake.url, 0.3))
    heartbeat.beat(svc.redis(), OWNER, clock.now)

    def killed(*_args):  # noqa: ANN202
        raise WorkerKilled

    monkeypatch.setattr(send_together, "record_all", killed)
    with pytest.raises(WorkerKilled):
        send_together.send(svc.sessions, dying, batch, HANDLERS)
    monkeypatch.undo()
    assert [len(fake.delivered(p)) for p in PEERS] == [1, 1, 0, 0]
    with svc.sessions() as session:
        for task_id in batch:
            task = session.get(Task, task_id)
            text = session.get(OutboundMessage, task.ref_id)
            assert (task.locked_by, text.locked_by, text.status) == (OWNER, OWNER, "sending")

    # Its heartbeat stops: the sweeper hands all four on, long before the lease ends.
    clock.advance(svc.line.setting("PEERLINE_WORKER_DEAD_S") + 1)
    sweep(svc)
    clock.advance(2 * svc.line.setting("PEERLINE_HEARTBEAT_S"))
    counts = sweep(svc)
    assert counts["released"] == len(PEERS) and counts["re_enqueued"] == len(PEERS)
    phones.work()
    assert _posts(fake) == len(PEERS)  # two found at Twilio, two sent: none twice
    _each_recorded_with_its_one_acceptance(svc, fake)


def test_a_held_gateway_claims_nothing(twilio_settings, phones, svc, fake):
    token = fake.auth_token
    fake.configure(auth_token="revoked")  # Twilio refuses the line's credentials
    batch = _alerts(svc)
    assert send_together.send(svc.sessions, svc.line, batch, HANDLERS) == ["retry"] * 4
    assert not fake.delivered()
    with svc.sessions() as session:
        texts = session.scalars(select(OutboundMessage)).all()
        assert {(m.status, m.attempts) for m in texts} == {("queued", 0)}
        assert {session.get(Task, t).last_error for t in batch} == {gateway_hold.HELD}
    fake.configure(auth_token=token)
    more = _alerts(svc, ["+15550209901", "+15550209902"], body="more")
    assert send_together.claim_all(svc.sessions, svc.line, more) == ([], more)  # held
    assert not fake.delivered()
