"""Lua scripts run by ``EVALSHA``, loaded again when Redis has lost them (a restart).

Nothing is kept per Redis client (the SHA is the source's): a process may make many
clients (tests do), and holding each one's script would hold the client and its pool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError


class LuaScript:
    """One script: ``script(redis, keys, args)`` runs it in one round trip."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, redis: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's answer for ``keys`` and ``args`` (Redis' errors are raised)."""
        try:
            return redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:  # an empty Redis (restarted, or SCRIPT FLUSH): load, retry
            redis.script_load(self.source)
            return redis.evalsha(self.sha, len(keys), *keys, *args)
