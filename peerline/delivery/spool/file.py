"""The file spool, for when Redis is down too: an append-only file in the instance folder.
A drainer claims the whole file by renaming it (under a ``flock`` that writers also take)
and holds a ``flock`` on the claimed file while it replays it; the kernel drops that lock
when the process dies, and the next drainer takes the file over."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery.spool.replay import log_parked, try_replay
from peerline.line import Line


def spool_path(instance_dir: str) -> str:
    """The file spool of this host."""
    return os.path.join(instance_dir, "spool-sms.jsonl")


def dead_path(instance_dir: str) -> str:
    """The file spool's dead letters on this host."""
    return os.path.join(instance_dir, "spool-sms-dead.jsonl")


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


def append_lines(instance_dir: str, path: str, rows: list[str]) -> None:
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
                reason = try_replay(sessions, line, raw)
            except Exception as exc:  # noqa: BLE001 - an outage: keep the rest, stop
                rewrite_lines(path, rows[index:])
                result.outage = exc
                return result
            if reason is None:
                result.stored += 1
            else:
                append_lines(instance_dir, dead_path(instance_dir), [raw])
                log_parked(reason)
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
