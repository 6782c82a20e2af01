"""How many volunteers were scheduled in each hour of the week: the other side of the
staffing table, from the shift schedule (:mod:`peerline.scheduling`).

For each ``(weekday, hour)`` (Monday = 0, local time) it is the average number of
volunteers scheduled in that hour over the report's days, as the schedule's own week
grid counts them (a volunteer counts for an hour scheduled for any part of it; the hour
skipped when clocks spring forward is left out).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.reports.measure import Period
from peerline.scheduling import recurrence, week


def on_shift_per_hour(session: Session, line: Line,
                      when: Period) -> dict[tuple[int, int], float] | None:
    """Volunteers scheduled per hour of the week over ``when``, averaged over its days."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    seen: dict[tuple[int, int], int] = defaultdict(int)
    monday = recurrence.week_start(when.first)
    while monday <= when.last:
        grid = week.week_coverage(session, line, monday)
        for row in grid.rows:
            for cell in row:
                if cell is None or not when.first <= cell.day <= when.last:
                    continue
                key = (cell.day.weekday(), cell.hour)
                totals[key] += cell.count
                seen[key] += 1
        monday += timedelta(days=7)
    return {key: totals[key] / seen[key] for key in seen}
