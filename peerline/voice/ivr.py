"""A volunteer's call from their rostered phone: PIN, shift, status, callbacks.

Caller ID can be faked, so a call that shows a volunteer's number gets only what cannot
reach a survivor until the volunteer keys their PIN on that very call: going on or off
shift and hearing the line's status (counts, never words). Playing a voicemail and
calling a survivor back need :func:`pin_verified` on the call that asks, and a
voicemail's claim is tied to that call's ``CallSid``. A volunteer with a PIN on file is
asked for it first; one without is told to ask a coordinator for one. Wrong PINs count
toward a lock on the volunteer (:mod:`peerline.pins`).

Callbacks: a voicemail is a callback task. A peer returns it either from the IVR (press
4: hear the message, press 1, and the line dials the caller with its own number as
caller ID) or through :func:`start_callback`, which rings the peer first (for a CLI or
the dashboard). That leg is placed by the line to the rostered phone, so caller ID
plays no part, but it too asks the PIN before the voicemail plays: whoever (or whichever
voicemail box) picks up the peer's phone must not hear a survivor's words. The
survivor's number is never said, shown or sent to the peer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import (
    Call,
    CallOutcome,
    CallStage,
    Conversation,
    ConversationStatus,
    Voicemail,
    VoicemailStatus,
    Volunteer,
)
from peerline.people import pins, roster
from peerline.telephony.gateway import GatewayError
from peerline.text import conversations, pairing
from peerline.voice import bridge, common, rings, scripts
from peerline.voice.prompts import LANG_NAMES, to_volunteer

log = logging.getLogger(__name__)

#: Wrong (or empty) PINs on one call before it ends.
PIN_TRIES = 3


def _ivr_pin_action(call_id: int) -> str:
    return f"/voice/volunteer/pin?call={call_id}"


def _callback_pin_action(voicemail_id: int) -> str:
    return f"/voice/callback/pin?vm={voicemail_id}"


def _lock_volunteer(session: Session, volunteer_id: int | None) -> Volunteer | None:
    if volunteer_id is None:
        return None
    return session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                          .with_for_update().execution_options(populate_existing=True))


def start(session: Session, line: Line, *, sid: str, volunteer: Volunteer, number: str,
          line_number: str) -> str:
    """A rostered volunteer called: locked out, the PIN prompt, or (no PIN) the menu."""
    locked = pins.locked(line, volunteer)
    stage = (CallStage.LOCKED if locked
             else CallStage.PIN if volunteer.pin_hash else CallStage.IVR)
    call = Call(sid=sid, role="volunteer", stage=stage,
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


def pin_verified(line: Line, call: Call, volunteer: Volunteer | None) -> bool:
    """True when the right PIN was keyed on this call and voice access is not locked.

    The one test for anything that reveals a survivor's words or reaches a survivor.
    """
    return (call.pin_verified_at is not None and volunteer is not None
            and call.volunteer_id == volunteer.id and bool(volunteer.pin_hash)
            and volunteer.active and not pins.locked(line, volunteer))


def _key_pin(session: Session, line: Line, call: Call, digits: str, action: str,
             prompt: str) -> str | None:
    """Check the PIN keyed on ``call``: None when right, else what to answer."""
    volunteer = _lock_volunteer(session, call.volunteer_id)
    if volunteer is None or not volunteer.active:
        call.stage = CallStage.PIN_FAILED
        return scripts.volunteer_told("goodbye")
    keyed = digits.strip()
    outcome = pins.verify(session, line, volunteer, keyed) if keyed else None
    if outcome is pins.Outcome.OK:
        call.pin_verified_at = line.now()
        return None
    if outcome is pins.Outcome.LOCKED:
        call.stage = CallStage.LOCKED
        return scripts.volunteer_told("voice_locked")
    call.tries += 1  # a wrong PIN, or nothing keyed
    if call.tries >= PIN_TRIES:
        call.stage = CallStage.PIN_FAILED
        log.warning("volunteer %s: call ended after %s PIN tries", volunteer.id, call.tries)
        return scripts.volunteer_told("pin_failed")
    return scripts.pin(action, prompt, wrong=outcome is not None)


def _counts(session: Session, volunteer: Volunteer) -> tuple[int, int, int]:
    callers = session.scalar(select(func.count()).select_from(Call).where(
        Call.role == "survivor", Call.stage == CallStage.QUEUED)) or 0
    texters = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status == ConversationStatus.WAITING)) or 0
    voicemails = len(open_voicemails(session, volunteer.language_list))
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
    call = common.get_call(session, call_id, sid, role="volunteer")
    if call.stage != CallStage.PIN:
        return menu(session, line, call)
    refused = _key_pin(session, line, call, digits, _ivr_pin_action(call.id), "pin")
    if refused is not None:
        return refused
    call.stage = CallStage.IVR
    return menu(session, line, call)


def choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """1 on shift, 2 off shift, 3 hours and status; 4 return a voicemail (PIN keyed)."""
    call = common.get_call(session, call_id, sid, role="volunteer")
    if call.stage != CallStage.IVR or call.volunteer_id is None:
        return menu(session, line, call)
    volunteer = _lock_volunteer(session, call.volunteer_id)
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
        _put_back(voicemail)
    bridge.release(session, line, call.volunteer_id)


# --- callbacks -------------------------------------------------------------------------

def open_voicemails(session: Session, langs: Sequence[str]) -> list[Voicemail]:
    """Voicemails waiting for a callback in these languages, crisis first, oldest first."""
    return list(session.scalars(select(Voicemail).where(
        Voicemail.status == VoicemailStatus.NEW, Voicemail.lang.in_(list(langs)))
        .order_by(Voicemail.priority.desc(), Voicemail.created_at, Voicemail.id)))


def _claim(session: Session, voicemail_id: int, volunteer_id: int,
           sid: str | None = None) -> bool:
    """Compare-and-set: the voicemail is this volunteer's (and this call's, given ``sid``)."""
    taken = session.execute(update(Voicemail).where(
        Voicemail.id == voicemail_id, Voicemail.status == VoicemailStatus.NEW)
        .values(status=VoicemailStatus.CALLING, volunteer_id=volunteer_id, callback_sid=sid,
                attempts=Voicemail.attempts + 1))
    return taken.rowcount == 1


def _put_back(voicemail: Voicemail) -> None:
    voicemail.status, voicemail.volunteer_id, voicemail.callback_sid = "new", None, None


def return_voicemail(session: Session, line: Line, call: Call, volunteer: Volunteer) -> str:
    """IVR 4: with the PIN keyed on this call, the first voicemail waiting; 1 calls back."""
    if not pin_verified(line, call, volunteer):
        log.info("volunteer %s: voicemail refused on a call without the PIN", volunteer.id)
        return menu(session, line, call, intro=[to_volunteer("pin_needed")], short=True)
    for voicemail in open_voicemails(session, volunteer.language_list):
        if _claim(session, voicemail.id, volunteer.id, sid=call.sid):
            session.refresh(voicemail)
            return _offer(line, voicemail)
    return menu(session, line, call, intro=[to_volunteer("no_voicemail")], short=True)


def _offer(line: Line, voicemail: Voicemail) -> str:
    minutes = int((line.now() - voicemail.created_at).total_seconds() // 60)
    intro = to_volunteer("callback_intro", crisis=", crisis" if voicemail.priority else "",
                         lang=LANG_NAMES.get(voicemail.lang, voicemail.lang), minutes=minutes)
    return scripts.callback_offer(voicemail.id, intro, voicemail.recording_url)


def callback_refusal(session: Session, line: Line, voicemail_id: int,
                     volunteer_id: int) -> str | None:
    """Why ``volunteer_id`` cannot be rung to return ``voicemail_id`` now; None if they can."""
    volunteer = session.get(Volunteer, volunteer_id)
    voicemail = session.get(Voicemail, voicemail_id)
    if voicemail is None or voicemail.status != VoicemailStatus.NEW:
        return f"voicemail #{voicemail_id} is not waiting for a callback"
    if volunteer is None or not volunteer.active:
        return f"no active volunteer #{volunteer_id}"
    if not volunteer.pin_hash:
        return (f"volunteer #{volunteer_id} has no PIN; a voicemail plays only after the "
                "PIN is keyed (set one with: roster set-pin --phone ...)")
    if pins.locked(line, volunteer):
        return f"volunteer #{volunteer_id}'s voice access is locked after wrong PINs"
    if volunteer.on_call:
        return f"volunteer #{volunteer_id} is on a call"
    return None


def start_callback(session: Session, line: Line, voicemail_id: int, volunteer_id: int) -> bool:
    """Ring ``volunteer_id`` to return voicemail ``voicemail_id``; False if not possible.

    The ring goes to the rostered phone; the PIN is asked before the voicemail plays.
    """
    if callback_refusal(session, line, voicemail_id, volunteer_id) is not None:
        return False
    if not _claim(session, voicemail_id, volunteer_id):
        return False
    tasks.add(session, TaskKind.VOICE_CALLBACK, voicemail_id, line.now(),
              dedupe_key=f"voice_callback:{voicemail_id}")
    return True


def place_callback(sessions: sessionmaker[Session], line: Line, voicemail_id: int | None) -> None:
    """Task body: place the call to the peer (from the line number the caller called)."""
    with sessions.begin() as session:
        voicemail = session.get(Voicemail, voicemail_id)
        if (voicemail is None or voicemail.status != VoicemailStatus.CALLING
                or voicemail.callback_sid):
            return
        volunteer = voicemail.volunteer
        if volunteer is None:
            _put_back(voicemail)
            return
        to = line.vault.decrypt(volunteer.phone_enc)
        from_number = common.caller_id(line, voicemail.call)
        voicemail.callback_sid = "pending"  # at most one call to the peer per claim
    try:
        sid = line.gateway.create_call(
            to, from_number, common.url(line, f"/voice/callback?vm={voicemail_id}"),
            status_callback=common.url(line, f"/voice/status?vm={voicemail_id}"), timeout=30)
    except GatewayError as exc:
        log.warning("callback %s could not be placed (%s)", voicemail_id, exc)
        with sessions.begin() as session:
            voicemail = session.get(Voicemail, voicemail_id)
            if voicemail is not None and voicemail.status == VoicemailStatus.CALLING:
                _put_back(voicemail)
        return
    with sessions.begin() as session:
        voicemail = session.get(Voicemail, voicemail_id)
        if voicemail is not None and voicemail.callback_sid == "pending":
            voicemail.callback_sid = sid


def _voicemail_for(session: Session, voicemail_id: int) -> Voicemail:
    voicemail = session.scalar(select(Voicemail).where(Voicemail.id == voicemail_id)
                               .with_for_update())
    if voicemail is None:
        raise common.UnknownCall(f"voicemail {voicemail_id}")
    return voicemail


def _leg(session: Session, sid: str) -> Call | None:
    """The volunteer's call (their IVR call, or a callback leg) with this ``CallSid``."""
    return session.scalar(select(Call).where(Call.sid == sid, Call.role == "volunteer")
                          .with_for_update())


