"""The reports' charts, drawn server-side to SVG with matplotlib.

Only the dashboard's reports view imports this module. It never touches ``pyplot`` or
the global backend: each chart is its own ``Figure`` on an SVG canvas, so importing
matplotlib here changes nothing for the rest of the process.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from peerline.reports.figures import DAYS
from peerline.reports.report import Report

TEXT_COLOUR = "#3b6ea5"
CALL_COLOUR = "#d9822b"


def _svg(figure: Figure) -> bytes:
    FigureCanvasSVG(figure)
    out = io.BytesIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    return out.getvalue()


def _week_axis(axes, title: str, ylabel: str) -> None:  # noqa: ANN001
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.set_xticks([d * 24 for d in range(7)], DAYS)
    axes.set_xlim(-1, 168)
    axes.grid(axis="y", alpha=0.3)


def contacts(report: Report) -> bytes:
    """Contacts per hour of the week (per week on average), texts and calls apart."""
    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots()
    x = list(range(168))
    texts = [h.texts_per_week for h in report.hours]
    calls = [h.calls_per_week for h in report.hours]
    axes.bar(x, texts, width=1.0, color=TEXT_COLOUR, label="texts")
    axes.bar(x, calls, width=1.0, bottom=texts, color=CALL_COLOUR, label="calls")
    _week_axis(axes, "Contacts per hour of the week", "per week")
    axes.legend(loc="upper right")
    return _svg(figure)


def waits(report: Report) -> bytes:
    """Wait until a volunteer answered: p50, p90, p99 for texts, calls and all."""
    figure = Figure(figsize=(6, 3.2))
    axes = figure.subplots()
    data = report.summary["wait_s"]
    assert isinstance(data, dict)
    channels = list(data)
    for i, p in enumerate(("p50", "p90", "p99")):
        values = [(data[c][p] or 0) / 60.0 for c in channels]
        axes.bar([j + i * 0.27 for j in range(len(channels))], values, width=0.27, label=p)
    axes.set_xticks([j + 0.27 for j in range(len(channels))], channels)
    axes.set_title("Wait until a volunteer answered")
    axes.set_ylabel("minutes")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    return _svg(figure)


def crises(report: Report) -> bytes:
    """Crisis escalations per week."""
    figure = Figure(figsize=(6, 3.2))
    axes = figure.subplots()
    weeks = report.summary["crises_per_week"]
    assert isinstance(weeks, list)
    axes.bar([w["week"][5:] for w in weeks], [w["crises"] for w in weeks], color="#b03a2e")
    axes.set_title("Crises per week (week starting)")
    axes.set_ylabel("escalations")
    axes.grid(axis="y", alpha=0.3)
    return _svg(figure)


def staffing(report: Report) -> bytes:
    """Volunteers needed per hour of the week (Erlang C), and on shift when known."""
    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots()
    x = list(range(168))
    axes.step(x, [s.needed for s in report.staffing], where="post", color=TEXT_COLOUR,
              label="needed")
    if report.staffing and report.staffing[0].on_shift is not None:
        axes.step(x, [s.on_shift or 0 for s in report.staffing], where="post",
                  color=CALL_COLOUR, label="on shift")
    _week_axis(axes, "Volunteers needed per hour of the week", "volunteers")
    axes.legend(loc="upper right")
    return _svg(figure)


def attendance(report: Report) -> bytes:
    """Group meetings: participants who joined, and the most at once (counts only)."""
    figure = Figure(figsize=(max(6, 0.6 * len(report.attendance) + 2), 3.2))
    axes = figure.subplots()
    labels = [f"{a.occurs_on:%m-%d} #{a.group_id}" for a in report.attendance]
    x = list(range(len(labels)))
    axes.bar([i - 0.2 for i in x], [a.attended for a in report.attendance], width=0.4,
             color=TEXT_COLOUR, label="joined")
    axes.bar([i + 0.2 for i in x], [a.peak for a in report.attendance], width=0.4,
             color=CALL_COLOUR, label="most at once")
    axes.set_xticks(x, labels, rotation=45, ha="right")
    axes.set_title("Group attendance per meeting (date, group)")
    axes.set_ylabel("participants")
    axes.grid(axis="y", alpha=0.3)
    if labels:
        axes.legend()
    return _svg(figure)


DRAW = {"contacts": contacts, "waits": waits, "crises": crises, "staffing": staffing,
        "attendance": attendance}
