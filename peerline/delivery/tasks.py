"""The outbox: follow-up work stored with the change that caused it, run by workers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.line import Line
from peerline.models import Task
from peerline.models.upsert import insert_keyed_task

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 25


@dataclass
class Retry(Exception):
    """Raised (or returned) by a handler: run the task again after ``delay`` seconds."""

    delay: float
    reason: str = "retry"


class TaskKind(StrEnum):
    """Every kind of task the line stores (``Task.kind``, the same strings as ever).

    :mod:`peerline.handlers` maps each one to the function that runs it; the app refuses
    to start when one is missing.
    """

    SEND = "send"
    PAIR = "pair"
    OFFER_EXPIRE = "offer_expire"
    PURGE = "purge"
    REMOTE_DELETE = "remote_delete"
    ALERT_GATEWAY_REFUSED = "alert_gateway_refused"
    VOICE_RING = "voice_ring"
    VOICE_DIAL = "voice_dial"
    VOICE_HANGUP = "voice_hangup"
    VOICE_BRIDGE = "voice_bridge"
    VOICE_PEER_LEFT = "voice_peer_left"
    VOICE_DEADLINE = "voice_deadline"
    VOICE_HOTLINE = "voice_hotline"
    VOICE_TELL_PEER = "voice_tell_peer"
    VOICE_CALLBACK = "voice_callback"
    BREAK_OVER = "break_over"
    COOLDOWN_OVER = "cooldown_over"
    MATCH_WAIT_OVER = "match_wait_over"  # peer support: the extra wait for a match ends
    GROUP_REMIND = "group_remind"
    GROUP_ACTION = "group_action"
    GROUP_FEEDBACK = "group_feedback"  # the feedback question after a group meeting


class TaskStatus(StrEnum):
    """Where a task is: waiting to run (or running under a lease), done, or given up."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


#: A task handler: runs one task of its kind from the task's ``ref_id``.
Handler = Callable[[sessionmaker[Session], Line, int | None], "Retry | None"]


#: ``session.info`` key: keyed requests that found a pending twin and must be asked for
#: again once the transaction has committed (``add(..., again_after_commit=True)``).
ASK_AGAIN = "ask_again"


def add(session: Session, kind: str, ref_id: int | None, now: datetime, *,  # noqa: PLR0913
        delay_s: float = 0.0, dedupe_key: str | None = None,
        again_after_commit: bool = False,
        insert: Callable[[dict[str, Any]], int | None] | None = None) -> Task | None:
    """Store a task in the caller's transaction; it is enqueued after commit.

    With ``dedupe_key``, a second pending task with the same key is not added: one
    ``INSERT ... ON CONFLICT DO NOTHING`` (a key asked for twice in one transaction costs
    nothing the second time). Only a pending task that no worker has claimed holds its
    key (:func:`claim` frees it; migration 0010 freed those of older finished tasks), so a
    conflict means a pending twin will do the work.

    ``again_after_commit``, for a request to look at shared state (a pairing pass): the
    twin may be claimed and run between this ``INSERT`` and the caller's commit, and then
    not see what the caller wrote. So a request that found a twin is made once more
    after the commit, by a worker (``workers.jobs.ask_again``, enqueued with the commit's
    other jobs by :class:`peerline.extensions.Services`); by then the caller's rows are
    visible, so a twin found that time has not run yet and will see them.

    ``insert`` (a keyed task only): runs the ``INSERT ... ON CONFLICT DO NOTHING`` for
    these values and returns the new id or None, e.g. in one statement with the
    caller's own insert (:func:`peerline.text.conversations.start`). It is not called
    when the key was asked for already in this transaction.
    """
    at = now + timedelta(seconds=delay_s)
    if dedupe_key is None:
        task = Task(kind=kind, ref_id=ref_id, dedupe_key=None, status=TaskStatus.PENDING,
                    not_before=at, enqueued_at=at, attempts=0, created_at=now)
        session.add(task)  # flushed (batched) with the rest of the caller's transaction
        session.info.setdefault("new_tasks", []).append(task)
        return task
    seen = session.info.get("task_keys")
    if seen is None or seen[0] is not session.get_transaction():
        seen = session.info["task_keys"] = (session.get_transaction(), set())
    if dedupe_key in seen[1]:
        return None  # asked for already in this transaction
    seen[1].add(dedupe_key)
    values = {"kind": kind, "ref_id": ref_id, "dedupe_key": dedupe_key,
              "status": TaskStatus.PENDING, "not_before": at, "enqueued_at": at,
              "attempts": 0, "created_at": now}
    task_id = (insert(values) if insert is not None
               else session.connection().execute(insert_keyed_task(), values).scalar())
    if task_id is None:
        if again_after_commit:
            session.info.setdefault(ASK_AGAIN, []).append((kind, ref_id, delay_s, dedupe_key))
        return None
    task = Task(id=task_id, **values)  # a detached copy of the row: no ORM round trip
    session.info.setdefault("new_tasks", []).append(task)
    return task


