"""``flask --app wsgi …`` commands: schema, roster, worker, sweeper, and the local line."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import roster as roster_domain
from . import schema
from .extensions import QUEUE_NAME, Services
from .phones import InvalidNumber, masked

log = logging.getLogger(__name__)
db_cli = AppGroup("db", help="Create or migrate the database schema.")
roster_cli = AppGroup("roster", help="The volunteer roster.")
voice_cli = AppGroup("voice", help="The voice line: voicemails and callbacks.")
escalations_cli = AppGroup("escalations", help="The crisis escalation log.")
privacy_cli = AppGroup("privacy", help="Quick exits: what Twilio was asked to delete.")

DEMO_VOLUNTEERS = (("Alex (demo)", "+15550100001", "en,es"), ("Sam (demo)", "+15550100002", "en"))


def _services() -> Services:
    return current_app.extensions["peerline"]


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create the schema, or migrate it to the newest revision."""
    schema.upgrade(_services().engine, revision)
    click.echo("database is at revision " + revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    schema.revision(_services().engine, message)


@roster_cli.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--lang", default="en", show_default=True, help="Comma-separated: en,es")
@click.option("--capacity", type=int, default=None, help="Parallel text conversations.")
def roster_add(name: str, phone: str, lang: str, capacity: int | None) -> None:
    """Put a volunteer on the roster."""
    svc = _services()
    try:
        with svc.sessions.begin() as session:
            volunteer = roster_domain.add_volunteer(session, svc.line, name, phone, lang,
                                                    capacity)
            vid = volunteer.id
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added volunteer #{vid} {name}")


@roster_cli.command("list")
def roster_list() -> None:
    """Show the roster (numbers masked)."""
    svc = _services()
    with svc.sessions() as session:
        people = roster_domain.list_volunteers(session)
        if not people:
            click.echo("the roster is empty")
        for v in people:
            phone = masked(svc.line.vault.decrypt(v.phone_enc))
            shift = "on shift" if v.on_shift else "off shift"
            state = "" if v.active else " (inactive)"
            click.echo(f"#{v.id}\t{v.name}\t{phone}\t{v.languages}\tcapacity {v.capacity}\t"
                       f"{shift}{state}")


@voice_cli.command("voicemails")
def voice_voicemails() -> None:
    """List voicemails waiting for a callback (no numbers, no words)."""
    from sqlalchemy import select

    from .models_voice import Voicemail

    with _services().sessions() as session:
        rows = session.scalars(select(Voicemail).where(Voicemail.status == "new")
                               .order_by(Voicemail.priority.desc(), Voicemail.id)).all()
        if not rows:
            click.echo("no voicemails waiting")
        for vm in rows:
            crisis = " CRISIS" if vm.priority else ""
            click.echo(f"#{vm.id}\t{vm.lang}\t{vm.created_at:%Y-%m-%d %H:%M}{crisis}")


@voice_cli.command("callback")
@click.option("--voicemail", "voicemail_id", type=int, required=True)
@click.option("--volunteer", "volunteer_id", type=int, required=True)
def voice_callback(voicemail_id: int, volunteer_id: int) -> None:
    """Ring a volunteer to return a voicemail through the line (numbers masked)."""
    from .voice.ivr import start_callback

    svc = _services()
    with svc.sessions.begin() as session:
        started = start_callback(session, svc.line, voicemail_id, volunteer_id)
    if not started:
        raise click.UsageError("that voicemail or volunteer cannot take a callback now")
    click.echo(f"ringing volunteer #{volunteer_id} to return voicemail #{voicemail_id}")


@escalations_cli.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only those not acknowledged.")
def escalations_list(only_open: bool) -> None:
    """Show escalations, newest first (category and source; never a number)."""
    from sqlalchemy import select

    from .models import Escalation

    with _services().sessions() as session:
        query = select(Escalation).order_by(Escalation.id.desc()).limit(200)
        if only_open:
            query = query.where(Escalation.acknowledged_at.is_(None))
        rows = session.scalars(query).all()
        if not rows:
            click.echo("no escalations")
        for e in rows:
            ack = f"ack by {e.acknowledged_by}" if e.acknowledged_at else "OPEN"
            click.echo(f"#{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\tconversation "
                       f"#{e.conversation_id}\t{e.category}\t{e.source}\t{ack}")


@escalations_cli.command("ack")
@click.argument("escalation_id", type=int)
@click.option("--by", "by", required=True, help="Who acknowledges it.")
def escalations_ack(escalation_id: int, by: str) -> None:
    """Acknowledge an escalation."""
    from .escalation import acknowledge

    svc = _services()
    with svc.sessions.begin() as session:
        done = acknowledge(session, svc.line, escalation_id, by)
    if not done:
        raise click.UsageError("no such open escalation")
    click.echo(f"escalation #{escalation_id} acknowledged")


@privacy_cli.command("deletions")
@click.option("--all", "show_all", is_flag=True, help="Also those already deleted.")
def privacy_deletions(show_all: bool) -> None:
    """Records at Twilio a quick exit asked to delete: failed and pending ones (sids only)."""
    from sqlalchemy import select

    from .models_privacy import RemoteDeletion

    with _services().sessions() as session:
        query = select(RemoteDeletion).order_by(RemoteDeletion.id.desc()).limit(500)
        if not show_all:
            query = query.where(RemoteDeletion.status.in_(("failed", "pending")))
        rows = session.scalars(query).all()
        if not rows:
            click.echo("nothing waiting or failed")
        for r in rows:
            click.echo(f"#{r.id}\t{r.kind}\t{r.sid}\t{r.status}\ttries {r.attempts}\t"
                       f"survivor #{r.survivor_id}\t{r.last_error or ''}")


@click.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt stored numbers and sealed words with the first PEERLINE_ENCRYPTION_KEYS key."""
    from .keys import rotate_all

    svc = _services()
    with svc.sessions.begin() as session:
        count = rotate_all(session, svc.line.vault)
    click.echo(f"re-encrypted {count} values")


#: Seconds between the worker's Redis housekeeping (it also restarts a dead scheduler).
WORKER_MAINTENANCE_S = 15
#: The worker's heartbeat TTL; it blocks on the queue for this minus 15 s at a time.
WORKER_TTL_S = 30


def _worker_class() -> type:
    """SimpleWorker that reconnects quickly and tells us when a stop was asked for."""
    from rq import SimpleWorker

    class LineWorker(SimpleWorker):
        # RQ backs off up to 60 s between reconnects; once Redis is back, come back fast.
        max_connection_wait_time = 2.0
        stopping = threading.Event()

        def request_stop(self, signum: Any, frame: Any) -> None:
            LineWorker.stopping.set()
            super().request_stop(signum, frame)

    return LineWorker


def run_worker(app: Flask, burst: bool = False) -> None:
    """An RQ worker (non-forking, with scheduler) plus the sweeper thread beside it.

    RQ's work loop quits on some Redis errors (a time-out, an error outside its dequeue
    retry, a failed registration while Redis is down). Work must not stop because Redis
    blinked, so the loop is restarted until a stop is asked for; the sweeper thread,
    which reads the database, keeps re-enqueueing whatever a Redis restart wiped.
    """
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from workers.context import set_app

    from .sweeper import run_forever

    set_app(app)
    svc: Services = app.extensions["peerline"]
    stop = threading.Event()
    sweeper = threading.Thread(target=run_forever, args=(svc, stop), name="sweeper",
                               daemon=True)
    sweeper.start()
    worker_class = _worker_class()
    try:
        while True:
            # Its own connection: RQ raises the socket time-out for its blocking pops,
            # which must not reach the sweeper's short-time-out client.
            url = svc.redis_url()
            options: dict[str, Any] = {"socket_connect_timeout": 2, "health_check_interval": 30}
            if not url.startswith("unix:"):
                options["socket_keepalive"] = True  # not for the embedded server's socket
            connection = Redis.from_url(url, **options)
            try:
                worker = worker_class([QUEUE_NAME], connection=connection,
                                      maintenance_interval=WORKER_MAINTENANCE_S,
                                      worker_ttl=WORKER_TTL_S)
                worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("worker lost Redis (%s); restarting it", type(exc).__name__)
            finally:
                connection.close()
            if burst or worker_class.stopping.is_set():
                break
            log.warning("worker loop ended without a stop request; restarting it")
            worker_class.stopping.wait(1.0)
    finally:
        stop.set()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker with scheduler on the line's queue, and the sweeper."""
    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@click.command("sweeper")
@with_appcontext
def sweeper_command() -> None:
    """Run only the sweeper loop (timers, lost-job recovery)."""
    from .sweeper import run_forever

    run_forever(_services(), threading.Event())


@click.command("dev")
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@with_appcontext
def dev_command(port: int, host: str) -> None:
    """Run the whole line locally: schema, embedded Redis, worker, web, simulator."""
    svc = _services()
    schema.upgrade(svc.engine)
    with svc.sessions.begin() as session:
        if not roster_domain.list_volunteers(session):
            for name, phone, lang in DEMO_VOLUNTEERS:
                roster_domain.add_volunteer(session, svc.line, name, phone, lang)
    env = dict(os.environ, REDIS_URL=svc.redis_url(),
               DATABASE_URL=svc.config["DATABASE_URL"])
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                              env=env)
    click.echo(f"peerline is running: http://{host}:{port}/simulator  (Ctrl-C stops it)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the worker on TERM too
    try:
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(),  # type: ignore[attr-defined]
                   threaded=True, use_reloader=False)
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def register_cli(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(voice_cli)
    app.cli.add_command(escalations_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweeper_command)
    app.cli.add_command(dev_command)
    app.cli.add_command(rotate_keys_command)
