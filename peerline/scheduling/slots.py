"""Occurrences of shifts as the line runs them ("slots"), made a little ahead of time,
and the schedule's timers, run by the sweeper on every pass (outside Redis, so a Redis
restart loses nothing; every step is a compare-and-set on the slot, so several sweepers
never do one twice):

- a reminder ``PEERLINE_REMINDER_BEFORE_S`` before each held shift (0 turns them off);
- a reminded shift still not confirmed ``PEERLINE_CONFIRM_BY_S`` before its start is
  offered to other peers and the on-call coordinator is told (see :mod:`claims`);
- at its start the holder goes on shift, at its end off shift (see :mod:`auto`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import ShiftSlot, SlotStatus, Volunteer
from peerline.scheduling import auto, claims, recurrence, shifts
from peerline.text.texts import SCHEDULE_TEXTS

#: How far ahead ``SHIFTS`` looks.
SHIFTS_DAYS = 14


def ensure(session: Session, line: Line, first: date, last: date) -> int:
    """Make the slots of every occurrence starting on local dates ``first``..``last``
    that has none yet; returns how many were made (a concurrent twin is skipped)."""
    found = shifts.occurrences(session, line, first, last)
    if not found:
        return 0
    lo = min(o.starts_at for o in found)
    have = set(session.execute(select(ShiftSlot.shift_id, ShiftSlot.starts_at).where(
        ShiftSlot.starts_at >= lo)).all())
    made = 0
    for occ in found:
        if (occ.shift_id, occ.starts_at) in have:
            continue
        try:
            with session.begin_nested():
                session.add(ShiftSlot(shift_id=occ.shift_id, volunteer_id=occ.volunteer_id,
                                      starts_at=occ.starts_at, ends_at=occ.ends_at,
                                      status=SlotStatus.SCHEDULED, created_at=line.now()))
            made += 1
        except IntegrityError:
            continue  # another sweeper made it first
    return made


def ensure_ahead(session: Session, line: Line, until: datetime) -> int:
    """Slots from yesterday (an overnight shift still running) to the local date of
    the UTC instant ``until``."""
    tz = shifts.zone(line)
    today = recurrence.local_today(line.now(), tz)
    return ensure(session, line, today - timedelta(days=1), recurrence.to_local(until, tz).date())


def _cas(session: Session, slot_id: int, *conditions: object, **values: object) -> bool:
    result = session.execute(update(ShiftSlot).where(ShiftSlot.id == slot_id, *conditions)
                             .values(**values))
    return result.rowcount == 1


def send_reminders(session: Session, line: Line) -> int:
    """Remind each holder of a shift starting within the reminder time (once)."""
    before = line.setting("PEERLINE_REMINDER_BEFORE_S")
    if not before:
        return 0
    now = line.now()
    due = session.scalars(select(ShiftSlot).where(
        ShiftSlot.reminded_at.is_(None), ShiftSlot.status == SlotStatus.SCHEDULED,
        ShiftSlot.volunteer_id.is_not(None), ShiftSlot.starts_at > now,
        ShiftSlot.starts_at <= now + timedelta(seconds=before))).all()
    sent = 0
    for slot in due:
        if not _cas(session, slot.id, ShiftSlot.reminded_at.is_(None), reminded_at=now):
            continue
        volunteer = session.get(Volunteer, slot.volunteer_id)
        if volunteer is None or not volunteer.active:
            continue
        outbox.text_volunteer(session, line, volunteer, line.numbers[0],
                              SCHEDULE_TEXTS["reminder"].format(sid=slot.id,
                                                                when=shifts.slot_when(line, slot)),
                              kind="schedule")
        sent += 1
    return sent


def open_unconfirmed(session: Session, line: Line) -> int:
    """A reminded shift with no OK by ``PEERLINE_CONFIRM_BY_S`` before its start is
    offered to others and the on-call coordinator alerted; it stays its holder's until
    someone takes it. (A reminder sent later than that, for a shift added at short
    notice, asks for no answer by a deadline.)"""
    margin = timedelta(seconds=line.setting("PEERLINE_CONFIRM_BY_S"))
    now = line.now()
    due = session.scalars(select(ShiftSlot).where(
        ShiftSlot.status == SlotStatus.SCHEDULED, ShiftSlot.reminded_at.is_not(None),
        ShiftSlot.open_since.is_(None), ShiftSlot.started_at.is_(None),
        ShiftSlot.starts_at > now, ShiftSlot.starts_at <= now + margin)).all()
    opened = 0
    for slot in due:
        if slot.reminded_at is None or slot.reminded_at >= slot.starts_at - margin:
            continue
        if _cas(session, slot.id, ShiftSlot.open_since.is_(None),
                ShiftSlot.status == SlotStatus.SCHEDULED, open_since=now,
                open_reason="unconfirmed"):
            session.refresh(slot)
            claims.announce(session, line, slot, "unconfirmed")
            opened += 1
    return opened


def start_and_end(session: Session, line: Line) -> tuple[int, int]:
    """Shifts whose start or end has come: the holder on or off shift (once each)."""
    now = line.now()
    started = ended = 0
    for slot in session.scalars(select(ShiftSlot).where(
            ShiftSlot.started_at.is_(None), ShiftSlot.starts_at <= now)
            .order_by(ShiftSlot.starts_at)).all():
        if not _cas(session, slot.id, ShiftSlot.started_at.is_(None), started_at=now,
                    open_since=None):
            continue
        session.refresh(slot)
        if slot.ends_at > now and slot.volunteer_id is not None:
            auto.start(session, line, slot)
            started += 1
    for slot in session.scalars(select(ShiftSlot).where(
            ShiftSlot.started_at.is_not(None), ShiftSlot.ended_at.is_(None),
            ShiftSlot.ends_at <= now).order_by(ShiftSlot.ends_at)).all():
        if not _cas(session, slot.id, ShiftSlot.ended_at.is_(None), ended_at=now):
            continue
        session.refresh(slot)
        if slot.volunteer_id is not None and slot.started_at is not None \
                and slot.started_at < slot.ends_at:
            auto.end(session, line, slot)
            ended += 1
    return started, ended


def tick(session: Session, line: Line) -> dict[str, int]:
    """One pass of the schedule's timers; counts for logs and tests."""
    now = line.now()
    ahead = max(line.setting("PEERLINE_REMINDER_BEFORE_S"),
                line.setting("PEERLINE_CONFIRM_BY_S")) + 86400
    made = ensure_ahead(session, line, now + timedelta(seconds=ahead))
    reminded = send_reminders(session, line)
    opened = open_unconfirmed(session, line)
    started, ended = start_and_end(session, line)
    return {"slots_made": made, "reminded": reminded, "unconfirmed": opened,
            "shifts_started": started, "shifts_ended": ended}
