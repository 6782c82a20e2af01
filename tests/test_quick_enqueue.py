"""Jobs enqueued in one Redis command (``delivery/quick_enqueue``) are RQ's own: the same
hash as ``Queue.enqueue`` writes, run by a stock worker; a webhook's due tasks go that way."""

from __future__ import annotations

import re

import pytest
from rq import Queue, SimpleWorker, get_current_job
from rq.job import Job, JobStatus

from peerline.delivery.quick_enqueue import QuickQueue
from peerline.extensions import QUEUE_NAME, RUN_TASK, RUN_TASK_QUEUE

STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def record(value: int) -> str:
    """A job a real worker runs below: leaves a mark in Redis."""
    job = get_current_job()
    assert job is not None
    job.connection.rpush("quick-enqueue-test:ran", value)
    return f"ran {value}"


def test_the_job_hash_is_the_one_queue_enqueue_writes(svc):
    redis = svc.redis()
    queue = Queue(QUEUE_NAME, connection=redis)
    theirs = queue.enqueue(RUN_TASK, 42, job_timeout=60, result_ttl=60, failure_ttl=3600)
    [ours] = RUN_TASK_QUEUE.enqueue(redis, [42])
    mine, rq_own = redis.hgetall(f"rq:job:{ours}"), redis.hgetall(theirs.key)
    for stamp in (b"created_at", b"enqueued_at"):
        assert STAMP.match(mine.pop(stamp)) and STAMP.match(rq_own.pop(stamp))
    assert mine == rq_own  # every other field, and the call data byte for byte
    assert redis.ttl(f"rq:job:{ours}") == redis.ttl(theirs.key) == -1
    assert queue.job_ids == [theirs.id, ours]
    assert redis.smembers("rq:queues") == {queue.key.encode()}

    job = Job.fetch(ours, connection=redis)
    assert (job.func_name, job.args, job.kwargs) == (RUN_TASK, (42,), {})
    assert (job.timeout, job.result_ttl, job.failure_ttl, job.origin) == (60, 60, 3600,
                                                                           QUEUE_NAME)
    assert job.get_status() == JobStatus.QUEUED
    assert job.created_at == job.enqueued_at


def test_a_stock_worker_runs_them_in_order(svc):
    redis = svc.redis()
    quick = QuickQueue("quicktest", f"{__name__}.record", timeout=30, result_ttl=60,
                       failure_ttl=60)
    ids = quick.enqueue(redis, [7, 8, 9])
    assert quick.enqueue(redis, []) == []  # nothing to send: no command at all
    queue = Queue("quicktest", connection=redis)
    assert queue.job_ids == ids
    SimpleWorker([queue], connection=redis).work(burst=True, logging_level="WARNING")
    assert redis.lrange("quick-enqueue-test:ran", 0, -1) == [b"7", b"8", b"9"]
    for job_id, value in zip(ids, (7, 8, 9), strict=True):
        job = Job.fetch(job_id, connection=redis)
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == f"ran {value}"
    assert queue.count == 0


def test_a_script_flushed_from_redis_is_loaded_again(svc):
    redis = svc.redis()
    RUN_TASK_QUEUE.enqueue(redis, [1])
    redis.script_flush()
    RUN_TASK_QUEUE.enqueue(redis, [2])
    assert [Job.fetch(i, connection=redis).args for i in svc.queue().job_ids] == [(1,), (2,)]


def test_a_webhooks_due_task_is_enqueued_without_rq_job_objects(phones, svc, monkeypatch):
    def no(*_args, **_kwargs):
        raise AssertionError("Queue.enqueue was used for a due task")

    monkeypatch.setattr(Queue, "enqueue", no)
    phones.text("+15557770101", "hi, I need to talk to someone")  # a pairing task
    jobs = [Job.fetch(i, connection=svc.redis()) for i in svc.queue().job_ids]
    assert jobs and all(j.func_name == RUN_TASK and isinstance(j.args[0], int) for j in jobs)
    monkeypatch.undo()
    phones.work()  # the stock worker runs it (and anything it queued)
    assert svc.queue().count == 0


@pytest.mark.parametrize("bad", ["it's", "a b", "x]]"])
def test_only_plain_names_go_into_the_script(bad):
    with pytest.raises(ValueError):
        QuickQueue(bad, RUN_TASK, timeout=1, result_ttl=1, failure_ttl=1)


def test_timers_and_due_tasks_in_one_kick(svc):
    """Scheduled hints go to RQ's scheduler (in one pipeline), due ones to the queue, in
    either order."""
    from datetime import timedelta

    from rq.registry import ScheduledJobRegistry

    now = svc.line.now()
    later = now + timedelta(minutes=5)
    assert svc.kicker.kick([(1, later), (2, now), (3, later), (4, now)])
    queue = svc.queue()
    assert [Job.fetch(i, connection=svc.redis()).args for i in queue.job_ids] == [(2,), (4,)]
    scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert sorted(Job.fetch(i, connection=svc.redis()).args for i in scheduled) == [(1,), (3,)]


def test_the_kicker_sends_a_batch_timers_and_due_tasks_in_one_round_trip(
        svc, clock, monkeypatch):
    from datetime import UTC, timedelta

    from redis.connection import AbstractConnection
    from rq.registry import ScheduledJobRegistry

    from peerline.extensions import RUN_BATCH

    redis = svc.redis()
    redis.script_flush()  # Redis restarted: neither script is loaded
    sends = []
    real = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):  # noqa: ANN001, ANN202
        sends.append(command)
        return real(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)  # TCP or socket
    later = clock.now + timedelta(seconds=30)
    assert svc.kicker.kick([(7, clock.now), (8, later)], together=[1, 2])
    queue = Queue(QUEUE_NAME, connection=redis)
    jobs = [Job.fetch(i, connection=redis) for i in queue.job_ids]
    assert [(j.func_name, j.args) for j in jobs] == [(RUN_BATCH, ([1, 2],)), (RUN_TASK, (7,))]
    assert ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False) == 1  # once
    sends.clear()
    assert svc.kicker.kick([(9, clock.now), (10, later)], together=[3, 4])
    assert len(sends) == 1  # scripts loaded now: everything in one round trip
    assert len(queue.job_ids) == 4
    assert ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False) == 2
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids(cleanup=False):  # what enqueue_at would have written
        job = Job.fetch(job_id, connection=redis)
        assert (job.func_name, job.get_status(), job.timeout) == (RUN_TASK, "scheduled", 60)
        assert job.args in ((8,), (10,))
        assert registry.get_scheduled_time(job) == later.replace(microsecond=0, tzinfo=UTC)
