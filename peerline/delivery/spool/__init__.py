"""When the database is down: keep inbound texts in a spool, replay them when it is back.

The spool is a Redis list (shared by every web process; drained by the sweeper) and,
when Redis is down too, an append-only file in the instance folder (drained by the web
process that wrote it, on its next request once the database answers, and by a worker's
sweeper on the same host). Entries are the signed form parameters exactly as Twilio sent
them, sealed with the line's vault (a Redis dump or the file shows no number and no
word), with the time they arrived; replaying is idempotent because intake dedupes on
``MessageSid``.

Entries live at most ``PEERLINE_SPOOL_TTL_S`` (never longer than the retention period):
older ones are dropped unreplayed, and the Redis list itself expires that long after its
last write. A text spooled before its sender's quick exit is replayed without its words.

Draining is safe with any number of drainers, in any number of processes:

- Redis: an entry is *claimed* (``LMOVE`` into the drainer's own processing list, with a
  lease) before it is replayed, and removed only after it is stored. A drainer killed
  mid-replay leaves its entry behind; once the lease runs out the next drainer moves it
  back to the head of the spool. One drainer at a time works through the spool (a lock
  with the same lease), so a survivor's texts are replayed in the order they came.
- File: a drainer claims the whole file by renaming it (under a ``flock`` that writers
  also take) and holds a ``flock`` on the claimed file while it replays it; the kernel
  drops that lock when the process dies, and the next drainer takes the file over.

An entry that fails because the database is unreachable (:func:`is_outage`) stops the
drain and stays first in line. Any other failure is bad data: the entry is parked in the
dead letters (one log line, no numbers, no words) and draining goes on. Operators see and
re-drive them with ``flask --app wsgi spool list`` / ``spool retry``.

The parts: :mod:`.entry` (the sealed format, time-to-live), :mod:`.replay` (one entry as
the webhook would; outage or bad data), :mod:`.redis_list` (the shared list: claim, park,
reclaim) and :mod:`.file` (this host's file spool). Here: :func:`keep` (write one),
:func:`drain` (both spools) and this process's pending mark; the parts' public names are
importable from here too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from redis.exceptions import RedisError

from peerline.delivery.spool.entry import (
    FIELDS,
    SPOOLED_AT,
    decode,
    encode,
    entry_id,
    spooled_at,
    ttl_s,
)
from peerline.delivery.spool.file import (
    append_lines,
    claim_file,
    claimed_files,
    dead_path,
    drain_file,
    has_leftovers,
    host_lock,
    rewrite_lines,
    spool_path,
)
from peerline.delivery.spool.redis_list import (
    CLAIM_LEASE_S,
    CLAIMED_PREFIX,
    DEAD_KEY,
    DEAD_WHY_KEY,
    DRAINERS_KEY,
    LEASE_PREFIX,
    LOCK_KEY,
    REDIS_KEY,
    claim_redis,
    drain_redis,
    expire_redis,
    finish_redis,
    park_redis,
    reclaim_expired,
    release_redis,
)
from peerline.delivery.spool.replay import INTEGRITY_TRIES, is_outage, replay_one
from peerline.line import Line

__all__ = [
    "CLAIMED_PREFIX", "CLAIM_LEASE_S", "DEAD_KEY", "DEAD_WHY_KEY", "DRAINERS_KEY", "FIELDS",
    "INTEGRITY_TRIES", "LEASE_PREFIX", "LOCK_KEY", "REDIS_KEY", "SPOOLED_AT", "claim_file",
    "claim_redis", "claimed_files", "dead_path", "decode", "drain", "drain_file",
    "drain_redis", "encode", "entry_id", "expire_redis", "finish_redis", "has_leftovers",
    "host_lock", "is_outage", "is_pending", "keep", "mark_pending", "park_redis",
    "reclaim_expired", "release_redis", "replay_one", "rewrite_lines", "spool_path",
    "spooled_at", "ttl_s",
]

log = logging.getLogger(__name__)

_pending = threading.Event()


def mark_pending() -> None:
    """Remember that this process spooled something."""
    _pending.set()


def is_pending() -> bool:
    """True when this process has spooled texts not yet replayed."""
    return _pending.is_set()


def keep(form: dict[str, str], redis_client: Any, instance_dir: str, line: Line) -> str:
    """Store an inbound text's parameters (sealed) somewhere durable; returns where."""
    entry = encode(form, line)
    try:
        pipe = redis_client.pipeline()
        pipe.rpush(REDIS_KEY, entry)
        pipe.expire(REDIS_KEY, ttl_s(line))
        pipe.execute()
        return "redis"
    except Exception:  # noqa: BLE001 - Redis down too: the local file keeps it
        append_lines(instance_dir, spool_path(instance_dir), [entry])
        return "file"


def drain(services: Any) -> int:
    """Replay both spools if the database answers; clears the pending mark when done."""
    try:
        count = drain_file(services.sessions, services.line, services.config["INSTANCE_DIR"])
        try:
            count += drain_redis(services.sessions, services.line, services.redis())
        except RedisError:  # Redis down: the sweeper or a later request
            log.warning("spool in Redis not drained yet")
            return count
    except Exception:  # noqa: BLE001 - database still down: try again on a later request
        log.warning("spool not drained yet: database unavailable")
        return 0
    _pending.clear()
    return count
