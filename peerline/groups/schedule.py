"""When groups meet: the line's time zone, and each group's meetings as UTC times.

A group meets once (``on_date``) or weekly (``weekday``) at ``start`` ("HH:MM") in the
line's time zone, for ``minutes``. A *meeting* is one group on one local date. Times in
the database are naive UTC, like everywhere else in the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import GroupSession

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A caller may join from this long before a meeting starts...
OPEN_BEFORE = timedelta(minutes=10)
#: ... and until this long after it started (late joining); never after it ends.
LATE_JOIN = timedelta(minutes=30)
#: At most this many meetings are listed (numbered 1-9 for ``JOIN n``).
LIST_MAX = 9


class ScheduleError(ValueError):
    """A day, date or time that cannot be used."""


def line_zone(line: Line) -> ZoneInfo:
    """The line's time zone (``PEERLINE_TIMEZONE``): the one place it is read."""
    return ZoneInfo(line.setting("PEERLINE_TIMEZONE"))


def parse_day(raw: str) -> int:
    """``mon``..``sun`` (or the full name) as 0..6."""
    key = raw.strip().lower()[:3]
    if key not in DAYS:
        raise ScheduleError("--day is one of mon, tue, wed, thu, fri, sat, sun")
    return DAYS.index(key)


def parse_date(raw: str) -> date:
    """``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ScheduleError("--date is YYYY-MM-DD") from None


def parse_start(raw: str) -> str:
    """``HH:MM`` (24 h), normalised to two digits each."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw.strip())
    if not match:
        raise ScheduleError("--start is HH:MM (24-hour clock)")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@dataclass(frozen=True)
class Meeting:
    """One group on one local date, with its UTC start and end (naive)."""

    group_id: int
    occurs_on: date
    starts_at: datetime
    ends_at: datetime

    @property
    def join_from(self) -> datetime:
        """The earliest a caller may join."""
        return self.starts_at - OPEN_BEFORE

    @property
    def join_until(self) -> datetime:
        """The latest a caller may join (late joining ends here)."""
        return min(self.ends_at, self.starts_at + LATE_JOIN)


def _utc(zone: ZoneInfo, day: date, start: str) -> datetime:
    hour, minute = (int(part) for part in start.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def meeting_on(line: Line, group: GroupSession, day: date) -> Meeting:
    """``group``'s meeting on the local date ``day``."""
    starts = _utc(line_zone(line), day, group.start)
    return Meeting(group.id, day, starts, starts + timedelta(minutes=group.minutes))


def meetings_of(line: Line, group: GroupSession, since: datetime,
                until: datetime) -> list[Meeting]:
    """``group``'s meetings that have not ended by ``since`` and start before ``until``."""
    zone = line_zone(line)
    first = since.replace(tzinfo=UTC).astimezone(zone).date() - timedelta(days=1)
    last = until.replace(tzinfo=UTC).astimezone(zone).date()
    if group.on_date is not None:
        days = [group.on_date] if first <= group.on_date <= last else []
    else:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)
                if (first + timedelta(days=n)).weekday() == group.weekday]
    found = [meeting_on(line, group, day) for day in days]
    return [m for m in found if m.ends_at > since and m.starts_at < until]


def upcoming(session: Session, line: Line) -> list[tuple[GroupSession, Meeting]]:
    """Meetings one can still sign up for, soonest first (numbered 1.. for ``JOIN n``)."""
    now = line.now()
    until = now + timedelta(days=line.setting("PEERLINE_GROUPS_AHEAD_DAYS"))
    found = []
    for group in session.scalars(select(GroupSession).where(GroupSession.active.is_(True))):
        found += [(group, m) for m in meetings_of(line, group, now, until)
                  if m.join_until > now]
    found.sort(key=lambda pair: (pair[1].starts_at, pair[0].id))
    return found[:LIST_MAX]


def open_now(session: Session, line: Line) -> list[tuple[GroupSession, Meeting]]:
    """Meetings on now (from ``OPEN_BEFORE`` their start to their end): a caller may try
    to join; past ``join_until`` they are told kindly that it is too late."""
    now = line.now()
    found = []
    for group in session.scalars(select(GroupSession).where(GroupSession.active.is_(True))):
        found += [(group, m) for m in meetings_of(line, group, now, now + OPEN_BEFORE)
                  if m.join_from <= now < m.ends_at]
    found.sort(key=lambda pair: (pair[1].starts_at, pair[0].id))
    return found


def running_now(session: Session, line: Line, facilitator_id: int
                ) -> list[tuple[GroupSession, Meeting]]:
    """Meetings ``facilitator_id`` leads that are open now (from before the start to the end)."""
    now = line.now()
    found = []
    for group in session.scalars(select(GroupSession).where(
            GroupSession.active.is_(True), GroupSession.facilitator_id == facilitator_id)):
        found += [(group, m) for m in meetings_of(line, group, now, now + OPEN_BEFORE)
                  if m.join_from <= now < m.ends_at]
    return found


def local_time(line: Line, at: datetime) -> datetime:
    """A naive UTC time on the line's clock face (aware)."""
    return at.replace(tzinfo=UTC).astimezone(line_zone(line))
