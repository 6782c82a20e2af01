"""Shifts as coordinators change them (dashboard or CLI): add, remove, cancel one date;
each change validated the same way and written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Shift, ShiftException, ShiftSlot, Volunteer
from peerline.people import roster
from peerline.people.phones import InvalidNumber
from peerline.scheduling import recurrence
from peerline.scheduling.recurrence import WEEKDAYS, Occurrence, ShiftSpec
from peerline.staff import audit


class ScheduleError(ValueError):
    """A schedule change that cannot be made (bad day, time, volunteer...)."""


def zone(line: Line) -> ZoneInfo:
    """The line's time zone (``PEERLINE_TIMEZONE``, checked at start)."""
    return ZoneInfo(line.setting("PEERLINE_TIMEZONE"))


def today(line: Line) -> date:
    """Today's date on the line's clocks."""
    return recurrence.local_today(line.now(), zone(line))


@dataclass(frozen=True)
class When:
    """A validated shift time: a weekday (recurring) or a date (once), start and end."""

    weekday: int | None
    on_date: date | None
    start: time
    end: time


def parse_when(line: Line, *, day: str | None, on_date: str | None, start: str,
               end: str) -> When:
    """Check the raw values a form or the CLI gives (exactly one of ``day``/``on_date``)."""
    day, on_date = (day or "").strip() or None, (on_date or "").strip() or None
    if (day is None) == (on_date is None):
        raise ScheduleError("give either a weekday (mon..sun) or a date (YYYY-MM-DD)")
    try:
        weekday = recurrence.parse_weekday(day) if day else None
        when_date = recurrence.parse_date(on_date) if on_date else None
        start_t, end_t = recurrence.parse_time(start), recurrence.parse_time(end)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    if start_t == end_t:
        raise ScheduleError("a shift must end at another time than it starts")
    if when_date is not None and when_date < today(line):
        raise ScheduleError("that date is in the past")
    return When(weekday, when_date, start_t, end_t)


def describe(shift: Shift) -> str:
    """``mon 09:00-12:00`` or ``2026-12-24 22:00-02:00`` (no name, no number)."""
    when = WEEKDAYS[shift.weekday] if shift.weekday is not None else str(shift.on_date)
    return f"{when} {shift.start_time:%H:%M}-{shift.end_time:%H:%M}"


