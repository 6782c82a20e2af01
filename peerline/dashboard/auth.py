"""Sign in and sign out (Flask-Login sessions, scrypt passwords, lock-out)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, g, redirect, render_template, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from peerline.models import User
from peerline.staff import accounts

from .blueprint import bp
from .forms import LoginForm

log = logging.getLogger(__name__)


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees it (plain values, no ORM object)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.role = user.role

    def can_edit(self) -> bool:
        """Admins and coordinators change things; viewers only read."""
        return self.role in ("admin", "coordinator")


def _svc() -> Any:
    return current_app.extensions["peerline"]


def load_user(user_id: str) -> SignedIn | None:
    """Flask-Login's loader: the active user with this id, read afresh every request."""
    try:
        ident = int(user_id)
    except (TypeError, ValueError):
        return None
    with _svc().sessions() as db:
        user = db.get(User, ident)
        return SignedIn(user) if user is not None and user.active else None


def _fresh_session() -> None:
    """Forget everything the session held, the CSRF token cached for this request too."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; on success, the live board (or the page asked for)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.board"))
    form = LoginForm()
    if form.validate_on_submit():
        svc = _svc()
        config = current_app.config
        with svc.sessions.begin() as db:
            user = accounts.authenticate(
                db, svc.line, form.email.data or "", form.password.data or "",
                max_failures=int(config.get("PEERLINE_LOGIN_MAX_FAILURES",
                                            accounts.MAX_FAILURES)),
                lock_seconds=int(config.get("PEERLINE_LOGIN_LOCK_S", accounts.LOCK_SECONDS)))
            signed_in = SignedIn(user) if user is not None else None
        if signed_in is None:
            flash("Wrong email or password, or the account is locked for a while.", "error")
            return render_template("dashboard/login.html", form=form), 401
        wanted = session.pop("next", None)
        _fresh_session()  # a fresh session (and CSRF token) at every sign-in
        login_user(signed_in)
        log.info("event=dashboard_login user=%s", signed_in.id)
        if isinstance(wanted, str) and wanted.startswith("/dashboard") \
                and "//" not in wanted and "\\" not in wanted:
            return redirect(wanted)
        return redirect(url_for("dashboard.board"))
    return render_template("dashboard/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Sign out (a POST with a CSRF token, so no page can sign someone out)."""
    logout_user()
    _fresh_session()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.login"))
