"""Words at rest: a database dump, a Redis dump or the spool file shows no word and no
number; key rotation covers the sealed words; migration 0003 seals existing rows."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, select, text

from peerline import schema
from peerline.app import create_app
from peerline.delivery import spool
from peerline.models import Escalation, LocalMessage, Message, OutboundMessage, Voicemail
from peerline.privacy.sealed import NoVault, bind_vault
from peerline.privacy.vault import PhoneVault

from .helpers import Phones
from .privacy_story import (
    CRISIS,
    FIRST,
    OTHER_FRAGMENTS,
    PEOPLE,
    SPOOLED,
    SURVIVOR_FRAGMENTS,
    VOICEMAIL,
    dump,
    number_forms,
    opened,
    redis_values,
    spool_a_text,
    texts,
    voicemail,
    whole_story,
)
from .test_text_line import ALEX, SURV

#: The line's own texts: every outbound body is sealed, so these are unreadable too.
TEMPLATES = ("CRISIS ALERT", "Reply YES", "trained peer", "Crisis Lifeline")


def assert_unreadable(blob: str, extra: tuple[str, ...] = ()) -> None:
    low = blob.lower()
    for fragment in SURVIVOR_FRAGMENTS + OTHER_FRAGMENTS + extra:
        assert fragment.lower() not in low, fragment
    for number in PEOPLE:
        for form in number_forms(number):
            assert form not in blob, form


def test_a_database_dump_holds_no_words_and_no_numbers(phones, svc, settings, clock):
    whole_story(phones, svc, settings, clock, phones.received)
    # The spooled text waits in Redis, sealed.
    assert svc.redis().llen(spool.REDIS_KEY) == 1
    assert_unreadable(b"\n".join(redis_values(svc.redis())).decode("latin-1"))
    assert spool.drain(svc) == 1
    phones.work()
    assert SPOOLED in phones.bodies(ALEX)  # replayed and relayed

    values = dump(svc.engine)
    assert {"messages", "outbound_messages", "escalations", "voicemails",
            "local_messages"} <= set(values)
    assert_unreadable("\n".join(v for vs in values.values() for v in vs), TEMPLATES)
    assert_unreadable(b"\n".join(redis_values(svc.redis())).decode("latin-1"))
    # The words are there, sealed: the line's keys open them.
    readable = "\n".join(opened([v for vs in values.values() for v in vs], svc.line.vault))
    for fragment in SURVIVOR_FRAGMENTS[:-2] + OTHER_FRAGMENTS:  # all but the pending texts
        assert fragment in readable, fragment


def test_the_spool_file_is_sealed_too(phones, svc, settings, clock):
    app = create_app({**settings, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/"
                      "x?connect_timeout=1", "REDIS_URL": "redis://127.0.0.1:1/0"}, clock=clock)
    with app.app_context():
        down = Phones(app, app.test_client())
        assert down.text(SURV, CRISIS).status_code == 200
    with open(spool.spool_path(settings["PEERLINE_INSTANCE_DIR"]), encoding="utf-8") as f:
        assert_unreadable(f.read(), ("kill myself",))
    assert spool.drain(svc) == 1
    with svc.sessions() as session:
        assert session.scalars(select(Message.body)).all() == [CRISIS]


def test_spooled_texts_expire(phones, svc, settings, clock):
    from peerline.delivery.sweeper import sweep

    spool_a_text(settings, clock, _story())
    ttl = svc.redis().ttl(spool.REDIS_KEY)
    assert 0 < ttl <= settings.get("PEERLINE_SPOOL_TTL_S", 3 * 86400)
    clock.advance(3 * 86400 + 60)
    counts = sweep(svc)
    assert counts["spool_expired"] == 1 and counts["unspooled"] == 0
    assert svc.redis().llen(spool.REDIS_KEY) == 0
    with svc.sessions() as session:
        assert session.scalars(select(Message)).all() == []


def test_the_spool_never_outlives_the_retention(svc):
    svc.line.settings.update(PEERLINE_SPOOL_TTL_S=10 * 86400, PEERLINE_RETENTION_DAYS=2)
    assert spool.ttl_s(svc.line) == 2 * 86400


def _story():
    from .privacy_story import Story

    return Story()


def test_an_engine_without_keys_never_stores_words_in_clear(service_urls):
    engine = create_engine(service_urls["DATABASE_URL"])
    try:
        with pytest.raises(Exception) as caught, engine.begin() as conn:
            conn.execute(Message.__table__.insert().values(
                sid="SM" + uuid.uuid4().hex, sender="survivor", sender_hash="h",
                line_number="+15550000001", body="in clear?", num_media=0, kind="text",
                created_at=__import__("datetime").datetime(2026, 1, 1)))
        assert isinstance(caught.value, NoVault) or isinstance(
            getattr(caught.value, "orig", None), NoVault)
    finally:
        engine.dispose()


# --- key rotation ----------------------------------------------------------------------

def test_key_rotation_re_encrypts_words_too(app, settings, clock):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": old_key}, clock=clock)
    from .test_text_line import add_volunteer

    with old.app_context():
        phones = Phones(old, old.test_client())
        old_svc = old.extensions["peerline"]
        add_volunteer(old_svc, "Alex", ALEX)
        story = _story()
        voicemail(phones, story)
        texts(phones, story, phones.received)
    before = dump(old_svc.engine)

    rotating = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": f"{new_key},{old_key}"},
                          clock=clock)
    with rotating.app_context():
        result = rotating.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    count = int(result.output.split()[1])
    sealed = sum(len(rows) for name, rows in _sealed_values(old_svc.engine).items())
    assert count >= sealed > 20

    new = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": new_key}, clock=clock)
    new_svc = new.extensions["peerline"]
    with new_svc.sessions() as session:
        bodies = session.scalars(select(Message.body)).all()
        assert FIRST in bodies and CRISIS in bodies
        assert any(b and "stepfather" in b for b in session.scalars(
            select(OutboundMessage.body)))  # the offer preview
        assert session.scalar(select(Escalation.matched).where(
            Escalation.matched.is_not(None)))
        voice = session.scalars(select(Voicemail)).one()
        assert voice.transcript == VOICEMAIL and voice.recording_url.endswith("7" * 32)
        assert session.scalars(select(LocalMessage.body)).all()
    after = dump(new_svc.engine)
    assert before["messages"] != after["messages"]
    # The old key alone opens nothing any more.
    only_old = PhoneVault([old_key], b"x")
    for token in _sealed_values(new_svc.engine)["messages.body"]:
        with pytest.raises(InvalidToken):
            only_old.decrypt(token)
    for each in (old, rotating, new):
        each.extensions["peerline"].engine.dispose()


def _sealed_values(engine) -> dict[str, list[str]]:
    from peerline.models import Base
    from peerline.privacy.sealed import sealed_columns

    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table, column in sealed_columns(Base.metadata):
            rows = conn.execute(text(f'SELECT "{column.name}" FROM "{table}" '  # noqa: S608
                                     f'WHERE "{column.name}" IS NOT NULL')).scalars().all()
            found[f"{table}.{column.name}"] = list(rows)
    return found


# --- migration 0003 --------------------------------------------------------------------

@pytest.fixture
def scratch_engine(service_urls):
    """An empty database of the suite's kind: a SQLite file, or a PostgreSQL schema."""
    url = service_urls["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = os.path.join(tempfile.mkdtemp(prefix="peerline-mig-"), "old.db")
        engine = create_engine("sqlite:///" + path)
        yield engine
        engine.dispose()
        return
    name = "mig_" + uuid.uuid4().hex[:10]
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={name}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def _old_rows(conn) -> None:
    conn.execute(text("INSERT INTO survivors (id, phone_enc, phone_hash, lang, opted_out, "
                      "created_at) VALUES (1, 'x', 'h1', 'en', false, '2026-01-01')"))
    conn.execute(text("INSERT INTO conversations (id, survivor_id, channel, status, priority, "
                      "front, lang, survivor_line, created_at, queued_at) VALUES (1, 1, 'sms', "
                      "'closed', 1, false, 'en', '+15550000001', '2026-01-01', '2026-01-01')"))
    conn.execute(text("INSERT INTO messages (id, sid, conversation_id, sender, sender_hash, "
                      "line_number, body, num_media, kind, created_at) VALUES (1, 'SM1', 1, "
                      "'survivor', 'h1', '+15550000001', :b, 0, 'text', '2026-01-01')"),
                 {"b": FIRST})
    conn.execute(text("INSERT INTO outbound_messages (id, conversation_id, kind, to_enc, "
                      "to_hash, from_number, body, status, attempts, created_at) VALUES "
                      "(1, 1, 'relay', 'x', 'h2', '+15550000001', :b, 'sent', 1, "
                      "'2026-01-01')"), {"b": "relayed: " + FIRST})
    conn.execute(text("INSERT INTO escalations (id, conversation_id, source, category, "
                      "matched, alerted, created_at) VALUES (1, 1, 'detector', "
                      "'suicidal_intent', 'kill myself', '', '2026-01-01')"))
    conn.execute(text("INSERT INTO calls (id, sid, role, stage, withheld, line_number, "
                      "lang, priority, tries, created_at) VALUES (1, 'CA1', 'survivor', "
                      "'ended', false, '+15550000001', 'en', 0, 0, '2026-01-01')"))
    conn.execute(text("INSERT INTO voicemails (id, call_id, recording_url, transcript, "
                      "priority, lang, status, attempts, created_at) VALUES (1, 1, :u, :t, "
                      "0, 'en', 'new', 0, '2026-01-01')"),
                 {"u": "https://api.twilio.com/rec/RE1", "t": VOICEMAIL})


def test_migration_0003_seals_words_already_stored(scratch_engine, settings, clock):
    schema.upgrade(scratch_engine, "0002")
    with scratch_engine.begin() as conn:
        _old_rows(conn)
    vault = PhoneVault.from_settings("migration-secret")
    bind_vault(scratch_engine, vault)
    schema.upgrade(scratch_engine)
    raw = dump(scratch_engine)
    assert_unreadable("\n".join(v for vs in raw.values() for v in vs),
                      ("kill myself", "appointment on tuesday"))
    with scratch_engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM messages")).scalar_one()
        assert vault.decrypt(body) == FIRST
        assert conn.execute(select(Message.body)).scalar_one() == FIRST  # through the type
        assert conn.execute(select(Escalation.matched)).scalar_one() == "kill myself"
        assert conn.execute(select(Voicemail.transcript)).scalar_one() == VOICEMAIL
        assert conn.execute(select(OutboundMessage.body)).scalar_one().endswith(FIRST)


def test_migration_0003_refuses_to_run_without_keys_when_words_are_stored(scratch_engine):
    schema.upgrade(scratch_engine, "0002")
    with scratch_engine.begin() as conn:
        _old_rows(conn)
    with pytest.raises(RuntimeError, match="db upgrade"):
        schema.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:  # nothing half-done: still at 0002, words intact
        assert conn.execute(text("SELECT body FROM messages")).scalar_one() == FIRST
