"""The worker puts what it built at start out of the garbage collector's walks."""

from __future__ import annotations

import gc
import threading
from typing import Any

from peerline.commands import worker as worker_command


def test_the_worker_freezes_its_start_up_heap_before_its_first_job(app, monkeypatch):
    """A full collection walked the whole app (~270,000 objects, 150-250 ms) in the middle
    of a job; frozen before the first job, the app is no longer in any generation."""
    seen: dict[str, Any] = {}

    class Stub:
        stopping = threading.Event()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def work(self, **kwargs: Any) -> None:  # what RQ's loop would do: take jobs
            seen["frozen"] = gc.get_freeze_count()
            seen["app walked"] = any(o is app for o in gc.get_objects())

    monkeypatch.setattr(worker_command, "_worker_class", lambda: Stub)
    assert any(o is app for o in gc.get_objects())  # walked by every full collection
    try:
        worker_command.run_worker(app, burst=True)
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual
    assert seen["frozen"] > 0
    assert seen["app walked"] is False
