"""Ringing on-shift volunteers for waiting callers: ring rounds, and a peer answering or
pressing 1.

A peer takes a call with a compare-and-set on ``stage='queued' AND volunteer_id IS
NULL``, so two peers pressing 1 at once make one bridge; the other is told and hung up,
never sent into a ``<Dial>``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, CallRole, CallStage, Ring, RingStatus, Volunteer
from peerline.people.caps import may_offer
from peerline.people.lookup import lock_volunteers
from peerline.voice import scripts
from peerline.voice.common import (
    LIVE_RINGS,
    RING_RETRY_S,
    RING_TIMEOUT_S,
    UnknownCall,
    caller_id,
    elapsed,
    lock,
)


def request_rings(session: Session, line: Line, delay_s: float = 0.0) -> None:
    """Ask a worker for a ring round (once, however often it is asked).

    Asked again after the commit when a pending request was found (it could run its
    round before this transaction commits, without seeing a volunteer come on shift, a
    caller queued or a ring ended)."""
    key = "voice_ring" if not delay_s else "voice_ring_later"
    tasks.add(session, TaskKind.VOICE_RING, None, line.now(), delay_s=delay_s, dedupe_key=key,
              again_after_commit=True)


def _live(line: Line) -> Any:
    cutoff = line.now() - timedelta(seconds=RING_TIMEOUT_S + 60)
    return and_(Ring.status.in_(LIVE_RINGS), Ring.created_at > cutoff)


def has_live_rings(session: Session, line: Line, call_id: int) -> bool:
    """True while some volunteer's phone is ringing for this call."""
    return session.scalar(select(Ring.id).where(Ring.call_id == call_id, _live(line))
                          .limit(1)) is not None


def eligible(session: Session, line: Line, lang: str, crisis: bool = False) -> list[Volunteer]:
    """Volunteers a call may ring: on shift, active, not opted out, not on a call, speaks,
    and may be offered now (no break, no cool-down, under the caps unless a crisis:
    :func:`peerline.people.caps.may_offer`)."""
    people = session.scalars(select(Volunteer).where(
        Volunteer.on_shift.is_(True), Volunteer.active.is_(True),
        Volunteer.on_call.is_(False), Volunteer.opted_out.is_(False),
        Volunteer.off_break(line.now())).order_by(Volunteer.id))
    return [v for v in people if v.speaks(lang) and may_offer(session, line, v, crisis)]


def ring_round(session: Session, line: Line) -> list[int]:
    """Ring every free eligible volunteer at once for each waiting caller, crisis first.

    A caller whose phones are already ringing is skipped; a volunteer rings for one
    caller at a time. Callers left without a ring are tried again shortly.
    """
    now = line.now()
    live = session.execute(select(Ring.call_id, Ring.volunteer_id).where(_live(line))).all()
    busy = {volunteer_id for _, volunteer_id in live}
    ringing_for = {call_id for call_id, _ in live}
    waiting = session.scalars(select(Call).where(Call.role == CallRole.SURVIVOR,
                                                 Call.stage == CallStage.QUEUED)
                              .order_by(Call.priority.desc(), Call.queued_at, Call.id)).all()
    calls = [call for call in waiting if call.id not in ringing_for]
    wanted = {call.id: [v for v in eligible(session, line, call.lang, crisis=call.priority > 0)
                        if v.id not in busy] for call in calls}
    # Every volunteer the round may ring, locked at once in id order (the global order,
    # ARCHITECTURE.md "Row locks"): locked call by call, a round took them out of that
    # order and deadlocked with a pairing pass. Fresh from the locked rows.
    locked = lock_volunteers(session, (v.id for people in wanted.values() for v in people))
    made: list[int] = []
    unserved = False
    for call in calls:
        rung = 0
        for candidate in wanted[call.id]:
            volunteer = locked.get(candidate.id)
            if volunteer is None or volunteer.id in busy:
                continue  # rung for an earlier caller in this round
            if not may_offer(session, line, volunteer, call.priority > 0):
                continue  # on a call, off shift, STOP... since eligible() read them
            if session.scalar(select(Ring.id).where(Ring.volunteer_id == volunteer.id,
                                                    _live(line)).limit(1)) is not None:
                continue  # another worker rang them a moment ago
            ring = Ring(call_id=call.id, volunteer_id=volunteer.id,
                        line_number=caller_id(line, call), status=RingStatus.NEW, created_at=now)
            session.add(ring)
            session.flush()
            tasks.add(session, TaskKind.VOICE_DIAL, ring.id, now)
            busy.add(volunteer.id)
            made.append(ring.id)
            rung += 1
        unserved = unserved or rung == 0
    if unserved:
        request_rings(session, line, delay_s=RING_RETRY_S)
    return made


