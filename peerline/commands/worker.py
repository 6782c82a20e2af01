"""``flask --app wsgi worker`` and ``sweeper``: the RQ worker (with its scheduler,
sweeper and heartbeat) and the sweeper alone."""

from __future__ import annotations

import logging
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from sqlalchemy.exc import SQLAlchemyError

from peerline.commands.common import services
from peerline.delivery import heartbeat
from peerline.delivery.gateway_hold import probe_now
from peerline.delivery.sweeper import run_forever
from peerline.extensions import QUEUE_NAME, Services
from peerline.heap import freeze_heap
from workers.context import set_app
from workers.scheduler import ThreadScheduler

log = logging.getLogger(__name__)

#: Seconds between the worker's Redis housekeeping (it also restarts a dead scheduler).
WORKER_MAINTENANCE_S = 15
#: The worker's heartbeat TTL; it blocks on the queue for this minus 15 s at a time.
WORKER_TTL_S = 30


def _worker_class() -> type:
    """SimpleWorker that reconnects quickly, tells us when a stop was asked for, and runs
    RQ's scheduler as a thread (a forked scheduler outlives a SIGKILLed worker)."""
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
    set_app(app)
    svc: Services = app.extensions["peerline"]
    _probe_held_texts(svc)
    freeze_heap()
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
    run_forever(services(), threading.Event())
