"""Shared steps for the schedule's tests: shifts added through the domain, times on the
line's clock, shift numbers read from texts."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from peerline.scheduling import recurrence, shifts

NY = ZoneInfo("America/New_York")
MONDAY = date(2027, 1, 4)
SHIFT_NO = re.compile(r"#(\d+)")


def schedule(svc: Any, volunteer_id: int, start: str, end: str, *, day: str | None = None,
             on_date: str | None = None) -> int:
    """Add a shift (as a coordinator would); returns its id."""
    with svc.sessions.begin() as session:
        when = shifts.parse_when(svc.line, day=day, on_date=on_date, start=start, end=end)
        return shifts.add_shift(session, svc.line, "test", volunteer_id, when).id


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """Naive UTC for a New York wall-clock time."""
    return recurrence.to_utc(day, time(hh, mm, ss), NY)


def shift_number(text: str) -> str:
    """The shift number (``#12``) a text names."""
    match = SHIFT_NO.search(text)
    assert match, text
    return match.group(1)
