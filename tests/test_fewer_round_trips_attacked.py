"""Attacks on the webhook's fewer round trips (2026-12-06; all held, kept as regression tests):
the rate count riding on the commit's Redis round trip, a new conversation and its
pairing request in one statement, and a new survivor's peer-choice row read with the
survivor's INSERT (PostgreSQL)."""

from __future__ import annotations

import logging

import pytest
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select

from peerline.delivery import ratelimit
from peerline.extensions import ASK_AGAIN_QUEUE, RUN_TASK_QUEUE
from peerline.models import Conversation, Message, PeerChoice, Survivor, Task
from peerline.peer import choice
from peerline.people.lookup import CHOICE_READ, get_or_create_survivor
from peerline.text import conversations

from .helpers import LINE, Phones, new_sid
from .races import at_once, needs_postgres, second_while_first_holds
from .test_text_line import ALEX, add_volunteer

NEW = "+15550177001"
OTHER = "+15550177002"
QUESTION = "particular experience"
LIMIT = 3


def _stored(svc, number: str) -> int:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.sender_hash == svc.line.vault.hash(number)))


def _bucket(svc) -> int:  # noqa: ANN001
    keys = svc.redis().keys("peerline:rate:*")
    return sum(int(svc.redis().get(key)) for key in keys)


def _jobs(svc, func_name: str) -> int:  # noqa: ANN001
    """Jobs of ``func_name`` waiting on the peerline queue."""
    redis = svc.redis()
    ids = [i.decode() for i in redis.lrange("rq:queue:peerline", 0, -1)]
    return sum(1 for i in ids if (redis.hget(f"rq:job:{i}", "description") or b"")
               .decode().startswith(func_name))


# --- races through the webhook ------------------------------------------------------

def test_same_sid_twice_at_once_from_a_new_number(app, svc):  # noqa: ANN001
    needs_postgres(svc)
    sid = new_sid()
    responses: list = []

    def send(_i: int) -> None:
        with app.app_context():
            responses.append(Phones(app, app.test_client()).text(NEW, "hello, anyone?",
                                                                 sid=sid))

    assert not at_once(2, send)
    assert sorted(r.status_code for r in responses) == [200, 200]
    answered = [bool(Phones(app, app.test_client()).replies(r)) for r in responses]
    assert sorted(answered) == [False, True]  # one answer, the redelivery quiet
    assert _stored(svc, NEW) == 1
    assert _bucket(svc) == 1  # the loser rolled back: not counted
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert session.scalar(select(func.count()).select_from(Survivor)) == 1


def test_first_texts_at_once_from_a_new_number_with_a_kept_choice(app, svc):  # noqa: ANN001
    """The kept answer is honoured by whichever text created the survivor; the others
    (no hand-off: they did not insert) read it themselves; nobody is asked again."""
    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(NEW), tag="loss",
                               asked_at=svc.line.now(), answered_at=svc.line.now()))
    responses: list = []

    def send(i: int) -> None:
        with app.app_context():
            responses.append(Phones(app, app.test_client()).text(NEW, f"text {i}"))

    assert not at_once(6, send)
    phones = Phones(app, app.test_client())
    replies = [phones.replies(r) for r in responses]
    assert all(QUESTION not in " ".join(r) for r in replies), replies
    assert sum(1 for r in replies if r) >= 1
    assert _stored(svc, NEW) == 6
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert len(session.scalars(select(Task).where(Task.kind == "pair")).all()) == 1
        kept = session.scalars(select(PeerChoice)).one()
        assert kept.tag == "loss" and kept.answered_at is not None


def test_first_texts_of_two_new_numbers_while_a_pair_request_is_pending(app, svc):  # noqa: ANN001
    """A pending 'pair' task held by an open transaction: a new survivor's combined
    INSERT waits on it, stores the conversation, adds no second task and asks again
    after the commit (an ask_again job with the commit's jobs)."""
    needs_postgres(svc)
    from peerline.text import pairing

    codes: list[int] = []

    def second() -> None:
        with app.app_context():
            codes.append(Phones(app, app.test_client()).text(OTHER, "hello").status_code)

    def first(session) -> None:  # noqa: ANN001
        pairing.request_pairing(session, svc.line)

    assert not second_while_first_holds(svc, first, second)
    assert codes == [200]
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert len(session.scalars(select(Task).where(Task.kind == "pair")).all()) == 1
    assert _jobs(svc, ASK_AGAIN_QUEUE.func) == 1
    assert _bucket(svc) == 1