def cancel_rings(session: Session, line: Line, call: Call,
                 status: str = RingStatus.CANCELED) -> None:
    """Stop every ring still going for a call; the volunteers are told and hung up."""
    for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                   Ring.status.in_(LIVE_RINGS))):
        ring.status, ring.ended_at = status, line.now()
        tasks.add(session, TaskKind.VOICE_HANGUP, ring.id, line.now(),
                  dedupe_key=f"voice_hangup:{ring.id}")


def _ring_and_call(session: Session, ring_id: int, sid: str) -> tuple[Ring, Call]:
    ring = session.get(Ring, ring_id)
    if ring is None:
        raise UnknownCall(f"ring {ring_id}")
    call = lock(session, Call, ring.call_id)
    ring = lock(session, Ring, ring_id)
    if ring.sid is None and sid and session.scalar(
            select(Ring.id).where(Ring.sid == sid)) is None:
        ring.sid = sid  # the answer can come before the dialling worker stored the sid
    if ring.sid != sid:
        raise UnknownCall(f"ring {ring_id}")
    return ring, call


def _ring_lost(line: Line, ring: Ring, call: Call) -> str:
    if ring.status in LIVE_RINGS:
        taken = call.stage in (CallStage.BRIDGING, CallStage.BRIDGED, CallStage.AFTER)
        ring.status = RingStatus.TAKEN if taken else RingStatus.CANCELED
        ring.ended_at = line.now()
    return scripts.volunteer_told("taken" if ring.status == RingStatus.TAKEN else "gone")


def ring_answered(session: Session, line: Line, *, ring_id: int, sid: str) -> str:
    """A rung volunteer picked up: the whisper (press 1), unless the call is gone."""
    ring, call = _ring_and_call(session, ring_id, sid)
    if ring.status == RingStatus.ACCEPTED:
        return scripts.volunteer_conference(call.id)
    if ring.status in LIVE_RINGS and call.stage == CallStage.QUEUED:
        ring.status, ring.answered_at = RingStatus.WHISPER, line.now()
        return scripts.whisper(ring.id, call.lang, call.priority > 0)
    return _ring_lost(line, ring, call)


def ring_pressed(session: Session, line: Line, *, ring_id: int, sid: str, digits: str) -> str:
    """A key at the whisper: 1 takes the call (compare-and-set); the first 1 wins."""
    ring, call = _ring_and_call(session, ring_id, sid)
    if ring.status == RingStatus.ACCEPTED:
        return scripts.volunteer_conference(call.id, intro=None)
    if ring.status not in LIVE_RINGS or call.stage != CallStage.QUEUED:
        return _ring_lost(line, ring, call)
    if digits.strip()[:1] != "1":
        return scripts.whisper(ring.id, call.lang, call.priority > 0, again=True)
    now = line.now()
    taken = session.execute(
        update(Call).where(Call.id == call.id, Call.stage == CallStage.QUEUED,
                           Call.volunteer_id.is_(None))
        .values(stage=CallStage.BRIDGING, volunteer_id=ring.volunteer_id, answered_at=now,
                wait_s=elapsed(line, call.queued_at)))
    if taken.rowcount != 1:
        ring.status, ring.ended_at = RingStatus.TAKEN, now
        return scripts.volunteer_told("taken")
    session.refresh(call)
    ring.status, ring.answered_at = RingStatus.ACCEPTED, ring.answered_at or now
    volunteer = lock(session, Volunteer, ring.volunteer_id)
    volunteer.on_call = True
    if call.conversation is not None:
        call.conversation.volunteer_id, call.conversation.assigned_at = volunteer.id, now
    cancel_rings(session, line, call, status=RingStatus.TAKEN)
    tasks.add(session, TaskKind.VOICE_BRIDGE, call.id, now, dedupe_key=f"voice_bridge:{call.id}")
    return scripts.volunteer_conference(call.id)
