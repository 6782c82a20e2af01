"""The on-call coordinator's phone: alerts go to it, and it may answer by text."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import gateway_hold
from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, Escalation, GatewayHold
from peerline.people import roster
from peerline.telephony.params import db_int_or_none
from peerline.text.conversations import alert_oncall
from peerline.text.escalation import acknowledge
from peerline.text.texts import ONCALL_TEXTS

ACK = re.compile(r"^ACK\s*#?([0-9]{1,12})$")


def is_oncall(line: Line, number: str) -> bool:
    """True when ``number`` (E.164) is the on-call coordinator's (normalised in config)."""
    configured = line.setting("PEERLINE_ONCALL_NUMBER")
    return bool(configured) and configured == number


def command(session: Session, line: Line, word: str) -> str:
    """Answer a coordinator's text: ``ACK n``, ``STATUS``, anything else gets help."""
    match = ACK.match(word)
    if match:
        raw = match.group(1)
        eid = db_int_or_none(raw)
        if eid is None:  # beyond any id the database can hold
            return ONCALL_TEXTS["ack_unknown"].format(eid=raw)
        if acknowledge(session, line, eid, "on-call coordinator (text)"):
            return ONCALL_TEXTS["acked"].format(eid=eid)
        return ONCALL_TEXTS["ack_unknown"].format(eid=eid)
    if word == "STATUS":
        count = func.count()
        status = Conversation.status
        waiting = session.scalar(select(count).where(status == ConversationStatus.WAITING))
        active = session.scalar(select(count).where(status == ConversationStatus.ACTIVE))
        open_ = session.scalar(select(count).where(Escalation.acknowledged_at.is_(None)))
        text = ONCALL_TEXTS["status"].format(waiting=waiting, active=active, open=open_,
                                             on_shift=roster.on_shift_count(session))
        hold = gateway_hold.status(session)
        if hold is not None:  # this reply is TwiML: it reaches them while REST is refused
            text += ONCALL_TEXTS["status_held"].format(status=hold["http_status"],
                                                       held=hold["texts_held"])
        return text
    return ONCALL_TEXTS["help"]


def alert_gateway_refused(sessions: sessionmaker[Session], line: Line,
                          _ref: int | None) -> None:
    """Tell the on-call coordinator Twilio refused the line's credentials.

    The text itself is held like every other until Twilio accepts the line again; the
    log line and ``/healthz`` say it meanwhile.
    """
    with sessions.begin() as session:
        hold = session.get(GatewayHold, 1)
        if hold is None:
            return
        alert_oncall(session, line, "gateway_refused", None, ONCALL_TEXTS[
            "gateway_refused"].format(status=hold.http_status,
                                      since=f"{hold.since:%Y-%m-%d %H:%M}"))
