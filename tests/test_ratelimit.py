"""The per-number rate limit counts in one Redis command, expires its buckets, and lets
everything through while Redis is down."""

from __future__ import annotations

import pytest
from redis import Redis

from peerline.delivery import ratelimit


@pytest.fixture(autouse=True)
def _up(monkeypatch):
    monkeypatch.setattr(ratelimit, "_down_until", 0.0)


def test_over_the_limit_in_one_command_without_a_pipeline(svc, monkeypatch):
    redis = svc.redis()

    def no_pipeline(*_args, **_kwargs):
        raise AssertionError("a pipeline (MULTI, INCR, EXPIRE, EXEC) per text")

    monkeypatch.setattr(redis, "pipeline", no_pipeline)
    assert [ratelimit.allow(redis, "abc", 3) for _ in range(5)] == [True] * 3 + [False] * 2
    assert ratelimit.allow(redis, "other", 3)  # another sender has their own count
    [bucket] = redis.keys("peerline:rate:abc:*")
    assert redis.get(bucket) == b"5"
    assert 0 < redis.ttl(bucket) <= 120  # two windows, set once


def test_a_script_flushed_from_redis_is_loaded_again(svc):
    redis = svc.redis()
    assert ratelimit.allow(redis, "k", 1)
    redis.script_flush()
    assert not ratelimit.allow(redis, "k", 1)


def test_redis_down_lets_texts_through():
    down = Redis(port=1, socket_connect_timeout=0.2)
    assert all(ratelimit.allow(down, "k", 1) for _ in range(3))
    assert ratelimit.allow(down, "k", 0)
