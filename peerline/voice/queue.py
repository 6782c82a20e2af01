"""The voice queue: waiting for a peer, hold cycles with the caller's position, and leaving.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, CallRole, CallStage
from peerline.peer import choice
from peerline.people import roster
from peerline.text import conversations
from peerline.voice import scripts
from peerline.voice.common import DEADLINE_GRACE_S, HOLD_SLICE_S, elapsed, get_call, menu_word
from peerline.voice.hotline import heard_crisis, offer_hotline, to_hotline
from peerline.voice.prompts import spoken
from peerline.voice.rings import has_live_rings, request_rings
from peerline.voice.stage import join, resume
from peerline.voice.status_callbacks import call_over
from peerline.voice.voicemail import to_voicemail


def wait(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """Put the caller in the waiting line (after the hotline was not reached, say)."""
    call = get_call(session, call_id, sid)
    return enqueue(session, line, call)


def enqueue(session: Session, line: Line, call: Call, intro: bool = True) -> str:
    """Wait for a peer: volunteers are rung; nobody on shift or waited out → voicemail."""
    if call.stage not in (CallStage.MENU, CallStage.CRISIS, CallStage.HOTLINE, CallStage.QUEUED):
        return resume(session, line, call)
    if roster.on_shift_count(session, call.lang) == 0:
        if call.conversation is not None:
            conversations.alert_nobody_on_shift(session, line, call.conversation)
        return to_voicemail(session, line, call, nobody_on_shift=True)
    now = line.now()
    call.stage, call.leave_reason = CallStage.QUEUED, None
    if call.queued_at is None:
        call.queued_at = now
        if call.conversation is not None:
            call.conversation.queued_at = now
    max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
    waited = elapsed(line, call.queued_at)
    if waited >= max_wait:
        return to_voicemail(session, line, call)
    request_rings(session, line)
    tasks.add(session, TaskKind.VOICE_DEADLINE, call.id, now,
              delay_s=max_wait - waited + DEADLINE_GRACE_S, dedupe_key=f"voice_deadline:{call.id}")
    return scripts.enqueue(call.id, call.lang, intro=intro)


def position(session: Session, call: Call) -> int:
    """The caller's place among waiting callers of their language (crisis first)."""
    ahead = session.scalar(select(func.count()).select_from(Call).where(
        Call.role == CallRole.SURVIVOR, Call.stage == CallStage.QUEUED, Call.lang == call.lang,
        Call.id != call.id,
        or_(Call.priority > call.priority,
            and_(Call.priority == call.priority,
                 or_(Call.queued_at < call.queued_at,
                     and_(Call.queued_at == call.queued_at, Call.id < call.id)))))) or 0
    return ahead + 1


def hold(session: Session, line: Line, *, call_id: int, sid: str, queue_time: int) -> str:
    """One hold cycle (``waitUrl``): position and hotline option; leave at the max wait."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.QUEUED:
        return scripts.leave()  # taken by a peer, or moved on: the queue action decides
    max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
    remaining = max_wait - max(queue_time, elapsed(line, call.queued_at))
    if remaining <= 0:
        call.leave_reason = "voicemail"
        return scripts.leave()
    if not has_live_rings(session, line, call.id):
        request_rings(session, line)  # a backstop beside the ring rounds' own retries
    return scripts.hold(call.id, call.lang, position(session, call),
                        listen_s=int(min(HOLD_SLICE_S, remaining)),
                        peer_options=_peer_question(session, line, call))


def _askable(call: Call) -> bool:
    """A call the "what kind of peer" question may be asked or answered on: a known
    number (kept by its keyed hash), no crisis heard."""
    return not call.withheld and call.priority == 0 and call.conversation is not None


def _peer_question(session: Session, line: Line, call: Call) -> list[str] | None:
    """The question's options on this hold cycle (once per caller, ever), else None."""
    if not _askable(call):
        return None
    conversation = call.conversation
    assert conversation is not None
    return choice.call_question(session, line, conversation.survivor, conversation, call.lang)


def hold_input(session: Session, line: Line, *, call_id: int, sid: str, digits: str,
               speech: str) -> str:
    """A key or words while on hold: crisis → hotline offer; 9/"hotline" → hotline."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.QUEUED:
        return scripts.leave()
    if heard_crisis(session, line, call, speech):
        call.leave_reason = "crisis"
        return scripts.leave()
    if menu_word(digits, speech) == "hotline":
        call.leave_reason = "hotline"
        return scripts.leave()
    key = digits.strip()[:1]
    if key and _askable(call):
        conversation = call.conversation
        assert conversation is not None
        name = choice.call_answer(session, line, conversation.survivor, conversation, key,
                                  call.lang)
        if name is not None:
            said = (spoken("hold_peer_chosen", call.lang, tag=name) if name
                    else spoken("hold_peer_skipped", call.lang))
            return scripts.back_to_hold(call.id, call.lang, said)
    return scripts.back_to_hold(call.id)


def left_queue(session: Session, line: Line, *, call_id: int, sid: str, result: str) -> str:
    """The ``<Enqueue>`` action: the caller left the queue; why decides what's next."""
    call = get_call(session, call_id, sid)
    result = result.lower()
    if result == "hangup":
        call_over(session, line, call, "completed", None)
        return scripts.empty()
    if call.stage in (CallStage.BRIDGING, CallStage.BRIDGED):
        return join(session, line, call)
    if call.stage != CallStage.QUEUED:
        return resume(session, line, call)
    reason, call.leave_reason = call.leave_reason, None
    if reason == "hotline":
        return to_hotline(session, line, call)
    if reason == "crisis":
        return offer_hotline(session, line, call)
    return to_voicemail(session, line, call)
