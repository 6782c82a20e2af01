"""The RQ queues at a glance, read from RQ's own registries (for the admins' Jobs page).

Read-only (no registry clean-up is triggered), and nothing but ids leaves a job: its
function's name, the task ids it was given, and the first line of a failure (the
exception's type and message, with anything that looks like a phone number blanked).
Redis holds only hints here: the tasks themselves live in the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

#: Failed jobs listed per queue (newest first).
FAILED_SHOWN = 20
#: Runs of 7 or more digits (with spaces, dots, dashes or brackets between): a number.
_NUMBERISH = re.compile(r"\+?\d[\d\s().-]{5,}\d")


@dataclass
class FailedJob:
    """One failed job, by ids only."""

    id: str
    func: str
    task_ids: list[int]
    ended_at: datetime | None
    error: str


@dataclass
class QueueStats:
    """How many jobs sit in each of a queue's states."""

    name: str
    queued: int = 0
    started: int = 0
    scheduled: int = 0
    deferred: int = 0
    failed: int = 0
    finished: int = 0
    failures: list[FailedJob] = field(default_factory=list)


class QueuesUnavailable(RuntimeError):
    """Redis could not be read."""


def first_line(exc_string: str | None) -> str:
    """The first line of the exception itself (type and message) from a traceback: the
    line after the last indented frame line; anything like a number blanked."""
    lines = [ln for ln in (exc_string or "").splitlines() if ln.strip()]
    if not lines:
        return ""
    frames = [i for i, ln in enumerate(lines) if ln[:1].isspace()]
    start = frames[-1] + 1 if frames and frames[-1] + 1 < len(lines) else 0
    return _NUMBERISH.sub("[number]", lines[start].strip())[:200]


def _failed(job: Job) -> FailedJob:
    result = job.latest_result()
    error = first_line(result.exc_string if result is not None else None)
    try:
        ids = [a for a in job.args if isinstance(a, int) and not isinstance(a, bool)]
        func = job.func_name
    except Exception:  # noqa: BLE001 - an unreadable payload: show the id alone
        ids, func = [], "?"
    return FailedJob(job.id, func, ids, job.ended_at, error)


def stats(connection: Redis, include: tuple[str, ...] = ()) -> list[QueueStats]:
    """Counts per queue (every queue RQ knows, and ``include`` even before its first
    job), with each queue's latest failures."""
    try:
        names = {q.name for q in Queue.all(connection=connection)} | set(include)
        queues = [Queue(n, connection=connection) for n in sorted(names)]
        found = []
        for queue in queues:
            row = QueueStats(
                queue.name, queued=queue.count,
                started=StartedJobRegistry(queue=queue).get_job_count(cleanup=False),
                scheduled=ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False),
                deferred=DeferredJobRegistry(queue=queue).get_job_count(cleanup=False),
                failed=FailedJobRegistry(queue=queue).get_job_count(cleanup=False),
                finished=FinishedJobRegistry(queue=queue).get_job_count(cleanup=False))
            ids = FailedJobRegistry(queue=queue).get_job_ids(0, FAILED_SHOWN - 1, desc=True,
                                                             cleanup=False)
            row.failures = [_failed(job) for job in Job.fetch_many(ids, connection=connection)
                            if job is not None]
            found.append(row)
        return found
    except RedisError as exc:
        raise QueuesUnavailable(type(exc).__name__) from None
