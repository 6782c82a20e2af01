"""The bridge: caller and peer in one conference, the peer's keypad options, and what
follows when one of them leaves.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, CallStage, Ring, RingStatus, TransferStatus, Volunteer
from peerline.text import pairing
from peerline.voice import scripts
from peerline.voice.common import UnknownCall, get_call, lock
from peerline.voice.hotline import to_hotline, warm_transfer
from peerline.voice.rings import request_rings
from peerline.voice.stage import join, resume


def caller_join(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/join``: the caller, out of the queue, joins the peer's conference."""
    return join(session, line, get_call(session, call_id, sid))


def caller_conference_over(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The caller's conference ended (the hotline hung up after a hand-over, say)."""
    call = get_call(session, call_id, sid)
    if call.stage not in (CallStage.BRIDGED, CallStage.AFTER):
        return resume(session, line, call)
    call.stage = CallStage.AFTER
    if call.transfer_status == TransferStatus.JOINED:
        return scripts.goodbye(call.lang, "hotline_done")
    return scripts.after_call(call.id, call.lang)


def after(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/after``: the peer has gone; thanks, the hotline by 9, goodbye."""
    call = get_call(session, call_id, sid)
    if call.stage in (CallStage.BRIDGED, CallStage.AFTER):
        call.stage = CallStage.AFTER
        return scripts.after_call(call.id, call.lang)
    return resume(session, line, call)


def after_choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """A key after the peer left: 9 is the hotline, anything else goodbye."""
    call = get_call(session, call_id, sid)
    if digits.strip()[:1] == "9" and call.stage == CallStage.AFTER:
        return to_hotline(session, line, call)
    return scripts.goodbye(call.lang, "goodbye")


def _peer_leg(session: Session, call_id: int, sid: str) -> tuple[Call, Ring]:
    # Only the leg the line itself placed to a rostered phone, and which accepted this
    # call, may act in it (the * menu, a warm transfer): never a call *to* the line,
    # whose caller ID may be faked. So these legs need no PIN (README, Decisions).
    call = lock(session, Call, call_id)
    ring = session.scalar(select(Ring).where(
        Ring.call_id == call_id, Ring.status == RingStatus.ACCEPTED, Ring.sid == sid,
    )) if call else None
    if call is None or ring is None:
        raise UnknownCall(f"call {call_id}")
    return call, ring


def peer_star(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The peer left the conference with ``*`` (or it ended): the options menu."""
    call, _ = _peer_leg(session, call_id, sid)
    if call.ended_at is not None or call.stage not in (CallStage.BRIDGING, CallStage.BRIDGED):
        return scripts.volunteer_told("caller_gone")
    return scripts.star_menu(call.id)


def peer_option(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """The peer's option: 9 warm transfer to the hotline, 8 end, else back to the caller."""
    call, ring = _peer_leg(session, call_id, sid)
    if call.ended_at is not None or call.stage not in (CallStage.BRIDGING, CallStage.BRIDGED):
        return scripts.volunteer_told("caller_gone")
    key = digits.strip()[:1]
    if key == "9":
        warm_transfer(session, line, call)
        return scripts.volunteer_conference(call.id, intro="transfer")
    if key == "8":
        call.stage = CallStage.AFTER
        tasks.add(session, TaskKind.VOICE_PEER_LEFT, call.id, line.now(),
                  dedupe_key=f"voice_peer_left:{call.id}")
        release(session, line, ring.volunteer_id)
        return scripts.volunteer_told("ended")
    return scripts.volunteer_conference(call.id, intro="back")


def release(session: Session, line: Line, volunteer_id: int | None) -> None:
    """A volunteer's call ended: free for text offers and rings again."""
    if volunteer_id is None:
        return
    volunteer = lock(session, Volunteer, volunteer_id)
    if volunteer is None or not volunteer.on_call:
        return
    volunteer.on_call, volunteer.last_freed_at = False, line.now()
    pairing.request_pairing(session, line)
    request_rings(session, line)
