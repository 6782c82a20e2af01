"""The dashboard's group sessions page: schedule (coordinators, admins), list, unschedule,
and attendance counts per meeting (everyone signed in; never who attended)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from peerline.groups import admin, conference
from peerline.groups.schedule import DAYS, ScheduleError, parse_day

from .blueprint import EDITORS, bp, roles


class GroupForm(FlaskForm):
    """A new group session: weekly (day) or once (date)."""

    topic = StringField("Topic", validators=[DataRequired(), Length(max=120)])
    lang = SelectField("Language (en, es)", choices=list(admin.LANGS))
    day = SelectField("Weekly on (or leave empty)", choices=["", *DAYS],
                      validators=[Optional()])
    on_date = DateField("Or once on", validators=[Optional()])
    start = StringField("Start (HH:MM)", validators=[DataRequired(), Length(max=5)])
    minutes = IntegerField("Minutes", default=60,
                           validators=[DataRequired(), NumberRange(5, admin.MAX_MINUTES)])
    capacity = IntegerField("Capacity", default=8,
                            validators=[DataRequired(), NumberRange(1, admin.MAX_CAPACITY)])
    facilitator = StringField("Facilitator's phone", validators=[DataRequired(),
                                                                 Length(max=32)])
    muted = BooleanField("Participants join muted", default=True)
    submit = SubmitField("Schedule group")


class RemoveForm(FlaskForm):
    """Unschedule a group (a CSRF token, nothing else)."""

    submit = SubmitField("Remove")


def _svc() -> Any:
    return current_app.extensions["peerline"]


def _page(form: GroupForm) -> str:
    with _svc().sessions() as db:
        rows = admin.list_groups(db)
        counts = conference.attendance(db)[:100]
    return render_template("dashboard/groups.html", rows=rows, counts=counts, form=form,
                           remove_form=RemoveForm(),
                           zone=_svc().line.setting("PEERLINE_TIMEZONE"))


@bp.route("/dashboard/groups", methods=["GET", "POST"])
@login_required
def groups_page() -> Any:
    """Scheduled groups and attendance counts; coordinators and admins add groups."""
    form = GroupForm()
    if request.method != "POST":
        return _page(form)
    if current_user.role not in {r.value for r in EDITORS}:
        return "Forbidden", 403
    if form.validate_on_submit():
        svc = _svc()
        try:
            with svc.sessions.begin() as db:
                group = admin.add_group(
                    db, svc.line, topic=form.topic.data or "", lang=form.lang.data or "en",
                    day=parse_day(form.day.data) if form.day.data else None,
                    on_date=form.on_date.data, start=form.start.data or "",
                    minutes=form.minutes.data or 0, capacity=form.capacity.data or 0,
                    facilitator_phone=form.facilitator.data or "",
                    muted=bool(form.muted.data), actor=current_user.email)
                topic = group.topic
            flash(f"Scheduled {topic}.", "info")
            return redirect(url_for("dashboard.groups_page"))
        except ScheduleError as exc:
            form.topic.errors = [*form.topic.errors, str(exc).replace("--", "")]
    return _page(form), 400


@bp.route("/dashboard/groups/<int:group_id>/remove", methods=["POST"])
@roles(*EDITORS)
def group_remove(group_id: int) -> Any:
    """Unschedule a group; its sign-ups are cancelled (audited)."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            cancelled = admin.remove_group(db, svc.line, group_id, actor=current_user.email)
    except ScheduleError:
        return "Not found", 404
    flash(f"Group #{group_id} removed; {cancelled} sign-up(s) cancelled.", "info")
    return redirect(url_for("dashboard.groups_page"))
