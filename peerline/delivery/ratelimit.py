"""Per-number rate limits in Redis: a flood is kept quiet, never dropped or refused.

A throttled text is still stored, scanned and relayed; it only gets no automatic reply.
While Redis is down every text is allowed. The count is made after the text's commit,
in the same Redis round trip as its jobs (:class:`Count`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peerline.delivery.redis_scripts import LuaScript

#: Count one event and keep the bucket two windows: one ``EVALSHA`` (a ``MULTI`` pipeline
#: of ``INCR`` and ``EXPIRE`` cost a webhook ~400 Python calls in redis-py; this ~200).
_COUNT = LuaScript("""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
""")


#: ``session.info`` key: the :class:`Count` a webhook's commit should make (the after-commit
#: hook, ``peerline.extensions.Services``, sends it in the same round trip as the jobs).
AFTER_COMMIT = "peerline.rate_count"


def bucket(key: str, at: datetime, window_s: int = 60) -> str:
    """The Redis key counting ``key``'s events in the window holding ``at`` (naive UTC)."""
    return f"peerline:rate:{key}:{calendar.timegm(at.timetuple()) // window_s}"


@dataclass
class Count:
    """One event to count for ``key`` (a hash, never a number) in a later round trip: the
    commit's enqueue (:meth:`peerline.extensions.Kicker.kick`), so a text costs Redis one
    round trip, not two. ``allowed`` stays True unless the count was made and is over
    ``limit`` (Redis down, or the commit never made: the text is let through)."""

    key: str
    limit: int
    at: datetime  #: when the text arrived, by the line's clock (naive UTC)
    window_s: int = 60
    allowed: bool = True

    def queue_on(self, pipe: Any) -> bool:
        """Add the count to ``pipe``; False when there is nothing to count (no limit)."""
        if self.limit <= 0:
            return False
        _COUNT.queue_on(pipe, [bucket(self.key, self.at, self.window_s)], [self.window_s * 2])
        return True

    def take(self, count: Any) -> None:
        """The pipeline's answer to :meth:`queue_on`."""
        self.allowed = int(count) <= self.limit
