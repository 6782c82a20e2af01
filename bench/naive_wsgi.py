"""The naive webhook of issue 14, served by gunicorn beside the line (``bench/load_bench.py``).

What a first attempt at ``/sms/inbound`` would do and nothing more: check the Twilio
signature (``RequestValidator``, the URL being ``PUBLIC_BASE_URL`` + path as the line
signs it), insert one row (the MessageSid, a keyed hash of From, the Body) into a table
of its own with ``INSERT ... ON CONFLICT DO NOTHING`` (SQLAlchemy Core), enqueue one RQ
job on a queue no worker drains (``bench-naive``; emptied by the benchmark) and answer
constant TwiML. No sessions, no conversation, no crisis scan, no outbox: the floor the
issue names ("measured here at 0.14-0.16x"), not a design.

gunicorn: ``naive_wsgi:from_environment()`` (DATABASE_URL, REDIS_URL, TWILIO_AUTH_TOKEN,
PUBLIC_BASE_URL, SECRET_KEY). Call :func:`create_table` once before the workers start.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from flask import Flask, abort, request
from redis import Redis
from rq import Queue
from sqlalchemy import Column, Engine, MetaData, String, Table, Text, create_engine
from sqlalchemy.dialects import postgresql, sqlite
from twilio.request_validator import RequestValidator

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>hi</Message></Response>'
QUEUE = "bench-naive"

metadata = MetaData()
texts = Table("bench_naive_texts", metadata,
              Column("sid", String(64), primary_key=True),
              Column("sender_hash", String(64), nullable=False),
              Column("body", Text, nullable=False))


def noop(sid: str) -> None:
    """The job the naive webhook enqueues (never run: no worker drains ``bench-naive``)."""


def create_table(engine: Engine) -> None:
    """The naive webhook's table, if it is not there yet."""
    metadata.create_all(engine, checkfirst=True)


def naive_app(database_url: str, redis_url: str, token: str, base_url: str,
              hash_key: bytes) -> Flask:
    """A Flask app whose one route is the naive webhook."""
    app = Flask("naive")
    engine = create_engine(database_url, pool_size=10, max_overflow=20, hide_parameters=True)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    queue = Queue(QUEUE, connection=Redis.from_url(redis_url))
    validator = RequestValidator(token)
    url = base_url.rstrip("/") + "/sms/inbound"

    @app.post("/sms/inbound")
    def inbound() -> tuple[str, int, dict[str, str]]:
        form = request.form
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        sid = form.get("MessageSid", "")
        sender_hash = hmac.new(hash_key, form.get("From", "").encode(), hashlib.sha256)
        with engine.begin() as conn:
            conn.execute(insert(texts).values(sid=sid, sender_hash=sender_hash.hexdigest(),
                                              body=form.get("Body", ""))
                         .on_conflict_do_nothing(index_elements=["sid"]))
        queue.enqueue(noop, sid)
        return TWIML, 200, {"Content-Type": "text/xml"}

    return app


def from_environment() -> Flask:
    """The naive webhook with a deployment's settings (the line's bench configuration)."""
    env = os.environ
    return naive_app(env["DATABASE_URL"], env["REDIS_URL"], env["TWILIO_AUTH_TOKEN"],
                     env["PUBLIC_BASE_URL"],
                     hashlib.sha256(b"naive-phone-hash" + env["SECRET_KEY"].encode()).digest())
