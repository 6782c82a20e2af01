"""How many volunteers were on shift in each hour of the week: the other side of the
staffing table.

The hook for the shift schedule: :func:`on_shift_per_hour` returns ``None`` while this
branch has no schedule model (the reports then mark "on shift" as coming and count
coverage gaps from what was measured: texts that arrived with nobody on shift). When
the schedule lands, it returns, for each ``(weekday, hour)`` (Monday = 0, local time),
the average number of volunteers scheduled in that hour over the period, and the
staffing table says short / covered / over.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.reports.measure import Period


def on_shift_per_hour(session: Session, line: Line,
                      when: Period) -> dict[tuple[int, int], float] | None:
    """Volunteers scheduled per hour of the week over ``when`` (None: no schedule yet)."""
    del session, line, when  # no schedule model on this branch yet: see the module doc
    return None
