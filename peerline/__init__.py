"""peerline: a peer-support line for survivors of trauma that works on any phone.

The app factory lives in :mod:`peerline.app`; ``peerline.create_app`` reaches it lazily,
so importing a part of the line (``peerline.crisis``, say) never pulls in Flask, the
database or Redis. See ``ARCHITECTURE.md`` for the packages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``peerline.create_app``: the factory, imported only when it is asked for."""
    if name == "create_app":
        from peerline.app import create_app  # lazy by design: see the module docstring

        return create_app
    raise AttributeError(f"module 'peerline' has no attribute {name!r}")
