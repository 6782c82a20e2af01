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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import LockError, RedisError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox
from peerline.line import Line
from peerline.people.phones import normalise
from peerline.telephony.params import db_int_or_none
from peerline.text import intake

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
#: Replays of one entry that lose a race on a unique key (a new survivor's first texts
#: replayed at once) before the entry counts as bad data.
INTEGRITY_TRIES = 3

FIELDS = ("MessageSid", "From", "To", "Body", "NumMedia")
_pending = threading.Event()


def mark_pending() -> None:
    """Remember that this process spooled something."""
    _pending.set()


def is_pending() -> bool:
    """True when this process has spooled texts not yet replayed."""
    return _pending.is_set()


def spool_path(instance_dir: str) -> str:
    """The file spool of this host."""
    return os.path.join(instance_dir, "spool-sms.jsonl")


def dead_path(instance_dir: str) -> str:
    """The file spool's dead letters on this host."""
    return os.path.join(instance_dir, "spool-sms-dead.jsonl")


#: The field of a replayed entry that carries when the text first arrived.
SPOOLED_AT = "SpooledAt"


def ttl_s(line: Line) -> int:
    """How long a spooled text is kept: ``PEERLINE_SPOOL_TTL_S``, at most the retention."""
    retention = int(line.setting("PEERLINE_RETENTION_DAYS")) * 86400
    return max(60, min(int(line.setting("PEERLINE_SPOOL_TTL_S")), retention))


def encode(form: dict[str, str], line: Line) -> str:
    """One spool entry: the text's parameters sealed, and the time it arrived."""
    params = json.dumps({k: form.get(k, "") for k in FIELDS})
    return json.dumps({"v": 2, "at": line.now().isoformat(),
                       "sealed": line.vault.encrypt(params)})


def _expired(data: dict[str, Any], line: Line) -> bool:
    arrived = datetime.fromisoformat(data["at"])
    return line.now() - arrived > timedelta(seconds=ttl_s(line))


def decode(raw: str | bytes, line: Line) -> dict[str, str] | None:
    """The parameters of an entry (with ``SpooledAt``), or None when it has expired;
    raises ``ValueError`` on a damaged entry.

    An entry written before entries were sealed (plain parameters) is read as it is.
    """
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a spooled entry is not a set of parameters")
    if data.get("v") != 2:
        return data
    if _expired(data, line):
        return None
    params = json.loads(line.vault.decrypt(data["sealed"]))
    params[SPOOLED_AT] = data["at"]
    return params


def spooled_at(entry: dict[str, str]) -> datetime | None:
    """When a decoded entry first reached the line (None for an old plain entry)."""
    value = entry.get(SPOOLED_AT)
    return datetime.fromisoformat(value) if value else None


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
                old = isinstance(data, dict) and data.get("v") == 2 and _expired(data, line)
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
        _append_lines(instance_dir, spool_path(instance_dir), [entry])
        return "file"


def entry_id(raw: bytes | str) -> str:
    """A short stable name for an entry (its digest): safe to show, names nothing."""
    data = raw.encode() if isinstance(raw, str) else raw
    return hashlib.sha256(data).hexdigest()[:12]


def replay_one(sessions: sessionmaker[Session], line: Line, entry: dict[str, str]) -> None:
    """Process one spooled text as the webhook would; its reply goes out by the gateway.

    Raises what went wrong: :class:`intake.BadInput` or a database error. A lost race on
    a unique key is run again (the retry finds the text stored and stores nothing twice).
    """
    raw_media = str(entry.get("NumMedia") or "")
    num_media = db_int_or_none(raw_media)
    if raw_media and num_media is None:
        raise intake.BadInput("NumMedia is not a count")  # the webhook's 400: bad data
    for attempt in range(1, INTEGRITY_TRIES + 1):
        try:
            with sessions.begin() as session:
                reply = intake.receive_sms(
                    session, line, sid=entry.get("MessageSid", ""),
                    from_raw=entry.get("From", ""), to_raw=entry.get("To", ""),
                    body=entry.get("Body", ""), num_media=num_media or 0,
                    spooled_at=spooled_at(entry))
                if not reply.duplicate and reply.texts:
                    sender = normalise(entry["From"])
                    to = normalise(entry["To"])
                    for text in reply.texts:
                        outbox.queue_text(session, line, sender, to, text, kind="system")
            return
        except sa_exc.IntegrityError:
            if attempt == INTEGRITY_TRIES:
                raise


# --- telling an outage from bad data -----------------------------------------------------

def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (try again later).

    Anything else raised while replaying one entry is about that entry's data.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                            sa_exc.DisconnectionError, sa_exc.TimeoutError,
                            ConnectionError, TimeoutError))


