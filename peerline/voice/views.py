"""Thin webhook views for calls: validate, call one domain function, answer TwiML.

Every route is signed (403 otherwise). Malformed but signed input gets a 400 with a
reason; a call we do not know, or a database hiccup, gets kind TwiML (the hotline and a
goodbye), never a 5xx and never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from peerline.extensions import services
from peerline.groups import calls as group_calls
from peerline.groups import conference as group_conference
from peerline.groups import lead as group_lead
from peerline.line import Line
from peerline.telephony.params import BadNumber, db_int, db_int_or_none
from peerline.telephony.signature import twilio_signed
from peerline.telephony.twiml import xml
from peerline.voice import (
    bridge,
    callbacks,
    common,
    hotline,
    ivr,
    menu,
    queue,
    rings,
    scripts,
    status_callbacks,
    voicemail,
)

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

MAX_DIGITS = 20
MAX_SPEECH = 1000


def _arg_id(name: str) -> int:
    try:
        value = db_int(request.args.get(name, ""), f"the {name} parameter")
    except BadNumber as exc:
        raise common.BadInput(str(exc)) from None
    if value is None:
        raise common.BadInput(f"the {name} parameter is missing")
    return value


def _sid() -> str:
    sid = request.form.get("CallSid", "")
    if not sid or len(sid) > 64:
        raise common.BadInput("CallSid is missing or malformed")
    return sid


def _form(name: str, limit: int = 200) -> str:
    return (request.form.get(name) or "").replace("\x00", "")[:limit]


def _int_form(name: str) -> int | None:
    """An optional count (QueueTime, durations): an odd value is ignored, the call goes on."""
    return db_int_or_none(request.form.get(name))


def _answer(step: Callable[[Session, Line], str]) -> Response | tuple[str, int]:
    """Run ``step`` in one transaction and answer its TwiML."""
    svc = services()
    for attempt in (1, 2):
        try:
            with svc.sessions.begin() as session:
                return xml(step(session, svc.line))
        except common.BadInput as exc:
            return f"Bad request: {exc}", 400
        except common.UnknownCall:
            return xml(scripts.trouble())
        except IntegrityError:
            if attempt == 2:  # the same CallSid committed twice at once
                log.exception("voice webhook conflict")
                return xml(scripts.trouble())
        except OperationalError:
            log.exception("database unavailable for a voice webhook")
            return xml(scripts.trouble())
    return xml(scripts.trouble())


def _signal(step: Callable[[Session, Line], None]) -> Response | tuple[str, int]:
    """Run a callback that answers nothing (status, transcription): 204."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            step(session, svc.line)
    except common.BadInput as exc:
        return f"Bad request: {exc}", 400
    except common.UnknownCall:
        return "Unknown call", 404
    return Response("", status=204)


# --- survivors -------------------------------------------------------------------------

@bp.post("/inbound")
@twilio_signed
def inbound() -> Response | tuple[str, int]:
    """A call to the line: the survivor menu, or a volunteer's IVR."""
    return _answer(lambda s, line: menu.inbound(
        s, line, sid=_form("CallSid", 100), from_raw=_form("From", 64),
        to_raw=_form("To", 64)))


def _call_route(fn: Callable[..., str], **fields: Callable[[], object]) -> Callable[[], object]:
    """A view calling ``fn(session, line, call_id=…, sid=…, **fields)``."""

    def view() -> Response | tuple[str, int]:
        try:
            call_id, sid = _arg_id("call"), _sid()
            values = {name: get() for name, get in fields.items()}
        except common.BadInput as exc:
            return f"Bad request: {exc}", 400
        return _answer(lambda s, line: fn(s, line, call_id=call_id, sid=sid, **values))

    return view


def _route(rule: str, endpoint: str, view: Callable[[], object]) -> None:
    bp.add_url_rule(rule, endpoint, twilio_signed(view), methods=["POST"])


def _digits() -> str:
    return _form("Digits", MAX_DIGITS)


def _speech() -> str:
    return _form("SpeechResult", MAX_SPEECH)


_route("/menu", "menu", _call_route(menu.menu_choice, digits=_digits, speech=_speech))
_route("/crisis", "crisis", _call_route(menu.crisis_choice, digits=_digits))
_route("/wait", "wait", _call_route(queue.wait))
_route("/hold", "hold", _call_route(queue.hold,
                                    queue_time=lambda: _int_form("QueueTime") or 0))
_route("/hold/input", "hold_input", _call_route(queue.hold_input, digits=_digits,
                                                speech=_speech))
_route("/queued", "queued", _call_route(queue.left_queue,
                                        result=lambda: _form("QueueResult", 32)))
_route("/hotline/done", "hotline_done", _call_route(
    menu.hotline_done, dial_status=lambda: _form("DialCallStatus", 32)))
_route("/voicemail", "voicemail", _call_route(voicemail.voicemail_prompt))
_route("/recorded", "recorded", _call_route(
    voicemail.recorded, recording_sid=lambda: _form("RecordingSid", 64),
    recording_url=lambda: _form("RecordingUrl", 500),
    duration=lambda: _int_form("RecordingDuration")))
