"""``/voice/status``: Twilio's call status callbacks for calls, rings and hotline legs.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import (
    Call,
    CallOutcome,
    CallRole,
    CallStage,
    ConversationStatus,
    Ring,
    RingStatus,
    TransferStatus,
)
from peerline.people import cooldown
from peerline.voice import callbacks, ivr
from peerline.voice.bridge import release
from peerline.voice.common import FINAL, LIVE_RINGS, RING_GAP_S, elapsed, lock
from peerline.voice.rings import cancel_rings, has_live_rings, request_rings


def record_status(session: Session, line: Line, *, sid: str, status: str,
                  duration: int | None, ring_id: int | None = None,
                  hotline_for: int | None = None, voicemail_id: int | None = None) -> None:
    """``/voice/status``: answered, abandoned (with wait), rings' no-answer/busy, legs."""
    status = status.lower()
    if voicemail_id is not None:
        callbacks.callback_status(session, line, voicemail_id=voicemail_id, sid=sid, status=status)
        return
    if hotline_for is not None:
        hotline_status(session, line, hotline_for, sid, status)
        return
    if ring_id is None:
        ring_id = session.scalar(select(Ring.id).where(Ring.sid == sid))
    if ring_id is not None:
        _ring_status(session, line, ring_id, sid, status)
        return
    call_id = session.scalar(select(Call.id).where(Call.sid == sid))
    if call_id is None:
        return  # not one of ours (or long purged): nothing to record
    call = lock(session, Call, call_id)
    call.twilio_status = status
    if status in FINAL:
        call_over(session, line, call, status, duration)


def call_over(session: Session, line: Line, call: Call, status: str,
              duration: int | None) -> None:
    """A call ended: outcome (answered / abandoned with wait / ...), rings and peer freed."""
    if call.ended_at is not None:
        return
    now = line.now()
    call.ended_at, call.twilio_status, call.duration_s = now, status, duration
    stage = call.stage
    call.stage = CallStage.ENDED
    if call.role == CallRole.VOLUNTEER:
        call.outcome = CallOutcome.IVR
        ivr.ivr_call_over(session, line, call)
        return
    if call.answered_at is not None:
        call.outcome = CallOutcome.ANSWERED
    else:
        call.outcome = {CallStage.QUEUED: CallOutcome.ABANDONED}.get(stage, stage)
        if stage == CallStage.QUEUED and call.queued_at is not None:
            call.wait_s = elapsed(line, call.queued_at)
    cancel_rings(session, line, call)
    if stage == CallStage.BRIDGING:  # the peer is alone in the conference: tell them
        for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                       Ring.status == RingStatus.ACCEPTED)):
            tasks.add(session, TaskKind.VOICE_TELL_PEER, ring.id, now,
                      dedupe_key=f"voice_tell_peer:{ring.id}")
    release(session, line, call.volunteer_id)
    cooldown.after_call(session, line, call)
    conversation = call.conversation
    if conversation is not None and conversation.status != ConversationStatus.CLOSED:
        conversation.status, conversation.closed_at = ConversationStatus.CLOSED, now
        conversation.closed_reason = f"call_{call.outcome}"[:40]


def _ring_status(session: Session, line: Line, ring_id: int, sid: str, status: str) -> None:
    ring = session.get(Ring, ring_id)
    if ring is None or (ring.sid and sid and ring.sid != sid):
        return
    call = lock(session, Call, ring.call_id)
    ring = lock(session, Ring, ring_id)
    if ring.sid is None and sid and session.scalar(
            select(Ring.id).where(Ring.sid == sid)) is None:
        ring.sid = sid
    if status not in FINAL:
        if (status in ("initiated", "queued", "ringing")
                and ring.status in (RingStatus.NEW, RingStatus.DIALING)):
            ring.status = RingStatus.RINGING
        return
    now = line.now()
    if ring.status == RingStatus.ACCEPTED:
        if ring.ended_at is None:
            ring.ended_at = now
            _peer_leg_over(session, line, call, ring)
        return
    if ring.status in LIVE_RINGS:
        ring.status = RingStatus.DECLINED if status == "completed" else status
        ring.ended_at = now
    if call.stage == CallStage.QUEUED and not has_live_rings(session, line, call.id):
        request_rings(session, line, delay_s=RING_GAP_S)


def _peer_leg_over(session: Session, line: Line, call: Call, ring: Ring) -> None:
    """The peer hung up: free them; a caller still on the line is never left in silence."""
    release(session, line, ring.volunteer_id)
    if call.ended_at is not None:
        return
    if call.stage == CallStage.BRIDGING:  # before the caller joined: back to the head of the line
        call.stage = CallStage.QUEUED
        call.volunteer_id = call.answered_at = call.wait_s = None
        if call.conversation is not None:
            call.conversation.volunteer_id = None
        request_rings(session, line)
    elif call.stage == CallStage.BRIDGED and call.transfer_status != TransferStatus.JOINED:
        call.stage = CallStage.AFTER
        tasks.add(session, TaskKind.VOICE_PEER_LEFT, call.id, line.now(),
                  dedupe_key=f"voice_peer_left:{call.id}")


def hotline_status(session: Session, line: Line, call_id: int, sid: str, status: str) -> None:
    """A hotline leg's status: a failed warm transfer is told to the peer."""
    call = lock(session, Call, call_id)
    if call is None or (call.hotline_sid and call.hotline_sid != sid):
        return
    if status in FINAL and call.transfer_status in (TransferStatus.REQUESTED,
                                                   TransferStatus.DIALING):
        call.transfer_status = TransferStatus.FAILED
        for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                       Ring.status == RingStatus.ACCEPTED)):
            tasks.add(session, TaskKind.VOICE_TELL_PEER, ring.id, line.now(),
                      dedupe_key=f"voice_tell_peer:{ring.id}")
