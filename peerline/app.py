"""The app factory: settings, middleware, the services, blueprints and CLI commands."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, redirect
from werkzeug.middleware.proxy_fix import ProxyFix

from peerline import config as settings
from peerline import handlers
from peerline.cli import register_cli
from peerline.dashboard import init_app as init_dashboard
from peerline.delivery import spool
from peerline.extensions import Services, default_instance_dir
from peerline.logs import install_redaction
from peerline.simulator.calls import bp as call_simulator_bp
from peerline.simulator.views import bp as simulator_bp
from peerline.text.views import bp as sms_bp
from peerline.voice.views import bp as voice_bp
from peerline.web.bodylimit import BodyLimit
from peerline.web.health import bp as health_bp
from peerline.web.ids import DatabaseIdConverter
from peerline.web.sessions import CookieSessions

log = logging.getLogger(__name__)

#: The largest request body accepted (Twilio's webhooks are a few KiB).
MAX_BODY_BYTES = 64 * 1024


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
        hops = values["PEERLINE_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)  # type: ignore[method-assign]
    app.wsgi_app = BodyLimit(app.wsgi_app, MAX_BODY_BYTES)  # type: ignore[method-assign]
    app.session_interface = CookieSessions()  # no serializer built for a cookieless webhook
    # Webhook bodies are a few KiB: anything bigger is refused (413) before it is read
    # (the middleware, for every route); werkzeug's own limit stays as a second guard.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    install_redaction()
    handlers.check()  # every task kind has its handler, or the line does not start
    app.extensions["peerline"] = Services(app.config, clock=clock,
                                          text_failed=handlers.TEXT_FAILED)
    if spool.has_leftovers(values["INSTANCE_DIR"]):
        spool.mark_pending()  # texts spooled to a file before a restart: replay them
    _register_blueprints(app)
    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Before any route is added: ids past the database's integer range are 404s.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.register_blueprint(health_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(voice_bp)
    init_dashboard(app)
    if app.config["PEERLINE_GATEWAY"] == "local":
        # The simulators show numbers and sign webhooks: they exist only on the local
        # gateway. With Twilio their routes are never registered (every URL is a 404).
        app.register_blueprint(simulator_bp)
        app.register_blueprint(call_simulator_bp)
    home = "/simulator" if app.config["PEERLINE_GATEWAY"] == "local" else "/dashboard"
    app.add_url_rule("/", "home", lambda: redirect(home))

