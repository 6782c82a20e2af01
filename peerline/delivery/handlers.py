"""Imports every module that registers task handlers (``@tasks.handler``)."""

from __future__ import annotations

import importlib

MODULES = ("peerline.delivery.outbox", "peerline.text.pairing", "peerline.privacy.purge",
           "peerline.people.oncall",
           "peerline.delivery.remote_delete", "peerline.voice.handlers")


def register_all() -> None:
    """Make sure every task kind has its handler registered."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not name.startswith(exc.name):
                raise  # a capability not built yet is fine; a broken import is not
