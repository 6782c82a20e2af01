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

from . import embedded_redis, pins, schema
from . import roster as roster_domain
from .extensions import QUEUE_NAME, Services
from .phones import InvalidNumber, masked

log = logging.getLogger(__name__)
db_cli = AppGroup("db", help="Create or migrate the database schema.")
roster_cli = AppGroup("roster", help="The volunteer roster.")
voice_cli = AppGroup("voice", help="The voice line: voicemails and callbacks.")
escalations_cli = AppGroup("escalations", help="The crisis escalation log.")
spool_cli = AppGroup("spool", help="Texts spooled while the database was down; dead letters.")
privacy_cli = AppGroup("privacy", help="Quick exits: what Twilio was asked to delete.")

DEMO_VOLUNTEERS = (("Alex (demo)", "+15550100001", "en,es"), ("Sam (demo)", "+15550100002", "en"))
#: The demo volunteers' voice PIN (``make run`` only, local gateway).
DEMO_PIN = "1234"
#: The demo on-call coordinator's phone (``make run`` on the local gateway, when
#: ``PEERLINE_ONCALL_NUMBER`` is unset): open it in the simulator to see the alerts.
DEMO_ONCALL = "+15550100090"


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
@click.option("--pin", default=None,
              help="Voice PIN, 4-12 digits (stored hashed). Prefer `roster set-pin`, "
                   "which prompts for it and keeps it out of shell history.")
def roster_add(name: str, phone: str, lang: str, capacity: int | None,
               pin: str | None) -> None:
    """Put a volunteer on the roster."""
    svc = _services()
    try:
        with svc.sessions.begin() as session:
            volunteer = roster_domain.add_volunteer(session, svc.line, name, phone, lang,
                                                    capacity, pin=pin)
            vid = volunteer.id
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added volunteer #{vid} {name}" + (" with a PIN" if pin else
                                                   " (no PIN yet: roster set-pin)"))


@roster_cli.command("set-pin")
@click.option("--phone", required=True)
def roster_set_pin(phone: str) -> None:
    """Set a volunteer's voice PIN (asked twice, never shown); also lifts a PIN lock."""
    def digits(value: str) -> str:
        try:
            return pins.check_format(value)
        except pins.PinError as exc:
            raise click.UsageError(str(exc)) from None

    svc = _services()
    try:
        with svc.sessions() as session:  # a wrong phone fails before a PIN is asked
            roster_domain.find_by_phone(session, svc.line, phone)
        pin = click.prompt("New PIN (4-12 digits)", hide_input=True,
                           confirmation_prompt="Same PIN again", value_proc=digits)
        with svc.sessions.begin() as session:
            vid = roster_domain.set_pin(session, svc.line, phone, pin).id
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"PIN set for volunteer #{vid}")


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
            pin = "PIN" if v.pin_hash else "no PIN"
            if v.pin_hash and pins.locked(svc.line, v):
                pin = "PIN locked"
            click.echo(f"#{v.id}\t{v.name}\t{phone}\t{v.languages}\tcapacity {v.capacity}\t"
                       f"{shift}{state}\t{pin}")


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
    """Ring a volunteer to return a voicemail through the line (numbers masked).

    The volunteer keys their PIN on that call before the voicemail plays.
    """
    from .voice.ivr import callback_refusal, start_callback

    svc = _services()
    with svc.sessions.begin() as session:
        reason = callback_refusal(session, svc.line, voicemail_id, volunteer_id)
        started = reason is None and start_callback(session, svc.line, voicemail_id,
                                                    volunteer_id)
    if not started:
        raise click.UsageError(reason or "that voicemail or volunteer cannot take a "
                                         "callback now")
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


@spool_cli.command("list")
def spool_list() -> None:
    """Show what the spool holds and every dead letter (no numbers, no words)."""
    from . import spool_admin

    svc = _services()
    where = svc.config["INSTANCE_DIR"]
    counts = spool_admin.counts(svc.redis(), where)
    if counts.redis_waiting is None:
        click.echo("redis: unreachable")
    else:
        click.echo(f"redis: {counts.redis_waiting} waiting, {counts.redis_in_flight} "
                   f"being replayed, {counts.redis_dead} dead letters")
    click.echo(f"file on this host: {counts.file_waiting} waiting, {counts.file_dead} "
               "dead letters")
    for letter in spool_admin.dead_letters(svc.redis(), where, svc.line):
        click.echo(f"{letter.id}\t{letter.where}\t{letter.message_sid}\t{letter.why}")


