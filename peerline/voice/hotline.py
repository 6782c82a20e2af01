"""Crisis on a call: the detector on what the caller says, the hotline offer, dialling it,
and the warm transfer from a live call.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, CallStage, EscalationSource, TransferStatus
from peerline.text import escalation
from peerline.voice import scripts
from peerline.voice.common import UnknownCall, caller_id, lock
from peerline.voice.rings import cancel_rings


def heard_crisis(session: Session, line: Line, call: Call, speech: str) -> bool:
    """Run the crisis detector on what the caller said; escalate (once a call) on a match."""
    text = (speech or "").strip()[:1000]
    if not text:
        return False
    detection = escalation.scan(text, call.lang, settings=line.settings)
    if not detection.crisis:
        return False
    first = detection.matches[0] if detection.matches else None
    escalate(session, line, call, detection.category, first.text if first else None)
    return True


def escalate(session: Session, line: Line, call: Call, category: str | None,
             matched: str | None) -> None:
    """Crisis on a call: front of the voice queue, an Escalation record, on-call alerted."""
    first = call.priority == 0
    call.priority = 1
    if first and call.conversation is not None:
        escalation.escalate(session, line, call.conversation, source=EscalationSource.VOICE,
                            category=category, matched=matched)


def offer_hotline(session: Session, line: Line, call: Call) -> str:
    """Crisis heard: offer the hotline at once (silence connects)."""
    call.stage = CallStage.CRISIS
    cancel_rings(session, line, call)
    return scripts.crisis_offer(call.id, call.lang)


def to_hotline(session: Session, line: Line, call: Call) -> str:
    """Connect the caller to the crisis hotline."""
    call.stage = CallStage.HOTLINE
    cancel_rings(session, line, call)
    return scripts.hotline(call.id, call.lang, line.setting("PEERLINE_HOTLINE_VOICE"),
                           caller_id(line, call))


def warm_transfer(session: Session, line: Line, call: Call) -> bool:
    """Dial the hotline into the call's conference (the peer stays until hand-over)."""
    if call.transfer_status in (TransferStatus.REQUESTED, TransferStatus.DIALING,
                                TransferStatus.JOINED):
        return False
    call.transfer_status = TransferStatus.REQUESTED
    tasks.add(session, TaskKind.VOICE_HOTLINE, call.id, line.now(),
              dedupe_key=f"voice_hotline:{call.id}")
    return True


def hotline_leg(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The hotline answered the warm transfer: into the conference, unless the caller left."""
    call = lock(session, Call, call_id)
    if call is None or (call.hotline_sid and call.hotline_sid != sid):
        raise UnknownCall(f"call {call_id}")
    if call.ended_at is not None or call.stage not in (CallStage.BRIDGING, CallStage.BRIDGED):
        return scripts.volunteer_told("hotline_gone")
    call.transfer_status, call.hotline_sid = TransferStatus.JOINED, sid
    return scripts.hotline_leg(call.id)
