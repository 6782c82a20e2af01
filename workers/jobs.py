"""RQ jobs: each takes an id, refetches, and calls the domain (never numbers or bodies)."""

from __future__ import annotations

from peerline.delivery import tasks
from peerline.delivery.handlers import register_all
from workers.context import current_services


def run_task(task_id: int) -> str:
    """Run one outbox task by id (a no-op if it is done or another worker has it)."""
    register_all()
    services = current_services()
    return tasks.run(services.sessions, services.line, task_id)
