"""Send tasks run the ordinary way, side by side: a small pool of threads, one per
recipient, each task through :func:`peerline.delivery.tasks.run`.

A broadcast's untried texts go out through :mod:`peerline.delivery.send_together`
(claimed and recorded together); whatever that leaves (a retry that must ask Twilio
first, a text behind an earlier one to the same person, a held gateway) comes here.
Nothing about a send changes: each task is run exactly as its own job would run it
(lease, claim with a compare-and-set, the never-twice check, retries with back-off, the
delivery recorded on its own row, a permanent failure handled per recipient). Only the
waiting overlaps. Texts to the same person stay in one thread, oldest first, so they
still leave in order. If the batch job is lost (Redis restarted) the sweeper re-enqueues
the tasks one by one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import OutboundMessage, Task

log = logging.getLogger(__name__)

#: Kinds of text queued as a batch when one transaction queues several of them.
BATCH_KINDS = frozenset({"offer", "alert"})
#: Threads one batch sends with (each holds a database connection while it runs).
THREADS = 8


def note(session: Session, kind: str, task: Task | None) -> None:
    """Mark a just-added send task of ``kind`` as batchable in this transaction."""
    if task is not None and kind in BATCH_KINDS:
        session.info.setdefault("batch_sends", set()).add(task)


def by_recipient(sessions: sessionmaker[Session], task_ids: list[int]) -> list[list[int]]:
    """The tasks grouped per recipient (each group oldest first); non-send tasks alone."""
    with sessions() as session:
        rows = session.execute(
            select(Task.id, OutboundMessage.to_hash)
            .outerjoin(OutboundMessage, (Task.kind == TaskKind.SEND)
                       & (OutboundMessage.id == Task.ref_id))
            .where(Task.id.in_(task_ids)).order_by(Task.id)).all()
    groups: dict[object, list[int]] = {}
    for task_id, to_hash in rows:
        groups.setdefault(to_hash if to_hash is not None else ("task", task_id),
                          []).append(task_id)
    return list(groups.values())


def _run_group(sessions: sessionmaker[Session], line: Line, task_ids: list[int],
               handlers: Mapping[str, tasks.Handler]) -> list[str]:
    outcomes = []
    for task_id in task_ids:
        try:
            outcomes.append(tasks.run(sessions, line, task_id, handlers))
        except Exception:  # noqa: BLE001 - e.g. the database went away: the sweeper retries
            log.exception("batched task %s could not run; left for the sweeper", task_id)
            outcomes.append("error")
    return outcomes


def run_batch(sessions: sessionmaker[Session], line: Line, task_ids: list[int],
              handlers: Mapping[str, tasks.Handler], threads: int = THREADS) -> list[str]:
    """Run the tasks, one thread per recipient (at most ``threads``); their outcomes."""
    groups = by_recipient(sessions, task_ids)
    if len(groups) <= 1:
        return [o for group in groups for o in _run_group(sessions, line, group, handlers)]
    done = list(pool(threads).map(lambda group: _run_group(sessions, line, group, handlers),
                                   groups))
    return [o for group in done for o in group]


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def pool(threads: int = THREADS) -> ThreadPoolExecutor:
    """This process's pool of ``threads`` send threads, started once (starting eight
    threads for every broadcast cost the worker milliseconds each time)."""
    with _pools_lock:
        found = _pools.get(threads)
        if found is None:
            found = _pools[threads] = ThreadPoolExecutor(max_workers=threads,
                                                         thread_name_prefix="send-batch")
        return found
