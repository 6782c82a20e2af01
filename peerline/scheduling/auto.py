"""The schedule puts its volunteers on and off shift, unless they said otherwise.

The rule (README, "Schedule"):
- At a shift's start its holder goes on shift exactly as ``ON`` does (the head of the
  queue is paired, a caller on hold is rung), and is told by text.
- At its end they go off shift, unless their own ``ON`` or ``OFF`` (by text or the
  phone menu) came at or after the shift's start: inside a shift their word wins, for
  the rest of it. Nor do they go off while another of their shifts is under way.
- Going off while holding live conversations drops nobody: no new offers or rings
  reach them (open offers withdrawn), their live conversations go on until ``#END``,
  and a later ``OFF`` hands them over to the front of the line, as ``OFF`` does.
- A volunteer no longer active, or opted out of texts, is not put on shift.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, ShiftSlot, Volunteer
from peerline.people import roster
from peerline.text import offers
from peerline.text.texts import SCHEDULE_TEXTS


def _holder(session: Session, slot: ShiftSlot) -> Volunteer | None:
    return session.scalar(select(Volunteer).where(Volunteer.id == slot.volunteer_id)
                          .with_for_update())


def _said_during(volunteer: Volunteer, slot: ShiftSlot) -> bool:
    return volunteer.shift_said_at is not None and volunteer.shift_said_at >= slot.starts_at


def _tell(session: Session, line: Line, volunteer: Volunteer, text: str) -> None:
    outbox.text_volunteer(session, line, volunteer, line.numbers[0], text, kind="schedule")


def start(session: Session, line: Line, slot: ShiftSlot) -> bool:
    """A shift began: its holder on shift (as ``ON``); False when nothing changed."""
    volunteer = _holder(session, slot)
    if volunteer is None or not volunteer.active or volunteer.opted_out:
        return False
    if _said_during(volunteer, slot) or volunteer.on_shift:
        return False
    roster.go_on_shift(session, line, volunteer, by_schedule=True)
    _tell(session, line, volunteer, SCHEDULE_TEXTS["started"])
    return True


def _another_under_way(session: Session, line: Line, slot: ShiftSlot) -> bool:
    now = line.now()
    return session.scalar(select(ShiftSlot.id).where(
        ShiftSlot.volunteer_id == slot.volunteer_id, ShiftSlot.id != slot.id,
        ShiftSlot.starts_at <= now, ShiftSlot.ends_at > now).limit(1)) is not None


def end(session: Session, line: Line, slot: ShiftSlot) -> bool:
    """A shift ended: its holder off shift unless they said otherwise during it."""
    volunteer = _holder(session, slot)
    if volunteer is None or not volunteer.on_shift or _said_during(volunteer, slot):
        return False
    if _another_under_way(session, line, slot):
        return False
    live = list(session.scalars(select(Conversation).where(
        Conversation.volunteer_id == volunteer.id,
        Conversation.status == ConversationStatus.ACTIVE)))
    if not live:
        roster.go_off_shift(session, line, volunteer, by_schedule=True)
        _tell(session, line, volunteer, SCHEDULE_TEXTS["ended"])
        return True
    offers.withdraw_all(session, line, volunteer.id)  # one being accepted now is left
    for conversation in live:
        conversation.handover_requested_at = line.now()
    volunteer.on_shift = False
    volunteer.shift_started_at = None
    _tell(session, line, volunteer, SCHEDULE_TEXTS["ended_holding"].format(n=len(live)))
    return True
