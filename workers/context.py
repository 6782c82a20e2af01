"""The worker's app: built once per worker process, reused by every job."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, has_app_context

from peerline.extensions import Services

_app: Flask | None = None


def set_app(app: Flask) -> None:
    """Use ``app`` for jobs run in this process (the worker command calls this)."""
    global _app
    _app = app


def current_services(make_app: Callable[[], Flask]) -> Services:
    """Services of the current app context, the worker's app, or ``make_app()``'s."""
    global _app
    if has_app_context():
        return current_app.extensions["peerline"]
    if _app is None:
        _app = make_app()
    return _app.extensions["peerline"]
