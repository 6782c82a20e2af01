"""RQ jobs: each takes an id, refetches, and calls the domain (never numbers or bodies)."""

from __future__ import annotations

from peerline.app import create_app
from peerline.delivery import tasks
from peerline.handlers import HANDLERS
from workers.context import current_services


def run_task(task_id: int) -> str:
    """Run one outbox task by id (a no-op if it is done or another worker has it)."""
    services = current_services(create_app)
    return tasks.run(services.sessions, services.line, task_id, HANDLERS)
