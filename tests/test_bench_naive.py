"""The naive webhook ``bench/load_bench.py --naive`` measures the line against (issue 14):
it answers a signed text, stores one row and enqueues one job, and refuses an unsigned one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, select

from peerline.telephony.signature import sign

from .helpers import BASE_URL, LINE, new_sid

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import naive_wsgi  # noqa: E402

TOKEN = "naive-test-token"
SENDER = "+15550104477"


@pytest.fixture
def naive(service_urls: dict[str, str]) -> Iterator[tuple[Flask, Queue, object]]:
    """The naive app on the suite's database and Redis, its table fresh, its queue empty."""
    engine = create_engine(service_urls["DATABASE_URL"])
    naive_wsgi.texts.drop(engine, checkfirst=True)
    naive_wsgi.create_table(engine)
    queue = Queue(naive_wsgi.QUEUE, connection=Redis.from_url(service_urls["REDIS_URL"]))
    queue.empty()
    app = naive_wsgi.naive_app(service_urls["DATABASE_URL"], service_urls["REDIS_URL"], TOKEN,
                               BASE_URL, b"naive-test-hash-key")
    yield app, queue, engine
    queue.empty()
    naive_wsgi.texts.drop(engine, checkfirst=True)
    engine.dispose()


def _params() -> dict[str, str]:
    return {"MessageSid": new_sid(), "From": SENDER, "To": LINE, "Body": "hi, anyone there?",
            "NumMedia": "0"}


def _rows(engine: object) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return [tuple(r) for r in conn.execute(select(naive_wsgi.texts))]


def test_signed_text_is_answered_stored_once_and_enqueued(naive) -> None:  # noqa: ANN001
    app, queue, engine = naive
    params = _params()
    headers = {"X-Twilio-Signature": sign(BASE_URL + "/sms/inbound", params, TOKEN)}
    client = app.test_client()
    first = client.post("/sms/inbound", data=params, headers=headers)
    again = client.post("/sms/inbound", data=params, headers=headers)  # Twilio's retry
    assert first.status_code == again.status_code == 200
    assert first.mimetype == "text/xml" and b"<Response>" in first.data
    rows = _rows(engine)
    assert [(sid, body) for sid, _, body in rows] == [(params["MessageSid"], params["Body"])]
    assert SENDER not in rows[0][1] and len(rows[0][1]) == 64  # a hash, never the number
    assert queue.count == 2
    assert queue.jobs[0].func_name == "naive_wsgi.noop"


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "token"])
def test_unsigned_or_badly_signed_text_is_refused(naive, signature: str | None) -> None:  # noqa: ANN001
    app, queue, engine = naive
    params = _params()
    headers = {}
    if signature == "token":  # signed, but with another token
        headers["X-Twilio-Signature"] = sign(BASE_URL + "/sms/inbound", params, "other-token")
    elif signature:
        headers["X-Twilio-Signature"] = signature
    response = app.test_client().post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 403
    assert _rows(engine) == []
    assert queue.count == 0
