"""gunicorn settings read from the project root (``gunicorn wsgi:app`` finds this file).

The settings are checked once in the arbiter before any worker is forked, so a line
that must not start (see ``peerline.config.finalise``) prints one line and exits 1
instead of booting workers that each fail.

Worker class and count were chosen by measurement (``bench/load_bench.py``, results in
``bench/README.md``): a webhook spends most of its time waiting on PostgreSQL and Redis
round trips, so threads that overlap those waits answer several times more texts a
second than the same number of sync processes on two cores (gthread 2×4: ~95 texts/s;
sync ×2: ~20; sync ×4: ~28, same run, a busy 2-core box; a second run on a saturated box found 2×4
threads level with sync ×2 and 2×8 ahead). ``WEB_CONCURRENCY`` (the
usual platform variable) sets the processes; each holds up to ``threads`` requests.

There is no ``preload_app``: each worker process imports ``wsgi.py`` (the app, the
crisis model and lexicons) itself, then ``post_worker_init`` freezes that start-up heap
(``peerline.heap.freeze_heap``) before the worker takes its first request.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = 4


def on_starting(server: object) -> None:
    """Refuse to start with unusable settings (one line naming each one)."""
    from peerline.config import ConfigError, finalise, from_environment

    try:
        finalise(from_environment())
    except ConfigError as error:
        raise SystemExit(str(error)) from None


def post_worker_init(worker: object) -> None:
    """Freeze the worker process's start-up heap, now that it has loaded the app.

    gunicorn calls this in each worker after ``wsgi.py`` ran (``Worker.load_wsgi``) and
    before the first request: full garbage collections walking the app's ~250,000
    objects cost 0.15-0.7 s in the middle of webhooks (bench/README.md, gunicorn).
    """
    from peerline.heap import freeze_heap

    frozen = freeze_heap()
    worker.log.debug("froze %d start-up objects", frozen)  # type: ignore[attr-defined]