_route("/join", "join", _call_route(bridge.caller_join))
_route("/bridge/end", "bridge_end", _call_route(bridge.caller_conference_over))
_route("/after", "after", _call_route(bridge.after))
_route("/after/choice", "after_choice", _call_route(bridge.after_choice, digits=_digits))

# --- peers in a call -------------------------------------------------------------------
_route("/bridge/star", "bridge_star", _call_route(bridge.peer_star))
_route("/bridge/option", "bridge_option", _call_route(bridge.peer_option, digits=_digits))
_route("/hotline/leg", "hotline_leg", _call_route(hotline.hotline_leg))

# --- group sessions (peerline.groups) --------------------------------------------------
_route("/group/pin", "group_pin", _call_route(group_calls.check_pin, digits=_digits))
_route("/group/wait", "group_wait", _call_route(group_calls.seat_wait))
_route("/group/star", "group_star", _call_route(group_calls.participant_star))
_route("/group/option", "group_option", _call_route(group_calls.participant_option,
                                                    digits=_digits))
_route("/group/lead/star", "group_lead_star", _call_route(group_lead.facilitator_star))
_route("/group/lead/key", "group_lead_key", _call_route(group_lead.facilitator_key,
                                                        digits=_digits))

# --- volunteer IVR ---------------------------------------------------------------------
_route("/volunteer/pin", "volunteer_pin", _call_route(ivr.check_pin, digits=_digits))
_route("/volunteer/choice", "volunteer_choice", _call_route(ivr.choice, digits=_digits))


def _ring_route(fn: Callable[..., str], **fields: Callable[[], object]) -> Callable[[], object]:
    def view() -> Response | tuple[str, int]:
        try:
            ring_id, sid = _arg_id("ring"), _sid()
            values = {name: get() for name, get in fields.items()}
        except common.BadInput as exc:
            return f"Bad request: {exc}", 400
        return _answer(lambda s, line: fn(s, line, ring_id=ring_id, sid=sid, **values))

    return view


def _voicemail_route(fn: Callable[..., str], **fields: Callable[[], object]
                     ) -> Callable[[], object]:
    def view() -> Response | tuple[str, int]:
        try:
            voicemail_id, sid = _arg_id("vm"), _sid()
            values = {name: get() for name, get in fields.items()}
        except common.BadInput as exc:
            return f"Bad request: {exc}", 400
        return _answer(lambda s, line: fn(s, line, voicemail_id=voicemail_id, sid=sid,
                                          **values))

    return view


_route("/ring", "ring", _ring_route(rings.ring_answered))
_route("/ring/press", "ring_press", _ring_route(rings.ring_pressed, digits=_digits))
_route("/callback", "callback", _voicemail_route(callbacks.callback_answered))
_route("/callback/pin", "callback_pin", _voicemail_route(callbacks.callback_pin, digits=_digits))
_route("/callback/press", "callback_press", _voicemail_route(callbacks.callback_pressed,
                                                             digits=_digits))
_route("/callback/done", "callback_done", _voicemail_route(
    callbacks.callback_done, dial_status=lambda: _form("DialCallStatus", 32)))


# --- callbacks that answer nothing -----------------------------------------------------

def _optional_id(name: str) -> int | None:
    return _arg_id(name) if name in request.args else None


@bp.post("/status")
@twilio_signed
def status() -> Response | tuple[str, int]:
    """Call status callbacks: the survivor's call, a ring, a hotline or callback leg."""
    try:
        sid = _sid()
        state = _form("CallStatus", 32)
        if not state:
            raise common.BadInput("CallStatus is required")
        ring_id, hotline_for, voicemail_id = (_optional_id("ring"), _optional_id("hotline"),
                                              _optional_id("vm"))
    except common.BadInput as exc:
        return f"Bad request: {exc}", 400
    duration = _int_form("CallDuration")
    return _signal(lambda s, line: status_callbacks.record_status(
        s, line, sid=sid, status=state, duration=duration, ring_id=ring_id,
        hotline_for=hotline_for, voicemail_id=voicemail_id))


@bp.post("/transcription")
@twilio_signed
def transcription() -> Response | tuple[str, int]:
    """A voicemail's transcript (scanned for crisis)."""
    try:
        call_id, sid = _arg_id("call"), _sid()
    except common.BadInput as exc:
        return f"Bad request: {exc}", 400
    text = _form("TranscriptionText", 5000)
    state = _form("TranscriptionStatus", 16)
    transcription_sid = _form("TranscriptionSid", 64)
    return _signal(lambda s, line: voicemail.transcription(
        s, line, call_id=call_id, sid=sid, text=text, status=state,
        transcription_sid=transcription_sid))


@bp.post("/group/conference")
@twilio_signed
def group_conference_status() -> Response | tuple[str, int]:
    """A group meeting's conference status callbacks (attendance counts)."""
    try:
        meeting_id = _arg_id("meeting")
    except common.BadInput as exc:
        return f"Bad request: {exc}", 400
    event = _form("StatusCallbackEvent", 40)
    if not event:
        return "Bad request: StatusCallbackEvent is required", 400
    conference_sid, call_sid = _form("ConferenceSid", 64), _form("CallSid", 64)
    return _signal(lambda s, line: group_conference.conference_event(
        s, line, meeting_id=meeting_id, conference_sid=conference_sid, event=event,
        call_sid=call_sid))