@spool_cli.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
def spool_retry(ids: tuple[str, ...], everything: bool) -> None:
    """Put dead letters (by id, from `spool list`) back in the spool and replay it."""
    from . import spool, spool_admin

    if not ids and not everything:
        raise click.UsageError("name dead letters by id (see `spool list`), or --all")
    svc = _services()
    moved = spool_admin.redrive(svc.redis(), svc.config["INSTANCE_DIR"],
                                None if everything else set(ids))
    before = len(spool_admin.dead_letters(svc.redis(), svc.config["INSTANCE_DIR"], svc.line))
    stored = spool.drain(svc)
    after = len(spool_admin.dead_letters(svc.redis(), svc.config["INSTANCE_DIR"], svc.line))
    click.echo(f"re-driven {moved}; replayed {stored}; parked again {after - before}")
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
    """SimpleWorker that reconnects quickly, tells us when a stop was asked for, and runs
    RQ's scheduler as a thread (a forked scheduler outlives a SIGKILLed worker)."""
    from rq import SimpleWorker

    from workers.scheduler import ThreadScheduler

    class LineWorker(SimpleWorker):
        # RQ backs off up to 60 s between reconnects; once Redis is back, come back fast.
        max_connection_wait_time = 2.0
        stopping = threading.Event()

        def request_stop(self, signum: Any, frame: Any) -> None:
            LineWorker.stopping.set()
            super().request_stop(signum, frame)

        def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                             *args: Any, **kwargs: Any) -> None:
            if burst:  # RQ enqueues due jobs once, in this process
                super()._start_scheduler(burst, logging_level, *args, **kwargs)
                return
            self.scheduler = ThreadScheduler(self.queues, connection=self.connection,
                                             logging_level=logging_level or "INFO",
                                             serializer=self.serializer)
            self.scheduler.acquire_locks()
            if self.scheduler.acquired_locks:
                self.scheduler.start()

        def stop_scheduler(self) -> None:
            if isinstance(self.scheduler, ThreadScheduler):
                self.scheduler.stop_thread()
            else:
                super().stop_scheduler()

    return LineWorker


def run_worker(app: Flask, burst: bool = False) -> None:
    """An RQ worker (non-forking, with scheduler) plus sweeper and heartbeat threads.

    RQ's work loop quits on some Redis errors (a time-out, an error outside its dequeue
    retry, a failed registration while Redis is down). Work must not stop because Redis
    blinked, so the loop is restarted until a stop is asked for; the sweeper thread,
    which reads the database, keeps re-enqueueing whatever a Redis restart wiped.
    """
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from workers.context import set_app

    from . import heartbeat
    from .sweeper import run_forever

    set_app(app)
    svc: Services = app.extensions["peerline"]
    _probe_held_texts(svc)
    stop = threading.Event()
    # The leases this worker takes carry its name; its heartbeat tells the sweepers it
    # is alive, so a SIGKILLed worker's work is handed on in seconds.
    svc.line.owner = heartbeat.new_owner_id()
    beats = threading.Thread(target=heartbeat.run_forever, args=(svc, svc.line.owner, stop),
                             name="heartbeat", daemon=True)
    beats.start()
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
        beats.join(timeout=5)  # it leaves the heartbeat set: no lease is held any more


def _probe_held_texts(svc: Services) -> None:
    """Texts held because Twilio refused the credentials: try again now (settings may be
    fixed); a database still down is the sweeper's business, not a reason not to start."""
    from sqlalchemy.exc import SQLAlchemyError

    from .gateway_hold import probe_now

    try:
        with svc.sessions.begin() as session:
            probe_now(session, svc.line)
    except SQLAlchemyError as exc:
        log.warning("could not check held texts at start (%s)", type(exc).__name__)


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
    svc = _services()
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
        from werkzeug.serving import run_simple

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


def register_cli(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(voice_cli)
    app.cli.add_command(escalations_cli)
    app.cli.add_command(spool_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweeper_command)
    app.cli.add_command(dev_command)
    app.cli.add_command(rotate_keys_command)
