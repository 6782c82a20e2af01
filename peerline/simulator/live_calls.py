"""Which simulator calls are still live, so that one left behind is hung up.

A real phone that goes away ends its call, and Twilio posts the hang-up. A closed
simulator tab may not (its ``pagehide`` beacon is best effort), which would leave a
ghost caller in the queue forever. So every call the page drives is noted here with
the time it was last touched (each webhook, each poll for updates); the call simulator
hangs up, by the same signed ``/voice/status`` callback Twilio sends, any call idle for
longer than :data:`IDLE_HANGUP_S`. Only call sids and directions are kept, never numbers.
"""

from __future__ import annotations

from redis import Redis

#: A call the page has not touched for this long is over (the page polls every 2 s;
#: a hidden tab that the browser throttles still polls about once a minute).
IDLE_HANGUP_S = 120
#: The statuses after which Twilio considers a call over.
FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_TOUCHED = "peerline:simulator:calls:touched"  # sorted set: CallSid -> last touch (epoch s)
_DIRECTION = "peerline:simulator:calls:direction"  # hash: CallSid -> Direction
_KEPT_S = 86400  # the keys go away a day after the last simulator call


def touch(redis: Redis, sid: str, direction: str, now: float) -> None:
    """Note that the page just drove call ``sid``."""
    pipe = redis.pipeline()
    pipe.zadd(_TOUCHED, {sid: now})
    pipe.hset(_DIRECTION, sid, direction)
    pipe.expire(_TOUCHED, _KEPT_S)
    pipe.expire(_DIRECTION, _KEPT_S)
    pipe.execute()


def still_here(redis: Redis, sid: str, now: float) -> None:
    """The page still watches call ``sid`` (only refreshes a call already noted)."""
    redis.zadd(_TOUCHED, {sid: now}, xx=True)


def forget(redis: Redis, sid: str) -> None:
    """Call ``sid`` is over: nothing to hang up any more."""
    pipe = redis.pipeline()
    pipe.zrem(_TOUCHED, sid)
    pipe.hdel(_DIRECTION, sid)
    pipe.execute()


def claim_idle(redis: Redis, now: float) -> list[tuple[str, str]]:
    """The calls idle past the limit, each as (sid, direction), claimed by this caller
    only (two requests sweeping at once never hang up one call twice)."""
    claimed = []
    for raw in redis.zrangebyscore(_TOUCHED, "-inf", now - IDLE_HANGUP_S):
        sid = raw.decode() if isinstance(raw, bytes) else str(raw)
        if redis.zrem(_TOUCHED, sid):
            direction = redis.hget(_DIRECTION, sid)
            redis.hdel(_DIRECTION, sid)
            claimed.append((sid, direction.decode() if isinstance(direction, bytes)
                            else direction or "inbound"))
    return claimed
