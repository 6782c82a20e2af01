"""The per-number rate limit: counted in the same Redis round trip as the text's jobs,
after its commit. A flood is stored whole and answered up to the limit (a crisis
always); a redelivered text is not counted again; Redis being down lets every text
through."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.client import Pipeline
from sqlalchemy import func, select

from peerline.models import Message

from .helpers import new_sid
from .test_text_line import ALEX, SURV, add_volunteer

LIMIT = 3


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201
    settings["PEERLINE_RATE_LIMIT_PER_MIN"] = LIMIT
    return settings


def _stored(svc, number: str) -> int:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.sender_hash == svc.line.vault.hash(number)))


def _answered(phones, number: str, body: str, times: int) -> list[bool]:  # noqa: ANN001
    return [bool(phones.replies(phones.text(number, body))) for _ in range(times)]


def test_a_flood_is_stored_whole_and_answered_up_to_the_limit(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert _answered(phones, ALEX, "STATUS", 5) == [True] * LIMIT + [False] * 2
    assert _stored(svc, ALEX) == 5
    [bucket] = svc.redis().keys("peerline:rate:*")
    assert svc.redis().get(bucket) == b"5"
    assert 0 < svc.redis().ttl(bucket) <= 120  # two windows, set once


def test_the_window_follows_the_lines_clock(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    assert _answered(phones, ALEX, "STATUS", LIMIT + 1) == [True] * LIMIT + [False]
    clock.advance(60)  # the next minute: a new count
    assert _answered(phones, ALEX, "STATUS", 1) == [True]


def test_a_crisis_over_the_limit_is_still_answered_with_the_hotline(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    for _ in range(LIMIT):
        phones.text(SURV, "hi, can someone talk with me")
    crisis = phones.replies(phones.text(SURV, "i want to kill myself tonight"))
    assert any("988" in text for text in crisis)
    assert _stored(svc, SURV) == LIMIT + 1


def test_a_redelivered_text_is_not_counted_again(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    sid = new_sid()
    for _ in range(LIMIT + 2):
        phones.text(ALEX, "STATUS", sid=sid)  # Twilio delivering the same text again
    [bucket] = svc.redis().keys("peerline:rate:*")
    assert svc.redis().get(bucket) == b"1"
    assert phones.replies(phones.text(ALEX, "STATUS"))  # the second real text: answered


def test_one_redis_round_trip_a_text(phones, svc, monkeypatch):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    redis = svc.redis()

    def no_second_trip(*_args, **_kwargs):
        raise AssertionError("the rate count went to Redis on its own")

    monkeypatch.setattr(redis, "evalsha", no_second_trip)
    sent = []
    execute = Pipeline.execute

    def counted(self, *args, **kwargs):  # noqa: ANN001, ANN202
        sent.append([cmd[0][0] for cmd in self.command_stack])
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted)
    assert phones.replies(phones.text(SURV, "hi, can someone talk with me"))  # a new conversation
    assert len(sent) == 1  # the count and the pairing job together
    assert len(sent[0]) >= 2
    assert _answered(phones, ALEX, "STATUS", 1) == [True]  # no job: the count alone
    assert len(sent) == 2


def test_a_script_flushed_from_redis_is_loaded_again(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert _answered(phones, ALEX, "STATUS", 2) == [True, True]
    svc.redis().script_flush()
    assert _answered(phones, ALEX, "STATUS", 2) == [True, False]


def test_redis_down_lets_texts_through(phones, svc, monkeypatch):
    add_volunteer(svc, "Alex", ALEX)
    monkeypatch.setattr(svc, "_redis", Redis(port=1, socket_connect_timeout=0.2))
    assert _answered(phones, ALEX, "STATUS", LIMIT + 2) == [True] * (LIMIT + 2)
    assert _stored(svc, ALEX) == LIMIT + 2
