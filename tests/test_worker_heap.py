"""The RQ worker and each gunicorn worker put what they built at start out of the
garbage collector's walks."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from gunicorn.app.base import Application

from peerline.commands import worker as worker_command

ROOT = Path(__file__).resolve().parent.parent


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


class _OurConfigFile(Application):
    """gunicorn reading the project's gunicorn.conf.py as ``gunicorn wsgi:app`` does
    (a hook under a misspelt name would be ignored, not set)."""

    def load_config(self) -> None:
        self.load_config_from_file(str(ROOT / "gunicorn.conf.py"))

    def init(self, parser: Any, opts: Any, args: Any) -> None:
        return None

    def load(self) -> Any:
        raise AssertionError("not serving")


class _Worker:
    """What the hook may use of gunicorn's worker."""

    log = logging.getLogger("test.gunicorn")


def test_each_web_worker_freezes_its_start_up_heap_once_the_app_is_loaded(app):
    """gunicorn runs ``post_worker_init`` in each worker after importing wsgi.py and
    before the first request; full collections walked the app inside webhooks."""
    hook = _OurConfigFile().cfg.post_worker_init
    assert gc.get_freeze_count() == 0
    assert any(o is app for o in gc.get_objects())
    try:
        hook(_Worker())
        frozen = gc.get_freeze_count()
        app_walked = any(o is app for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert frozen > 0
    assert app_walked is False
