"""RQ jobs enqueued in one Redis command: what ``Queue.enqueue`` writes, without building
a ``Job`` per task.

A webhook's commit hands its due tasks to RQ (``workers.jobs.run_task(task_id)``).
``Queue.enqueue`` builds a ``Job``, asks it for a dozen attributes and queues five
commands in a ``MULTI`` pipeline (about 1,700 Python calls for one task, a quarter of a
text's work). Here one ``EVALSHA`` of a Lua script writes the same thing for any number
of jobs: ``SADD rq:queues <queue key>``, the job hash (the fields, values and
serialised call data RQ 2 writes for ``enqueue(func, *args, job_timeout=...,
result_ttl=..., failure_ttl=...)``) and ``RPUSH`` of the job id, atomically as a
``MULTI`` would. A stock RQ worker runs these jobs as its own
(``tests/test_quick_enqueue.py`` compares the hash with RQ's, field by field, and runs
one with a real ``SimpleWorker``). Only plain due jobs come this way: scheduled ones
(``enqueue_at``) and dependencies stay with RQ.
"""

from __future__ import annotations

import calendar
import re
import uuid
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import resolve_serializer

from peerline.delivery.redis_scripts import LuaScript

#: Fields RQ 2 writes with the same value for every job of ours (besides status).
_STATIC = ("success_callback_name", "", "failure_callback_name", "", "stopped_callback_name",
           "", "started_at", "", "ended_at", "", "last_heartbeat", "", "worker_name", "",
           "group_id", "")
_SAFE = re.compile(r"^[\w.:-]*$")  # what may be written into the script's source
_SERIALIZER = resolve_serializer(None)  # RQ's default (pickle), as Queue.enqueue uses


def _script_source(origin: str, timeout: int, result_ttl: int, failure_ttl: int) -> str:
    """The Lua script for one queue and one set of job options.

    KEYS: ``rq:queues``, the queue's key, then one job key per job; ARGV: per job, its
    id, call data, description and timestamp (created and enqueued at the same moment).
    """
    static = [*_STATIC, "origin", origin, "timeout", str(timeout),
              "result_ttl", str(result_ttl), "failure_ttl", str(failure_ttl)]
    if not all(_SAFE.match(value) for value in static):
        raise ValueError("queue names and options are written into the script: plain only")
    fields = ", ".join(f"'{value}'" for value in static)
    return f"""
redis.call('SADD', KEYS[1], KEYS[2])
for i = 3, #KEYS do
  local a = (i - 3) * 4
  redis.call('HSET', KEYS[i], 'status', 'queued', 'created_at', ARGV[a + 4],
             'data', ARGV[a + 2], {fields}, 'description', ARGV[a + 3],
             'enqueued_at', ARGV[a + 4])
  redis.call('RPUSH', KEYS[2], ARGV[a + 1])
end
return #KEYS - 2
"""


class QuickQueue:
    """Enqueue ``func(arg)`` jobs on one RQ queue, one Redis command per batch."""

    def __init__(self, name: str, func: str, *, timeout: int, result_ttl: int,
                 failure_ttl: int) -> None:
        self.name = name
        self.key = f"rq:queue:{name}"
        self.func = func
        self._script = LuaScript(_script_source(name, timeout, result_ttl, failure_ttl))

    def enqueue(self, redis: Redis, args: Iterable[Any]) -> list[str]:
        """One job per argument (``func(arg)``), in order; returns the job ids. Raises
        Redis' errors (the caller decides what a lost hint means)."""
        keys, argv, ids = self._command(args)
        if ids:
            self._script(redis, keys, argv)
        return ids

    def enqueue_on(self, pipe: Any, args: Iterable[Any]) -> list[str]:
        """The same, added to a pipeline (sent by :func:`redis_scripts.execute`)."""
        keys, argv, ids = self._command(args)
        if ids:
            self._script.queue_on(pipe, keys, argv)
        return ids

    def _command(self, args: Iterable[Any]) -> tuple[list[str], list[Any], list[str]]:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # RQ's utcformat
        ids: list[str] = []
        keys = ["rq:queues", self.key]
        argv: list[Any] = []
        for arg in args:
            job_id = str(uuid.uuid4())
            ids.append(job_id)
            keys.append(f"rq:job:{job_id}")
            argv += [job_id, zlib.compress(_SERIALIZER.dumps((self.func, None, (arg,), {}))),
                     f"{self.func}({arg!r})", stamp]
        return keys, argv, ids


def schedule_on(pipe: Any, queue: Queue, when: datetime, func: str, arg: Any, *,
                timeout: int, result_ttl: int, failure_ttl: int) -> str:
    """``queue.enqueue_at(when, func, arg, ...)`` added to a pipeline; the job id.

    What RQ's ``schedule_job`` writes (the queue in ``rq:queues``, the job hash, its entry
    in the scheduled registry), all on ``pipe``: RQ 2's own ``ScheduledJobRegistry.schedule``
    ignores the pipeline it is given and sends its ``ZADD`` at once, a round trip per
    timer (and before the job's hash exists). ``when`` is timezone-aware.
    """
    job = queue.create_job(func, args=(arg,), timeout=timeout, result_ttl=result_ttl,
                           failure_ttl=failure_ttl, status=JobStatus.SCHEDULED)
    pipe.sadd(queue.redis_queues_keys, queue.key)
    job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
    job.save(pipeline=pipe)
    pipe.zadd(ScheduledJobRegistry(queue=queue).key,
              {job.id: calendar.timegm(when.utctimetuple())})
    return job.id
