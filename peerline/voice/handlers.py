"""The voice line's task handlers: the only voice code that talks to the Gateway (ringing
volunteers, moving a caller, hanging up rings, dialling the hotline). They take ids,
never numbers.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, CallStage, Ring, RingStatus, TransferStatus, Volunteer
from peerline.people.caps import reachable
from peerline.telephony.gateway import GatewayError
from peerline.voice import callbacks, scripts
from peerline.voice.common import (
    DEADLINE_GRACE_S,
    RING_GAP_S,
    RING_TIMEOUT_S,
    caller_id,
    elapsed,
    lock,
    url,
)
from peerline.voice.rings import request_rings, ring_round
from peerline.voice.status_callbacks import hotline_status
from peerline.voice.voicemail import to_voicemail

log = logging.getLogger(__name__)




def ring_task(sessions: sessionmaker[Session], line: Line, _ref: int | None) -> None:
    """Worker entry: one ring round."""
    with sessions.begin() as session:
        ring_round(session, line)




def dial_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Place one ring's call to a volunteer (at most once: a lost ring is re-rung later).

    The volunteer's row is locked and read again first: one who went on a voice call,
    off shift or opted out (``STOP``) since the ring round is not dialled, and the caller
    gets another round."""
    with sessions.begin() as session:
        ring = lock(session, Ring, ring_id)
        if ring is None or ring.status != RingStatus.NEW:
            return
        if ring.call.stage != CallStage.QUEUED:
            ring.status, ring.ended_at = RingStatus.CANCELED, line.now()
            return
        volunteer = lock(session, Volunteer, ring.volunteer_id)
        if volunteer is None or not reachable(volunteer):
            ring.status, ring.ended_at = RingStatus.CANCELED, line.now()
            request_rings(session, line)
            return
        ring.status = RingStatus.DIALING
        to = line.vault.decrypt(volunteer.phone_enc)
        from_number = ring.line_number
    try:
        sid = line.gateway.create_call(
            to, from_number, url(line, f"/voice/ring?ring={ring_id}"),
            status_callback=url(line, f"/voice/status?ring={ring_id}"), timeout=RING_TIMEOUT_S)
    except GatewayError as exc:
        log.warning("ring %s could not be placed (%s)", ring_id, exc)
        with sessions.begin() as session:
            ring = lock(session, Ring, ring_id)
            if ring.status == RingStatus.DIALING:
                ring.status, ring.ended_at = RingStatus.FAILED, line.now()
            request_rings(session, line, delay_s=RING_GAP_S)
        return
    with sessions.begin() as session:
        ring = lock(session, Ring, ring_id)
        if ring.sid is None:
            ring.sid = sid
        if ring.status == RingStatus.DIALING:
            ring.status = RingStatus.RINGING
        elif ring.status in (RingStatus.TAKEN, RingStatus.CANCELED):
            # decided while we dialled: hang up. The pending hang-up (which saw no sid)
            # may run before this commit, so it is asked again after it.
            tasks.add(session, TaskKind.VOICE_HANGUP, ring.id, line.now(),
                      dedupe_key=f"voice_hangup:{ring.id}", again_after_commit=True)




def hangup_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Hang up a ring nobody needs any more; one already listening is told why first."""
    with sessions() as session:
        ring = session.get(Ring, ring_id)
        if ring is None or ring.sid is None:
            return  # not placed yet: the dialling task hangs it up itself
        sid, status, answered = ring.sid, ring.status, ring.answered_at is not None
    try:
        if answered and status in (RingStatus.TAKEN, RingStatus.CANCELED):
            key = "taken" if status == RingStatus.TAKEN else "gone"
            line.gateway.update_call(sid, twiml=scripts.volunteer_told(key))
        else:
            line.gateway.update_call(sid, status="completed")
    except GatewayError as exc:
        if exc.permanent:
            return  # the call had already ended
        raise tasks.Retry(2.0, str(exc)) from None


def _redirect_at_stage(sessions: sessionmaker[Session], line: Line, call_id: int | None,
                      stage: str, path: str) -> None:
    """Redirect a live call to ``path`` if it is still at ``stage``."""
    with sessions() as session:
        call = session.get(Call, call_id)
        if call is None or call.stage != stage or call.ended_at is not None:
            return
        sid = call.sid
    _redirect(line, sid, f"{path}?call={call_id}")




def bridge_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Move the caller out of the queue into the peer's conference."""
    _redirect_at_stage(sessions, line, call_id, CallStage.BRIDGING, "/voice/join")




