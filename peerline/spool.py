"""When the database is down: keep inbound texts in a spool, replay them when it is back.

The spool is a Redis list (shared by every web process; drained by the sweeper) and,
when Redis is down too, an append-only file in the instance folder (drained by the web
process that wrote it, on its next request once the database answers). Entries are the
signed form parameters exactly as Twilio sent them, sealed with the line's vault (a
Redis dump or the file shows no number and no word), with the time they arrived;
replaying is idempotent because intake dedupes on ``MessageSid``.

Entries live at most ``PEERLINE_SPOOL_TTL_S`` (never longer than the retention period):
older ones are dropped unreplayed, and the Redis list itself expires that long after its
last write. A text spooled before its sender's quick exit is replayed without its words.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from . import intake, outbox
from .line import Line
from .phones import normalise

log = logging.getLogger(__name__)

REDIS_KEY = "peerline:spool:sms"
FIELDS = ("MessageSid", "From", "To", "Body", "NumMedia")
_file_lock = threading.Lock()
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
    """The parameters of an entry (with ``SpooledAt``), or None when it has expired.

    An entry written before entries were sealed (plain parameters) is read as it is.
    """
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("v") != 2:
        return data if isinstance(data, dict) else None
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
        os.makedirs(instance_dir, exist_ok=True)
        with _file_lock, open(spool_path(instance_dir), "a", encoding="utf-8") as handle:
            handle.write(entry + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return "file"


def replay_one(sessions: sessionmaker[Session], line: Line, entry: dict[str, str]) -> None:
    """Process one spooled text as the webhook would; its reply goes out by the gateway."""
    try:
        with sessions.begin() as session:
            reply = intake.receive_sms(
                session, line, sid=entry.get("MessageSid", ""), from_raw=entry.get("From", ""),
                to_raw=entry.get("To", ""), body=entry.get("Body", ""),
                num_media=int(entry.get("NumMedia") or 0) if str(
                    entry.get("NumMedia") or "0").isdigit() else 0,
                spooled_at=spooled_at(entry))
            if not reply.duplicate and reply.texts:
                sender = normalise(entry["From"])
                to = normalise(entry["To"])
                for text in reply.texts:
                    outbox.queue_text(session, line, sender, to, text, kind="system")
    except intake.BadInput:
        log.warning("dropped a malformed spooled text")


def drain_redis(sessions: sessionmaker[Session], line: Line, redis_client: Any,
                limit: int = 500) -> int:
    """Replay spooled texts from Redis (oldest first); returns how many."""
    done = 0
    while done < limit:
        raw = redis_client.lindex(REDIS_KEY, 0)
        if raw is None:
            break
        entry = decode(raw, line)
        if entry is not None:  # an expired entry is dropped unreplayed
            replay_one(sessions, line, entry)
        redis_client.lpop(REDIS_KEY)  # only after it is stored: a crash replays, dedupe
        done += 1
    return done


def drain_file(sessions: sessionmaker[Session], line: Line, instance_dir: str) -> int:
    """Replay this host's file spool, then truncate it; returns how many."""
    path = spool_path(instance_dir)
    with _file_lock:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return 0
        with open(path, encoding="utf-8") as handle:
            entries = [decode(row, line) for row in handle if row.strip()]
        for entry in entries:
            if entry is not None:  # an expired entry is dropped unreplayed
                replay_one(sessions, line, entry)
        os.truncate(path, 0)
    return len(entries)


def drain(services: Any) -> int:
    """Replay both spools if the database answers; clears the pending mark when done."""
    try:
        count = drain_file(services.sessions, services.line, services.config["INSTANCE_DIR"])
        try:
            count += drain_redis(services.sessions, services.line, services.redis())
        except Exception:  # noqa: BLE001 - Redis down: the sweeper or a later request
            log.warning("spool in Redis not drained yet")
            return count
    except Exception:  # noqa: BLE001 - database still down: try again on a later request
        log.warning("spool not drained yet: database unavailable")
        return 0
    _pending.clear()
    return count