# --- Redis in the middle of the pipeline ---------------------------------------------

@pytest.fixture
def limited(settings):  # noqa: ANN001, ANN201
    settings["PEERLINE_RATE_LIMIT_PER_MIN"] = LIMIT
    return settings


def test_scripts_lost_mid_stream_count_once_and_enqueue_once(limited, phones, svc):  # noqa: ANN001, ARG001
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.work()
    svc.redis().flushdb()  # a Redis restart: no scripts, no keys
    before = _jobs(svc, RUN_TASK_QUEUE.func)
    assert phones.replies(phones.text(NEW, "hello, is anyone there"))  # count + pair job
    assert _bucket(svc) == 1
    assert _jobs(svc, RUN_TASK_QUEUE.func) == before + 1  # once, not once per retry
    svc.redis().script_flush()
    for _ in range(LIMIT):
        assert phones.replies(phones.text(ALEX, "STATUS"))
    svc.redis().script_flush()
    assert phones.replies(phones.text(ALEX, "STATUS")) == []  # over the limit: quiet
    assert _stored(svc, ALEX) == LIMIT + 2


def test_a_connection_dropped_in_the_pipeline_lets_the_text_through(limited, phones, svc,  # noqa: ANN001, ARG001, E501
                                                                    monkeypatch, caplog):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.work()
    for _ in range(LIMIT - 1):
        assert phones.replies(phones.text(ALEX, "STATUS"))
    real = Pipeline.execute

    def dropped(self, *args, **kwargs):  # noqa: ANN001, ANN202
        real(self, *args, **kwargs)  # Redis ran it all; the answer never came back
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(Pipeline, "execute", dropped)
    caplog.set_level(logging.DEBUG)
    response = phones.text(ALEX, "STATUS")
    assert response.status_code == 200
    assert phones.replies(response)  # Redis failed: let through, as while it is down
    first_text = phones.text(NEW, "hello, anyone there")  # a job and a count: lost hint
    assert phones.replies(first_text)
    monkeypatch.setattr(Pipeline, "execute", real)
    assert _stored(svc, ALEX) == LIMIT + 1 and _stored(svc, NEW) == 1
    phones.work()  # the lost hint: the sweeper enqueues the pairing request
    assert any("YES" in body for body in phones.bodies(ALEX)), phones.bodies(ALEX)
    for record in caplog.records:
        assert NEW not in record.getMessage() and NEW[-7:] not in record.getMessage()


def test_an_error_answer_to_the_count_keeps_the_commits_jobs(limited, phones, svc):  # noqa: ANN001, ARG001
    """The count's EVALSHA answered with an error (not NOSCRIPT) while the jobs in the
    same pipeline were written: the text is answered, nothing is lost."""
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.work()
    bucket = ratelimit.bucket(svc.line.vault.hash(NEW), svc.line.now())
    svc.redis().hset(bucket, "x", "1")  # WRONGTYPE for INCR
    before = _jobs(svc, RUN_TASK_QUEUE.func)
    response = phones.text(NEW, "hello, is anyone there")
    assert phones.replies(response)
    assert _stored(svc, NEW) == 1
    assert _jobs(svc, RUN_TASK_QUEUE.func) == before + 1


# --- the peer-choice hand-off ---------------------------------------------------------

def test_the_hand_off_is_never_used_by_a_later_transaction(svc):  # noqa: ANN001
    needs_postgres(svc)
    session = svc.sessions()
    try:
        with session.begin():
            survivor = get_or_create_survivor(session, svc.line, NEW, "en")  # no row kept
            assert CHOICE_READ in session.info  # not consumed in this transaction
        with svc.sessions.begin() as other:
            other.add(PeerChoice(phone_hash=svc.line.vault.hash(NEW), tag="loss",
                                 asked_at=svc.line.now(), answered_at=svc.line.now()))
        with session.begin():
            survivor = session.merge(survivor)
            row = choice._row(session, survivor)
            assert row is not None and row.tag == "loss"
    finally:
        session.close()


