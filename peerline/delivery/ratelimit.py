"""Per-number rate limits in Redis: a flood is kept quiet, never dropped or refused.

A throttled text is still stored, scanned and relayed; it only gets no automatic reply.
While Redis is down every text is allowed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from peerline.delivery.redis_scripts import LuaScript

log = logging.getLogger(__name__)

_down_until = 0.0

#: Count one event and keep the bucket two windows: one ``EVALSHA`` (a ``MULTI`` pipeline
#: of ``INCR`` and ``EXPIRE`` cost a webhook ~400 Python calls in redis-py; this ~200).
_COUNT = LuaScript("""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
""")


def allow(redis_client: Any, key: str, limit: int, window_s: int = 60) -> bool:
    """Count one event for ``key`` (a hash, never a number); False once over ``limit``."""
    global _down_until
    if limit <= 0 or time.monotonic() < _down_until:
        return True
    bucket = f"peerline:rate:{key}:{int(time.time() // window_s)}"
    try:
        count = _COUNT(redis_client, [bucket], [window_s * 2])
    except Exception:  # noqa: BLE001 - Redis down: let every text through
        _down_until = time.monotonic() + 2.0
        return True
    return int(count) <= limit
