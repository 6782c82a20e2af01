"""The database down: texts are spooled (Redis, else a file) and replayed when it is back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from peerline.app import create_app
from peerline.delivery import spool
from peerline.models import Message, Survivor

from .helpers import Phones
from .test_text_line import SURV

DEAD_DB = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def down_app(settings, clock):
    def make(**overrides):
        app = create_app({**settings, "DATABASE_URL": DEAD_DB, **overrides}, clock=clock)
        return Phones(app, app.test_client())

    return make


def test_database_down_texts_are_spooled_in_redis_and_replayed(phones, svc, down_app):
    down = down_app()
    with down.app.app_context():
        reply = down.replies(down.text(SURV, "hello, i need to talk"))
        crisis = down.replies(down.text(SURV, "i want to kill myself"))
        fallback = down.post("/sms/fallback", {"MessageSid": "SMfb01", "From": SURV,
                                               "To": "+15550000001", "Body": "again"})
    assert "received your message" in reply[0]
    assert any("988" in r for r in crisis)
    assert fallback.status_code == 200
    assert svc.redis().llen(spool.REDIS_KEY) == 3
    assert spool.drain(svc) == 3
    with svc.sessions() as session:
        bodies = session.scalars(select(Message.body).order_by(Message.id)).all()
    assert bodies == ["hello, i need to talk", "i want to kill myself", "again"]
    phones.work()
    assert any("peer support line" in b for b in phones.bodies(SURV))
    assert spool.drain(svc) == 0  # replaying again stores nothing twice


def test_a_quick_exit_or_stop_during_an_outage_gets_no_reply(phones, svc, down_app):
    """A phone in the wrong hands must show nothing, even while the database is down;
    the quick exit is stored (spooled) and carried out when the spool is replayed."""
    down = down_app()
    with down.app.app_context():
        assert down.replies(down.text(SURV, "hello")) != []
        assert down.replies(down.text(SURV, "#erase")) == []
        assert down.replies(down.text("+15550199077", "STOP")) == []
        quiet = down.post("/sms/fallback", {"MessageSid": "SMfb02", "From": SURV,
                                            "To": "+15550000001", "Body": " #ERASE. "})
    assert b"<Message" not in quiet.data
    assert spool.drain(svc) == 4
    with svc.sessions() as session:
        survivor = session.scalars(select(Survivor)).first()
        assert survivor is not None and survivor.opted_out  # the exit was carried out


def test_the_sweeper_replays_what_any_web_process_spooled(phones, svc, down_app):
    from peerline.delivery.sweeper import sweep

    down = down_app()
    with down.app.app_context():
        assert down.text(SURV, "spooled elsewhere").status_code == 200
    spool._pending.clear()  # as if another process had spooled it
    assert sweep(svc)["unspooled"] == 1
    with svc.sessions() as session:
        assert session.scalars(select(Message.body)).all() == ["spooled elsewhere"]


def test_database_and_redis_down_texts_are_spooled_in_a_file(phones, svc, down_app):
    down = down_app(REDIS_URL=DEAD_REDIS)
    with down.app.app_context():
        assert down.text(SURV, "still there?").status_code == 200
    assert spool.drain(svc) == 1
    with svc.sessions() as session:
        assert session.scalars(select(Message.body)).all() == ["still there?"]


def test_unsigned_fallback_is_refused(down_app):
    down = down_app()
    with down.app.app_context():
        assert down.post("/sms/fallback", {"From": SURV}, signed=False).status_code == 403