def add_shift(session: Session, line: Line, actor: str, volunteer_id: int,
              when: When) -> Shift:
    """Schedule a volunteer (active) for a recurring or one-off shift; audited."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None or not volunteer.active:
        raise ScheduleError("no such active volunteer")
    shift = Shift(volunteer_id=volunteer.id, weekday=when.weekday, on_date=when.on_date,
                  start_time=when.start, end_time=when.end, created_at=line.now())
    session.add(shift)
    session.flush()
    audit.record(session, line, actor, "shift.add", f"shift #{shift.id}",
                 f"volunteer #{volunteer.id} {describe(shift)}")
    return shift


def add_for_phone(session: Session, line: Line, actor: str, phone: str,
                  when: When) -> Shift:
    """:func:`add_shift` for the volunteer with this phone (the CLI's way)."""
    try:
        volunteer = roster.find_by_phone(session, line, phone)
    except (InvalidNumber, roster.RosterError) as exc:
        raise ScheduleError(str(exc)) from None
    return add_shift(session, line, actor, volunteer.id, when)


def _live_shift(session: Session, shift_id: int) -> Shift:
    shift = session.scalar(select(Shift).where(Shift.id == shift_id).with_for_update())
    if shift is None or shift.removed_at is not None:
        raise ScheduleError(f"no shift #{shift_id}")
    return shift


def remove_shift(session: Session, line: Line, actor: str, shift_id: int) -> Shift:
    """Remove a shift from now on (occurrences already under way run to their end)."""
    shift = _live_shift(session, shift_id)
    shift.removed_at = line.now()
    session.execute(delete(ShiftSlot).where(ShiftSlot.shift_id == shift.id,
                                            ShiftSlot.started_at.is_(None),
                                            ShiftSlot.starts_at > line.now()))
    audit.record(session, line, actor, "shift.remove", f"shift #{shift.id}",
                 f"volunteer #{shift.volunteer_id} {describe(shift)}")
    return shift


def cancel_date(session: Session, line: Line, actor: str, shift_id: int,
                raw_date: str) -> ShiftException:
    """A recurring shift does not happen on one local date (an exception); audited."""
    shift = _live_shift(session, shift_id)
    if shift.weekday is None:
        raise ScheduleError("only a weekly shift has dates to cancel; remove a one-off shift")
    try:
        day = recurrence.parse_date(raw_date)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    if day.weekday() != shift.weekday:
        raise ScheduleError(f"shift #{shift.id} is on {WEEKDAYS[shift.weekday]}, "
                            f"not on {WEEKDAYS[day.weekday()]} {day}")
    if day < today(line):
        raise ScheduleError("that date is in the past")
    if session.scalar(select(ShiftException.id).where(ShiftException.shift_id == shift.id,
                                                      ShiftException.on_date == day)):
        raise ScheduleError(f"shift #{shift.id} is already cancelled on {day}")
    exception = ShiftException(shift_id=shift.id, on_date=day, created_at=line.now())
    session.add(exception)
    starts, _ends = recurrence.span(day, shift.start_time, shift.end_time, zone(line))
    session.execute(delete(ShiftSlot).where(ShiftSlot.shift_id == shift.id,
                                            ShiftSlot.starts_at == starts,
                                            ShiftSlot.started_at.is_(None)))
    session.flush()
    audit.record(session, line, actor, "shift.cancel_date", f"shift #{shift.id}",
                 f"volunteer #{shift.volunteer_id} {describe(shift)} on {day}")
    return exception


def list_shifts(session: Session, volunteer_id: int | None = None) -> list[Shift]:
    """Shifts not removed, of volunteers still on the roster (weekly ones first, by day
    and time), for one volunteer or all. A deactivated volunteer's shifts count for
    nobody (coverage shows the hole) and come back if they are reactivated."""
    stmt = select(Shift).join(Volunteer, Volunteer.id == Shift.volunteer_id).where(
        Shift.removed_at.is_(None), Volunteer.active.is_(True))
    if volunteer_id is not None:
        stmt = stmt.where(Shift.volunteer_id == volunteer_id)
    rows = list(session.scalars(stmt))
    return sorted(rows, key=lambda s: (s.weekday is None, s.weekday or 0,
                                       s.on_date or date.min, s.start_time, s.id))


def cancelled_dates(session: Session, shift_id: int) -> list[date]:
    """The dates a recurring shift is cancelled on, in order."""
    return list(session.scalars(select(ShiftException.on_date).where(
        ShiftException.shift_id == shift_id).order_by(ShiftException.on_date)))


def specs(session: Session, volunteer_id: int | None = None) -> list[ShiftSpec]:
    """Plain copies of the live shifts (with their cancelled dates) for recurrence."""
    cancelled: dict[int, set[date]] = {}
    for shift_id, day in session.execute(select(ShiftException.shift_id,
                                                ShiftException.on_date)):
        cancelled.setdefault(shift_id, set()).add(day)
    return [ShiftSpec(s.id, s.volunteer_id, s.weekday, s.on_date, s.start_time, s.end_time,
                      frozenset(cancelled.get(s.id, ()))) for s in list_shifts(session,
                                                                               volunteer_id)]


def occurrences(session: Session, line: Line, first: date, last: date,
                volunteer_id: int | None = None) -> list[Occurrence]:
    """Occurrences starting on local dates ``first``..``last``, by start time."""
    found = recurrence.occurrences(specs(session, volunteer_id), first, last, zone(line))
    return sorted(found, key=lambda o: (o.starts_at, o.shift_id))


def spans(session: Session, line: Line, start: datetime, end: datetime
          ) -> list[tuple[datetime, datetime, int]]:
    """Who is scheduled when between two UTC instants: ``(starts_at, ends_at,
    volunteer_id)``, with a given-up occurrence left out and a taken one under its new
    holder."""
    tz = zone(line)
    first = recurrence.to_local(start, tz).date() - timedelta(days=1)
    last = recurrence.to_local(end, tz).date()
    held = {(slot.shift_id, slot.starts_at): slot.volunteer_id for slot in session.scalars(
        select(ShiftSlot).where(ShiftSlot.starts_at >= start - timedelta(days=2),
                                ShiftSlot.starts_at < end))}
    out = []
    for occ in occurrences(session, line, first, last):
        if occ.ends_at <= start or occ.starts_at >= end:
            continue
        holder = held.get((occ.shift_id, occ.starts_at), occ.volunteer_id)
        if holder is not None:
            out.append((occ.starts_at, occ.ends_at, holder))
    return out


def slot_when(line: Line, slot: ShiftSlot) -> str:
    """``Tue Dec 8 09:00-12:00`` in the line's local time."""
    tz = zone(line)
    start = recurrence.to_local(slot.starts_at, tz)
    end = recurrence.to_local(slot.ends_at, tz)
    return f"{start:%a %b} {start.day} {start:%H:%M}-{end:%H:%M}"
