"""RQ jobs: each takes an id, refetches, and calls the domain (never numbers or bodies)."""

from __future__ import annotations

from peerline.app import create_app
from peerline.delivery import send_together, tasks
from peerline.handlers import HANDLERS
from workers.context import current_services


def run_task(task_id: int) -> str:
    """Run one outbox task by id (a no-op if it is done or another worker has it); then
    send the fan-out texts it queued, if any."""
    services = current_services(create_app)
    with services.sending_here() as own:
        outcome = tasks.run(services.sessions, services.line, task_id, HANDLERS)
    if own.sends:  # a broadcast this task queued: sent now, not one more job away
        send_together.send_safely(services.sessions, services.line, own.sends, HANDLERS)
    if own.timers:  # its time-outs, enqueued once the offers are out
        services.kicker.kick(own.timers)
    return outcome


def run_batch(task_ids: list[int]) -> list[str]:
    """Send several texts together (see :mod:`peerline.delivery.send_together`)."""
    services = current_services(create_app)
    return send_together.send(services.sessions, services.line, task_ids, HANDLERS)


def ask_again(requests: list[tuple[str, int | None, float, str]]) -> int:
    """Make keyed requests once more, after the transaction that made them has committed
    (see :func:`peerline.delivery.tasks.add`); returns how many tasks were added."""
    services = current_services(create_app)
    with services.sessions.begin() as session:
        now = services.line.now()
        return sum(tasks.add(session, kind, ref_id, now, delay_s=delay_s,
                             dedupe_key=key) is not None
                   for kind, ref_id, delay_s, key in requests)
