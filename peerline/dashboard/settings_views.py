"""The admins' settings page: the line's effective configuration, read-only, secrets
and phone numbers masked by :mod:`peerline.settings_display`."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from peerline import settings_display
from peerline.models import Role

from .blueprint import bp, roles


@bp.route("/dashboard/settings")
@roles(Role.ADMIN)
def settings_page() -> Any:
    """Every setting the line reads, as the running app has it (admins only)."""
    rows = settings_display.effective(current_app.config)
    return render_template("dashboard/settings.html", rows=rows)