def callback_answered(session: Session, line: Line, *, voicemail_id: int, sid: str) -> str:
    """The peer picked up the callback ring: their PIN, then the message; 1 calls back."""
    voicemail = _voicemail_for(session, voicemail_id)
    if (voicemail.status != VoicemailStatus.CALLING
            or voicemail.callback_sid not in (None, "pending", sid)):
        return scripts.volunteer_told("callback_later")
    voicemail.callback_sid = sid
    leg = _leg(session, sid)
    if leg is None:
        leg = Call(sid=sid, role="volunteer", stage=CallStage.CB_PIN, withheld=False,
                   line_number=common.caller_id(line, voicemail.call), lang="en", priority=0,
                   tries=0, volunteer_id=voicemail.volunteer_id, created_at=line.now())
        session.add(leg)
        session.flush()
    volunteer = leg.volunteer
    if leg.stage == CallStage.CALLBACK and pin_verified(line, leg, volunteer):
        return _offer(line, voicemail)  # Twilio asked again
    if leg.stage != CallStage.CB_PIN or volunteer is None or not volunteer.pin_hash:
        _put_back(voicemail)
        return scripts.volunteer_told("pin_needed_goodbye")
    if pins.locked(line, volunteer):
        leg.stage = CallStage.LOCKED
        _put_back(voicemail)
        return scripts.volunteer_told("voice_locked")
    return scripts.pin(_callback_pin_action(voicemail.id), "pin_callback")


