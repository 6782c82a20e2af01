"""peerline: a peer-support line for survivors of trauma that works on any phone."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from . import config as settings
from .extensions import Services, default_instance_dir
from .logs import install_redaction

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None,
               clock: Callable[[], datetime] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides the environment (tests pass a dict)."""
    values = settings.from_environment()
    values.update(config or {})
    values = settings.finalise(values)
    values["INSTANCE_DIR"] = values.get("PEERLINE_INSTANCE_DIR") or default_instance_dir()
    if not values["DATABASE_URL"]:
        os.makedirs(values["INSTANCE_DIR"], exist_ok=True)
        values["DATABASE_URL"] = "sqlite:///" + os.path.join(values["INSTANCE_DIR"],
                                                             "peerline.db")
    app = Flask(__name__)
    app.config.update(values)
    if values["PEERLINE_PROXY_HOPS"]:
        # Behind N trusted proxies, sign-check against the URL Twilio used.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = values["PEERLINE_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)  # type: ignore[method-assign]
    install_redaction()
    if values["PEERLINE_GATEWAY"] == "twilio":
        if values["USING_DEV_SECRET"]:
            log.warning("SECRET_KEY is not set: encryption keys derive from a dev secret")
        if values["USING_DEV_NUMBERS"]:
            log.warning("PEERLINE_NUMBERS is not set: texts would leave from the dev test lines")
        if not values["PUBLIC_BASE_URL"]:
            log.warning("PUBLIC_BASE_URL is not set: calls the line places need it")
    app.extensions["peerline"] = Services(app.config, clock=clock)
    from . import spool

    if spool.has_leftovers(values["INSTANCE_DIR"]):
        spool.mark_pending()  # texts spooled to a file before a restart: replay them
    _register_blueprints(app)
    from .cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .health import bp as health_bp
    from .simulator.views import bp as simulator_bp
    from .sms.views import bp as sms_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(simulator_bp)
    try:
        from .voice.views import bp as voice_bp
    except ImportError:  # the voice line is built in its own issue
        return
    app.register_blueprint(voice_bp)


def services() -> Services:
    """The current app's :class:`Services`."""
    return current_app.extensions["peerline"]