def test_the_hand_off_is_never_used_for_another_phone(svc):  # noqa: ANN001
    needs_postgres(svc)
    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(OTHER), tag="loss",
                               asked_at=svc.line.now(), answered_at=svc.line.now()))
    with svc.sessions.begin() as session:
        other = get_or_create_survivor(session, svc.line, OTHER, "en")
        new = get_or_create_survivor(session, svc.line, NEW, "en")  # hand-off: NEW, none
        row = choice._row(session, other)
        assert row is not None and row.tag == "loss"
        assert choice._row(session, new) is None


def test_the_hand_off_after_a_rolled_back_savepoint(svc):  # noqa: ANN001
    """A survivor inserted inside a savepoint that rolls back: its hand-off must not
    describe a row of the next insert of the same number (it is overwritten)."""
    needs_postgres(svc)
    with svc.sessions.begin() as session:
        nested = session.begin_nested()
        get_or_create_survivor(session, svc.line, NEW, "en")
        nested.rollback()
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(NEW), tag="loss",
                               asked_at=svc.line.now(), answered_at=svc.line.now()))
        session.flush()
        survivor = get_or_create_survivor(session, svc.line, NEW, "en")
        row = choice._row(session, survivor)
        assert row is not None and row.tag == "loss"


def test_start_after_pairing_was_asked_in_the_transaction(svc):  # noqa: ANN001
    """'pair' asked earlier in the transaction: start() inserts the conversation alone
    (the combined statement is not run), one task."""
    from peerline.text import pairing

    with svc.sessions.begin() as session:
        pairing.request_pairing(session, svc.line)
        survivor = get_or_create_survivor(session, svc.line, NEW, "en")
        conversation = conversations.start(session, svc.line, survivor, LINE)
        assert conversation.id is not None
    with svc.sessions() as session:
        assert session.get(Conversation, conversation.id) is not None
        assert len(session.scalars(select(Task).where(Task.kind == "pair")).all()) == 1


def test_a_kept_open_question_is_answered_by_a_new_survivors_first_text(phones, svc):  # noqa: ANN001
    """The hand-off's row is compared with the clock (an open question asked with no
    conversation, within the hour): every column as a fresh read gives it."""
    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(NEW), tag=None,
                               asked_at=svc.line.now(), answered_at=None))
    with svc.sessions.begin() as session:
        fresh = {name: getattr(row, name) for row in [session.scalars(select(PeerChoice)).one()]
                 for name in PeerChoice.__table__.c.keys()}
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, NEW, "en")
        handed = choice._row(session, survivor)
        assert {name: getattr(handed, name) for name in fresh} == fresh
        assert choice.pending(session, svc.line, survivor, None) is handed
        session.rollback()
    reply = phones.replies(phones.text(NEW, "SKIP"))
    assert reply and QUESTION not in " ".join(reply)
    with svc.sessions() as session:
        assert session.scalars(select(PeerChoice)).one().answered_at is not None


@pytest.mark.parametrize("extra", [
    {"To": "+1555"}, {"To": "not a number"}, {"To": "+" + "9" * 30}, {"To": ""},
    {"From": "+1555017700" + "1" * 40}, {"From": "+15550177001\x00"},
    {"MessageSid": "SM" + "x" * 62}, {"MessageSid": "SM" + "x" * 63},
    {"NumMedia": "-1"}, {"NumMedia": "9" * 30}, {"Body": "\x00" * 5},
    {"Body": "x" * 100_000},
])
def test_bad_input_on_a_first_text_is_never_a_5xx(phones, svc, extra):  # noqa: ANN001
    params = {"MessageSid": new_sid(), "AccountSid": "AC" + "0" * 32, "From": NEW,
              "To": LINE, "Body": "hello", "NumMedia": "0"}
    params.update(extra)
    response = phones.post("/sms/inbound", params)
    assert response.status_code < 500, (extra, response.status_code)