def callback_pin(session: Session, line: Line, *, voicemail_id: int, sid: str,
                 digits: str) -> str:
    """The PIN keyed on a callback leg: the voicemail, another try, or goodbye."""
    voicemail = _voicemail_for(session, voicemail_id)
    leg = _leg(session, sid)
    if voicemail.status != VoicemailStatus.CALLING or voicemail.callback_sid != sid or leg is None:
        return scripts.volunteer_told("callback_later")
    if leg.stage != CallStage.CB_PIN:
        if leg.stage == CallStage.CALLBACK and pin_verified(line, leg, leg.volunteer):
            return _offer(line, voicemail)
        return scripts.volunteer_told("goodbye")
    refused = _key_pin(session, line, leg, digits, _callback_pin_action(voicemail.id),
                       "pin_callback")
    if refused is not None:
        if leg.stage != CallStage.CB_PIN:  # the call ends: the voicemail waits for someone else
            _put_back(voicemail)
        return refused
    leg.stage = CallStage.CALLBACK
    return _offer(line, voicemail)


def callback_pressed(session: Session, line: Line, *, voicemail_id: int, sid: str,
                     digits: str) -> str:
    """1 dials the caller back (the line's number as caller ID); else it waits for later.

    Only the call holding the voicemail, with the PIN keyed on it, can dial.
    """
    voicemail = _voicemail_for(session, voicemail_id)
    if voicemail.status != VoicemailStatus.CALLING or voicemail.volunteer_id is None:
        return scripts.volunteer_told("callback_later")
    if voicemail.callback_sid != sid:
        log.warning("voicemail %s: callback refused to a call that does not hold it",
                    voicemail.id)
        return scripts.volunteer_told("goodbye")
    leg = _leg(session, sid)
    volunteer = _lock_volunteer(session, voicemail.volunteer_id)
    if leg is None or not pin_verified(line, leg, volunteer):
        log.warning("voicemail %s: callback refused without the PIN on the call",
                    voicemail.id)
        _put_back(voicemail)
        return scripts.volunteer_told("pin_needed_goodbye")
    call = voicemail.call
    if digits.strip()[:1] != "1" or call.from_enc is None:
        _put_back(voicemail)
        return scripts.volunteer_told("callback_later")
    volunteer.on_call = True
    return scripts.callback_dial(voicemail.id, line.vault.decrypt(call.from_enc),
                                 common.caller_id(line, call))


