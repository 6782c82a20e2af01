"""When the database is down: keep inbound texts in a spool, replay them when it is back.

The spool is a Redis list (shared by every web process; drained by the sweeper) and,
when Redis is down too, an append-only file in the instance folder (drained by the web
process that wrote it, on its next request once the database answers). Entries are the
signed form parameters exactly as Twilio sent them; replaying is idempotent because
intake dedupes on ``MessageSid``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from . import intake, outbox
from .line import Line
from .phones import normalise
from .telephony.params import db_int_or_none

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


def keep(form: dict[str, str], redis_client: Any, instance_dir: str) -> str:
    """Store an inbound text's parameters somewhere durable; returns where."""
    entry = json.dumps({k: form.get(k, "") for k in FIELDS})
    try:
        redis_client.rpush(REDIS_KEY, entry)
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
                num_media=db_int_or_none(str(entry.get("NumMedia") or "")) or 0)
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
        replay_one(sessions, line, json.loads(raw))
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
            entries = [json.loads(row) for row in handle if row.strip()]
        for entry in entries:
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
