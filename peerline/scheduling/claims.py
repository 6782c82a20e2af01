"""Open shifts: given up (``CANT``), unconfirmed, or offered by their holder (``SWAP n``;
both confirmed by a second text first, see :mod:`confirm`); offered by text to peers who
are free then and under their weekly limit; the first ``TAKE n`` gets it.

A slot is numbered by its id everywhere (reminders, ``SHIFTS``, ``OPEN``), so a number
read in one text still means the same shift in the next. ``TAKE`` locks the slot's row
and changes it with a compare-and-set: of two peers taking one shift at once, one gets
it and the other is told it has gone. It then locks the taker's volunteer row before
checking they are free and under their weekly limit, so one peer's takes of two shifts
at once run one after the other (the second counts the first).
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import ShiftSlot, SlotStatus, Volunteer
from peerline.scheduling import recurrence, shifts
from peerline.text.conversations import alert_oncall
from peerline.text.texts import SCHEDULE_ONCALL_TEXTS, SCHEDULE_TEXTS

#: How many open shifts ``OPEN`` lists.
OPEN_LIST = 5


def _tell(session: Session, line: Line, volunteer: Volunteer, text: str) -> None:
    outbox.text_volunteer(session, line, volunteer, line.numbers[0], text, kind="schedule")


def _name(session: Session, volunteer_id: int | None) -> str:
    volunteer = session.get(Volunteer, volunteer_id) if volunteer_id else None
    return volunteer.name if volunteer else "a volunteer"


def is_free(session: Session, line: Line, volunteer_id: int, slot: ShiftSlot) -> bool:
    """True when the volunteer holds no other shift overlapping ``slot``."""
    return not any(v == volunteer_id for _s, _e, v in
                   shifts.spans(session, line, slot.starts_at, slot.ends_at))


def week_hours(session: Session, line: Line, volunteer_id: int, slot: ShiftSlot) -> float:
    """Hours the volunteer is scheduled in the local week (Mon-Sun) of ``slot``'s start."""
    tz = shifts.zone(line)
    monday = recurrence.week_start(recurrence.to_local(slot.starts_at, tz).date())
    lo = recurrence.to_utc(monday, time(0), tz)
    hi = recurrence.to_utc(monday + timedelta(days=7), time(0), tz)
    return sum((e - s).total_seconds() for s, e, v in shifts.spans(session, line, lo, hi)
               if v == volunteer_id and lo <= s < hi) / 3600


def within_limit(session: Session, line: Line, volunteer_id: int, slot: ShiftSlot) -> bool:
    """True when taking ``slot`` keeps the volunteer within ``PEERLINE_WEEKLY_SHIFT_HOURS``."""
    hours = (slot.ends_at - slot.starts_at).total_seconds() / 3600
    limit = float(line.setting("PEERLINE_WEEKLY_SHIFT_HOURS"))
    return week_hours(session, line, volunteer_id, slot) + hours <= limit + 1e-9


def candidates(session: Session, line: Line, slot: ShiftSlot,
               exclude: int | None = None) -> list[Volunteer]:
    """Peers the open ``slot`` is offered to: active, texts not refused, not its holder
    (nor ``exclude``, who just gave it up), free then and under their weekly limit."""
    people = session.scalars(select(Volunteer).where(
        Volunteer.active.is_(True), Volunteer.opted_out.is_(False)).order_by(Volunteer.id))
    return [v for v in people if v.id not in (slot.volunteer_id, exclude)
            and is_free(session, line, v.id, slot) and within_limit(session, line, v.id, slot)]


def announce(session: Session, line: Line, slot: ShiftSlot, reason: str,
             holder: Volunteer | None = None) -> int:
    """A shift just opened: the on-call coordinator is told (not for a SWAP), and every
    candidate is texted the offer. Returns how many were offered it."""
    when = shifts.slot_when(line, slot)
    if reason in SCHEDULE_ONCALL_TEXTS:
        name = holder.name if holder else _name(session, slot.volunteer_id)
        alert_oncall(session, line, f"shift_{reason}", None, SCHEDULE_ONCALL_TEXTS[
            reason].format(name=name, sid=slot.id, when=when), paced=False)
    offered = candidates(session, line, slot, exclude=holder.id if holder else None)
    for volunteer in offered:
        _tell(session, line, volunteer, SCHEDULE_TEXTS["offer_open"].format(sid=slot.id,
                                                                           when=when))
    return len(offered)


