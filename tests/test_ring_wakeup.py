"""A request for a ring round is never lost to a twin that runs too early.

``request_rings`` is one keyed task (``dedupe_key='voice_ring'``, or ``'voice_ring_later'``
for a retry), like ``request_pairing`` (``tests/test_pairing_wakeup.py``): a request that
finds a pending twin adds nothing and counts on it. But the twin can be claimed, and its
round run, between the request's ``INSERT`` and its transaction's commit, without seeing
what that transaction wrote. Here a volunteer keys 1 (on shift) while a caller is on hold:
the twin's round cannot see them on shift yet, so the caller waited for a retry (15 s), a
hold cycle or the sweeper instead of their phone ringing at once. The twin runs at exactly
that point; no hold cycle and no sweeper pass afterwards.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from peerline.delivery import tasks
from peerline.handlers import HANDLERS
from peerline.models import Ring, Task, Volunteer
from peerline.people import roster
from peerline.voice import rings

from .races import needs_postgres, waiting_on_a_lock
from .test_pairing_wakeup import _run_queued_jobs
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import queued_caller, rings_to, volunteer, volunteers_on
from .test_voice_ivr import ivr_call


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
        # A worker claims the twin and runs its round now, before this webhook commits.
        worker = threading.Thread(target=lambda: ran.append(
            tasks.run(svc.sessions, svc.line, twin, HANDLERS)))
        worker.start()
        workers.append(worker)
        while worker.is_alive() and not waiting_on_a_lock(svc):
            worker.join(0.05)

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
