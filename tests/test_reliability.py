"""The reliability contract, proven on real parts: Redis, the database, RQ workers, the
real ``twilio`` client against a local fake Twilio. Only the edges are fakes: that
server and the clock. No timing assertions (speed and recovery times live in bench/).
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from flask import current_app
from redis import Redis
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import func, select

from peerline.delivery import heartbeat, outbox, tasks
from peerline.delivery.sweeper import sweep
from peerline.extensions import QUEUE_NAME, RUN_TASK
from peerline.handlers import HANDLERS
from peerline.line import Line
from peerline.models import Conversation, Message, OutboundMessage, Survivor, Task
from peerline.telephony.twilio_gateway import TwilioGateway

from .helpers import LINE, new_sid

ALEX = "+15550100001"
SAM = "+15550100002"
SURV = "+15550199001"
SURV2 = "+15550199002"
SURV3 = "+15550199003"
ALL_FAULTS = ("429", "500", "hang", "accept_500", "accept_drop", "accept_hang")


# --- fixtures and helpers ---------------------------------------------------------------

@pytest.fixture
def fake_seed():
    return 7


@pytest.fixture
def twilio_timeout_s() -> float:
    """A short time-out for these tests."""
    return 0.3


def add_volunteer(svc, name, phone, capacity=None):
    from peerline.people import roster

    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, "en", capacity).id


class ThreadWorker(SimpleWorker):
    """A real RQ SimpleWorker that can run in a thread (no signals, timer time-outs)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


def pending_due(svc):
    with svc.sessions() as session:
        return session.scalars(select(Task.id).where(
            Task.status == "pending", Task.not_before <= svc.line.now())).all()


def next_send(svc):
    with svc.sessions() as session:
        return session.scalar(select(func.min(Task.not_before)).where(
            Task.status == "pending", Task.kind == "send"))


def _burst(app, url, errors):
    with app.app_context():
        try:
            ThreadWorker([QUEUE_NAME], connection=Redis.from_url(url)).work(
                burst=True, logging_level="WARNING")
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)


