"""A volunteer's call from their rostered phone: PIN (if set), shift, status, callbacks.

Callbacks: a voicemail is a callback task. A peer returns it either from the IVR (press
4: hear the message, press 1, and the line dials the caller with its own number as
caller ID) or through :func:`start_callback`, which rings the peer first (for a CLI or
the dashboard). The survivor's number is never said, shown or sent to the peer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash

from .. import conversations, pairing, roster
from ..line import Line
from ..models import Conversation, Volunteer
from ..models_voice import Call, Voicemail
from ..telephony.gateway import GatewayError
from . import calls, scripts
from .prompts import LANG_NAMES, to_volunteer

log = logging.getLogger(__name__)

PIN_TRIES = 3
MAX_PIN_DIGITS = 12


def start(session: Session, line: Line, *, sid: str, volunteer: Volunteer, number: str,
          line_number: str) -> str:
    """A rostered volunteer called: the PIN prompt where one is set, else the menu."""
    call = Call(sid=sid, role="volunteer", stage="pin" if volunteer.pin_hash else "ivr",
                from_enc=line.vault.encrypt(number), from_hash=line.vault.hash(number),
                withheld=False, line_number=line_number, lang="en", priority=0, tries=0,
                volunteer_id=volunteer.id, created_at=line.now())
    session.add(call)
    session.flush()
    if volunteer.pin_hash:
        return scripts.pin(call.id)
    return menu(session, line, call)


def _counts(session: Session, volunteer: Volunteer) -> tuple[int, int, int]:
    callers = session.scalar(select(func.count()).select_from(Call).where(
        Call.role == "survivor", Call.stage == "queued")) or 0
    texters = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status == "waiting")) or 0
    voicemails = len(open_voicemails(session, volunteer.language_list))
    return callers, texters, voicemails


def menu(session: Session, line: Line, call: Call, intro: Sequence[str] = (),
         short: bool = False) -> str:
    """The IVR menu (with the line's status the first time)."""
    if call.stage == "pin":
        return scripts.pin(call.id)
    volunteer = call.volunteer
    if volunteer is None or call.stage != "ivr":
        return scripts.volunteer_told("goodbye")
    callers, texters, voicemails = _counts(session, volunteer)
    option = to_volunteer("ivr_voicemail", n=voicemails) if voicemails else ""
    if short:
        text = to_volunteer("ivr_short", voicemail=option)
    else:
        text = to_volunteer("ivr", shift="on shift" if volunteer.on_shift else "off shift",
                            callers=callers, texters=texters, voicemail=option)
    return scripts.ivr_menu(call.id, list(intro), text)


def check_pin(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """The PIN the volunteer keyed (hashed with werkzeug.security); three tries."""
    call = calls.get_call(session, call_id, sid, role="volunteer")
    if call.stage != "pin":
        return menu(session, line, call)
    volunteer = call.volunteer
    if volunteer is None or not volunteer.active:
        return scripts.volunteer_told("goodbye")
    keyed = digits.strip()[:MAX_PIN_DIGITS]
    if keyed and volunteer.pin_hash and check_password_hash(volunteer.pin_hash, keyed):
        call.stage = "ivr"
        return menu(session, line, call)
    call.tries += 1
    if call.tries >= PIN_TRIES:
        call.stage = "locked"
        log.warning("volunteer %s: PIN failed %s times", volunteer.id, call.tries)
        return scripts.volunteer_told("pin_locked")
    return scripts.pin(call.id, wrong=True)


def choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """1 on shift, 2 off shift, 3 hours and status, 4 return a voicemail."""
    call = calls.get_call(session, call_id, sid, role="volunteer")
    if call.stage != "ivr" or call.volunteer_id is None:
        return menu(session, line, call)
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == call.volunteer_id)
                               .with_for_update())
    key = digits.strip()[:1]
    said: str
    if key == "1":
        said = to_volunteer("on_again" if volunteer.on_shift else "on")
        roster.go_on_shift(session, line, volunteer)
        calls.request_rings(session, line)
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
    """A volunteer's own call ended: a callback they held and never placed goes back."""
    for voicemail in session.scalars(select(Voicemail).where(
            Voicemail.status == "calling", Voicemail.volunteer_id == call.volunteer_id,
            Voicemail.callback_sid.is_(None))):
        _put_back(voicemail)
    calls.release(session, line, call.volunteer_id)


# --- callbacks -------------------------------------------------------------------------

def open_voicemails(session: Session, langs: Sequence[str]) -> list[Voicemail]:
    """Voicemails waiting for a callback in these languages, crisis first, oldest first."""
    return list(session.scalars(select(Voicemail).where(
        Voicemail.status == "new", Voicemail.lang.in_(list(langs)))
        .order_by(Voicemail.priority.desc(), Voicemail.created_at, Voicemail.id)))


def _claim(session: Session, voicemail_id: int, volunteer_id: int) -> bool:
    taken = session.execute(update(Voicemail).where(
        Voicemail.id == voicemail_id, Voicemail.status == "new")
        .values(status="calling", volunteer_id=volunteer_id, callback_sid=None,
                attempts=Voicemail.attempts + 1))
    return taken.rowcount == 1


