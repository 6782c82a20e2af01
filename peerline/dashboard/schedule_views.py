"""The schedule page: a week of coverage (days x hours, empty hours marked), week by
week, and the shifts; coordinators and admins add, remove and cancel dates here (the
same domain calls and audit as ``flask --app wsgi schedule``). Reads without JS."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from peerline.models import Volunteer
from peerline.people import roster_admin
from peerline.scheduling import recurrence, shifts, week

from .blueprint import EDITORS, bp, roles
from .forms import CancelDateForm, ShiftForm


def _svc() -> Any:
    return current_app.extensions["peerline"]


def _choices(volunteers: list[Volunteer]) -> list[SelectChoice]:
    return [SelectChoice(str(v.id), v.name) for v in volunteers]


def _week_param(line: Any) -> date:
    """``?week=YYYY-MM-DD`` (any day of it), else this week; a bad value is a 400."""
    raw = request.args.get("week", "")
    if not raw:
        return recurrence.week_start(shifts.today(line))
    try:
        return recurrence.week_start(recurrence.parse_date(raw))
    except ValueError:
        abort(400, description="week must be a date, YYYY-MM-DD")


def _page(form: ShiftForm | None = None, status: int = 200) -> Any:
    svc = _svc()
    line = svc.line
    monday = _week_param(line)
    form = form or ShiftForm()
    with svc.sessions() as db:
        volunteers = roster_admin.active_volunteers(db)
        form.volunteer.choices = _choices(volunteers)
        grid = week.week_coverage(db, line, monday)
        rows = []
        for shift in shifts.list_shifts(db):
            volunteer = db.get(Volunteer, shift.volunteer_id)
            assert volunteer is not None
            rows.append((shift, volunteer.name, roster_admin.masked_phone(line, volunteer),
                         shifts.describe(shift), shifts.cancelled_dates(db, shift.id)))
    editor = current_user.role in {r.value for r in EDITORS}
    return render_template(
        "dashboard/schedule.html", grid=grid, rows=rows, form=form, editor=editor,
        cancel_form=CancelDateForm(), zone=line.setting("PEERLINE_TIMEZONE"),
        prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7),
        this_week=recurrence.week_start(shifts.today(line)), monday=monday), status


@bp.route("/dashboard/schedule", methods=["GET", "POST"])
@login_required
def schedule_page() -> Any:
    """The week view and the shifts; a POST (coordinators, admins) adds a shift."""
    if request.method == "GET":
        return _page()
    if current_user.role not in {r.value for r in EDITORS}:
        abort(403)
    svc = _svc()
    form = ShiftForm()
    with svc.sessions() as db:
        form.volunteer.choices = _choices(roster_admin.active_volunteers(db))
    if form.validate_on_submit():
        try:
            when = shifts.parse_when(svc.line, day=form.day.data, on_date=form.date.data,
                                     start=form.start.data or "", end=form.end.data or "")
            with svc.sessions.begin() as db:
                shift = shifts.add_shift(db, svc.line, current_user.email,
                                         form.volunteer.data or 0, when)
                text = f"Added shift #{shift.id} ({shifts.describe(shift)})."
            flash(text, "info")
            return redirect(url_for("dashboard.schedule_page", week=request.args.get("week")))
        except shifts.ScheduleError as exc:
            form.start.errors = [*form.start.errors, str(exc)]
    return _page(form, 400)


@bp.route("/dashboard/schedule/<int:shift_id>/remove", methods=["POST"])
@roles(*EDITORS)
def schedule_remove(shift_id: int) -> Any:
    """Remove a shift (its future occurrences); audited."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            shifts.remove_shift(db, svc.line, current_user.email, shift_id)
    except shifts.ScheduleError:
        abort(404)
    flash(f"Removed shift #{shift_id}.", "info")
    return redirect(url_for("dashboard.schedule_page"))


@bp.route("/dashboard/schedule/<int:shift_id>/cancel", methods=["POST"])
@roles(*EDITORS)
def schedule_cancel(shift_id: int) -> Any:
    """Cancel one date of a weekly shift; audited. A bad date is a 400 with the reason."""
    svc = _svc()
    form = CancelDateForm()
    if not form.validate_on_submit():
        abort(400, description="a date is needed, YYYY-MM-DD")
    try:
        with svc.sessions.begin() as db:
            shifts.cancel_date(db, svc.line, current_user.email, shift_id, form.date.data or "")
    except shifts.ScheduleError as exc:
        flash(str(exc), "error")
        return _page(status=400)
    flash(f"Shift #{shift_id} cancelled on {(form.date.data or '').strip()}.", "info")
    return redirect(url_for("dashboard.schedule_page"))
