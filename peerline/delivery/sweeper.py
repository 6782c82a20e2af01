"""The sweeper: runs due timers and re-enqueues tasks Redis lost. Lives outside Redis.

It runs as a loop in the worker process (a thread beside a non-forking worker) or as
``flask --app wsgi sweeper``; since it reads the database, a Redis restart that wipes
every queued and scheduled job loses nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import update

from peerline.delivery import heartbeat, outbox, spool, tasks
from peerline.delivery.tasks import TaskStatus
from peerline.extensions import Services
from peerline.models import Task
from peerline.scheduling.slots import tick as schedule_tick
from peerline.text.endings import tick

log = logging.getLogger(__name__)


def sweep(services: Services) -> dict[str, int]:
    """One pass: timers (the schedule's too), re-enqueue stale due tasks, replay spooled
    texts. Returns counts."""
    line = services.line
    try:  # spooled texts past their time-to-live go, even while the database is down
        expired = spool.expire_redis(services.redis(), line)
    except RedisError:
        expired = 0
    with services.sessions.begin() as session:
        counts = tick(session, line)
    with services.sessions.begin() as session:  # reminders, open shifts, automatic on/off
        counts.update(schedule_tick(session, line))
    now = line.now()
    freed = _release_dead_workers(services, now)
    counts["spool_expired"] = expired
    with services.sessions() as session:
        lost = [(task.id, task.not_before) for task in tasks.stale(session, now)]
    lost += [item for item in freed if item[0] not in {tid for tid, _ in lost}]
    # Enqueue first, then note it: a failed enqueue (Redis still down) leaves the tasks
    # stale, so the next pass tries again instead of waiting out the re-enqueue gap.
    enqueued = services.kicker.kick(lost, force=True) if lost else False
    if enqueued:
        with services.sessions.begin() as session:
            session.execute(update(Task).where(Task.id.in_([tid for tid, _ in lost]),
                                               Task.status == TaskStatus.PENDING)
                            .values(enqueued_at=now))
    counts["re_enqueued"] = len(lost) if enqueued else 0
    counts["released"] = len(freed)
    try:  # texts spooled in Redis by any web process while the database was down
        counts["unspooled"] = spool.drain_redis(services.sessions, line, services.redis())
    except RedisError:
        counts["unspooled"] = 0
    # A file spool left on this host (Redis was down too), e.g. by a web process since
    # restarted: cheap to look at when there is none.
    counts["unspooled"] += spool.drain_file(services.sessions, line,
                                            services.config["INSTANCE_DIR"])
    return counts


def _release_dead_workers(services: Services, now: datetime) -> list[tuple[int, datetime]]:
    """Hand on at once the leased work of workers whose heartbeat stopped (killed)."""
    with services.sessions() as session:
        owners = tasks.lease_owners(session, now)
    dead = heartbeat.dead_owners(services, owners, now) if owners else set()
    if not dead:
        return []
    with services.sessions.begin() as session:
        freed = dict(tasks.release(session, dead, now))
        freed.update(outbox.release(session, dead, now))
    log.warning("%d worker(s) stopped beating; %d task(s) handed on", len(dead), len(freed))
    return list(freed.items())


def run_forever(services: Services, stop: threading.Event) -> None:
    """Sweep every ``PEERLINE_SWEEP_INTERVAL_S`` seconds until ``stop`` is set."""
    interval = float(services.config["PEERLINE_SWEEP_INTERVAL_S"])
    while not stop.is_set():
        try:
            counts = sweep(services)
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except Exception:  # noqa: BLE001 - a database or Redis outage: try again later
            log.exception("sweep failed; retrying")
        stop.wait(interval)