def peer_left_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """The peer left: move the caller from the conference to a kind last word."""
    _redirect_at_stage(sessions, line, call_id, CallStage.AFTER, "/voice/after")




def deadline_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Backstop for the max wait: a caller still queued is moved to voicemail by REST."""
    with sessions.begin() as session:
        call = lock(session, Call, call_id)
        if call is None or call.ended_at is not None:
            return
        if call.stage == CallStage.QUEUED:
            waited = elapsed(line, call.queued_at)
            max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
            if waited < max_wait:
                raise tasks.Retry(max_wait - waited + DEADLINE_GRACE_S, "not yet")
            to_voicemail(session, line, call)
            call.leave_reason = "deadline"
        if call.stage != CallStage.VOICEMAIL or call.leave_reason != "deadline":
            return
        sid = call.sid
    _redirect(line, sid, f"/voice/voicemail?call={call_id}")
    with sessions.begin() as session:
        call = lock(session, Call, call_id)
        call.leave_reason = None




def hotline_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Warm transfer: dial the hotline into the call's conference (at most once)."""
    with sessions.begin() as session:
        call = lock(session, Call, call_id)
        if (call is None or call.transfer_status != TransferStatus.REQUESTED
                or call.ended_at is not None):
            return
        call.transfer_status = TransferStatus.DIALING
        from_number = caller_id(line, call)
    try:
        sid = line.gateway.create_call(
            line.setting("PEERLINE_HOTLINE_VOICE"), from_number,
            url(line, f"/voice/hotline/leg?call={call_id}"),
            status_callback=url(line, f"/voice/status?hotline={call_id}"), timeout=60)
    except GatewayError as exc:
        log.warning("warm transfer for call %s failed (%s)", call_id, exc)
        with sessions.begin() as session:
            call = lock(session, Call, call_id)
            hotline_status(session, line, call.id, call.hotline_sid or "", "failed")
        return
    with sessions.begin() as session:
        call = lock(session, Call, call_id)
        call.hotline_sid = call.hotline_sid or sid




def tell_peer_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Tell a peer in a call what changed: the caller left, or the hotline didn't answer."""
    with sessions() as session:
        ring = session.get(Ring, ring_id)
        if ring is None or ring.sid is None or ring.ended_at is not None:
            return
        call = ring.call
        if call.ended_at is not None:
            twiml = scripts.volunteer_told("caller_gone")
        elif call.transfer_status == TransferStatus.FAILED:
            twiml = scripts.volunteer_conference(call.id, intro="hotline_no_answer")
        else:
            return
        sid = ring.sid
    try:
        line.gateway.update_call(sid, twiml=twiml)
    except GatewayError as exc:
        if not exc.permanent:
            raise tasks.Retry(2.0, str(exc)) from None




def callback_task(sessions: sessionmaker[Session], line: Line, voicemail_id: int | None) -> None:
    """Ring the peer who will return a voicemail (they then dial the caller, masked)."""
    callbacks.place_callback(sessions, line, voicemail_id)


def _redirect(line: Line, sid: str, path: str) -> None:
    try:
        line.gateway.update_call(sid, url=url(line, path))
    except GatewayError as exc:
        if exc.permanent:
            return  # the call ended meanwhile; its status callback tidies up
        raise tasks.Retry(1.0, str(exc)) from None
