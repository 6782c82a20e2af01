"""Dashboard pages: thin callers of the domain (board, roster_admin, escalation,
accounts, audit). Every page reads without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from peerline.dashboard import board
from peerline.models import Role, User, Volunteer
from peerline.peer import tags as peer_tags
from peerline.people import roster_admin, roster_import
from peerline.people.phones import InvalidNumber
from peerline.people.roster import RosterError
from peerline.staff import accounts, audit, escalation_log
from peerline.text import escalation, pairing

from .blueprint import EDITORS, bp, roles
from .forms import AckForm, EditVolunteerForm, ImportForm, PinForm, UserForm, VolunteerForm

#: How often the live board asks for a fresh fragment (well within the 5 s promise).
POLL_MS = 2000


def _svc() -> Any:
    return current_app.extensions["peerline"]


def _actor() -> str:
    return current_user.email


def _ago(seconds: int) -> str:
    """``42 s``, ``5 min``, ``2 h 10 min``."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@bp.app_template_filter("ago")
def ago_filter(seconds: int) -> str:
    """Template filter: a wait in words."""
    return _ago(int(seconds))


# --- live board ----------------------------------------------------------------------

@bp.route("/dashboard", endpoint="board")
@login_required
def board_page() -> Any:
    """The live board (the dashboard's home page)."""
    with _svc().sessions() as db:
        snap = board.snapshot(db, _svc().line)
    return render_template("dashboard/board.html", board=snap, poll_ms=POLL_MS)


@bp.route("/dashboard/board")
@login_required
def board_fragment() -> Any:
    """Just the board's contents, for the page to poll (no layout)."""
    with _svc().sessions() as db:
        snap = board.snapshot(db, _svc().line)
    return render_template("dashboard/_board.html", board=snap)


# --- roster --------------------------------------------------------------------------

@bp.route("/dashboard/roster", methods=["GET", "POST"])
@login_required
def roster_page() -> Any:
    """Active volunteers by name; coordinators and admins add one here."""
    svc = _svc()
    form = VolunteerForm()
    if request.method == "POST":
        if current_user.role not in {r.value for r in EDITORS}:
            abort(403)
        if form.validate_on_submit():
            try:
                with svc.sessions.begin() as db:
                    volunteer = roster_admin.add(
                        db, svc.line, _actor(), form.name.data or "", form.phone.data or "",
                        form.languages.data or "en", form.capacity.data)
                    name = volunteer.name
                flash(f"Added {name}.", "info")
                return redirect(url_for("dashboard.roster_page"))
            except (InvalidNumber, RosterError) as exc:
                form.phone.errors = [*form.phone.errors, str(exc)]
        status = 400
    else:
        status = 200
    return _roster(form=form), status


def _roster(form: VolunteerForm | None = None, import_form: ImportForm | None = None,
            import_errors: list[str] | None = None) -> str:
    """The roster page, with the add and import forms (and an import's errors)."""
    svc = _svc()
    with svc.sessions() as db:
        rows = [(v, roster_admin.masked_phone(svc.line, v), pairing.load(db, v.id)[0],
                 roster_admin.pin_state(svc.line, v))
                for v in roster_admin.active_volunteers(db)]
    return render_template("dashboard/roster.html", rows=rows, form=form or VolunteerForm(),
                           import_form=import_form or ImportForm(),
                           import_errors=import_errors or [])


@bp.route("/dashboard/roster/import", methods=["POST"])
@roles(*EDITORS)
def roster_import_csv() -> Any:
    """Add volunteers from an uploaded CSV: all rows, or none (errors by row and line)."""
    svc = _svc()
    form = ImportForm()
    if not form.validate_on_submit():
        return _roster(import_form=form), 400
    try:
        text = roster_import.decode(form.file.data.read())
        with svc.sessions.begin() as db:
            result = roster_import.import_csv(db, svc.line, _actor(), text)
    except roster_import.ImportRejected as exc:
        return _roster(import_form=form, import_errors=[str(e) for e in exc.errors]), 400
    flash(f"Imported {result.added} volunteers.", "info")
    return redirect(url_for("dashboard.roster_page"))


