"""The operator's view of the outage spool: what waits, what was parked, and re-driving it.

Dead letters are spooled texts that could not be replayed because of their data (not
an outage). They are kept, never dropped: after the cause is fixed (a new release, a
repaired row), ``flask --app wsgi spool retry`` puts them back first in line and replays.
Listings name an entry by its digest and its ``MessageSid``: never a number, never words.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from peerline.delivery import spool
from peerline.line import Line

# Puts a dead letter back at the head of the spool (only if it is still parked).
_REDRIVE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
"""


@dataclass
class DeadLetter:
    """One parked entry, as an operator may see it."""

    id: str
    where: str  # "redis" or "file"
    message_sid: str
    why: str


@dataclass
class SpoolCounts:
    """How many entries wait, are being replayed, or are parked (None: Redis unreachable)."""

    redis_waiting: int | None
    redis_in_flight: int | None
    redis_dead: int | None
    file_waiting: int
    file_dead: int


def _sid(raw: bytes | str, line: Line) -> str:
    try:
        sid = str((spool.decode(raw, line) or {}).get("MessageSid", ""))
    except Exception:  # noqa: BLE001 - a damaged entry is exactly what gets parked
        return "(unreadable)"
    return sid if sid.startswith(("SM", "MM")) and sid.isalnum() else "(malformed)"


def _file_rows(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [row.rstrip("\n") for row in handle if row.strip()]


def counts(redis_client: Any, instance_dir: str) -> SpoolCounts:
    """Entries waiting, in flight and parked, in Redis and in this host's file spool."""
    file_waiting = len(_file_rows(spool.spool_path(instance_dir))) + sum(
        len(_file_rows(path)) for path in spool.claimed_files(instance_dir))
    file_dead = len(_file_rows(spool.dead_path(instance_dir)))
    try:
        drainers = redis_client.smembers(spool.DRAINERS_KEY)
        in_flight = sum(redis_client.llen(spool.CLAIMED_PREFIX + (
            d.decode() if isinstance(d, bytes) else d)) for d in drainers)
        return SpoolCounts(redis_client.llen(spool.REDIS_KEY), in_flight,
                           redis_client.llen(spool.DEAD_KEY), file_waiting, file_dead)
    except RedisError:
        return SpoolCounts(None, None, None, file_waiting, file_dead)


def dead_letters(redis_client: Any, instance_dir: str, line: Line) -> list[DeadLetter]:
    """Every parked entry, oldest first (Redis first; skipped if Redis is unreachable)."""
    found: list[DeadLetter] = []
    try:
        why = {k.decode(): v.decode() for k, v in
               redis_client.hgetall(spool.DEAD_WHY_KEY).items()}
        for raw in redis_client.lrange(spool.DEAD_KEY, 0, -1):
            key = spool.entry_id(raw)
            found.append(DeadLetter(key, "redis", _sid(raw, line), why.get(key, "")))
    except RedisError:
        pass
    for raw in _file_rows(spool.dead_path(instance_dir)):
        found.append(DeadLetter(spool.entry_id(raw), "file", _sid(raw, line), ""))
    return found


def redrive(redis_client: Any, instance_dir: str, ids: set[str] | None = None) -> int:
    """Put parked entries (those named by ``ids``, or all) back first in their spool;
    returns how many. The caller replays them (:func:`spool.drain`)."""
    moved = 0
    try:
        script = redis_client.register_script(_REDRIVE)
        # Newest first, each to the head: the oldest ends up first in line.
        for raw in reversed(redis_client.lrange(spool.DEAD_KEY, 0, -1)):
            key = spool.entry_id(raw)
            if ids is None or key in ids:
                moved += int(script(keys=[spool.DEAD_KEY, spool.REDIS_KEY,
                                          spool.DEAD_WHY_KEY], args=[raw, key]))
    except RedisError:
        pass
    return moved + _redrive_file(instance_dir, ids)


def _redrive_file(instance_dir: str, ids: set[str] | None) -> int:
    path = spool.dead_path(instance_dir)
    if not os.path.exists(path):
        return 0
    with spool.host_lock(instance_dir):
        rows = _file_rows(path)
        chosen = [r for r in rows if ids is None or spool.entry_id(r) in ids]
        if not chosen:
            return 0
        rest = [r for r in rows if r not in chosen]
        # Back in the spool first, then out of the dead letters: a crash in between
        # leaves a copy in both, and replaying twice stores once.
        with open(spool.spool_path(instance_dir), "a", encoding="utf-8") as handle:
            handle.write("".join(row + "\n" for row in chosen))
            handle.flush()
            os.fsync(handle.fileno())
        spool.rewrite_lines(path, rest)
    return len(chosen)
