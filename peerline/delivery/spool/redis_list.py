"""The Redis spool: a list shared by every web process. Drainers claim an entry (``LMOVE``
into their own processing list, under a lease) before replaying it; a killed drainer's
claims return to the head of the spool when its lease runs out."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from typing import Any

from redis.exceptions import LockError
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery.spool.entry import entry_id, expired, ttl_s
from peerline.delivery.spool.replay import log_parked, try_replay
from peerline.line import Line

log = logging.getLogger(__name__)

REDIS_KEY = "peerline:spool:sms"
#: Entries that could not be replayed because of their data (not an outage).
DEAD_KEY = "peerline:spool:sms:dead"
#: Why and when each dead letter was parked, by :func:`entry_id`.
DEAD_WHY_KEY = "peerline:spool:sms:dead:why"
#: Drainers that may hold a claimed entry (each has a processing list and a lease).
DRAINERS_KEY = "peerline:spool:sms:drainers"
CLAIMED_PREFIX = "peerline:spool:sms:claimed:"
LEASE_PREFIX = "peerline:spool:sms:lease:"
LOCK_KEY = "peerline:spool:sms:lock"
#: A claimed entry (and the drain lock) returns to the spool this long after its
#: drainer stopped renewing it. Replaying one entry takes milliseconds.
CLAIM_LEASE_S = 30


def expire_redis(redis_client: Any, line: Line, batch: int = 50) -> int:
    """Drop expired entries from the head of the Redis spool; returns how many.

    Works while the database is down (nothing is replayed, nothing is decrypted).
    ``LREM`` removes an entry only if it is still there, so it never races a drainer.
    """
    dropped = 0
    while True:
        head = redis_client.lrange(REDIS_KEY, 0, batch - 1)
        stale = []
        for raw in head:
            try:
                data = json.loads(raw)
                old = isinstance(data, dict) and data.get("v") == 2 and expired(data, line)
            except (ValueError, KeyError, TypeError):
                old = False  # not ours to judge: the drain deals with bad entries
            if not old:
                break
            stale.append(raw)
        for raw in stale:
            dropped += int(redis_client.lrem(REDIS_KEY, 1, raw))
        if len(stale) < batch:
            break
    if dropped:
        log.warning("dropped %s spooled texts older than the spool's time-to-live", dropped)
    return dropped


# Moves a drainer's claimed entries back to the head of the spool (when its lease has run
# out, or always with ARGV[2] = "1") and forgets the drainer. Returns how many moved, or
# -1 when the lease still holds.
_RECLAIM = """
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local n = 0
while redis.call('LMOVE', KEYS[2], KEYS[3], 'RIGHT', 'LEFT') do n = n + 1 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[4], ARGV[1])
return n
"""

# Parks a claimed entry in the dead letters, only if this drainer still holds it.
_PARK = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 1
"""

def _claimed_key(drainer: str) -> str:
    return CLAIMED_PREFIX + drainer


def _lease_key(drainer: str) -> str:
    return LEASE_PREFIX + drainer


def claim_redis(redis_client: Any, drainer: str) -> bytes | None:
    """Atomically move the spool's oldest entry into ``drainer``'s processing list and
    (re)start its lease; None when the spool is empty."""
    pipe = redis_client.pipeline(transaction=True)
    pipe.sadd(DRAINERS_KEY, drainer)
    pipe.set(_lease_key(drainer), "1", px=CLAIM_LEASE_S * 1000)
    pipe.lmove(REDIS_KEY, _claimed_key(drainer), "LEFT", "RIGHT")
    return pipe.execute()[-1]


def finish_redis(redis_client: Any, drainer: str, raw: bytes) -> None:
    """The claimed entry is stored: drop it from the processing list."""
    redis_client.lrem(_claimed_key(drainer), 1, raw)


def park_redis(redis_client: Any, drainer: str, raw: bytes, reason: str, when: str) -> bool:
    """Move a claimed entry to the dead letters, noting why and when; False if the claim
    was lost meanwhile (its lease ran out: another drainer has it again)."""
    script = redis_client.register_script(_PARK)
    parked = script(keys=[_claimed_key(drainer), DEAD_KEY, DEAD_WHY_KEY],
                    args=[raw, entry_id(raw), f"{reason} {when}"])
    return bool(parked)


def release_redis(redis_client: Any, drainer: str) -> int:
    """Give back whatever ``drainer`` still holds (to the head of the spool) and forget it."""
    return _reclaim(redis_client, drainer, force=True)


def _reclaim(redis_client: Any, drainer: str, force: bool) -> int:
    script = redis_client.register_script(_RECLAIM)
    return int(script(keys=[_lease_key(drainer), _claimed_key(drainer), REDIS_KEY,
                            DRAINERS_KEY], args=[drainer, "1" if force else "0"]))


def reclaim_expired(redis_client: Any) -> int:
    """Return entries claimed by drainers whose lease ran out (killed mid-replay) to the
    head of the spool; returns how many."""
    moved = 0
    for member in redis_client.smembers(DRAINERS_KEY):
        drainer = member.decode() if isinstance(member, bytes) else member
        moved += max(_reclaim(redis_client, drainer, force=False), 0)
    return moved


def drain_redis(sessions: sessionmaker[Session], line: Line, redis_client: Any,
                limit: int = 500, *, exclusive: bool = True) -> int:
    """Replay spooled texts from Redis (oldest first); returns how many were stored.

    With ``exclusive`` (the default) only one drainer works at a time, so texts are
    replayed in arrival order; others return 0 at once. Bad entries are parked in the
    dead letters (not counted). An outage puts the entry back first in line and raises.
    """
    lock = redis_client.lock(LOCK_KEY, timeout=CLAIM_LEASE_S, blocking=False)
    if exclusive and not lock.acquire():
        return 0
    drainer = uuid.uuid4().hex
    done = 0
    renewed = time.monotonic()
    try:
        reclaim_expired(redis_client)
        while done < limit:
            if exclusive and time.monotonic() - renewed > CLAIM_LEASE_S / 3:
                try:
                    lock.reacquire()
                except LockError:  # stalled past the lease: another drainer goes on
                    break
                renewed = time.monotonic()
            raw = claim_redis(redis_client, drainer)
            if raw is None:
                break
            reason = try_replay(sessions, line, raw)  # an outage raises: released below
            if reason is None:
                finish_redis(redis_client, drainer, raw)
                done += 1
            elif park_redis(redis_client, drainer, raw, reason, line.now().isoformat()):
                log_parked(reason)
                # Dead letters hold words too: they live no longer than the spool itself
                # (a quick exit or the retention purge must not find them kept forever).
                for key in (DEAD_KEY, DEAD_WHY_KEY):
                    redis_client.expire(key, ttl_s(line))
    finally:
        release_redis(redis_client, drainer)
        if exclusive:
            with contextlib.suppress(LockError):
                lock.release()
    return done
