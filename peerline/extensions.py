"""The app's handles on the outside: database, Redis, queue, gateway. Wired by the factory."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from peerline import embedded_redis
from peerline.delivery import ratelimit, redis_scripts, tasks
from peerline.delivery.heartbeat import DeathWatch
from peerline.delivery.quick_enqueue import QuickQueue, schedule_on
from peerline.line import Line, TextFailed, utcnow
from peerline.privacy.sealed import bind_vault
from peerline.privacy.vault import PhoneVault
from peerline.telephony.local_gateway import LocalGateway
from peerline.telephony.twilio_gateway import TwilioGateway

log = logging.getLogger(__name__)

QUEUE_NAME = "peerline"
RUN_TASK = "workers.jobs.run_task"
RUN_BATCH = "workers.jobs.run_batch"
#: ``run_task`` jobs as ``Queue.enqueue(RUN_TASK, task_id, job_timeout=60, result_ttl=60,
#: failure_ttl=3600)`` writes them, in one Redis command.
RUN_TASK_QUEUE = QuickQueue(QUEUE_NAME, RUN_TASK, timeout=60, result_ttl=60, failure_ttl=3600)
#: ``run_batch`` jobs (a list of task ids each), written the same way.
RUN_BATCH_QUEUE = QuickQueue(QUEUE_NAME, RUN_BATCH, timeout=120, result_ttl=60,
                             failure_ttl=3600)
#: ``ask_again`` jobs: keyed requests that found a pending twin, made again by a worker
#: once the transaction that asked has committed (:func:`peerline.delivery.tasks.add`).
ASK_AGAIN_QUEUE = QuickQueue(QUEUE_NAME, "workers.jobs.ask_again", timeout=60, result_ttl=0,
                             failure_ttl=3600)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL and serialised (``BEGIN IMMEDIATE``) transactions.

    ``hide_parameters``: SQL errors in logs never show values (numbers, bodies).
    """
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
        _ping_when_idle(engine)
        return engine
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


#: A pooled connection idle this long is pinged before use (a busy one is not: the ping
#: would be a round trip per request). A connection that died in between fails its
#: request like any outage (the text is spooled, answered 2xx) and the pool is renewed.
PING_IDLE_S = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, for connections that sat idle in the pool."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - the pool retries with a new connection
            raise DisconnectionError(type(exc).__name__) from None


@dataclass
class OwnWork:
    """What a worker's job queued that the worker sends or enqueues itself, after it."""

    sends: list[int] = field(default_factory=list)
    timers: list[tuple[int, datetime]] = field(default_factory=list)


