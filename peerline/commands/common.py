"""What every command needs: the app's services."""

from __future__ import annotations

from flask import current_app

from peerline.extensions import Services


def services() -> Services:
    """The running app's services (sessions, line, Redis)."""
    return current_app.extensions["peerline"]
