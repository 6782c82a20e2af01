"""Returning a voicemail: a voicemail is a callback task, claimed by one peer's call.

A peer returns it either from the IVR (press 4, :mod:`peerline.voice.ivr`) or through
:func:`start_callback`, which rings the peer first (for a CLI or the dashboard). That leg
is placed by the line to the rostered phone, so caller ID plays no part, but it too asks
the PIN before the voicemail plays: whoever (or whichever voicemail box) picks up the
peer's phone must not hear a survivor's words. A voicemail's claim is tied to the
``CallSid`` of the call that holds it. The survivor's number is never said, shown or sent
to the peer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import (
    Call,
    CallOutcome,
    CallRole,
    CallStage,
    Survivor,
    Voicemail,
    VoicemailStatus,
    Volunteer,
)
from peerline.people import pins
from peerline.telephony.gateway import GatewayError
from peerline.voice import bridge, common, scripts
from peerline.voice.prompts import LANG_NAMES, to_volunteer
from peerline.voice.volunteer_pin import key_pin, lock_volunteer, pin_verified

log = logging.getLogger(__name__)


def _callback_pin_action(voicemail_id: int) -> str:
    return f"/voice/callback/pin?vm={voicemail_id}"


def open_voicemails(session: Session, langs: Sequence[str]) -> list[Voicemail]:
    """Voicemails waiting for a callback in these languages, crisis first, oldest first."""
    return list(session.scalars(select(Voicemail).where(
        Voicemail.status == VoicemailStatus.NEW, Voicemail.lang.in_(list(langs)))
        .order_by(Voicemail.priority.desc(), Voicemail.created_at, Voicemail.id)))


def claim(session: Session, voicemail_id: int, volunteer_id: int,
          sid: str | None = None) -> bool:
    """Compare-and-set: the voicemail is this volunteer's (and this call's, given ``sid``)."""
    taken = session.execute(update(Voicemail).where(
        Voicemail.id == voicemail_id, Voicemail.status == VoicemailStatus.NEW)
        .values(status=VoicemailStatus.CALLING, volunteer_id=volunteer_id, callback_sid=sid,
                attempts=Voicemail.attempts + 1))
    return taken.rowcount == 1


def claim_first(session: Session, volunteer: Volunteer, sid: str) -> Voicemail | None:
    """IVR 4: the first voicemail waiting in the volunteer's languages (crisis first,
    oldest first), claimed for the call ``sid``; None when none is free.

    Taken with ``SKIP LOCKED``: the IVR holds the volunteer's row already, and an
    assignment holds a voicemail, then waits for its volunteer (voicemail before
    volunteer, ARCHITECTURE.md "Row locks"); one locked now is someone else's."""
    voicemail = session.scalar(select(Voicemail).where(
        Voicemail.status == VoicemailStatus.NEW, Voicemail.lang.in_(volunteer.language_list))
        .order_by(Voicemail.priority.desc(), Voicemail.created_at, Voicemail.id)
        .limit(1).with_for_update(skip_locked=True))
    if voicemail is None or not claim(session, voicemail.id, volunteer.id, sid=sid):
        return None
    session.refresh(voicemail)
    return voicemail


def put_back(voicemail: Voicemail) -> None:
    """The voicemail waits for a callback again (its claim is dropped)."""
    voicemail.status = VoicemailStatus.NEW
    voicemail.volunteer_id = voicemail.callback_sid = None


