"""Thin webhook views for texts: validate, call the domain, answer TwiML."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from peerline.delivery import outbox, ratelimit, spool
from peerline.extensions import services
from peerline.telephony.params import BadNumber, db_int
from peerline.telephony.signature import twilio_signed
from peerline.telephony.twiml import messages
from peerline.text import intake
from peerline.text.escalation import guess_language, scan
from peerline.text.intake import OPT_OUT, command_word
from peerline.text.texts import say

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")


@bp.post("/inbound", strict_slashes=False)
@twilio_signed
def inbound() -> Response | tuple[str, int]:
    """A text arrived: store it once, scan it, reply; follow-up work goes to the outbox."""
    form = request.form
    try:
        num_media = db_int(form.get("NumMedia"), "NumMedia") or 0
    except BadNumber as exc:
        return f"Bad request: {exc}", 400
    svc = services()
    # Counted with the commit's jobs, in one Redis round trip (a text stored is counted).
    count = ratelimit.Count(svc.line.vault.hash(form.get("From", "")[:40]),
                            svc.config["PEERLINE_RATE_LIMIT_PER_MIN"], svc.line.now())
    try:
        reply = _receive(svc, form, num_media, count)
    except intake.BadInput as exc:
        return f"Bad request: {exc}", 400
    except DBAPIError as exc:
        log.error("database unavailable for an inbound text (%s); spooling it",
                  type(exc).__name__)
        return _spooled()
    if reply.erased:
        spool.drain(svc)  # copies spooled before the quick exit are replayed, erased
    if reply.duplicate or (not count.allowed and not reply.crisis):
        return messages([])  # a flood is stored and relayed, but not answered each time
    return messages(reply.texts)


def _receive(svc: Any, form: Any, num_media: int, count: ratelimit.Count) -> intake.Reply:
    """Run intake in one transaction; a lost race on a unique key is retried once.

    The race that matters is the same ``MessageSid`` twice at once: the retry finds it
    stored and answers as a duplicate. Any other collision (two first texts of a new
    survivor at once) is simply run again, so no text is lost. ``count`` is made by the
    commit (``Services._after_commit``), with its jobs.
    """
    for attempt in (1, 2):
        try:
            with svc.sessions.begin() as session:
                session.info[ratelimit.AFTER_COMMIT] = count
                return intake.receive_sms(session, svc.line, sid=form.get("MessageSid", ""),
                                          from_raw=form.get("From", ""),
                                          to_raw=form.get("To", ""),
                                          body=form.get("Body", ""), num_media=num_media)
        except intake.Duplicate:  # stored before: this transaction was rolled back
            return intake.Reply(duplicate=True)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@bp.post("/fallback", strict_slashes=False)
@twilio_signed
def fallback() -> Response | tuple[str, int]:
    """Twilio's fallback URL: keep the text in the spool for when the database is back."""
    return _spooled()


def _spooled() -> Response | tuple[str, int]:
    """Spool the current request's text; answer with a holding reply (and the hotline)."""
    svc = services()
    form = request.form
    try:
        spool.keep(form.to_dict(), svc.redis(), svc.config["INSTANCE_DIR"], svc.line)
    except OSError:
        log.error("could not spool an inbound text")
        return "Service unavailable, please retry", 503
    spool.mark_pending()
    body = form.get("Body", "")
    word = command_word(body)
    if word in OPT_OUT or word == command_word(svc.config["PEERLINE_QUICK_EXIT_WORD"] or ""):
        # STOP is confirmed by the carrier; a quick exit shows nothing on a phone that
        # may be in the wrong hands (the erasure runs when the spool is replayed).
        return messages([])
    lang = guess_language(body) if body.strip() else "en"
    texts = [say("received_later", lang)]
    detection = scan(body, lang, settings=svc.config) if body.strip() else None
    if detection is not None and detection.crisis:
        texts.append(svc.config["PEERLINE_HOTLINE_TEXT_ES" if lang == "es"
                                 else "PEERLINE_HOTLINE_TEXT_EN"])
    return messages(texts)


@bp.before_app_request
def _drain_spool() -> None:
    """After an outage, replay what this process spooled (cheap when nothing is)."""
    if spool.is_pending():
        svc = services()
        spool.drain(svc)


@bp.post("/status", strict_slashes=False)
@twilio_signed
def status() -> Response | tuple[str, int]:
    """A delivery status callback for a text the line sent."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    state = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if not sid or not state or len(sid) > 64 or len(state) > 16:
        return "Bad request: MessageSid and MessageStatus are required", 400
    try:
        error_code = db_int(request.form.get("ErrorCode"), "ErrorCode")
    except BadNumber as exc:
        return f"Bad request: {exc}", 400
    svc = services()
    try:
        with svc.sessions.begin() as session:
            outbox.record_status(session, svc.line, sid, state, error_code)
    except IntegrityError:
        with svc.sessions.begin() as session:  # two reports for a new sid at once
            outbox.record_status(session, svc.line, sid, state, error_code)
    return Response("", status=204)