def _try_replay(sessions: sessionmaker[Session], line: Line, raw: bytes | str) -> str | None:
    """Replay one raw entry: None when it is stored (now or before), else why it is bad
    data (an exception's type name: no numbers, no words). Raises on an outage."""
    try:
        entry = decode(raw, line)
        if entry is not None:  # an expired entry is dropped unreplayed
            replay_one(sessions, line, entry)
    except Exception as exc:  # noqa: BLE001 - sorted into outage / bad data
        if is_outage(exc):
            raise
        return type(exc).__name__
    return None


def _log_parked(reason: str) -> None:
    log.warning("parked a spool entry that cannot be replayed (%s) in the dead letters; "
                "see 'flask --app wsgi spool list'", reason)


# --- Redis: claim, finish, park, reclaim --------------------------------------------------

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
            reason = _try_replay(sessions, line, raw)  # an outage raises: released below
            if reason is None:
                finish_redis(redis_client, drainer, raw)
                done += 1
            elif park_redis(redis_client, drainer, raw, reason, line.now().isoformat()):
                _log_parked(reason)
    finally:
        release_redis(redis_client, drainer)
        if exclusive:
            with contextlib.suppress(LockError):
                lock.release()
    return done


# --- the file spool: rename-claim under a flock -------------------------------------------

def _lock_path(instance_dir: str) -> str:
    return os.path.join(instance_dir, "spool-sms.lock")


@contextlib.contextmanager
def host_lock(instance_dir: str) -> Iterator[None]:
    """Exclusive across this host's processes (and threads): writers and claimers."""
    os.makedirs(instance_dir, exist_ok=True)
    with open(_lock_path(instance_dir), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_lines(instance_dir: str, path: str, rows: list[str]) -> None:
    """Append rows to a spool file and fsync, under the host lock."""
    with host_lock(instance_dir), open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(row + "\n" for row in rows))
        handle.flush()
        os.fsync(handle.fileno())


def claim_file(instance_dir: str) -> str | None:
    """Atomically take the live spool file (rename it aside); None when it is empty.

    New texts then go to a fresh file, so nothing written during the replay is lost.
    """
    live = spool_path(instance_dir)
    with host_lock(instance_dir):
        if not os.path.exists(live) or os.path.getsize(live) == 0:
            return None
        claimed = f"{live}.{time.time_ns():020d}.{os.getpid()}.draining"
        os.rename(live, claimed)
        _fsync_dir(live)
    return claimed


def claimed_files(instance_dir: str) -> list[str]:
    """Claimed spool files, oldest first (their names carry the claim time)."""
    return sorted(glob.glob(glob.escape(spool_path(instance_dir)) + ".*.draining"))


@dataclass
class _FileResult:
    stored: int = 0
    outage: BaseException | None = None


def _drain_claimed(sessions: sessionmaker[Session], line: Line, instance_dir: str,
                   path: str) -> _FileResult:
    """Replay one claimed file if no live drainer holds it; delete it when done."""
    result = _FileResult()
    try:
        handle = open(path, "r+", encoding="utf-8")  # noqa: SIM115 - held for its lock
    except FileNotFoundError:
        return result  # finished by another drainer meanwhile
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return result  # a live drainer is on it (a dead one's lock is gone)
            raise
        if os.fstat(handle.fileno()).st_nlink == 0:
            return result  # finished and deleted between our open and our lock
        rows = [row.rstrip("\n") for row in handle if row.strip()]
        for index, raw in enumerate(rows):
            try:
                reason = _try_replay(sessions, line, raw)
            except Exception as exc:  # noqa: BLE001 - an outage: keep the rest, stop
                rewrite_lines(path, rows[index:])
                result.outage = exc
                return result
            if reason is None:
                result.stored += 1
            else:
                _append_lines(instance_dir, dead_path(instance_dir), [raw])
                _log_parked(reason)
        os.unlink(path)
        _fsync_dir(path)
    return result


def rewrite_lines(path: str, rows: list[str]) -> None:
    """Replace a spool file's rows (crash-safe: a temp file, fsync, rename)."""
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write("".join(row + "\n" for row in rows))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(path)


def drain_file(sessions: sessionmaker[Session], line: Line, instance_dir: str) -> int:
    """Replay this host's file spool (left-over claims first); returns how many stored.

    Safe with several drainers in several processes. Bad lines go to the dead letters;
    an outage stops the drain (the rest waits, first in line) and raises.
    """
    claim_file(instance_dir)
    stored = 0
    for path in claimed_files(instance_dir):
        result = _drain_claimed(sessions, line, instance_dir, path)
        stored += result.stored
        if result.outage is not None:
            raise result.outage
    return stored


def has_leftovers(instance_dir: str) -> bool:
    """True when this host has a file spool or claimed files waiting (after a restart)."""
    live = spool_path(instance_dir)
    return (os.path.exists(live) and os.path.getsize(live) > 0) \
        or bool(claimed_files(instance_dir))


# --- both ---------------------------------------------------------------------------------

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
