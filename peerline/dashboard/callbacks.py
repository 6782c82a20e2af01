"""The Voicemails page: what waits for a callback, assign one to a peer, mark one done."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from peerline.voice import callback_admin

from .blueprint import EDITORS, bp, roles


def _svc() -> Any:
    return current_app.extensions["peerline"]


def _page(error: str = "", status: int = 200) -> Any:
    svc = _svc()
    with svc.sessions() as db:
        waiting, closed = callback_admin.listing(db, svc.line)
        peers = [(v.id, v.name, v.languages.split(",")) for v in callback_admin.callers(db)]
    return render_template("dashboard/voicemails.html", waiting=waiting, closed=closed,
                           peers=peers, error=error), status


@bp.route("/dashboard/voicemails")
@login_required
def voicemails_page() -> Any:
    """Voicemails waiting for a callback (crisis first), and the latest closed ones."""
    return _page()


def _int(name: str) -> int | None:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        return None


@bp.route("/dashboard/voicemails/<int:voicemail_id>/assign", methods=["POST"])
@roles(*EDITORS)
def voicemail_assign(voicemail_id: int) -> Any:
    """Ring the chosen peer to return this voicemail; audited."""
    svc = _svc()
    volunteer_id = _int("volunteer")
    if volunteer_id is None:
        return _page("Choose a volunteer.", 400)
    try:
        with svc.sessions.begin() as db:
            callback_admin.assign(db, svc.line, current_user.email, voicemail_id,
                                  volunteer_id)
    except callback_admin.CallbackError as exc:
        return _page(str(exc), 400)
    flash(f"Ringing the volunteer to return voicemail #{voicemail_id} (they key their PIN "
          "before it plays).", "info")
    return redirect(url_for("dashboard.voicemails_page"))


@bp.route("/dashboard/voicemails/<int:voicemail_id>/done", methods=["POST"])
@roles(*EDITORS)
def voicemail_done(voicemail_id: int) -> Any:
    """Mark a waiting voicemail done, with an optional note; audited."""
    svc = _svc()
    try:
        with svc.sessions.begin() as db:
            callback_admin.mark_done(db, svc.line, current_user.email, voicemail_id,
                                     request.form.get("note", ""))
    except callback_admin.CallbackError as exc:
        return _page(str(exc), 400)
    flash(f"Voicemail #{voicemail_id} marked done.", "info")
    return redirect(url_for("dashboard.voicemails_page"))
