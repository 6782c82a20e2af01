"""Dashboard pages for reports and volunteers' wellbeing: thin callers of
:mod:`peerline.reports` and :mod:`peerline.people.wellbeing`. Charts are SVG drawn
server-side (:mod:`peerline.reports.charts`); each has a CSV download."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, current_app, render_template, request

from peerline import days
from peerline.models import Role
from peerline.people import wellbeing
from peerline.reports import charts, measure, report

from .blueprint import EDITORS, bp, roles

#: Everyone signed in may read the reports (viewers too: nothing here names a survivor).
READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER)


def _svc() -> Any:
    return current_app.extensions["peerline"]


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return days.parse_day(raw)
    except ValueError as exc:
        abort(400, description=f"{name}: {exc}")


def _number(name: str, default: float, low: float, high: float) -> float:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        abort(400, description=f"{name} must be a number")
    if not low <= value <= high:
        abort(400, description=f"{name} must be between {low:g} and {high:g}")
    return value


def _report() -> report.Report:
    """The report the query string asks for (``since``, ``until``, ``within``, ``target``
    in percent); bad values get 400."""
    svc = _svc()
    within = _number("within", report.ANSWER_WITHIN_S, 0, 86400)
    target = _number("target", report.TARGET * 100, 1, 99) / 100.0
    try:
        when = measure.period(svc.line, _day("since"), _day("until"))
    except ValueError as exc:
        abort(400, description=str(exc))
    if (when.last - when.first).days > 366:
        abort(400, description="a report covers at most a year")
    with svc.sessions() as db:
        return report.build(db, svc.line, when, within, target)


def _query() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in ("since", "until", "within",
                                                            "target")}


@bp.route("/dashboard/reports")
@roles(*READERS)
def reports_page() -> Any:
    """Measured figures, charts (with CSV), and staffing per hour of the week."""
    built = _report()
    return render_template("dashboard/reports.html", report=built, query=_query(),
                           charts=report.CHARTS)


@bp.route("/dashboard/reports/<name>.svg")
@roles(*READERS)
def report_chart(name: str) -> Any:
    """One chart as SVG."""
    if name not in charts.DRAW:
        abort(404)
    return Response(charts.DRAW[name](_report()), mimetype="image/svg+xml")


@bp.route("/dashboard/reports/<name>.csv")
@roles(*READERS)
def report_csv(name: str) -> Any:
    """One chart's data as CSV."""
    if name not in report.CHARTS:
        abort(404)
    return Response(report.as_csv(_report(), name), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={name}.csv"})


@bp.route("/dashboard/wellbeing")
@roles(*EDITORS)
def wellbeing_page() -> Any:
    """Volunteers' last seven days: who had several crises, who is cooling down."""
    svc = _svc()
    with svc.sessions() as db:
        rows = wellbeing.crisis_week(db, svc.line)
    return render_template("dashboard/wellbeing.html", rows=rows,
                           flag=svc.line.setting("PEERLINE_CRISES_FLAG"))
