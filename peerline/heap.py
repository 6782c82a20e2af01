"""The start-up heap of a long-lived process, put out of the garbage collector's walks."""

from __future__ import annotations

import gc


def freeze_heap() -> int:
    """Put what the process built before its first request or job (the app, the crisis
    model and lexicons, the imported modules: ~270,000 objects) out of the garbage
    collector's walks, after one collection of what is garbage already; return how many
    objects are frozen.

    Those objects live as long as the process, yet every full (oldest-generation)
    collection walked them all: 0.15-0.7 s in the middle of whichever job or webhook was
    running (measured: bench/README.md, Offer latency and the gunicorn section). Frozen,
    a full collection walks only what was made since. Objects are still freed by their
    reference counts; only a cycle among the frozen ones would never be. Called by the
    RQ worker before its first job (``commands/worker.run_worker``) and by each gunicorn
    worker once the app is loaded (``gunicorn.conf.post_worker_init``).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