def callback_done(session: Session, line: Line, *, voicemail_id: int, sid: str,
                  dial_status: str) -> str:
    """The callback's ``<Dial>`` ended: done if they talked, else back in the list."""
    voicemail = _voicemail_for(session, voicemail_id)
    volunteer_id = voicemail.volunteer_id
    if voicemail.status != VoicemailStatus.CALLING or voicemail.callback_sid != sid:
        return scripts.volunteer_told("goodbye")
    bridge.release(session, line, volunteer_id)
    if dial_status.lower() == "completed":
        voicemail.status, voicemail.done_at = "done", line.now()
        return scripts.volunteer_told("callback_done")
    _put_back(voicemail)
    return scripts.volunteer_told("callback_missed")


def callback_status(session: Session, line: Line, *, voicemail_id: int, sid: str,
                    status: str) -> None:
    """Status of the ring to the peer: if it ended before a callback, it goes back."""
    voicemail = session.scalar(select(Voicemail).where(Voicemail.id == voicemail_id)
                               .with_for_update())
    if voicemail is None or status not in common.FINAL:
        return
    leg = _leg(session, sid)
    if leg is not None and leg.ended_at is None:
        leg.ended_at, leg.twilio_status, leg.stage = line.now(), status, "ended"
        leg.outcome = CallOutcome.CALLBACK
    if voicemail.callback_sid not in (None, "pending", sid):
        return
    if voicemail.status == VoicemailStatus.CALLING:
        bridge.release(session, line, voicemail.volunteer_id)
        _put_back(voicemail)