def _volunteer_page(volunteer_id: int, form: EditVolunteerForm | None = None,
                    pin_form: PinForm | None = None, phone: str | None = None,
                    status: int = 200) -> Any:
    """A volunteer's page: edit, PIN reset, the masked number (or, once, the full one)."""
    svc = _svc()
    with svc.sessions() as db:
        volunteer = db.get(Volunteer, volunteer_id)
        if volunteer is None or not volunteer.active:
            abort(404)
        masked = roster_admin.masked_phone(svc.line, volunteer)
        pin = roster_admin.pin_state(svc.line, volunteer)
    return render_template("dashboard/volunteer.html", volunteer=volunteer,
                           form=form or _edit_form(volunteer),
                           pin_form=pin_form or PinForm(), pin=pin,
                           phone=phone or masked, revealed=phone is not None), status


@bp.route("/dashboard/roster/<int:volunteer_id>", methods=["GET", "POST"])
@roles(*EDITORS)
def volunteer_edit(volunteer_id: int) -> Any:
    """Edit a volunteer's name, phone, languages and capacity."""
    svc = _svc()
    form = _tag_choices(EditVolunteerForm())
    if request.method == "POST" and form.validate_on_submit():
        try:
            with svc.sessions.begin() as db:
                roster_admin.edit(db, svc.line, _actor(), volunteer_id,
                                  name=form.name.data or "", languages=form.languages.data or "",
                                  capacity=form.capacity.data or 0,
                                  phone=form.phone.data or "")
                peer_tags.set_tags(db, svc.line, _actor(), volunteer_id,
                                   tags=form.experience.data or [],
                                   no_match=form.not_matched.data or [])
            flash("Saved.", "info")
            return redirect(url_for("dashboard.roster_page"))
        except RosterError as exc:
            target = form.phone if "phone" in str(exc) or "number" in str(exc) \
                else form.languages
            target.errors = [*target.errors, str(exc)]
        except peer_tags.TagError as exc:
            form.not_matched.errors = [*form.not_matched.errors, str(exc)]
    if request.method == "POST":
        return _volunteer_page(volunteer_id, form=form, status=400)
    return _volunteer_page(volunteer_id)


@bp.route("/dashboard/roster/<int:volunteer_id>/pin", methods=["POST"])
@roles(*EDITORS)
def volunteer_pin(volunteer_id: int) -> Any:
    """Reset a volunteer's voice PIN (typed twice; never shown or logged); audited."""
    svc = _svc()
    form = PinForm()
    if form.validate_on_submit():
        try:
            with svc.sessions.begin() as db:
                name = roster_admin.set_pin(db, svc.line, _actor(), volunteer_id,
                                            form.pin.data or "").name
            flash(f"New voice PIN set for {name}.", "info")
            return redirect(url_for("dashboard.volunteer_edit", volunteer_id=volunteer_id))
        except RosterError as exc:
            form.pin.errors = [*form.pin.errors, str(exc)]
    return _volunteer_page(volunteer_id, pin_form=form, status=400)


def _edit_form(volunteer: Volunteer) -> EditVolunteerForm:
    """The edit form, its tag boxes from ``PEERLINE_PEER_TAGS`` (ticked as they are)."""
    return _tag_choices(EditVolunteerForm(obj=volunteer, data={
        "experience": volunteer.tag_list,
        "not_matched": [t for t in volunteer.tag_list if t not in volunteer.match_tags]}))


def _tag_choices(form: EditVolunteerForm) -> EditVolunteerForm:
    """The tag boxes' choices: the line's configured lived-experience tags."""
    choices = [(tag, tag) for tag in peer_tags.configured(_svc().line)]
    form.experience.choices = form.not_matched.choices = choices
    return form


@bp.route("/dashboard/roster/<int:volunteer_id>/reveal", methods=["POST"])
@roles(*EDITORS)
def volunteer_reveal(volunteer_id: int) -> Any:
    """The full number, shown once on a deliberate click (a POST), and audited."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            phone = roster_admin.reveal_phone(db, svc.line, _actor(), volunteer_id)
    except RosterError:
        abort(404)
    return _volunteer_page(volunteer_id, phone=phone)


@bp.route("/dashboard/roster/<int:volunteer_id>/deactivate", methods=["POST"])
@roles(*EDITORS)
def volunteer_deactivate(volunteer_id: int) -> Any:
    """Take a volunteer off the roster (their live conversations go back to the queue)."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            name = roster_admin.deactivate(db, svc.line, _actor(), volunteer_id).name
    except RosterError:
        abort(404)
    flash(f"{name} is no longer on the roster.", "info")
    return redirect(url_for("dashboard.roster_page"))


