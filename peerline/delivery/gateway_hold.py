"""Twilio refusing the line's credentials (HTTP 401/403): a configuration error, not an outage.

Retrying such a send cannot help, so the line holds its texts instead of hammering
Twilio or giving them up: every send waits while the hold lasts
(``PEERLINE_GATEWAY_HOLD_S``), then one send probes Twilio again. The first refusal of a
spell logs one error line (no numbers) and queues an alert to the on-call coordinator
(it goes out once Twilio accepts the line again); ``/healthz`` shows the hold. A send
that succeeds lifts the hold and resumes every held text at once; a worker that starts
(perhaps with fixed settings) probes at once too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind, TaskStatus
from peerline.line import Line
from peerline.models import GatewayHold, Task

log = logging.getLogger(__name__)

#: The retry reason of a held send (kept in ``tasks.last_error``, so held ones are found).
HELD = "held: Twilio refused the line's credentials"
_ROW = 1


def wait_s(session: Session, now: datetime) -> float | None:
    """Seconds a send must still wait because of a hold, or None to go ahead."""
    hold = session.get(GatewayHold, _ROW)
    if hold is None or hold.until <= now:
        return None
    return (hold.until - now).total_seconds()


def refused(session: Session, line: Line, http_status: int | None,
            error_code: int | None) -> float:
    """Record a refusal (in the caller's transaction); return how long sends now wait."""
    now = line.now()
    hold_s = float(line.setting("PEERLINE_GATEWAY_HOLD_S"))
    until = now + timedelta(seconds=hold_s)
    hold = session.get(GatewayHold, _ROW, with_for_update=True)
    if hold is None:
        try:
            with session.begin_nested():
                session.add(GatewayHold(id=_ROW, http_status=http_status or 0,
                                        error_code=error_code, since=now,
                                        last_refused_at=now, until=until, refusals=1))
        except IntegrityError:  # another worker was refused at the same moment
            hold = session.get(GatewayHold, _ROW, with_for_update=True,
                               populate_existing=True)
        else:
            log.error("Twilio refused the line's credentials (HTTP %s, error %s): check "
                      "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; texts are held, not lost, "
                      "and Twilio is tried again every %d s", http_status, error_code,
                      int(hold_s))
            tasks.add(session, TaskKind.ALERT_GATEWAY_REFUSED, None, now,
                      dedupe_key=TaskKind.ALERT_GATEWAY_REFUSED)
            return hold_s
    assert hold is not None
    hold.http_status, hold.error_code = http_status or 0, error_code
    hold.last_refused_at, hold.until = now, max(hold.until, until)
    hold.refusals += 1
    return hold_s


def lift(session: Session, line: Line) -> bool:
    """A send went through: end the hold and resume every held text now."""
    hold = session.get(GatewayHold, _ROW)
    if hold is None:
        return False
    session.delete(hold)
    count = _resume(session, line)
    log.warning("Twilio accepts the line's credentials again; %d held texts resume", count)
    return True


def probe_now(session: Session, line: Line) -> bool:
    """Try Twilio again at once (a worker starting, perhaps with fixed settings)."""
    hold = session.get(GatewayHold, _ROW, with_for_update=True)
    if hold is None:
        return False
    hold.until = line.now()
    _resume(session, line)
    return True


def _resume(session: Session, line: Line) -> int:
    now = line.now()
    held = session.scalars(select(Task).where(
        Task.kind == TaskKind.SEND, Task.status == TaskStatus.PENDING,
        Task.last_error == HELD)).all()
    for task in held:
        task.not_before = task.enqueued_at = now
        task.last_error = None
    session.info.setdefault("new_tasks", []).extend(held)
    return len(held)


def status(session: Session) -> dict[str, Any] | None:
    """What ``/healthz`` shows while texts are held (None when they are not)."""
    hold = session.get(GatewayHold, _ROW)
    if hold is None:
        return None
    held = session.scalar(select(func.count()).select_from(Task).where(
        Task.kind == TaskKind.SEND, Task.status == TaskStatus.PENDING, Task.last_error == HELD))
    return {"state": "credentials refused", "http_status": hold.http_status,
            "error_code": hold.error_code, "since": hold.since.isoformat() + "Z",
            "texts_held": held or 0}
