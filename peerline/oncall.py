"""The on-call coordinator's phone: alerts go to it, and it may answer by text."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import roster
from .copy import ONCALL_TEXTS
from .escalation import acknowledge
from .line import Line
from .models import Conversation, Escalation

ACK = re.compile(r"^ACK\s*#?(\d{1,9})$")


def is_oncall(line: Line, number: str) -> bool:
    """True when ``number`` (E.164) is the on-call coordinator's (normalised in config)."""
    configured = line.setting("PEERLINE_ONCALL_NUMBER")
    return bool(configured) and configured == number


def command(session: Session, line: Line, word: str) -> str:
    """Answer a coordinator's text: ``ACK n``, ``STATUS``, anything else gets help."""
    match = ACK.match(word)
    if match:
        eid = int(match.group(1))
        if acknowledge(session, line, eid, "on-call coordinator (text)"):
            return ONCALL_TEXTS["acked"].format(eid=eid)
        return ONCALL_TEXTS["ack_unknown"].format(eid=eid)
    if word == "STATUS":
        count = func.count()
        waiting = session.scalar(select(count).where(Conversation.status == "waiting"))
        active = session.scalar(select(count).where(Conversation.status == "active"))
        open_ = session.scalar(select(count).where(Escalation.acknowledged_at.is_(None)))
        return ONCALL_TEXTS["status"].format(waiting=waiting, active=active, open=open_,
                                             on_shift=roster.on_shift_count(session))
    return ONCALL_TEXTS["help"]
