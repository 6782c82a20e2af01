"""Volunteers' breaks by text: ``BREAK 15`` pauses new offers and rings, ``BACK`` ends it.

A break is ``Volunteer.break_until``; pairing and ring rounds skip a volunteer whose break
has not run out (an expired break is simply over). Live conversations go on untouched.
When a break ends, by ``BACK`` or by running out (:data:`TaskKind.BREAK_OVER`), pairing
and a ring round are asked for, so someone already waiting is offered to them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Volunteer
from peerline.text import pairing
from peerline.text.texts import VOLUNTEER_TEXTS
from peerline.voice.rings import request_rings

DEFAULT_MINUTES = 15
MAX_MINUTES = 120
_BREAK = re.compile(r"^BREAK(?:\s+(.*))?$")


def is_break(word: str) -> bool:
    """True when a command word (see ``intake.command_word``) is a ``BREAK`` command."""
    return _BREAK.match(word) is not None


def take_break(session: Session, line: Line, volunteer: Volunteer, word: str) -> str:
    """``BREAK [minutes]``: no new offers or rings until it ends; returns the reply."""
    match = _BREAK.match(word)
    raw = (match.group(1) or "").strip() if match else ""
    if not raw:
        minutes = DEFAULT_MINUTES
    elif raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_MINUTES:
        minutes = int(raw)
    else:
        return VOLUNTEER_TEXTS["break_range"]
    now = line.now()
    volunteer.break_until = now + timedelta(minutes=minutes)
    tasks.add(session, TaskKind.BREAK_OVER, volunteer.id, now, delay_s=minutes * 60)
    return VOLUNTEER_TEXTS["break_on"].format(minutes=minutes)


def come_back(session: Session, line: Line, volunteer: Volunteer) -> str:
    """``BACK``: the break ends at once; someone already waiting is offered to them."""
    if not volunteer.on_break(line.now()):
        volunteer.break_until = None
        return VOLUNTEER_TEXTS["back_no_break"]
    volunteer.break_until = None
    _offers_again(session, line)
    return VOLUNTEER_TEXTS["back"]


def _offers_again(session: Session, line: Line) -> None:
    pairing.request_pairing(session, line)
    request_rings(session, line)


def break_over_task(sessions: sessionmaker[Session], line: Line,
                    volunteer_id: int | None) -> None:
    """Worker entry: a break ran out; pair again (unless a later BREAK extended it)."""
    with sessions.begin() as session:
        volunteer = session.get(Volunteer, volunteer_id)
        if volunteer is None or volunteer.on_break(line.now()):
            return None  # gone, or on a newer break whose own task will come
        volunteer.break_until = None
        _offers_again(session, line)
    return None
