"""Pure time arithmetic for shifts: local wall-clock times in the line's zone to UTC.

The rule across daylight-saving changes (documented in README):
- A shift is wall-clock time: 09:00–17:00 is 09:00 to 17:00 on the clocks of the line's
  zone whatever the offset, so its UTC instants move by an hour across a change.
- A local time that does not exist (the hour skipped when clocks spring forward) is
  read with the offset before the change, i.e. moved forward by the gap: 02:30 on a
  spring-forward day in New York is 03:30 EDT.
- A local time that happens twice (the hour repeated when clocks fall back) is its
  first occurrence (daylight time).
- So 01:30–03:00 lasts 30 minutes on the spring-forward day and 2 h 30 on the fall-back
  day: what the wall clocks show. An end at or before the start is the next day
  (22:00–02:00 is overnight). A shift that would come out empty is skipped.
No I/O here: plain values in, plain values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from peerline import days

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ShiftSpec:
    """What recurrence needs of a shift (a plain copy of the row)."""

    id: int
    volunteer_id: int
    weekday: int | None
    on_date: date | None
    start: time
    end: time
    cancelled: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a shift: its local date and its UTC instants (naive UTC)."""

    shift_id: int
    volunteer_id: int
    local_date: date
    starts_at: datetime
    ends_at: datetime


def to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local ``day`` at ``at`` in ``zone`` as naive UTC (gap: moved forward; repeated
    hour: the first one)."""
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """A naive UTC instant as an aware local time in ``zone``."""
    return instant.replace(tzinfo=UTC).astimezone(zone)


def span(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of a shift starting on local ``day`` (an end at or before the
    start is the next day)."""
    end_day = day + timedelta(days=1) if end <= start else day
    return to_utc(day, start, zone), to_utc(end_day, end, zone)


def occurrences(specs: Iterable[ShiftSpec], first: date, last: date,
                zone: ZoneInfo) -> Iterator[Occurrence]:
    """Every occurrence starting on a local date from ``first`` to ``last`` (inclusive),
    cancelled dates left out, in no particular order."""
    for spec in specs:
        if spec.on_date is not None:
            days: Iterable[date] = [spec.on_date] if first <= spec.on_date <= last else []
        elif spec.weekday is not None:
            offset = (spec.weekday - first.weekday()) % 7
            count = max(((last - first).days - offset) // 7 + 1, 0)
            days = (first + timedelta(days=offset + 7 * i) for i in range(count))
        else:
            days = []
        for day in days:
            if day in spec.cancelled:
                continue
            starts, ends = span(day, spec.start, spec.end, zone)
            if ends > starts:
                yield Occurrence(spec.id, spec.volunteer_id, day, starts, ends)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """Today's local date for a naive UTC ``now``."""
    return to_local(now, zone).date()


def parse_weekday(raw: str) -> int:
    """``mon``..``sun`` (or a full name) as 0..6; ``ValueError`` otherwise."""
    key = raw.strip().lower()[:3]
    if len(raw.strip()) < 3 or key not in WEEKDAYS:
        raise ValueError("day must be one of mon, tue, wed, thu, fri, sat, sun")
    return WEEKDAYS.index(key)


def parse_time(raw: str) -> time:
    """``HH:MM`` (24-hour) as a time; ``ValueError`` otherwise."""
    text = raw.strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts) \
            or not 1 <= len(parts[0]) <= 2 or len(parts[1]) != 2:
        raise ValueError(f"time must be HH:MM (24-hour), not {text[:10]!r}")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"time must be HH:MM (24-hour), not {text[:10]!r}")
    return time(hour, minute)


def parse_date(raw: str) -> date:
    """``YYYY-MM-DD`` (years 1900-2999) as a date; ``ValueError`` otherwise."""
    try:
        return days.parse_day(raw)
    except ValueError as exc:
        raise ValueError(f"date must be YYYY-MM-DD: {exc}") from None