def give_up(session: Session, line: Line, volunteer: Volunteer, slot: ShiftSlot) -> None:
    """``CANT`` (confirmed): the holder gives the shift up; it is offered to others at
    once. The holder's own phone (the roster's number) is always texted that it went."""
    slot.volunteer_id = None
    slot.status = SlotStatus.GIVEN_UP
    slot.open_since, slot.open_reason = line.now(), "cant"
    session.flush()
    announce(session, line, slot, "cant", holder=volunteer)
    _tell(session, line, volunteer, SCHEDULE_TEXTS["given_up"].format(
        sid=slot.id, when=shifts.slot_when(line, slot)))


def swappable(session: Session, line: Line, volunteer: Volunteer,
              slot_id: int) -> ShiftSlot | str:
    """The volunteer's upcoming shift ``slot_id`` (locked) if it can be offered with
    ``SWAP``, else the reply that says why not."""
    slot = session.scalar(select(ShiftSlot).where(ShiftSlot.id == slot_id).with_for_update())
    if slot is None or slot.volunteer_id != volunteer.id or slot.starts_at <= line.now():
        return SCHEDULE_TEXTS["swap_unknown"].format(sid=slot_id)
    if slot.open_since is not None:
        return SCHEDULE_TEXTS["swap_already"].format(sid=slot_id)
    return slot


def swap(session: Session, line: Line, volunteer: Volunteer, slot: ShiftSlot) -> None:
    """``SWAP n`` (confirmed, ``slot`` from :func:`swappable`): offer one's own upcoming
    shift to others; it stays theirs until taken. Their phone is texted that it is offered."""
    slot.open_since, slot.open_reason = line.now(), "swap"
    session.flush()
    announce(session, line, slot, "swap")
    _tell(session, line, volunteer, SCHEDULE_TEXTS["swap_offered"].format(
        sid=slot.id, when=shifts.slot_when(line, slot)))


def open_slots(session: Session, line: Line, volunteer: Volunteer) -> list[ShiftSlot]:
    """Open shifts still ahead that ``volunteer`` does not hold, soonest first."""
    return list(session.scalars(select(ShiftSlot).where(
        ShiftSlot.open_since.is_not(None), ShiftSlot.starts_at > line.now(),
        (ShiftSlot.volunteer_id.is_(None)) | (ShiftSlot.volunteer_id != volunteer.id))
        .order_by(ShiftSlot.starts_at, ShiftSlot.id).limit(OPEN_LIST)))


def take(session: Session, line: Line, volunteer: Volunteer, slot_id: int) -> str:
    """``TAKE n``: the first peer to ask gets the open shift (row lock + compare-and-set)."""
    slot = session.scalar(select(ShiftSlot).where(ShiftSlot.id == slot_id)
                          .with_for_update().execution_options(populate_existing=True))
    if slot is None:
        return SCHEDULE_TEXTS["take_unknown"].format(sid=slot_id)
    if slot.volunteer_id == volunteer.id:
        return SCHEDULE_TEXTS["take_own"].format(sid=slot_id)
    if slot.open_since is None or slot.starts_at <= line.now():
        return SCHEDULE_TEXTS["taken_already"].format(sid=slot_id)
    # One take at a time per volunteer: the checks below must see their other claims.
    # (Slot, then volunteer: the same order as the schedule's shift start.)
    session.execute(select(Volunteer.id).where(Volunteer.id == volunteer.id)
                    .with_for_update())
    if not is_free(session, line, volunteer.id, slot):
        return SCHEDULE_TEXTS["take_busy"].format(sid=slot_id)
    if not within_limit(session, line, volunteer.id, slot):
        return SCHEDULE_TEXTS["take_limit"].format(
            sid=slot_id, hours=float(line.setting("PEERLINE_WEEKLY_SHIFT_HOURS")))
    previous, reason = slot.volunteer_id, slot.open_reason
    result = session.execute(update(ShiftSlot).where(
        ShiftSlot.id == slot.id, ShiftSlot.open_since.is_not(None)).values(
        volunteer_id=volunteer.id, open_since=None, open_reason=None,
        status=SlotStatus.CONFIRMED, confirmed_at=line.now()))
    if result.rowcount != 1:
        return SCHEDULE_TEXTS["taken_already"].format(sid=slot_id)
    session.refresh(slot)
    when = shifts.slot_when(line, slot)
    if previous is not None:
        holder = session.get(Volunteer, previous)
        if holder is not None and holder.active:
            _tell(session, line, holder, SCHEDULE_TEXTS["your_shift_taken"].format(
                sid=slot.id, when=when))
    if reason in ("cant", "unconfirmed"):
        alert_oncall(session, line, "shift_taken", None, SCHEDULE_ONCALL_TEXTS["taken"].format(
            name=volunteer.name, sid=slot.id, when=when), paced=False)
    return SCHEDULE_TEXTS["taken"].format(sid=slot.id, when=when)
