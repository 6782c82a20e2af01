"""One report over a period: measured figures, the hours of the week, staffing, and the
CSV each chart can be downloaded as. Views and commands call :func:`build`."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from peerline.groups import conference
from peerline.line import Line
from peerline.reports import coverage, figures, measure, staffing
from peerline.reports.measure import Period

#: Defaults for the staffing table: 80% of contacts answered within two minutes.
ANSWER_WITHIN_S = 120.0
TARGET = 0.8
#: The charts (and their CSV downloads), by name.
CHARTS = ("contacts", "waits", "crises", "staffing", "attendance")


@dataclass(frozen=True)
class Report:
    """Everything the reports page, the charts and the commands show."""

    period: Period
    summary: dict[str, object]
    hours: list[figures.Hour]
    staffing: list[staffing.HourStaffing]
    capacity: int
    answer_within_s: float
    target: float
    #: Group meetings in the period, oldest first: counts only, never who.
    attendance: list[conference.Attendance] = field(default_factory=list)

    @property
    def groups(self) -> dict[str, int]:
        """Group meetings held in the period, participants counted over them (a person
        at two meetings counts twice), and the most at once in any one."""
        return {"meetings": len(self.attendance),
                "attended": sum(a.attended for a in self.attendance),
                "peak": max((a.peak for a in self.attendance), default=0)}


def build(session: Session, line: Line, when: Period, answer_within_s: float = ANSWER_WITHIN_S,
          target: float = TARGET) -> Report:
    """Measure the period and size each hour of the week."""
    contacts = measure.contacts(session, when)
    summary = figures.summary(when, contacts, measure.crisis_times(session, when))
    hours = figures.hourly(when, contacts)
    capacity = staffing.text_capacity(session, line)
    handle = summary["handle_minutes"]
    assert isinstance(handle, dict)
    rows = staffing.per_hour(hours, handle["texts"], handle["calls"], capacity,
                             answer_within_s, target,
                             coverage.on_shift_per_hour(session, line, when))
    meetings = conference.attendance(session, when.first, when.last)
    meetings.reverse()  # oldest first, as the chart reads
    return Report(when, summary, hours, rows, capacity, answer_within_s, target, meetings)


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else value


def table(report: Report, name: str) -> tuple[list[str], list[list[object]]]:
    """A chart's data as (header, rows)."""
    if name == "contacts":
        return (["hour_of_week", "day", "hour", "texts", "calls", "texts_per_week",
                 "calls_per_week", "texts_with_nobody_on_shift"],
                [[h.label, figures.DAYS[h.day], h.hour, h.texts, h.calls, h.texts_per_week,
                  h.calls_per_week, h.uncovered] for h in report.hours])
    if name == "waits":
        waits = report.summary["wait_s"]
        assert isinstance(waits, dict)
        return (["channel", "p50_s", "p90_s", "p99_s"],
                [[channel, w["p50"], w["p90"], w["p99"]] for channel, w in waits.items()])
    if name == "crises":
        weeks = report.summary["crises_per_week"]
        assert isinstance(weeks, list)
        return (["week_starting", "crises"], [[w["week"], w["crises"]] for w in weeks])
    if name == "staffing":
        return (["hour_of_week", "texts_per_week", "calls_per_week", "text_volunteers",
                 "call_volunteers", "needed", "on_shift", "status", "coverage_gap"],
                [[s.hour.label, s.hour.texts_per_week, s.hour.calls_per_week,
                  s.text_volunteers, s.call_volunteers, s.needed, s.on_shift, s.status,
                  "yes" if s.gap else ""] for s in report.staffing])
    if name == "attendance":
        return (["date", "group", "topic", "attended", "most_at_once"],
                [[a.occurs_on.isoformat(), a.group_id, a.topic, a.attended, a.peak]
                 for a in report.attendance])
    raise KeyError(name)


def as_csv(report: Report, name: str) -> str:
    """A chart's data as CSV text (floats to three places, blanks for none)."""
    header, rows = table(report, name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_fmt(v) for v in row])
    return out.getvalue()
