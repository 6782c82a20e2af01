"""Worker heartbeats: a worker killed mid-task is noticed in seconds, not after its lease.

Every worker process has an *owner id*; the leases it takes on tasks and texts record
it. A thread in the worker writes the time of its latest beat into a Redis sorted set
every ``PEERLINE_HEARTBEAT_S``. The sweeper calls an owner dead when its last beat is
older than ``PEERLINE_WORKER_DEAD_S`` at two looks at least two beats apart (so a Redis
blip that delayed everyone's beats is not a death), and hands its leased work on at once.

What the set does not know is never taken for dead: after Redis restarts empty there are
no beats at all, and leases run their normal course (``PEERLINE_LEASE_S``) until the live
workers have beaten again a moment later. A resend still asks Twilio first whether the
text was already accepted, so a worker wrongly called dead sends nothing twice.

RQ keeps its own worker keys, but while a job runs it stretches their time-to-live to
the job time-out plus a minute, which is exactly the slowness this avoids.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "peerline:workers:beats"
#: Beats older than this are dropped from the set (long after any lease could matter).
FORGET_AFTER_S = 24 * 3600


def new_owner_id() -> str:
    """A name for this worker process, unique across hosts and restarts."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _stamp(moment: datetime) -> float:
    return (moment - datetime(1970, 1, 1)).total_seconds()


def beat(redis_client: Any, owner: str, now: datetime) -> None:
    """Record that ``owner`` is alive at ``now`` (naive UTC, the line's clock)."""
    redis_client.zadd(KEY, {owner: _stamp(now)})


def forget(redis_client: Any, owner: str) -> None:
    """A worker that stops cleanly leaves the set (it holds no lease any more)."""
    redis_client.zrem(KEY, owner)


def silent(redis_client: Any, owners: list[str], now: datetime, dead_s: float) -> set[str]:
    """Owners whose last beat is older than ``dead_s``. Owners with no beat on record
    (Redis restarted empty, or a worker that never beat) are not silent: unknown."""
    if not owners:
        return set()
    scores = redis_client.zmscore(KEY, owners)
    cutoff = _stamp(now) - dead_s
    return {owner for owner, score in zip(owners, scores, strict=True)
            if score is not None and score < cutoff}


def prune(redis_client: Any, now: datetime) -> None:
    """Drop beats of workers long gone."""
    redis_client.zremrangebyscore(KEY, "-inf", _stamp(now) - FORGET_AFTER_S)


class DeathWatch:
    """One sweeper's memory of owners seen silent; dead once silent at two looks.

    Two looks ``grace_s`` apart, both with Redis answering: a worker whose beats were
    only held up (Redis unreachable for a while) has beaten again by the second look.
    """

    def __init__(self) -> None:
        self._since: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def confirm(self, silent_now: set[str], now: datetime, grace_s: float) -> set[str]:
        """Note this look; return the owners silent since at least ``grace_s`` ago."""
        with self._lock:
            self._since = {o: t for o, t in self._since.items() if o in silent_now}
            for owner in silent_now:
                self._since.setdefault(owner, now)
            return {o for o, t in self._since.items() if now - t >= timedelta(seconds=grace_s)}

    def reset(self) -> None:
        """Forget every suspicion (Redis could not be read: the looks are not continuous)."""
        with self._lock:
            self._since.clear()


def dead_owners(services: Any, owners: list[str], now: datetime) -> set[str]:
    """Owners among ``owners`` that the sweeper may treat as dead now."""
    config = services.config
    watch: DeathWatch = services.death_watch
    try:
        quiet = silent(services.redis(), owners, now, float(config["PEERLINE_WORKER_DEAD_S"]))
    except RedisError:
        watch.reset()
        return set()
    return watch.confirm(quiet, now, 2 * float(config["PEERLINE_HEARTBEAT_S"]))


def run_forever(services: Any, owner: str, stop: threading.Event) -> None:
    """Beat every ``PEERLINE_HEARTBEAT_S`` until ``stop`` is set; then leave the set."""
    interval = float(services.config["PEERLINE_HEARTBEAT_S"])
    try:
        prune(services.redis(), services.line.now())
    except RedisError:
        pass
    while not stop.is_set():
        try:
            beat(services.redis(), owner, services.line.now())
        except RedisError:
            pass  # Redis down: nobody can read the beats either; try again
        stop.wait(interval)
    try:
        forget(services.redis(), owner)
    except RedisError:
        pass