@bp.route("/dashboard/roster.csv")
@roles(*EDITORS)
def roster_csv() -> Any:
    """The active roster as CSV (phones masked)."""
    svc = _svc()
    with svc.sessions() as db:
        body = roster_admin.export_csv(db, svc.line)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=roster.csv"})


# --- escalations ---------------------------------------------------------------------

@bp.route("/dashboard/escalations")
@login_required
def escalations_page() -> Any:
    """Escalations, newest first, filtered by ``?status=open|acknowledged|all``,
    ``?category=`` and ``?since=``/``?until=`` (days, UTC, both included)."""
    args = request.args
    status = 200
    try:
        wanted = escalation_log.filters(args.get("status"), args.get("category"),
                                        args.get("since"), args.get("until"))
        error = ""
    except escalation_log.FilterError as exc:
        wanted, error, status = escalation_log.Filters(), str(exc), 400
    show_words = current_user.role in {r.value for r in EDITORS}
    with _svc().sessions() as db:
        rows = escalation_log.listing(db, wanted)
        notes = escalation_log.notes(db, [e.id for e in rows if e.acknowledged_at])
    return render_template("dashboard/escalations.html", rows=rows, wanted=wanted, notes=notes,
                           error=error, show_words=show_words,
                           names=escalation.CATEGORY_NAMES, form=AckForm()), status


@bp.route("/dashboard/escalations/<int:escalation_id>/ack", methods=["POST"])
@roles(*EDITORS)
def escalation_ack(escalation_id: int) -> Any:
    """Acknowledge an escalation (once), with an optional note; audited."""
    svc = _svc()
    note = request.form.get("note", "")
    with svc.sessions.begin() as db:
        done = escalation_log.acknowledge(db, svc.line, _actor(), escalation_id, note)
    flash(f"Escalation #{escalation_id} acknowledged." if done
          else f"Escalation #{escalation_id} was already acknowledged.", "info")
    return redirect(url_for("dashboard.escalations_page"))


# --- admins: audit log and users -----------------------------------------------------

@bp.route("/dashboard/audit")
@roles(Role.ADMIN)
def audit_page() -> Any:
    """The audit log, newest first (admins only)."""
    with _svc().sessions() as db:
        rows = audit.recent(db)
    return render_template("dashboard/audit.html", rows=rows)


@bp.route("/dashboard/users", methods=["GET", "POST"])
@roles(Role.ADMIN)
def users_page() -> Any:
    """Dashboard users; admins add more here."""
    svc = _svc()
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            with svc.sessions.begin() as db:
                accounts.add_user(db, svc.line, form.email.data or "", form.password.data or "",
                                  form.role.data or "viewer", _actor())
            flash("User added.", "info")
            return redirect(url_for("dashboard.users_page"))
        except accounts.AccountError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
    if request.method == "POST":
        status = 400
    return _users(form, status=status)


def _users(form: UserForm | None = None, error: str = "", status: int = 200) -> Any:
    """The users page (with the add form, and an error when a change was refused)."""
    with _svc().sessions() as db:
        users = accounts.list_users(db)
    return render_template("dashboard/users.html", users=users, form=form or UserForm(),
                           error=error), status


@bp.route("/dashboard/users/<int:user_id>/deactivate", methods=["POST"])
@roles(Role.ADMIN)
def user_deactivate(user_id: int) -> Any:
    """Stop a user signing in (not yourself, nor the last admin); audited."""
    svc = _svc()
    if user_id == current_user.id:
        return _users(error="You cannot deactivate yourself.", status=400)
    try:
        with svc.sessions.begin() as db:
            user = db.get(User, user_id)
            if user is None:
                abort(404)
            accounts.deactivate_user(db, svc.line, user.email, _actor())
            email = user.email
    except accounts.AccountError as exc:
        return _users(error=str(exc).capitalize() + ".", status=400)
    flash(f"{email} can no longer sign in.", "info")
    return redirect(url_for("dashboard.users_page"))
