"""The report's figures from measured contacts (pure: no database, no I/O).

Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at
rank ``ceil(p/100 × n)`` (so it is always one of the measured waits). Hours of the week
are local (``PEERLINE_TIMEZONE``), Monday 00:00 first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from peerline.reports.measure import CALL, TEXT, Contact, Period

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PERCENTILES = (50, 90, 99)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def waits(contacts: list[Contact]) -> dict[str, float | None]:
    """p50/p90/p99 of the waits of answered contacts, in seconds."""
    measured = [c.wait_s for c in contacts if c.wait_s is not None]
    return {f"p{p}": percentile(measured, p) for p in PERCENTILES}


def handle_minutes(contacts: list[Contact], channel: str) -> float | None:
    """Mean handling time of one channel's finished contacts, in minutes."""
    mean = _mean([c.handle_s for c in contacts if c.channel == channel and c.handle_s is not None])
    return None if mean is None else mean / 60.0


def week_of(when: Period, moment: datetime) -> str:
    """The local Monday (YYYY-MM-DD) of the week a moment falls in."""
    day = when.local(moment).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def crises_per_week(when: Period, crisis_times: list[datetime]) -> list[dict[str, object]]:
    """Crisis escalations per local week (Monday first), every week of the range listed."""
    counts: dict[str, int] = {}
    monday = when.first - timedelta(days=when.first.weekday())
    while monday <= when.last:
        counts[monday.isoformat()] = 0
        monday += timedelta(days=7)
    for moment in crisis_times:
        week = week_of(when, moment)
        counts[week] = counts.get(week, 0) + 1
    return [{"week": week, "crises": n} for week, n in sorted(counts.items())]


def summary(when: Period, contacts: list[Contact],
            crisis_times: list[datetime]) -> dict[str, object]:
    """The headline figures (what ``reports summary --json`` prints)."""
    by = {TEXT: [c for c in contacts if c.channel == TEXT],
          CALL: [c for c in contacts if c.channel == CALL]}
    answered = sum(1 for c in contacts if c.answered_at is not None)
    abandoned = sum(1 for c in contacts if c.abandoned)
    return {
        "since": when.first.isoformat(), "until": when.last.isoformat(),
        "contacts": {"texts": len(by[TEXT]), "calls": len(by[CALL]), "all": len(contacts)},
        "answered": answered, "answer_rate": _share(answered, len(contacts)),
        "abandoned": abandoned, "abandonment_rate": _share(abandoned, len(contacts)),
        "wait_s": {"all": waits(contacts), "texts": waits(by[TEXT]), "calls": waits(by[CALL])},
        "handle_minutes": {"texts": handle_minutes(contacts, TEXT),
                           "calls": handle_minutes(contacts, CALL)},
        "crises": len(crisis_times),
        "crises_per_week": crises_per_week(when, crisis_times),
        "uncovered_contacts": sum(1 for c in contacts if c.uncovered),
    }


@dataclass
class Hour:
    """One hour of the week: what arrived in it over the range, and per week."""

    day: int  # 0 = Monday
    hour: int
    texts: int = 0
    calls: int = 0
    uncovered: int = 0  # texts that arrived with nobody on shift
    weeks: float = 1.0

    @property
    def label(self) -> str:
        """``Mon 09:00``."""
        return f"{DAYS[self.day]} {self.hour:02d}:00"

    @property
    def texts_per_week(self) -> float:
        """Texts arriving in this hour, on average per week (the hour's arrival rate)."""
        return self.texts / self.weeks

    @property
    def calls_per_week(self) -> float:
        """Calls arriving in this hour, on average per week."""
        return self.calls / self.weeks


def hourly(when: Period, contacts: list[Contact]) -> list[Hour]:
    """168 hours of the week, Monday 00:00 first, with the contacts that arrived in each."""
    hours = [Hour(day, hour, weeks=when.weeks) for day in range(7) for hour in range(24)]
    for contact in contacts:
        local = when.local(contact.arrived_at)
        slot = hours[local.weekday() * 24 + local.hour]
        if contact.channel == TEXT:
            slot.texts += 1
            slot.uncovered += contact.uncovered
        else:
            slot.calls += 1
    return hours
