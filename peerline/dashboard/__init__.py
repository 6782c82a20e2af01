"""The coordinators' dashboard: sign-in, live board, roster, schedule, escalations,
voicemails, reports, wellbeing, peer support (feedback, applications), jobs, users,
the audit log and the settings.

``init_app(app)`` wires Flask-Login, Flask-WTF's CSRF protection (checked on every
POST of this blueprint only: Twilio's webhooks carry signatures, not tokens), the
session cookie's flags and the blueprint itself.
"""

from __future__ import annotations

from flask import Flask

from peerline.dashboard import (
    auth,
    callbacks,
    groups,
    jobs,
    peer_views,
    reports_views,
    schedule_views,
    settings_views,
    views,
)
from peerline.dashboard.extensions import csrf, login_manager

#: The modules that put their pages on the blueprint (imported for their routes).
PAGES = (auth, callbacks, groups, jobs, peer_views, reports_views, schedule_views,
         settings_views, views)


def init_app(app: Flask) -> None:
    """Register the dashboard on ``app``."""
    secure = app.config.get("PEERLINE_COOKIE_SECURE")
    if secure in (None, ""):
        secure = str(app.config.get("PUBLIC_BASE_URL") or "").startswith("https://")
    elif isinstance(secure, str):
        secure = secure.strip().lower() not in ("0", "false", "no", "off")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(secure), REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=bool(secure),
        USE_SESSION_FOR_NEXT=True,
        # Checked by the blueprint itself (views.guard), not on the webhooks.
        WTF_CSRF_CHECK_DEFAULT=False)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "dashboard.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    login_manager.user_loader(auth.load_user)
    # One blueprint: views and peer_views (imported above) put their pages on it.
    app.register_blueprint(views.bp)
