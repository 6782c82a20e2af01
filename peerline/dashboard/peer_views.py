"""Dashboard pages for peer support: feedback counts (no words, for every role) and
applications to volunteer (coordinators and admins approve or decline them)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from peerline.peer import applications, feedback
from peerline.people.phones import InvalidNumber
from peerline.people.roster import RosterError

from .blueprint import EDITORS, bp, roles
from .forms import ApproveForm, DeclineForm


def _svc() -> Any:
    return current_app.extensions["peerline"]


@bp.route("/dashboard/feedback")
@login_required
def feedback_page() -> Any:
    """Feedback after conversations: how many were asked, answered, and by score."""
    with _svc().sessions() as db:
        summary = feedback.summary(db)
    return render_template("dashboard/feedback.html", summary=summary)


@bp.route("/dashboard/applications")
@roles(*EDITORS)
def applications_page() -> Any:
    """Applications to volunteer waiting for a decision (the applicants' own answers)."""
    svc = _svc()
    with svc.sessions() as db:
        confirming = applications.waiting_for_phone(db)
        lapsed = [row for row in confirming if applications.lapsed(svc.line, row)]
        rows = [(row, ApproveForm(prefix=f"a{row.id}", data={
            "languages": applications.guess_languages(row.languages, row.lang)}))
            for row in applications.submitted(db) + lapsed]
        waiting = [(row, applications.confirm_until(row)) for row in confirming
                   if row not in lapsed]
    return render_template("dashboard/applications.html", rows=rows, decline=DeclineForm(),
                           waiting=waiting)


@bp.route("/dashboard/applications/<int:application_id>/approve", methods=["POST"])
@roles(*EDITORS)
def application_approve(application_id: int) -> Any:
    """Approve: the applicant's phone is texted a code; it joins the roster (off shift, no
    PIN yet) when that phone replies with it."""
    svc = _svc()
    form = ApproveForm(prefix=f"a{application_id}")
    if not form.validate_on_submit():
        flash("Languages are needed (en, es or en,es).", "error")
        return redirect(url_for("dashboard.applications_page"))
    try:
        with svc.sessions.begin() as db:
            volunteer = applications.approve(db, svc.line, current_user.email,
                                             application_id, form.languages.data or "")
            name = volunteer.name
    except (InvalidNumber, RosterError) as exc:
        flash(f"Application #{application_id}: {exc}", "error")
        return redirect(url_for("dashboard.applications_page"))
    flash(f"{name}: approved, waiting for the phone to confirm (the line texted it a code; "
          "they join the roster, off shift, when that phone replies with it).", "info")
    return redirect(url_for("dashboard.applications_page"))


@bp.route("/dashboard/applications/<int:application_id>/decline", methods=["POST"])
@roles(*EDITORS)
def application_decline(application_id: int) -> Any:
    """Decline: the applicant gets a kind text."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            applications.decline(db, svc.line, current_user.email, application_id)
    except RosterError as exc:
        flash(f"Application #{application_id}: {exc}", "error")
        return redirect(url_for("dashboard.applications_page"))
    flash(f"Application #{application_id} declined.", "info")
    return redirect(url_for("dashboard.applications_page"))
