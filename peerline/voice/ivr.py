"""A volunteer's call from their rostered phone: PIN, shift, status, and (4) a voicemail.

Caller ID can be faked, so a call that shows a volunteer's number gets only what cannot
reach a survivor until the volunteer keys their PIN on that very call
(:mod:`peerline.voice.volunteer_pin`): going on or off shift and hearing the line's status
(counts, never words). Playing a voicemail and calling a survivor back
(:mod:`peerline.voice.callbacks`) need the PIN on the call that asks. A volunteer with a
PIN on file is asked for it first; one without is told to ask a coordinator for one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.groups import conference as group_conference
from peerline.groups import lead as group_lead
from peerline.line import Line
from peerline.models import (
    Call,
    CallRole,
    CallStage,
    Conversation,
    ConversationStatus,
    Voicemail,
    VoicemailStatus,
    Volunteer,
)
from peerline.people import pins, roster
from peerline.text import conversations, pairing
from peerline.voice import bridge, callbacks, common, rings, scripts
from peerline.voice.prompts import to_volunteer
from peerline.voice.volunteer_pin import key_pin, lock_volunteer, pin_verified

log = logging.getLogger(__name__)


def _ivr_pin_action(call_id: int) -> str:
    return f"/voice/volunteer/pin?call={call_id}"


def start(session: Session, line: Line, *, sid: str, volunteer: Volunteer, number: str,
          line_number: str) -> str:
    """A rostered volunteer called: locked out, the PIN prompt, or (no PIN) the menu."""
    locked = pins.locked(line, volunteer)
    stage = (CallStage.LOCKED if locked
             else CallStage.PIN if volunteer.pin_hash else CallStage.IVR)
    call = Call(sid=sid, role=CallRole.VOLUNTEER, stage=stage,
                from_enc=line.vault.encrypt(number), from_hash=line.vault.hash(number),
                withheld=False, line_number=line_number, lang="en", priority=0, tries=0,
                volunteer_id=volunteer.id, created_at=line.now())
    session.add(call)
    session.flush()
    if locked:
        return scripts.volunteer_told("voice_locked")
    if stage == CallStage.PIN:
        return scripts.pin(_ivr_pin_action(call.id))
    return menu(session, line, call)


def _counts(session: Session, volunteer: Volunteer) -> tuple[int, int, int]:
    callers = session.scalar(select(func.count()).select_from(Call).where(
        Call.role == CallRole.SURVIVOR, Call.stage == CallStage.QUEUED)) or 0
    texters = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status == ConversationStatus.WAITING)) or 0
    voicemails = len(callbacks.open_voicemails(session, volunteer.language_list))
    return callers, texters, voicemails


def menu(session: Session, line: Line, call: Call, intro: Sequence[str] = (),
         short: bool = False) -> str:
    """The IVR menu (with the line's status the first time); 4 only after the PIN."""
    if call.stage == CallStage.PIN:
        return scripts.pin(_ivr_pin_action(call.id))
    volunteer = call.volunteer
    if volunteer is None or call.stage != CallStage.IVR:
        return scripts.volunteer_told("goodbye")
    if pins.locked(line, volunteer):  # locked by wrong PINs on another call meanwhile
        call.stage = CallStage.LOCKED
        return scripts.volunteer_told("voice_locked")
    callers, texters, voicemails = _counts(session, volunteer)
    trusted = pin_verified(line, call, volunteer)
    option = to_volunteer("ivr_voicemail", n=voicemails) if voicemails and trusted else ""
    option += group_lead.ivr_option(session, line, call, volunteer)
    if short:
        text = to_volunteer("ivr_short", voicemail=option)
    else:
        text = to_volunteer("ivr", shift="on shift" if volunteer.on_shift else "off shift",
                            callers=callers, texters=texters, voicemail=option)
        if not trusted:
            text += " " + to_volunteer("ivr_no_pin", n=voicemails)
    return scripts.ivr_menu(call.id, list(intro), text)


def check_pin(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """The PIN keyed on a volunteer's call: the menu, another try, or goodbye."""
    call = common.get_call(session, call_id, sid, role=CallRole.VOLUNTEER)
    if call.stage != CallStage.PIN:
        return menu(session, line, call)
    refused = key_pin(session, line, call, digits, _ivr_pin_action(call.id), "pin")
    if refused is not None:
        return refused
    call.stage = CallStage.IVR
    return menu(session, line, call)


def choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """1 on shift, 2 off shift, 3 hours and status; 4 return a voicemail (PIN keyed)."""
    call = common.get_call(session, call_id, sid, role=CallRole.VOLUNTEER)
    if call.stage != CallStage.IVR or call.volunteer_id is None:
        return menu(session, line, call)
    volunteer = lock_volunteer(session, call.volunteer_id)
    if volunteer is None or pins.locked(line, volunteer):
        return menu(session, line, call)
    key = digits.strip()[:1]
    said: str
    if key == "1":
        said = to_volunteer("on_again" if volunteer.on_shift else "on")
        roster.go_on_shift(session, line, volunteer)
        rings.request_rings(session, line)
    elif key == "2":
        said = _off_shift(session, line, volunteer)
    elif key == "3":
        callers, texters, voicemails = _counts(session, volunteer)
        said = to_volunteer("status", hours=conversations.hours_text(line, "en"),
                            shift="on shift" if volunteer.on_shift else "off shift",
                            callers=callers, texters=texters, voicemails=voicemails)
    elif key == "4":
        return return_voicemail(session, line, call, volunteer)
    elif key == group_lead.LEAD_KEY:
        led = group_lead.lead(session, line, call, volunteer)
        if led is not None:
            return led
        said = to_volunteer("group_none")
    else:
        return menu(session, line, call)
    return menu(session, line, call, intro=[said], short=True)


def _off_shift(session: Session, line: Line, volunteer: Volunteer) -> str:
    if not volunteer.on_shift:
        return to_volunteer("off_already")
    live, _ = pairing.load(session, volunteer.id)
    roster.go_off_shift(session, line, volunteer)
    if volunteer.on_shift:
        return to_volunteer("off_holding", n=live)
    return to_volunteer("off_handed_over", n=live) if live else to_volunteer("off")


def ivr_call_over(session: Session, line: Line, call: Call) -> None:
    """A volunteer's own call ended: a callback it held and never finished goes back."""
    for voicemail in session.scalars(select(Voicemail).where(
            Voicemail.status == VoicemailStatus.CALLING,
            Voicemail.volunteer_id == call.volunteer_id,
            Voicemail.callback_sid == call.sid)):
        callbacks.put_back(voicemail)
    group_conference.facilitator_gone(session, line, call)
    bridge.release(session, line, call.volunteer_id)


def return_voicemail(session: Session, line: Line, call: Call, volunteer: Volunteer) -> str:
    """IVR 4: with the PIN keyed on this call, the first voicemail waiting; 1 calls back."""
    if not pin_verified(line, call, volunteer):
        log.info("volunteer %s: voicemail refused on a call without the PIN", volunteer.id)
        return menu(session, line, call, intro=[to_volunteer("pin_needed")], short=True)
    voicemail = callbacks.claim_first(session, volunteer, call.sid)
    if voicemail is not None:
        return callbacks.offer(line, voicemail)
    return menu(session, line, call, intro=[to_volunteer("no_voicemail")], short=True)