def free(now: datetime) -> tuple[Any, ...]:
    """Where a task is due, pending and not leased: what a claim may take."""
    return (Task.status == TaskStatus.PENDING, Task.not_before <= now,
            or_(Task.locked_until.is_(None), Task.locked_until < now))


def leased(now: datetime, lease_s: float, owner: str | None) -> dict[str, Any]:
    """What a claim writes on a task it takes: the lease, its owner, one more attempt, and
    the dedupe key freed (only a pending, unclaimed task holds one)."""
    return {"locked_until": now + timedelta(seconds=lease_s), "locked_by": owner,
            "attempts": Task.attempts + 1, "dedupe_key": None}


def claim(sessions: sessionmaker[Session], task_id: int, now: datetime,
          lease_s: int, owner: str | None = None) -> Task | None:
    """Lease a due, pending task (compare-and-set); None if another worker has it.

    ``owner`` (the worker's heartbeat name) is recorded, so that the sweeper can end the
    lease early when that worker stops beating.
    """
    with sessions.begin() as session:
        return session.scalars(  # the claimed row itself (one statement)
            update(Task).where(Task.id == task_id, *free(now))
            .values(leased(now, lease_s, owner))
            .returning(Task)).one_or_none()


def _backoff(attempts: int) -> float:
    return float(min(2 ** attempts, 300))


def run(sessions: sessionmaker[Session], line: Line, task_id: int,
        handlers: Mapping[str, Handler]) -> str:
    """Run one task if it is due and free with its handler from ``handlers`` (see
    :mod:`peerline.handlers`); return what happened (for logs and tests)."""
    task = claim(sessions, task_id, line.now(), line.setting("PEERLINE_LEASE_S"), line.owner)
    if task is None:
        return "skipped"
    fn = handlers.get(task.kind)
    outcome: Retry | None
    error: str | None = None
    try:
        if fn is None:
            raise LookupError(f"no handler for task kind {task.kind!r}")
        outcome = fn(sessions, line, task.ref_id)
    except Retry as retry:
        outcome = retry
    except Exception as exc:  # noqa: BLE001 - recorded and retried with backoff
        log.exception("task %s (%s) failed", task.id, task.kind)
        error = f"{type(exc).__name__}: {exc}"[:300]
        outcome = Retry(_backoff(task.attempts), error)
    with sessions.begin() as session:
        if outcome is None:  # done: one statement
            finished = session.execute(update(Task).where(Task.id == task_id).values(
                status=TaskStatus.DONE, done_at=line.now(), locked_until=None,
                locked_by=None))
            return "done" if finished.rowcount == 1 else "gone"
        row = session.get(Task, task_id)
        if row is None:
            return "gone"
        row.locked_until = row.locked_by = None
        row.last_error = error or outcome.reason[:300]
        # Only unexpected errors give up: a handler's own Retry (a busy recipient, a
        # Twilio 429/5xx) is transient by definition and the work stays in the outbox.
        if error is not None and row.attempts >= MAX_ATTEMPTS:
            row.status = TaskStatus.FAILED
            log.error("task %s (%s) gave up after %s attempts", row.id, row.kind, row.attempts)
            return "failed"
        row.not_before = row.enqueued_at = line.now() + timedelta(seconds=outcome.delay)
        session.info.setdefault("new_tasks", []).append(row)
        return "retry"


def lease_owners(session: Session, now: datetime) -> list[str]:
    """Workers (heartbeat names) holding a live lease on a pending task."""
    return list(session.scalars(select(Task.locked_by).distinct().where(
        Task.locked_by.is_not(None), Task.status == TaskStatus.PENDING, Task.locked_until >= now)))


def release(session: Session, owners: set[str], now: datetime) -> list[tuple[int, datetime]]:
    """End the leases of dead workers now; returns (task id, not_before) to enqueue."""
    if not owners:
        return []
    rows = [(tid, at) for tid, at in session.execute(select(Task.id, Task.not_before).where(
        Task.locked_by.in_(owners), Task.status == TaskStatus.PENDING, Task.locked_until >= now))]
    if rows:
        session.execute(update(Task).where(Task.id.in_([tid for tid, _ in rows]),
                                           Task.locked_by.in_(owners))
                        .values(locked_until=None, locked_by=None))
    return rows


def stale(session: Session, now: datetime, limit: int = 500) -> list[Task]:
    """Pending tasks that are due, not leased, and not enqueued lately (Redis lost them)."""
    return list(session.scalars(
        select(Task).where(
            Task.status == TaskStatus.PENDING,
            Task.not_before <= now - timedelta(seconds=2),
            or_(Task.locked_until.is_(None), Task.locked_until < now),
            or_(Task.enqueued_at.is_(None), Task.enqueued_at < now - timedelta(seconds=10)),
        ).order_by(Task.id).limit(limit)
    ))
