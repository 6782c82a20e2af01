"""Where a call is now: the TwiML for its stage (a repeated or out-of-order webhook), and
the caller's way into the peer's conference.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from peerline.groups import scripts as group_scripts
from peerline.line import Line
from peerline.models import Call, CallStage
from peerline.voice import scripts
from peerline.voice.common import caller_id


def resume(session: Session, line: Line, call: Call) -> str:
    """The TwiML for wherever a survivor's call is now (a repeated or out-of-order webhook)."""
    stage = call.stage
    if stage == CallStage.MENU:
        return scripts.menu(call.id)
    if stage == CallStage.CRISIS:
        return scripts.crisis_offer(call.id, call.lang)
    if stage == CallStage.QUEUED:
        return scripts.enqueue(call.id, call.lang, intro=False)
    if stage in (CallStage.BRIDGING, CallStage.BRIDGED):
        return join(session, line, call)
    if stage == CallStage.HOTLINE:
        return scripts.hotline(call.id, call.lang, line.setting("PEERLINE_HOTLINE_VOICE"),
                               caller_id(line, call))
    if stage == CallStage.VOICEMAIL:
        return scripts.voicemail(call.id, call.lang, call.withheld, None)
    if stage == CallStage.AFTER:
        return scripts.after_call(call.id, call.lang)
    if stage == CallStage.GROUP_PIN:
        return group_scripts.pin(call.id, None)
    if stage == CallStage.GROUP_WAIT:
        return group_scripts.seat_wait(call.id, call.lang, first=False)
    return scripts.goodbye(call.lang)


def join(session: Session, line: Line, call: Call) -> str:
    """The caller's way into the peer's conference, by the call's stage."""
    if call.stage == CallStage.BRIDGING:
        call.stage = CallStage.BRIDGED
    if call.stage == CallStage.BRIDGED:
        return scripts.caller_conference(call.id, call.lang)
    if call.stage == CallStage.QUEUED:  # the peer dropped before the caller got there
        return scripts.enqueue(call.id, call.lang, intro=False)
    return resume(session, line, call)
