"""A request for a ring round is never lost to a twin that runs too early.

``request_rings`` is one keyed task (``dedupe_key='voice_ring'``, or ``'voice_ring_later'``
for a retry), like ``request_pairing`` (``tests/test_pairing_wakeup.py``): a request that
finds a pending twin adds nothing and counts on it. But the twin can be claimed, and its
round run, between the request's ``INSERT`` and its transaction's commit, without seeing
what that transaction wrote. Here a volunteer keys 1 (on shift) while a caller is on hold:
the twin's round cannot see them on shift yet, so the caller waited for a retry (15 s), a
hold cycle or the sweeper instead of their phone ringing at once. The twin runs at exactly
that point; no hold cycle and no sweeper pass afterwards. The dialler's request to hang up
a ring canceled while it dialled has the same race (second test).
"""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.handlers import HANDLERS
from peerline.models import Ring, Task, Volunteer
from peerline.people import roster
from peerline.voice import rings

from .races import needs_postgres, waiting_on_a_lock
from .test_pairing_wakeup import _run_queued_jobs
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import queued_caller, rings_to, updates_for, volunteer, volunteers_on
from .test_voice_ivr import ivr_call


def _run_twin_now(svc, twin: int, ran: list[str]) -> threading.Thread:  # noqa: ANN001
    """A worker claims ``twin`` and runs it now, before the caller's transaction commits
    (a thread, joined after that commit: it may wait on the caller's locks)."""
    worker = threading.Thread(target=lambda: ran.append(
        tasks.run(svc.sessions, svc.line, twin, HANDLERS)))
    worker.start()
    while worker.is_alive() and not waiting_on_a_lock(svc):
        worker.join(0.05)
    return worker


def test_a_twin_ring_round_run_before_a_shift_starts_does_not_leave_the_caller_on_hold(
        phones, svc, monkeypatch):
    needs_postgres(svc)
    volunteers_on(svc, (SAM, "en"))
    with svc.sessions.begin() as session:  # the only peer on shift is on another call
        session.execute(update(Volunteer).where(Volunteer.id == volunteer(svc, SAM).id)
                        .values(on_call=True))
    add_volunteer(svc, "Alex", ALEX)  # off shift
    caller = queued_caller(phones)
    phones.work()  # a ring round finds nobody free
    caller.hold()  # no ring going: the hold cycle asks for a round (the pending twin)
    with svc.sessions() as session:
        twin = session.scalar(select(Task.id).where(Task.dedupe_key == "voice_ring"))
    assert twin is not None
    real_request = rings.request_rings
    ran: list[str] = []
    workers: list[threading.Thread] = []

    def request_then_twin_runs(session, line, delay_s: float = 0.0) -> None:  # noqa: ANN001
        real_request(session, line, delay_s)  # the key is the twin's: nothing added here
        workers.append(_run_twin_now(svc, twin, ran))  # its round, before this commits

    leg, menu, call_id = ivr_call(phones, ALEX)
    monkeypatch.setattr(roster, "request_rings", request_then_twin_runs)
    on = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="1")  # Alex: on shift
    monkeypatch.undo()
    assert "you're on shift" in on.said.lower()
    for worker in workers:
        worker.join(10)
    assert ran == ["done"], "the twin's round did not run"
    with svc.sessions() as session:  # it could not see Alex on shift
        assert session.scalar(select(Ring.id)) is None

    for _ in range(3):  # what the webhook's commit queued, and what that queued: no sweeper
        _run_queued_jobs(svc)
    assert len(rings_to(phones, ALEX)) == 1  # rung now, not at the next retry or sweep


def test_a_twin_hangup_run_before_the_dialler_stores_the_sid_still_hangs_the_ring_up(
        phones, svc, monkeypatch):
    """The caller hangs up while a volunteer's phone is being dialled: the hang-up task
    finds no sid yet and leaves it to the dialling task, whose own hang-up request finds
    that task still pending. Run before the dialler commits, it still sees no sid: the
    volunteer's phone rang on for nobody (up to 25 s) unless the request is made again."""
    needs_postgres(svc)
    volunteers_on(svc, (ALEX, "en"))
    phones.work()
    caller = queued_caller(phones)
    with svc.sessions() as session:
        round_id = session.scalar(select(Task.id).where(Task.dedupe_key == "voice_ring"))
    assert tasks.run(svc.sessions, svc.line, round_id, HANDLERS) == "done"
    with svc.sessions() as session:
        ring_id = session.scalar(select(Ring.id))
        dial = session.scalar(select(Task.id).where(Task.kind == TaskKind.VOICE_DIAL))
    real_call, real_add = svc.line.gateway.create_call, tasks.add
    ran: list[str] = []
    workers: list[threading.Thread] = []

    def caller_hangs_up_while_dialling(*args, **kwargs) -> str:  # noqa: ANN002, ANN003
        sid = real_call(*args, **kwargs)
        caller.status("completed")  # the rings are canceled; the hang-up task waits
        return sid

    def request_then_twin_runs(session, kind, ref_id, now, **kwargs):  # noqa: ANN001, ANN003, ANN202
        added = real_add(session, kind, ref_id, now, **kwargs)
        if kind == TaskKind.VOICE_HANGUP and added is None and not workers:
            with svc.sessions() as other:
                twin = other.scalar(select(Task.id).where(
                    Task.dedupe_key == f"voice_hangup:{ring_id}"))
            workers.append(_run_twin_now(svc, twin, ran))
        return added

    monkeypatch.setattr(svc.line.gateway, "create_call", caller_hangs_up_while_dialling)
    monkeypatch.setattr(tasks, "add", request_then_twin_runs)
    assert tasks.run(svc.sessions, svc.line, dial, HANDLERS) == "done"
    monkeypatch.undo()
    for worker in workers:
        worker.join(10)
    assert ran == ["done"], "the twin hang-up did not run"
    sid = rings_to(phones, ALEX)[0].sid
    assert updates_for(phones, sid) == []  # it saw no sid: nothing hung up

    for _ in range(3):  # what the dialler's commit queued, and what that queued: no sweeper
        _run_queued_jobs(svc)
    assert updates_for(phones, sid) == ["completed"]  # the volunteer's phone stops ringing
