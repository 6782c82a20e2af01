"""A week of the schedule as the dashboard shows it: coverage per hour and the shifts."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.scheduling import coverage, recurrence, shifts


def week_coverage(session: Session, line: Line, start: date) -> coverage.Week:
    """The coverage grid of the local week from Monday ``start``."""
    tz = shifts.zone(line)
    monday = recurrence.week_start(start)
    lo = recurrence.to_utc(monday, time(0), tz)
    hi = recurrence.to_utc(monday + timedelta(days=7), time(0), tz)
    return coverage.week(monday, shifts.spans(session, line, lo, hi), tz)