def offer(line: Line, voicemail: Voicemail) -> str:
    """The claimed voicemail played to the peer (how old, crisis or not); 1 calls back."""
    minutes = int((line.now() - voicemail.created_at).total_seconds() // 60)
    intro = to_volunteer("callback_intro", crisis=", crisis" if voicemail.priority else "",
                         lang=LANG_NAMES.get(voicemail.lang, voicemail.lang), minutes=minutes)
    return scripts.callback_offer(voicemail.id, intro, voicemail.recording_url)


def callback_refusal(session: Session, line: Line, voicemail_id: int,
                     volunteer_id: int) -> str | None:
    """Why ``volunteer_id`` cannot be rung to return ``voicemail_id`` now; None if they can.

    A look only (nothing locked): :func:`start_callback` asks again under the locks."""
    voicemail = session.get(Voicemail, voicemail_id)
    if voicemail is None or voicemail.status != VoicemailStatus.NEW:
        return f"voicemail #{voicemail_id} is not waiting for a callback"
    return volunteer_refusal(line, session.get(Volunteer, volunteer_id), volunteer_id)


def volunteer_refusal(line: Line, volunteer: Volunteer | None, volunteer_id: int) -> str | None:
    """Why this volunteer may not be rung to return a voicemail now; None if they may.

    Active, a voice PIN (asked before the message plays), voice access not locked, not
    on a call. Not :func:`peerline.people.caps.reachable`: a coordinator may ask someone
    off shift to return a voicemail, and ``STOP`` stops texts, not calls."""
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


def _lock_voicemail(session: Session, voicemail_id: int | None) -> Voicemail | None:
    """The voicemail, locked and read afresh. Its lock comes before its volunteer's, as
    the callback's webhooks take them (voicemail, call, volunteer)."""
    return session.scalar(select(Voicemail).where(Voicemail.id == voicemail_id)
                          .with_for_update().execution_options(populate_existing=True))


def assign_callback(session: Session, line: Line, voicemail_id: int,
                    volunteer_id: int) -> str | None:
    """Ring ``volunteer_id`` to return voicemail ``voicemail_id``: None when done, else
    why not.

    Checked under the rows' locks (voicemail, then volunteer): a volunteer who answered
    a call, was deactivated or locked out, or a voicemail claimed by someone else, since
    a coordinator's page was drawn (or :func:`callback_refusal` looked), is refused
    here. The ring goes to the rostered phone; the PIN is asked before the voicemail
    plays."""
    voicemail = _lock_voicemail(session, voicemail_id)
    volunteer = lock_volunteer(session, volunteer_id)
    if voicemail is None or voicemail.status != VoicemailStatus.NEW:
        return f"voicemail #{voicemail_id} is not waiting for a callback"
    refusal = volunteer_refusal(line, volunteer, volunteer_id)
    if refusal is not None:
        return refusal
    if not claim(session, voicemail_id, volunteer_id):
        return f"voicemail #{voicemail_id} is not waiting for a callback"
    tasks.add(session, TaskKind.VOICE_CALLBACK, voicemail_id, line.now(),
              dedupe_key=f"voice_callback:{voicemail_id}")
    return None


def start_callback(session: Session, line: Line, voicemail_id: int, volunteer_id: int) -> bool:
    """Ring ``volunteer_id`` to return voicemail ``voicemail_id``; False if not possible
    (:func:`assign_callback` says why)."""
    return assign_callback(session, line, voicemail_id, volunteer_id) is None


def place_callback(sessions: sessionmaker[Session], line: Line, voicemail_id: int | None) -> None:
    """Task body: place the call to the peer (from the line number the caller called).

    The voicemail and the volunteer are locked and read again first (as the dialler
    does for a ring): a volunteer who answered a call, was deactivated or locked out
    since the assignment is not rung, and the voicemail waits for a callback again."""
    with sessions.begin() as session:
        voicemail = _lock_voicemail(session, voicemail_id)
        if (voicemail is None or voicemail.status != VoicemailStatus.CALLING
                or voicemail.callback_sid):
            return
        volunteer = lock_volunteer(session, voicemail.volunteer_id)
        refusal = volunteer_refusal(line, volunteer, voicemail.volunteer_id or 0)
        if refusal is not None:
            log.info("voicemail %s: not rung, %s; waiting again", voicemail.id, refusal)
            put_back(voicemail)
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
                put_back(voicemail)
        return
    with sessions.begin() as session:
        voicemail = session.get(Voicemail, voicemail_id)
        if voicemail is not None and voicemail.callback_sid == "pending":
            voicemail.callback_sid = sid


def _opted_out(session: Session, call: Call) -> bool:
    """True when the caller's number belongs to a survivor who opted out or quick-exited."""
    if call.from_hash is None:
        return True
    return bool(session.scalar(select(Survivor.opted_out).where(
        Survivor.phone_hash == call.from_hash)))


def _voicemail_for(session: Session, voicemail_id: int) -> Voicemail:
    voicemail = session.scalar(select(Voicemail).where(Voicemail.id == voicemail_id)
                               .with_for_update())
    if voicemail is None:
        raise common.UnknownCall(f"voicemail {voicemail_id}")
    return voicemail


def _leg(session: Session, sid: str) -> Call | None:
    """The volunteer's call (their IVR call, or a callback leg) with this ``CallSid``."""
    return session.scalar(select(Call).where(Call.sid == sid, Call.role == CallRole.VOLUNTEER)
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
        leg = Call(sid=sid, role=CallRole.VOLUNTEER, stage=CallStage.CB_PIN, withheld=False,
                   line_number=common.caller_id(line, voicemail.call), lang="en", priority=0,
                   tries=0, volunteer_id=voicemail.volunteer_id, created_at=line.now())
        session.add(leg)
        session.flush()
    volunteer = leg.volunteer
    if leg.stage == CallStage.CALLBACK and pin_verified(line, leg, volunteer):
        return offer(line, voicemail)  # Twilio asked again
    if leg.stage != CallStage.CB_PIN or volunteer is None or not volunteer.pin_hash:
        put_back(voicemail)
        return scripts.volunteer_told("pin_needed_goodbye")
    if pins.locked(line, volunteer):
        leg.stage = CallStage.LOCKED
        put_back(voicemail)
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
            return offer(line, voicemail)
        return scripts.volunteer_told("goodbye")
    refused = key_pin(session, line, leg, digits, _callback_pin_action(voicemail.id),
                      "pin_callback")
    if refused is not None:
        if leg.stage != CallStage.CB_PIN:  # the call ends: the voicemail waits for someone else
            put_back(voicemail)
        return refused
    leg.stage = CallStage.CALLBACK
    return offer(line, voicemail)


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
    volunteer = lock_volunteer(session, voicemail.volunteer_id)
    if leg is None or not pin_verified(line, leg, volunteer):
        log.warning("voicemail %s: callback refused without the PIN on the call",
                    voicemail.id)
        put_back(voicemail)
        return scripts.volunteer_told("pin_needed_goodbye")
    call = voicemail.call
    if digits.strip()[:1] != "1" or call.from_enc is None:
        put_back(voicemail)
        return scripts.volunteer_told("callback_later")
    if _opted_out(session, call):
        # STOP or a quick exit from that number: the line never rings it (a faked caller
        # ID could otherwise make the line call a survivor who asked for silence).
        log.warning("voicemail %s: no callback, the caller opted out", voicemail.id)
        voicemail.status, voicemail.done_at = VoicemailStatus.NO_CALLBACK, line.now()
        return scripts.volunteer_told("callback_opted_out")
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
        voicemail.status, voicemail.done_at = VoicemailStatus.DONE, line.now()
        return scripts.volunteer_told("callback_done")
    put_back(voicemail)
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
        leg.ended_at, leg.twilio_status, leg.stage = line.now(), status, CallStage.ENDED
        leg.outcome = CallOutcome.CALLBACK
    if voicemail.callback_sid not in (None, "pending", sid):
        return
    if voicemail.status == VoicemailStatus.CALLING:
        bridge.release(session, line, voicemail.volunteer_id)
        put_back(voicemail)
