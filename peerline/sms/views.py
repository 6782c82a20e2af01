"""Thin webhook views for texts: validate, call the domain, answer TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import intake, outbox, services
from ..telephony.signature import twilio_signed
from ..telephony.twiml import messages

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@bp.post("/inbound")
@twilio_signed
def inbound() -> Response | tuple[str, int]:
    """A text arrived: store it once, scan it, reply; follow-up work goes to the outbox."""
    form = request.form
    num_media = _int_or_none(form.get("NumMedia")) or 0
    svc = services()
    try:
        with svc.sessions.begin() as session:
            reply = intake.receive_sms(session, svc.line, sid=form.get("MessageSid", ""),
                                       from_raw=form.get("From", ""), to_raw=form.get("To", ""),
                                       body=form.get("Body", ""), num_media=max(num_media, 0))
    except intake.BadInput as exc:
        return f"Bad request: {exc}", 400
    except IntegrityError:
        # The same MessageSid committed by a concurrent delivery: one stored, one reply.
        return messages([])
    except OperationalError:
        log.exception("database unavailable for an inbound text")
        return "Service unavailable, please retry", 503
    if reply.duplicate:
        return messages([])
    return messages(reply.texts)


@bp.post("/status")
@twilio_signed
def status() -> Response | tuple[str, int]:
    """A delivery status callback for a text the line sent."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    state = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if not sid or not state or len(sid) > 64 or len(state) > 16:
        return "Bad request: MessageSid and MessageStatus are required", 400
    svc = services()
    try:
        with svc.sessions.begin() as session:
            outbox.record_status(session, svc.line, sid, state,
                                 _int_or_none(request.form.get("ErrorCode")))
    except IntegrityError:
        with svc.sessions.begin() as session:  # two reports for a new sid at once
            outbox.record_status(session, svc.line, sid, state,
                                 _int_or_none(request.form.get("ErrorCode")))
    return Response("", status=204)
