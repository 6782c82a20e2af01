"""Lua scripts run by ``EVALSHA``, loaded again when Redis has lost them (a restart).

Nothing is kept per Redis client (the SHA is the source's): a process may make many
clients (tests do), and holding each one's script would hold the client and its pool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

#: Every script made in this process, by SHA (to load one again after a pipeline's
#: ``EVALSHA`` found Redis without it).
_BY_SHA: dict[str, LuaScript] = {}


class LuaScript:
    """One script: ``script(redis, keys, args)`` runs it in one round trip."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        _BY_SHA[self.sha] = self

    def queue_on(self, pipe: Any, keys: Sequence[Any], args: Sequence[Any]) -> None:
        """Add the script's run to ``pipe`` (see :func:`execute`)."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    def __call__(self, redis: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's answer for ``keys`` and ``args`` (Redis' errors are raised)."""
        try:
            return redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:  # an empty Redis (restarted, or SCRIPT FLUSH): load, retry
            redis.script_load(self.source)
            return redis.evalsha(self.sha, len(keys), *keys, *args)


def execute(redis: Any, pipe: Any) -> list[Any]:
    """Send a pipeline (made with ``transaction=False``) in one round trip; a script it
    runs that Redis had lost (a restart) is loaded and that command alone run again.

    Not a ``MULTI``: inside one, the commands around a failed ``EVALSHA`` would still run,
    and sending it again would repeat them. Other Redis errors are raised.
    """
    commands = [args for args, _options in pipe.command_stack]
    results = pipe.execute(raise_on_error=False)
    for i, result in enumerate(results):
        if isinstance(result, NoScriptError):
            script = _BY_SHA[commands[i][1]]
            redis.script_load(script.source)
            results[i] = redis.execute_command(*commands[i])
        elif isinstance(result, Exception):
            raise result
    return results