def work(svc, workers=1, rounds=300):
    """Sweeper + ``workers`` real RQ workers at once, until no send or pairing is due.

    Between rounds the clock moves to the next send retry (never to a timer such as an
    offer time-out); due tasks whose job went nowhere are enqueued again, which is what
    the sweeper does a few seconds later.
    """
    app = current_app._get_current_object()
    queue = svc.queue()
    url = svc.redis_url()
    errors = []
    for _ in range(rounds):
        sweep(svc)
        threads = [threading.Thread(target=_burst, args=(app, url, errors))
                   for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        due = pending_due(svc)
        if not due:
            upcoming = next_send(svc)
            if upcoming is None:
                return
            svc.line.clock.now = max(svc.line.clock.now, upcoming)
            due = pending_due(svc)
        for task_id in due:
            queue.enqueue(RUN_TASK, task_id)
    raise AssertionError("tasks still pending after many rounds")


def pair(phones, svc, fake, volunteer, survivor, first="hi"):
    """Survivor texts, the volunteer accepts the offer; returns the volunteer's line."""
    phones.text(survivor, first)
    work(svc)
    offers = [m for m in fake.delivered(volunteer) if "YES" in m.body]
    line_no = offers[-1].from_
    assert phones.text(volunteer, "YES", to=line_no).status_code == 200
    work(svc)
    return line_no


def outbound(svc):
    with svc.sessions() as session:
        return session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


# --- (a) Redis down while texts arrive --------------------------------------------------

def _dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_loses_nothing_and_the_sweeper_recovers(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    add_volunteer(svc, "Sam", SAM, capacity=3)
    phones.text(ALEX, "ON")
    phones.text(SAM, "ON")
    phones.text(SURV, "hi")
    phones.work()
    line_no = phones.received(ALEX)[-1][0] if phones.received(ALEX) else None
    offered = ALEX if line_no else SAM
    line_no = line_no or phones.received(SAM)[-1][0]
    phones.text(offered, "YES", to=line_no)
    phones.work()
    sent_before = len(phones.all_sent())

    # Redis goes away (nothing listens on its port now).
    good_url = svc.redis_url()
    svc.config["REDIS_URL"] = f"redis://127.0.0.1:{_dead_port()}/0"
    svc._redis = None
    said = [f"while redis is down {i}" for i in range(6)]
    for body in said:
        response = phones.text(SURV, body)
        assert response.status_code == 200  # on the first try
    new_reply = phones.text(SURV2, "hello? is this the support line")  # a new conversation
    assert new_reply.status_code == 200 and phones.replies(new_reply)
    with svc.sessions() as session:
        stored = [body for body in session.scalars(select(Message.body))
                  if body and body.startswith("while redis is down")]  # sealed: read, then match
    assert sorted(stored) == sorted(said)
    assert len(phones.all_sent()) == sent_before  # nothing could run yet

    # Redis is back, empty: only the database knows what is owed.
    Redis.from_url(good_url).flushdb()
    svc.config["REDIS_URL"] = good_url
    svc._redis = None
    assert svc.queue().count == 0
    clock.advance(11)
    counts = sweep(svc)
    assert counts["re_enqueued"] >= len(said) + 1
    assert svc.queue().count >= len(said) + 1
    phones.work()

    relayed = [b for b in phones.bodies(offered) if b.startswith("while redis")]
    assert relayed == said  # every one, once, in order
    offers = [b for b in phones.bodies(ALEX) + phones.bodies(SAM) if "hello? is this" in b]
    assert len(offers) == 1, offers  # the conversation with no further text got its offer
    assert pending_due(svc) == []  # only timers (offer time-outs) still wait


def test_sweeper_does_not_mark_work_enqueued_while_redis_is_still_down(phones, svc, clock):
    svc.config["REDIS_URL"] = f"redis://127.0.0.1:{_dead_port()}/0"
    svc._redis = None
    phones.text(SURV, "is anyone there")
    clock.advance(11)
    assert sweep(svc)["re_enqueued"] == 0
    with svc.sessions() as session:
        assert tasks.stale(session, svc.line.now())  # still owed, still visible


# --- (b) a 20% fault rate at Twilio -----------------------------------------------------

def test_twilio_faults_at_20_percent_deliver_everything_once_in_order(
        twilio_settings, phones, svc, fake):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.text(ALEX, "ON")
    lines = {}
    for survivor in (SURV, SURV2):
        lines[survivor] = pair(phones, svc, fake, ALEX, survivor)
    fake.configure(fault_rate=0.2, faults=ALL_FAULTS, hang_s=0.6, fault_lists=True)
    expected = {ALEX: [], SURV: [], SURV2: []}
    for i in range(12):
        for survivor in (SURV, SURV2):
            body = f"{survivor[-3:]} says {i}"
            assert phones.text(survivor, body).status_code == 200
            expected[ALEX].append(body)
        if i % 3 == 0:
            for survivor in (SURV, SURV2):
                body = f"alex to {survivor[-3:]} {i}"
                phones.text(ALEX, body, to=lines[survivor])
                expected[survivor].append(body)
    work(svc, workers=2)
    for number, bodies in expected.items():
        got = [b for b in fake.bodies(number) if b in set(bodies)]
        assert got == bodies, number  # exactly once each, in order
    seen = fake.faults_seen()
    hidden = sum(seen.get(f, 0) for f in ("accept_500", "accept_drop", "accept_hang"))
    transient = [f for f in ("429", "500", "hang") if seen.get(f)]
    assert hidden and len(transient) >= 2, seen
    assert {m.status for m in outbound(svc)} == {"sent"}


# --- (c) permanent errors ---------------------------------------------------------------

def test_permanent_errors_are_never_retried_and_21610_opts_out(
        twilio_settings, phones, svc, fake):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    line_no = pair(phones, svc, fake, ALEX, SURV)
    fake.configure(permanent={SURV: 21610, "+15550177011": 21211, "+15550177012": 21606})
    phones.text(ALEX, "are you ok?", to=line_no)
    with svc.sessions.begin() as session:
        outbox.queue_text(session, svc.line, "+15550177011", LINE, "to an invalid number")
        outbox.queue_text(session, svc.line, "+15550177012", LINE, "from a bad sender")
    work(svc)
    posts = [r for r in fake.requests if r[0] == "POST" and r[1] == "message"]
    assert [r[2] for r in posts].count("21610") == 1
    assert [r[2] for r in posts].count("21211") == 1
    assert [r[2] for r in posts].count("21606") == 1
    by_body = {m.body: m for m in outbound(svc)}
    assert (by_body["are you ok?"].status, by_body["are you ok?"].error_code) == ("failed",
                                                                                 21610)
    assert by_body["to an invalid number"].error_code == 21211
    assert by_body["from a bad sender"].error_code == 21606
    assert by_body["from a bad sender"].status == "failed"
    with svc.sessions() as session:
        assert session.scalar(select(Survivor.opted_out)) is True
    # Nothing more is queued to the opted-out person.
    phones.text(ALEX, "hello?", to=line_no)
    work(svc)
    assert "hello?" not in [m.body for m in outbound(svc)]



def test_the_carriers_opt_out_after_a_quick_exit_is_never_lifted_by_a_text(
        twilio_settings, phones, svc, fake):
    """A quick exit is lifted by the survivor's next text; the carrier's opt-out (21610)
    is not (it is told apart by ``opted_out_at``)."""
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    pair(phones, svc, fake, ALEX, SURV)
    phones.text(SURV, "#ERASE")
    work(svc)
    line_no = pair(phones, svc, fake, ALEX, SURV, first="hello again")  # a fresh start
    fake.configure(permanent={SURV: 21610})
    phones.text(ALEX, "are you ok?", to=line_no)
    work(svc)
    assert phones.replies(phones.text(SURV, "hi, are you there")) == []
    with svc.sessions() as session:
        survivor = session.scalars(select(Survivor)).one()
        assert survivor.opted_out and survivor.opted_out_at is not None


# --- (d) a worker killed mid-send -------------------------------------------------------

class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


class DiesAfterTwilioAccepts(TwilioGateway):
    def send_sms(self, *args, **kwargs):
        super().send_sms(*args, **kwargs)
        raise WorkerKilled


class DiesBeforeSending(TwilioGateway):
    def send_sms(self, *args, **kwargs):
        raise WorkerKilled


@pytest.mark.parametrize("death", [DiesAfterTwilioAccepts, DiesBeforeSending])
def test_a_worker_killed_mid_send_is_finished_elsewhere_without_a_duplicate(
        twilio_settings, svc, fake, clock, death):
    with svc.sessions.begin() as session:
        message = outbox.queue_text(session, svc.line, SURV, LINE, "you are not alone")
        message_id = message.id
    with svc.sessions() as session:
        task_id = session.scalar(select(Task.id).where(Task.ref_id == message_id))
    Redis.from_url(svc.redis_url()).flushdb()  # its job is "on the dead worker"

    dying = type(svc.line)(settings=svc.line.settings, vault=svc.line.vault,
                           gateway=death(fake.account_sid, fake.auth_token, fake.url, 0.3),
                           clock=clock)
    with pytest.raises(WorkerKilled):
        tasks.run(svc.sessions, dying, task_id, HANDLERS)
    accepted = len(fake.delivered(SURV))
    assert accepted == (1 if death is DiesAfterTwilioAccepts else 0)
    with svc.sessions() as session:
        assert session.get(OutboundMessage, message_id).status == "sending"

    # While the lease holds, nobody else touches it.
    clock.advance(10)
    assert sweep(svc)["re_enqueued"] == 0
    assert tasks.run(svc.sessions, svc.line, task_id, HANDLERS) == "skipped"
    # Past the lease the sweeper hands it to another (real) worker.
    clock.advance(svc.line.setting("PEERLINE_LEASE_S"))
    assert sweep(svc)["re_enqueued"] == 1
    work(svc)
    [sent] = fake.delivered(SURV)
    with svc.sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert (row.status, row.sid) == ("sent", sent.sid)
    posts = [r for r in fake.requests if r[0] == "POST" and r[1] == "message"]
    assert len(posts) == 1


def test_find_sent_tells_identical_texts_apart(twilio_settings, svc, fake, clock):
    """Two real "ok"s to one person: the second is not mistaken for the first."""
    with svc.sessions.begin() as session:
        outbox.queue_text(session, svc.line, SURV, LINE, "ok")
    work(svc)
    with svc.sessions.begin() as session:
        second = outbox.queue_text(session, svc.line, SURV, LINE, "ok").id
    with svc.sessions() as session:
        task_id = session.scalar(select(Task.id).where(Task.ref_id == second))
    dying = type(svc.line)(settings=svc.line.settings, vault=svc.line.vault,
                           gateway=DiesBeforeSending(fake.account_sid, fake.auth_token,
                                                     fake.url, 0.3), clock=clock)
    with pytest.raises(WorkerKilled):
        tasks.run(svc.sessions, dying, task_id, HANDLERS)
    clock.advance(svc.line.setting("PEERLINE_LEASE_S") + 11)
    work(svc)
    assert fake.bodies(SURV) == ["ok", "ok"]
    sids = [m.sid for m in outbound(svc)]
    assert len(set(sids)) == 2 and None not in sids


# --- (d2) a killed worker noticed by its heartbeat, long before its lease ends ---------

OWNER = "worker-a"


def kill_mid_send(svc, fake, clock):
    """Queue a text; a worker named OWNER takes its task, Twilio accepts, the worker dies
    before it hears back. Returns (message id, task id)."""
    with svc.sessions.begin() as session:
        message_id = outbox.queue_text(session, svc.line, SURV, LINE, "you are not alone").id
    with svc.sessions() as session:
        task_id = session.scalar(select(Task.id).where(Task.ref_id == message_id))
    svc.redis().flushdb()  # its job was on the dead worker
    dying = Line(settings=svc.line.settings, vault=svc.line.vault, clock=clock, owner=OWNER,
                 gateway=DiesAfterTwilioAccepts(fake.account_sid, fake.auth_token, fake.url,
                                                0.3))
    heartbeat.beat(svc.redis(), OWNER, clock.now)
    with pytest.raises(WorkerKilled):
        tasks.run(svc.sessions, dying, task_id, HANDLERS)
    assert len(fake.delivered(SURV)) == 1  # accepted by Twilio; the worker never heard
    with svc.sessions() as session:
        assert session.get(OutboundMessage, message_id).locked_by == OWNER
        assert session.get(Task, task_id).locked_by == OWNER
    return message_id, task_id


def sent_once(svc, fake, message_id):
    [sent] = fake.delivered(SURV)
    with svc.sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert (row.status, row.sid) == ("sent", sent.sid)
    posts = [r for r in fake.requests if r[0] == "POST" and r[1] == "message"]
    assert len(posts) == 1


def test_a_killed_workers_send_is_handed_on_when_its_heartbeat_stops(
        twilio_settings, svc, fake, clock):
    message_id, task_id = kill_mid_send(svc, fake, clock)
    lease_ends = clock.now + timedelta(seconds=svc.line.setting("PEERLINE_LEASE_S"))
    dead_s = svc.line.setting("PEERLINE_WORKER_DEAD_S")
    beat_s = svc.line.setting("PEERLINE_HEARTBEAT_S")

    assert sweep(svc)["released"] == 0  # it beat a moment ago
    clock.advance(dead_s + 1)  # no beat since
    assert sweep(svc)["released"] == 0  # silent once: a suspicion, not yet a death
    clock.advance(2 * beat_s)
    counts = sweep(svc)  # silent at two looks: dead, its work goes on now
    assert counts["released"] == 1 and counts["re_enqueued"] == 1
    assert clock.now + timedelta(seconds=10) < lease_ends  # well before the lease ran out

    work(svc)  # another worker: finds the text in Twilio's list, records it, sends nothing
    sent_once(svc, fake, message_id)
    with svc.sessions() as session:
        assert session.get(Task, task_id).status == "done"


def test_a_worker_that_keeps_beating_keeps_its_lease(twilio_settings, svc, fake, clock):
    _, task_id = kill_mid_send(svc, fake, clock)  # "killed" but its heartbeat goes on
    for _ in range(4):
        clock.advance(svc.line.setting("PEERLINE_WORKER_DEAD_S") / 2)
        heartbeat.beat(svc.redis(), OWNER, clock.now)
        assert sweep(svc)["released"] == 0
    assert tasks.run(svc.sessions, svc.line, task_id, HANDLERS) == "skipped"


def test_redis_restarted_empty_forgets_every_beat_and_nothing_is_sent_twice(
        twilio_settings, svc, fake, clock):
    message_id, _ = kill_mid_send(svc, fake, clock)
    svc.redis().flushdb()  # Redis restarts empty: no beats on record at all
    for _ in range(3):  # unknown is not dead: the lease runs its normal course
        clock.advance(svc.line.setting("PEERLINE_WORKER_DEAD_S"))
        assert sweep(svc)["released"] == 0
    clock.advance(svc.line.setting("PEERLINE_LEASE_S"))
    assert sweep(svc)["re_enqueued"] == 1
    work(svc)
    sent_once(svc, fake, message_id)


def test_silence_must_be_seen_twice_with_redis_answering_in_between(clock):
    watch = heartbeat.DeathWatch()
    assert watch.confirm({OWNER}, clock.now, 4) == set()
    clock.advance(5)
    watch.reset()  # Redis could not be read at this look: beats may just be held up
    assert watch.confirm({OWNER}, clock.now, 4) == set()
    clock.advance(2)
    assert watch.confirm(set(), clock.now, 4) == set()  # it beat again: suspicion over
    clock.advance(5)
    assert watch.confirm({OWNER}, clock.now, 4) == set()
    clock.advance(5)
    assert watch.confirm({OWNER}, clock.now, 4) == {OWNER}


def test_the_workers_scheduler_is_a_thread_that_dies_with_it(svc):
    """RQ forks its scheduler; the child outlived a SIGKILLed worker holding its database
    sockets, so a transaction the worker had open never ended and blocked the others."""
    import psutil

    from peerline.commands.worker import _worker_class

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    worker = _worker_class()([QUEUE_NAME], connection=Redis.from_url(svc.redis_url()))
    worker._start_scheduler()  # what work(with_scheduler=True) does first
    try:
        assert worker.scheduler.acquired_locks
        assert {p.pid for p in psutil.Process().children(recursive=True)} == before
        assert worker.scheduler._process.is_alive()
    finally:
        worker.stop_scheduler()
    assert not worker.scheduler._process.is_alive()


# --- (e) duplicate webhooks at once; status callbacks early and out of order ------------

def test_duplicate_webhooks_at_once_store_one_and_relay_one(phones, svc, app):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    sid = new_sid()
    barrier = threading.Barrier(6)
    codes = []

    def deliver_copy():
        client = app.test_client()
        from .helpers import Phones

        copy = Phones(app, client)
        barrier.wait()
        codes.append(copy.text(SURV, "said once, delivered twice", sid=sid).status_code)

    threads = [threading.Thread(target=deliver_copy) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 6
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(
            Message.sid == sid)) == 1
    phones.work()
    assert phones.bodies(ALEX).count("said once, delivered twice") == 1


def test_a_status_callback_before_the_send_returns_is_kept(
        twilio_settings, settings, phones, svc, fake):
    svc.line.gateway = TwilioGateway(fake.account_sid, fake.auth_token, fake.url, 10.0)
    fake.configure(slow_s=0.5)
    with svc.sessions.begin() as session:
        message_id = outbox.queue_text(session, svc.line, SURV, LINE, "early report").id
    with svc.sessions() as session:
        task_id = session.scalar(select(Task.id).where(Task.ref_id == message_id))
    sender = threading.Thread(target=tasks.run, args=(svc.sessions, svc.line, task_id, HANDLERS))
    sender.start()
    while not fake.in_flight and sender.is_alive():
        threading.Event().wait(0.01)
    [in_flight] = list(fake.in_flight.values())
    response = phones.post("/sms/status", {"MessageSid": in_flight.sid,
                                           "MessageStatus": "delivered"})
    assert response.status_code == 204
    sender.join()
    with svc.sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert (row.sid, row.status) == (in_flight.sid, "delivered")


def test_status_never_goes_backwards(twilio_settings, phones, svc, fake):
    with svc.sessions.begin() as session:
        message_id = outbox.queue_text(session, svc.line, SURV, LINE, "in order?").id
    work(svc)
    [sent] = fake.delivered(SURV)
    for status in ("delivered", "sent", "queued", "sending", "failed"):
        assert phones.post("/sms/status", {"MessageSid": sent.sid,
                                           "MessageStatus": status}).status_code == 204
    with svc.sessions() as session:
        assert session.get(OutboundMessage, message_id).status == "delivered"
        assert session.scalar(select(Survivor.opted_out)) in (None, False)


# --- (f) order with two workers -------------------------------------------------------

def test_a_burst_is_relayed_in_order_by_two_workers(twilio_settings, phones, svc, fake):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    add_volunteer(svc, "Sam", SAM, capacity=3)
    phones.text(ALEX, "ON")
    phones.text(SAM, "ON")
    for survivor in (SURV, SURV2, SURV3):
        phones.text(survivor, "hi")
    work(svc, workers=2)
    for volunteer in (ALEX, SAM):
        for offer in [m for m in fake.delivered(volunteer) if "YES" in m.body]:
            phones.text(volunteer, "YES", to=offer.from_)
    work(svc, workers=2)
    with svc.sessions() as session:
        active = session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.status == "active"))
    assert active == 3
    fake.configure(slow_s=0.02, fault_rate=0.1, faults=("429", "500"))
    burst = {s: [f"{s[-3:]} burst {i}" for i in range(10)] for s in (SURV, SURV2, SURV3)}
    for i in range(10):
        for survivor in burst:
            phones.text(survivor, burst[survivor][i])
    work(svc, workers=2)
    for said in burst.values():
        relayed = [m.body for volunteer in (ALEX, SAM) for m in fake.delivered(volunteer)
                   if m.body in said]
        assert relayed == said