def _put_back(voicemail: Voicemail) -> None:
    voicemail.status, voicemail.volunteer_id, voicemail.callback_sid = "new", None, None


def return_voicemail(session: Session, line: Line, call: Call, volunteer: Volunteer) -> str:
    """IVR 4: take the first voicemail waiting, hear it, press 1 to call back."""
    for voicemail in open_voicemails(session, volunteer.language_list):
        if _claim(session, voicemail.id, volunteer.id):
            session.refresh(voicemail)
            return _offer(line, voicemail)
    return menu(session, line, call, intro=[to_volunteer("no_voicemail")], short=True)


def _offer(line: Line, voicemail: Voicemail) -> str:
    minutes = int((line.now() - voicemail.created_at).total_seconds() // 60)
    intro = to_volunteer("callback_intro", crisis=", crisis" if voicemail.priority else "",
                         lang=LANG_NAMES.get(voicemail.lang, voicemail.lang), minutes=minutes)
    return scripts.callback_offer(voicemail.id, intro, voicemail.recording_url)


def start_callback(session: Session, line: Line, voicemail_id: int, volunteer_id: int) -> bool:
    """Ring ``volunteer_id`` to return voicemail ``voicemail_id``; False if not possible."""
    volunteer = session.get(Volunteer, volunteer_id)
    voicemail = session.get(Voicemail, voicemail_id)
    if volunteer is None or voicemail is None or not volunteer.active or volunteer.on_call:
        return False
    if not _claim(session, voicemail.id, volunteer.id):
        return False
    from .. import tasks

    tasks.add(session, "voice_callback", voicemail.id, line.now(),
              dedupe_key=f"voice_callback:{voicemail.id}")
    return True


def place_callback(sessions: sessionmaker[Session], line: Line, voicemail_id: int | None) -> None:
    """Task body: place the call to the peer (from the line number the caller called)."""
    with sessions.begin() as session:
        voicemail = session.get(Voicemail, voicemail_id)
        if voicemail is None or voicemail.status != "calling" or voicemail.callback_sid:
            return
        volunteer = voicemail.volunteer
        if volunteer is None:
            _put_back(voicemail)
            return
        to = line.vault.decrypt(volunteer.phone_enc)
        from_number = calls.caller_id(line, voicemail.call)
        voicemail.callback_sid = "pending"  # at most one call to the peer per claim
    try:
        sid = line.gateway.create_call(
            to, from_number, calls.url(line, f"/voice/callback?vm={voicemail_id}"),
            status_callback=calls.url(line, f"/voice/status?vm={voicemail_id}"), timeout=30)
    except GatewayError as exc:
        log.warning("callback %s could not be placed (%s)", voicemail_id, exc)
        with sessions.begin() as session:
            voicemail = session.get(Voicemail, voicemail_id)
            if voicemail is not None and voicemail.status == "calling":
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
        raise calls.UnknownCall(f"voicemail {voicemail_id}")
    return voicemail


def callback_answered(session: Session, line: Line, *, voicemail_id: int, sid: str) -> str:
    """The peer picked up the callback ring: hear the message, press 1 to call back."""
    voicemail = _voicemail_for(session, voicemail_id)
    if voicemail.status != "calling":
        return scripts.volunteer_told("callback_later")
    if voicemail.callback_sid in (None, "pending"):
        voicemail.callback_sid = sid
    return _offer(line, voicemail)


def callback_pressed(session: Session, line: Line, *, voicemail_id: int, sid: str,
                     digits: str) -> str:
    """1 dials the caller back (the line's number as caller ID); else it waits for later."""
    voicemail = _voicemail_for(session, voicemail_id)
    if voicemail.status != "calling" or voicemail.volunteer_id is None:
        return scripts.volunteer_told("callback_later")
    call = voicemail.call
    if digits.strip()[:1] != "1" or call.from_enc is None:
        _put_back(voicemail)
        return scripts.volunteer_told("callback_later")
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == voicemail.volunteer_id)
                               .with_for_update())
    volunteer.on_call = True
    return scripts.callback_dial(voicemail.id, line.vault.decrypt(call.from_enc),
                                 calls.caller_id(line, call))


def callback_done(session: Session, line: Line, *, voicemail_id: int, sid: str,
                  dial_status: str) -> str:
    """The callback's ``<Dial>`` ended: done if they talked, else back in the list."""
    voicemail = _voicemail_for(session, voicemail_id)
    volunteer_id = voicemail.volunteer_id
    if voicemail.status != "calling":
        return scripts.volunteer_told("goodbye")
    calls.release(session, line, volunteer_id)
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
    if voicemail is None or status not in calls.FINAL:
        return
    if voicemail.callback_sid not in (None, "pending", sid):
        return
    if voicemail.status == "calling":
        calls.release(session, line, voicemail.volunteer_id)
        _put_back(voicemail)
