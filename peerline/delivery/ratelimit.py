"""Per-number rate limits in Redis: a flood is kept quiet, never dropped or refused.

A throttled text is still stored, scanned and relayed; it only gets no automatic reply.
While Redis is down every text is allowed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

_down_until = 0.0


def allow(redis_client: Any, key: str, limit: int, window_s: int = 60) -> bool:
    """Count one event for ``key`` (a hash, never a number); False once over ``limit``."""
    global _down_until
    if limit <= 0 or time.monotonic() < _down_until:
        return True
    bucket = f"peerline:rate:{key}:{int(time.time() // window_s)}"
    try:
        pipe = redis_client.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, window_s * 2)
        count = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - Redis down: let every text through
        _down_until = time.monotonic() + 2.0
        return True
    return int(count) <= limit