class Kicker:
    """Enqueues task hints after commit, best effort: Redis being down loses nothing."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._down_until = 0.0

    def kick(self, tasks: list[tuple[int, datetime]], force: bool = False,
             together: list[int] | None = None,
             again: list[tuple[str, int | None, float, str]] | None = None,
             count: ratelimit.Count | None = None) -> bool:
        """Enqueue one job per (task id, not_before); True when all were enqueued.

        ``together``: due send tasks run by one job, side by side
        (:mod:`peerline.delivery.send_batch`). ``again``: keyed requests for a worker to
        make once more (``workers.jobs.ask_again``). ``count``: a webhook's rate-limit
        count, made in the same round trip (its answer set on it). While Redis is down
        this skips quietly for a moment (a webhook must not wait on it); ``force`` (the
        sweeper) tries anyway.
        """
        if not tasks and not together and not again and count is None:
            return True
        if not force and time.monotonic() < self._down_until:
            return False
        try:
            now = self._services.line.now()
            redis = self._services.redis()
            # Everything in one round trip: the rate count (its answer is the first),
            # the batch (a worker can start on it at once), then the timers (a
            # broadcast's time-outs, for RQ's scheduler), then the due tasks (a
            # webhook's usual one or two), each a Lua script or a few commands, with no
            # Job objects for the due ones.
            pipe = redis.pipeline(transaction=False)
            counted = count is not None and count.queue_on(pipe)
            if together:
                RUN_BATCH_QUEUE.enqueue_on(pipe, [list(together)])
            later = [(task_id, at) for task_id, at in tasks if at > now]
            if later:
                queue = self._services.queue()
                for task_id, not_before in later:
                    # RQ reads a naive datetime as server-local time; ours are UTC.
                    schedule_on(pipe, queue, not_before.replace(tzinfo=UTC), RUN_TASK,
                                task_id, timeout=60, result_ttl=60, failure_ttl=3600)
            RUN_TASK_QUEUE.enqueue_on(pipe, [task_id for task_id, at in tasks if at <= now])
            if again:
                ASK_AGAIN_QUEUE.enqueue_on(pipe, [list(again)])
            results = redis_scripts.execute(redis, pipe)
            if counted and count is not None:
                count.take(results[0])
        except Exception as exc:  # noqa: BLE001 - Redis down: the sweeper recovers
            self._down_until = time.monotonic() + 2.0
            log.warning("enqueue failed (%s); the sweeper will pick the work up",
                        type(exc).__name__)
            return False
        self._down_until = 0.0
        return True


class Services:
    """Database sessions, Redis, the queue and the :class:`Line` for one app."""

    def __init__(self, config: dict[str, Any], clock: Any = None,
                 text_failed: Mapping[str, TextFailed] | None = None) -> None:
        self.config = config
        self.engine = make_engine(config["DATABASE_URL"])
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self._redis: Redis | None = None
        vault = PhoneVault.from_settings(config["SECRET_KEY"], config["PEERLINE_ENCRYPTION_KEYS"],
                                         config["PEERLINE_HASH_KEY"])
        bind_vault(self.engine, vault)  # sealed columns (words) use the same keys
        clock = clock or utcnow
        if config["PEERLINE_GATEWAY"] == "twilio":
            gateway: Any = TwilioGateway(config["TWILIO_ACCOUNT_SID"],
                                         config["TWILIO_AUTH_TOKEN"],
                                         config["TWILIO_API_BASE_URL"],
                                         config["TWILIO_TIMEOUT_S"])
        else:
            gateway = LocalGateway(self.sessions, vault, clock)
        self.line = Line(settings=config, vault=vault, gateway=gateway, clock=clock,
                         text_failed=dict(text_failed or {}))
        self.kicker = Kicker(self)
        self.death_watch = DeathWatch()
        self._local = threading.local()
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_soft_rollback", self._after_rollback)

    @contextmanager
    def sending_here(self) -> Iterator[OwnWork]:
        """While a worker's job runs on this thread, the fan-out texts (a broadcast's
        offers, alerts) its commits queue due now are collected (``sends``), for the job
        to send itself right after (:mod:`peerline.delivery.send_together`) instead of
        enqueued for another job; the timers queued with them (the offers' time-outs) are
        kept too (``timers``), to be enqueued after the sends rather than before. If the
        worker dies first, the sweeper enqueues both from the database (their tasks were
        committed): the texts a few seconds on, a timer a few seconds after it is due."""
        own = OwnWork()
        self._local.own = own
        try:
            yield own
        finally:
            self._local.own = None

    def _after_commit(self, session: Session) -> None:
        # ``again``: keyed requests that found a pending twin, made again by a worker now
        # that this transaction is visible (:func:`peerline.delivery.tasks.add`), in the
        # same Redis round trip as the commit's own jobs and after them. A hint like any
        # other: if Redis loses it, the sweeper's backstop remains.
        again = session.info.pop(tasks.ASK_AGAIN, None)
        count = session.info.pop(ratelimit.AFTER_COMMIT, None)
        pending = session.info.pop("new_tasks", None)
        batchable = session.info.pop("batch_sends", None)
        if not pending:
            if again or count is not None:
                self.kicker.kick([], again=again, count=count)
            return
        now = self.line.now()
        fanout = [t.id for t in pending if batchable and t in batchable
                  and t.not_before <= now]
        own: OwnWork | None = getattr(self._local, "own", None)
        if own is not None and fanout:
            own.sends.extend(fanout)  # this worker sends them itself: never enqueued too
            joined = set(fanout)
            rest = [(t.id, t.not_before) for t in pending if t.id not in joined]
            own.timers.extend(item for item in rest if item[1] > now)
            self.kicker.kick([item for item in rest if item[1] <= now], again=again,
                             count=count)
            return
        # Several fan-out texts due now (a crisis broadcast's offers): one job sends them
        # side by side; everything else, one job per task.
        together = fanout if len(fanout) >= 2 else []
        joined = set(together)
        self.kicker.kick([(t.id, t.not_before) for t in pending if t.id not in joined],
                         together=together, again=again, count=count)

    @staticmethod
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop("new_tasks", None)
        session.info.pop("batch_sends", None)
        session.info.pop(tasks.ASK_AGAIN, None)

    def redis_url(self) -> str:
        """The configured Redis URL, or the embedded server's (started on first use)."""
        if not self.config["REDIS_URL"]:
            self.config["REDIS_URL"] = embedded_redis.start(self.config["INSTANCE_DIR"])
        return self.config["REDIS_URL"]

    def redis(self) -> Redis:
        """A Redis client with short time-outs (webhooks must not hang on it)."""
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url(), socket_connect_timeout=0.5,
                                         socket_timeout=5, health_check_interval=10)
        return self._redis

    def queue(self) -> Queue:
        """The RQ queue all jobs go on."""
        return Queue(QUEUE_NAME, connection=self.redis())


def default_instance_dir() -> str:
    """Where the embedded defaults keep their files (``./instance``)."""
    return os.path.abspath(os.environ.get("PEERLINE_INSTANCE_DIR") or "instance")


def services() -> Services:
    """The current app's :class:`Services` (inside an app context)."""
    return current_app.extensions["peerline"]
