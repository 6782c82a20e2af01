"""The admins' Jobs page: RQ's queues from its registries, failed jobs by id with their
exception's line, never a job's payload; nobody else sees it."""

from __future__ import annotations

import re

from redis import Redis
from rq import SimpleWorker

from peerline.delivery import job_queues

from .dashboard_helpers import signed_in


def explode(task_id: int, body: str = "") -> None:
    """A job that fails (run by a real worker below)."""
    raise RuntimeError(f"task {task_id} went wrong\nsecond line")


def count(html, queue, state):
    row = re.search(rf'<tr data-queue="{queue}">(.*?)</tr>', html, re.S)
    assert row, queue
    return int(re.search(rf'data-count="{state}">(\d+)<', row.group(1)).group(1))


def test_admins_see_counts_and_failures_by_id_only(app, svc):
    admin = signed_in(app, svc, "admin")
    html = admin.get("/dashboard/jobs").get_data(as_text=True)
    assert count(html, "peerline", "queued") == 0 and count(html, "peerline", "failed") == 0

    queue = svc.queue()
    failing = queue.enqueue(explode, 41, "survivor words here")
    SimpleWorker([queue], connection=svc.redis()).work(burst=True, logging_level="CRITICAL")
    waiting = queue.enqueue(explode, 42)
    html = admin.get("/dashboard/jobs").get_data(as_text=True)
    assert count(html, "peerline", "queued") == 1 and count(html, "peerline", "failed") == 1
    assert f'data-job="{failing.id}"' in html and f'data-job="{waiting.id}"' not in html
    failed_row = re.search(rf'<tr data-job="{failing.id}">(.*?)</tr>', html, re.S).group(1)
    assert "<td>41</td>" in failed_row and "explode" in failed_row
    # RQ stores the traceback; the page shows only the exception's first line.
    assert "RuntimeError: task 41 went wrong" in failed_row
    assert "second line" not in html and "Traceback" not in html
    assert "survivor words here" not in html
    queue.empty()


def test_only_admins(app, svc):
    for role in ("coordinator", "viewer"):
        assert signed_in(app, svc, role).get("/dashboard/jobs").status_code == 403
    assert app.test_client().get("/dashboard/jobs").headers["Location"] == "/login"


def test_the_error_line_blanks_anything_like_a_number():
    trace = ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n"
             "TwilioRestException: The 'To' number +1 (555) 010-0001 is not valid\n"
             "more detail\n")
    assert job_queues.first_line(trace) == (
        "TwilioRestException: The 'To' number [number] is not valid")
    assert job_queues.first_line(None) == ""
    assert job_queues.first_line("ValueError: bad") == "ValueError: bad"


def test_redis_unreachable_is_said_not_a_500(app, svc):
    admin = signed_in(app, svc, "admin")
    svc._redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5,
                                socket_timeout=0.5)
    page = admin.get("/dashboard/jobs")
    assert page.status_code == 503
    assert 'data-jobs="error"' in page.get_data(as_text=True)
    assert "ConnectionError" in page.get_data(as_text=True)
