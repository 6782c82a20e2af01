"""RQ jobs: each takes an id, refetches, and calls the domain (never numbers or bodies)."""

from __future__ import annotations

from peerline.app import create_app
from peerline.delivery import send_batch, tasks
from peerline.handlers import HANDLERS
from workers.context import current_services


def run_task(task_id: int) -> str:
    """Run one outbox task by id (a no-op if it is done or another worker has it)."""
    services = current_services(create_app)
    return tasks.run(services.sessions, services.line, task_id, HANDLERS)


def run_batch(task_ids: list[int]) -> list[str]:
    """Run several send tasks side by side (see :mod:`peerline.delivery.send_batch`)."""
    services = current_services(create_app)
    return send_batch.run_batch(services.sessions, services.line, task_ids, HANDLERS)
