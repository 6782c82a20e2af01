"""The dashboard blueprint and the checks every request to it passes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, request
from flask_login import current_user

from peerline.dashboard.extensions import csrf, login_manager
from peerline.models import Role

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")

#: Endpoints a signed-out person may POST to (their CSRF token is still checked).
OPEN_POSTS = {"dashboard.login"}
#: Endpoints any signed-in user may POST to, viewers included (nothing is changed).
VIEWER_POSTS = {"dashboard.logout"}


@bp.before_app_request
def forget_cached_identity() -> None:
    """Nothing about who is signed in carries over from an earlier request that shared
    this app context (Flask reuses an app context already pushed, as tests do)."""
    g.pop("_login_user", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


@bp.before_request
def guard() -> Any:
    """Every POST: a valid CSRF token (else 400), a signed-in user, and a role that may
    change things (a viewer gets 403)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    csrf.protect()
    if request.endpoint in OPEN_POSTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint not in VIEWER_POSTS and current_user.role == Role.VIEWER.value:
        abort(403)
    return None


@bp.after_request
def no_store(response: Any) -> Any:
    """Dashboard pages are never cached (a shared computer's back button)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def roles(*allowed: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only signed-in users with one of ``allowed`` roles (others: 403)."""
    names = {r.value for r in allowed}

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in names:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


#: Roles that change the roster and acknowledge escalations.
EDITORS = (Role.ADMIN, Role.COORDINATOR)
