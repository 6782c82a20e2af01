"""The Jobs page (admins only): RQ's queues from its registries, ids only."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from peerline.delivery import job_queues
from peerline.extensions import QUEUE_NAME
from peerline.models import Role

from .blueprint import bp, roles


@bp.route("/dashboard/jobs")
@roles(Role.ADMIN)
def jobs_page() -> Any:
    """Queued, started, scheduled, deferred, failed and finished counts per queue, and
    the latest failed jobs by id with their exception's line (never a job's payload)."""
    svc = current_app.extensions["peerline"]
    try:
        queues, error = job_queues.stats(svc.redis(), include=(QUEUE_NAME,)), ""
    except job_queues.QueuesUnavailable as exc:
        queues, error = [], f"Redis could not be read ({exc}); tasks still wait safely in " \
                            "the database and the sweeper re-enqueues them."
    return render_template("dashboard/jobs.html", queues=queues, error=error), \
        503 if error else 200
