"""``flask --app wsgi dev``: the whole line locally (``make run``), with demo volunteers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from peerline import embedded_redis, schema
from peerline.commands.common import services
from peerline.people import roster as roster_domain

DEMO_VOLUNTEERS = (("Alex (demo)", "+15550100001", "en,es"), ("Sam (demo)", "+15550100002", "en"))
#: The demo volunteers' voice PIN (``make run`` only, local gateway).
DEMO_PIN = "1234"
#: The demo on-call coordinator's phone (``make run`` on the local gateway, when
#: ``PEERLINE_ONCALL_NUMBER`` is unset): open it in the simulator to see the alerts.
DEMO_ONCALL = "+15550100090"


@click.command("dev")
@click.option("--port", default=5000, show_default=True, envvar="FLASK_RUN_PORT",
              help="Port of the web server (or FLASK_RUN_PORT).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="FLASK_RUN_HOST",
              help="Address to listen on (or FLASK_RUN_HOST).")
@with_appcontext
def dev_command(port: int, host: str) -> None:
    """Run the whole line locally: schema, embedded Redis, worker, web, simulator.

    Ctrl-C (or SIGTERM, SIGHUP) stops all three: the web server, the worker and the
    embedded Redis server this command started.
    """
    svc = services()
    schema.upgrade(svc.engine)
    local = svc.config["PEERLINE_GATEWAY"] == "local"
    with svc.sessions.begin() as session:
        if not roster_domain.list_volunteers(session):
            for name, phone, lang in DEMO_VOLUNTEERS:
                roster_domain.add_volunteer(session, svc.line, name, phone, lang,
                                            pin=DEMO_PIN if local else None)
    if local and not svc.config["PEERLINE_ONCALL_NUMBER"]:
        svc.config["PEERLINE_ONCALL_NUMBER"] = DEMO_ONCALL  # a phone in the simulator
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in stops[1:]:
        signal.signal(signum, lambda *_: sys.exit(0))  # unwind to the clean-up below
    worker: subprocess.Popen[bytes] | None = None
    try:
        env = dict(os.environ, REDIS_URL=svc.redis_url(),
                   DATABASE_URL=svc.config["DATABASE_URL"],
                   PEERLINE_ONCALL_NUMBER=svc.config["PEERLINE_ONCALL_NUMBER"])
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                  env=env)
        click.echo(f"peerline is running: http://{host}:{port}/simulator  (Ctrl-C stops it)")

        run_simple(host, port, current_app._get_current_object(),  # type: ignore[attr-defined]
                   threaded=True, use_reloader=False)
    finally:
        for signum in stops:  # a second Ctrl-C (or make's own TERM) must not skip this
            signal.signal(signum, signal.SIG_IGN)
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        embedded_redis.stop_all()
        click.echo("peerline stopped.")
