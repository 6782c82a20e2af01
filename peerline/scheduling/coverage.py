"""Coverage of a week, hour by hour of the line's local clock: how many volunteers are
scheduled, and the hours with nobody. Pure: occurrences in, a grid out.

A volunteer counts for an hour when scheduled for any part of it; an hour is *empty*
when nobody is, and *partly empty* when some minutes of it have nobody. The hour
skipped when clocks spring forward does not exist (``None``); the hour repeated when
they fall back is one cell spanning both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from peerline.scheduling.recurrence import to_utc


@dataclass(frozen=True)
class Cell:
    """One local hour of one day."""

    day: date
    hour: int
    count: int
    partly_empty: bool

    @property
    def empty(self) -> bool:
        """Nobody is scheduled in this hour at all."""
        return self.count == 0


@dataclass(frozen=True)
class Week:
    """Seven local days from Monday ``start``; ``rows[d][h]`` is a Cell, or None for an
    hour that does not exist that day."""

    start: date
    rows: list[list[Cell | None]]

    @property
    def days(self) -> list[date]:
        """The week's seven local dates."""
        return [self.start + timedelta(days=i) for i in range(7)]

    def empty_hours(self) -> list[Cell]:
        """The hours with nobody scheduled, in order."""
        return [c for row in self.rows for c in row if c is not None and c.empty]


def hour_bounds(day: date, hour: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local ``hour`` on ``day`` (empty for a skipped hour)."""
    start = to_utc(day, time(hour), zone)
    end = to_utc(day + timedelta(days=1), time(0), zone) if hour == 23 else \
        to_utc(day, time(hour + 1), zone)
    return start, end


def _cell(day: date, hour: int, start: datetime, end: datetime,
          spans: list[tuple[datetime, datetime, int]]) -> Cell:
    inside = [(max(s, start), min(e, end), v) for s, e, v in spans if s < end and e > start]
    covered_until = start
    gap = False
    for s, e, _v in sorted(inside):
        if s > covered_until:
            gap = True
        covered_until = max(covered_until, e)
    gap = gap or covered_until < end
    return Cell(day, hour, len({v for _s, _e, v in inside}), gap)


def week(start: date, spans: Iterable[tuple[datetime, datetime, int]],
         zone: ZoneInfo) -> Week:
    """The coverage grid of the week from Monday ``start``; ``spans`` are
    ``(starts_at, ends_at, volunteer_id)`` in naive UTC."""
    items = list(spans)
    rows: list[list[Cell | None]] = []
    for offset in range(7):
        day = start + timedelta(days=offset)
        row: list[Cell | None] = []
        for hour in range(24):
            lo, hi = hour_bounds(day, hour, zone)
            row.append(_cell(day, hour, lo, hi, items) if hi > lo else None)
        rows.append(row)
    return Week(start, rows)
