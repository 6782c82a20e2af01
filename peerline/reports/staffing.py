"""Staffing per hour of the week: Erlang C on the measured arrivals and handling times,
next to how many were on shift.

Texts and calls are sized apart and added up (a volunteer on a call gets no text
offers). For calls a volunteer is one Erlang "agent". A texting volunteer holds up to
``capacity`` conversations at once (their capacity, at most one per line number), so
for texts an agent is a conversation *slot*: Erlang C finds the slots N that answer the
target share within the target wait, with the measured mean handling time (wall-clock
time from YES to the end, which already includes the slower pace of a volunteer sharing
their attention), and the volunteers needed are N / capacity rounded up. The capacity
used is the roster's average effective capacity (rounded down, at least 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Volunteer
from peerline.reports.figures import Hour
from peerline.staffing.erlang import needed
from peerline.text.pairing import effective_capacity

SHORT, COVERED, OVER, COMING = "short", "covered", "over", "coming"


def text_capacity(session: Session, line: Line) -> int:
    """Conversations a texting volunteer holds at once, on average over the roster."""
    people = session.scalars(select(Volunteer).where(Volunteer.active.is_(True))).all()
    if not people:
        return max(1, min(int(line.setting("PEERLINE_DEFAULT_CAPACITY")), len(line.numbers)))
    return max(1, sum(effective_capacity(line, v) for v in people) // len(people))


@dataclass(frozen=True)
class HourStaffing:
    """One hour of the week: volunteers needed (texts + calls) and on shift."""

    hour: Hour
    text_volunteers: int
    call_volunteers: int
    on_shift: float | None  # None: no schedule yet (see reports.coverage)

    @property
    def needed(self) -> int:
        """Volunteers needed on shift in this hour."""
        return self.text_volunteers + self.call_volunteers

    @property
    def status(self) -> str:
        """short / covered / over next to the schedule; ``coming`` without one."""
        if self.on_shift is None:
            return COMING
        if self.on_shift < self.needed:
            return SHORT
        return COVERED if self.on_shift < self.needed + 1 else OVER

    @property
    def gap(self) -> bool:
        """A coverage gap: contacts arrived and nobody was on shift (scheduled, or as
        measured when there is no schedule)."""
        demand = self.hour.texts + self.hour.calls
        if self.on_shift is not None:
            return demand > 0 and self.on_shift <= 0
        return self.hour.uncovered > 0


def _volunteers(per_hour: float, handle: float | None, within_s: float, target: float,
                capacity: int) -> int:
    if per_hour <= 0 or not handle:
        return 0
    return needed(per_hour, handle, within_s, target, capacity).volunteers


def per_hour(hours: list[Hour], handle_text: float | None, handle_call: float | None,
             capacity: int, answer_within_s: float, target: float,
             on_shift: dict[tuple[int, int], float] | None) -> list[HourStaffing]:
    """Volunteers needed in each hour (Erlang C), next to those on shift."""
    rows = []
    for hour in hours:
        rows.append(HourStaffing(
            hour,
            _volunteers(hour.texts_per_week, handle_text, answer_within_s, target, capacity),
            _volunteers(hour.calls_per_week, handle_call, answer_within_s, target, 1),
            None if on_shift is None else on_shift.get((hour.day, hour.hour), 0.0)))
    return rows
