"""The cool-down after a crisis conversation: no new offers for a while, and a check-in.

When a conversation that was a crisis (``priority > 0``: the detector or ``#CRISIS``
raised it) closes, or a crisis call a volunteer answered ends, that volunteer gets no new
offers or rings for ``PEERLINE_COOLDOWN_S`` (default 900 s; 0 = none), through
:func:`peerline.people.caps.may_offer`, and a short check-in text inviting ``TALK``.
``BACK`` does not end a cool-down (it is not the volunteer's own pause). When it runs
out (:data:`TaskKind.COOLDOWN_OVER`), pairing and a ring round are asked for, as after a
break.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Call, Conversation, Volunteer
from peerline.text import pairing
from peerline.text.texts import WELLBEING_TEXTS
from peerline.voice.rings import request_rings

log = logging.getLogger(__name__)


def start(session: Session, line: Line, volunteer: Volunteer, number: str) -> None:
    """Begin a volunteer's cool-down and text them the check-in from ``number``."""
    seconds = int(line.setting("PEERLINE_COOLDOWN_S") or 0)
    now = line.now()
    if seconds > 0:
        until = now + timedelta(seconds=seconds)
        if volunteer.cooldown_until is None or volunteer.cooldown_until < until:
            volunteer.cooldown_until = until
        tasks.add(session, TaskKind.COOLDOWN_OVER, volunteer.id, now, delay_s=seconds)
    log.info("event=cooldown_started volunteer=%s seconds=%s", volunteer.id, seconds)
    minutes = -(-seconds // 60)
    if not line.setting("PEERLINE_ONCALL_NUMBER"):
        key = "checkin_no_oncall"
    else:
        key = "checkin" if seconds > 0 else "checkin_no_cooldown"
    outbox.text_volunteer(session, line, volunteer, number,
                          WELLBEING_TEXTS[key].format(minutes=minutes), kind="system")


def after_conversation(session: Session, line: Line, conversation: Conversation,
                       volunteer: Volunteer | None) -> None:
    """A text conversation closed: a crisis one starts its volunteer's cool-down."""
    if volunteer is None or conversation.priority <= 0:
        return
    number = conversation.volunteer_line or line.numbers[0]
    start(session, line, volunteer, number)


def after_call(session: Session, line: Line, call: Call) -> None:
    """A call ended: a crisis call a volunteer answered starts their cool-down."""
    if call.volunteer_id is None or call.answered_at is None or call.priority <= 0:
        return
    volunteer = session.get(Volunteer, call.volunteer_id)
    if volunteer is not None:
        start(session, line, volunteer, line.numbers[0])


def cooldown_over_task(sessions: sessionmaker[Session], line: Line,
                       volunteer_id: int | None) -> None:
    """Worker entry: a cool-down ran out; pair again (unless a later one extended it)."""
    with sessions.begin() as session:
        volunteer = session.get(Volunteer, volunteer_id)
        if volunteer is None or volunteer.cooling_down(line.now()):
            return None
        volunteer.cooldown_until = None
        pairing.request_pairing(session, line)
        request_rings(session, line)
    return None
