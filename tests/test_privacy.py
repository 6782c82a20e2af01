"""Privacy: numbers encrypted and hashed, job payloads clean, retention, quick exit, keys."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from peerline.app import create_app
from peerline.models import Escalation, Message, OutboundMessage, Survivor, Volunteer
from peerline.privacy.purge import purge_expired

from .test_text_line import ALEX, SURV, add_volunteer


def test_numbers_are_never_stored_in_clear(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV, "hi there")
    phones.text(SURV, "i want to kill myself")
    phones.work()
    digits = [ALEX[2:], SURV[2:]]
    with svc.engine.connect() as conn:
        for table in ("volunteers", "survivors", "messages", "outbound_messages",
                      "conversations", "offers", "escalations", "tasks", "local_messages"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                flat = " ".join(str(v) for v in row)
                assert not any(d in flat for d in digits), table


def test_job_payloads_in_redis_hold_only_ids(phones, svc, app):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "my secret words")
    redis = svc.redis()
    seen = []
    for key in redis.scan_iter("*"):
        kind = redis.type(key)
        if kind == b"hash":
            seen.extend(redis.hvals(key))
        elif kind == b"list":
            seen.extend(redis.lrange(key, 0, -1))
        elif kind == b"string":
            seen.append(redis.get(key))
        elif kind == b"zset":
            seen.extend(m for m, _ in redis.zrange(key, 0, -1, withscores=True))
    import zlib

    blobs = []
    for value in seen:
        try:
            blobs.append(zlib.decompress(value))
        except zlib.error:
            blobs.append(value)
    assert any(b"run_task" in blob for blob in blobs)
    for blob in blobs:
        assert b"0199001" not in blob and b"0100001" not in blob and b"secret" not in blob


def test_bodies_are_purged_after_retention(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV, "hi there")
    phones.text(SURV, "i want to die")
    phones.work()
    with svc.sessions.begin() as session:
        assert purge_expired(session, svc.line) == 0
    clock.advance(31 * 86400)
    phones.text(SURV, "new words")  # recent: kept
    with svc.sessions.begin() as session:
        assert purge_expired(session, svc.line) > 0
    with svc.sessions() as session:
        assert session.scalars(select(Message.body).where(
            Message.body.is_not(None))).all() == ["new words"]
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.matched is None and escalation.category == "suicidal_intent"
        sent = session.scalars(select(OutboundMessage).where(
            OutboundMessage.status == "sent")).all()
        cutoff = clock() - timedelta(days=30)
        assert sent and all(m.body is None for m in sent if m.created_at < cutoff)


def test_voicemails_are_purged_after_retention(svc, clock):
    from peerline.models import Call, Voicemail

    with svc.sessions.begin() as session:
        call = Call(sid="CA" + "1" * 32, role="survivor", stage="done", line_number="+1555",
                    created_at=clock())
        session.add(call)
        session.flush()
        session.add(Voicemail(call_id=call.id, transcript="please call me back",
                              recording_url="https://api.twilio.com/rec/RE1",
                              created_at=clock()))
    clock.advance(31 * 86400)
    with svc.sessions.begin() as session:
        purge_expired(session, svc.line)
    with svc.sessions() as session:
        voicemail = session.scalars(select(Voicemail)).one()
        assert voicemail.transcript is None and voicemail.recording_url is None


def test_quick_exit_erases_and_silences(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV, "hi there")
    phones.text(SURV, "he reads my phone")
    phones.work()
    assert phones.replies(phones.text(SURV, "#erase")) == []
    phones.work()
    with svc.sessions() as session:
        assert session.scalars(select(Message.body).where(
            Message.sender == "survivor", Message.body.is_not(None))).all() == []
        survivor = session.scalars(select(Survivor)).one()
        assert survivor.opted_out
    assert "left" in phones.bodies(ALEX)[-1]
    before = len(phones.received(SURV))
    phones.text(ALEX, "hello?", to=number)
    phones.work()
    assert len(phones.received(SURV)) == before
    assert phones.bodies(SURV) == []  # the gateway's records are deleted, as Twilio's are


def test_key_rotation(settings, clock, svc, phones):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": old_key}, clock=clock)
    old_svc = old.extensions["peerline"]
    add_volunteer(old_svc, "Alex", ALEX)
    rotating = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": f"{new_key},{old_key}"},
                          clock=clock)
    with rotating.app_context():
        result = rotating.test_cli_runner().invoke(args=["rotate-keys"])
    assert "re-encrypted 1" in result.output
    new = create_app({**settings, "PEERLINE_ENCRYPTION_KEYS": new_key}, clock=clock)
    new_svc = new.extensions["peerline"]
    with new_svc.sessions() as session:
        volunteer = session.scalars(select(Volunteer)).one()
        assert new_svc.line.vault.decrypt(volunteer.phone_enc) == ALEX
    # Lookups by hash keep working: the volunteer is still recognised.
    from peerline.people.lookup import find_volunteer

    with new_svc.sessions() as session:
        assert find_volunteer(session, new_svc.line, ALEX) is not None
    for each in (old_svc, rotating.extensions["peerline"], new_svc):
        each.engine.dispose()


def test_a_peers_reply_typed_while_the_survivor_quick_exited_keeps_no_words(
        phones, svc, clock):
    """The reply lands just after the erasure, on the line that thread used: it is about
    the survivor, so it is kept without its words (and deleted at the provider), never
    relayed; a command on that line still works."""
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV, "hi there")
    phones.text(SURV, "#erase")
    phones.work()
    clock.advance(30)
    phones.text(ALEX, "are you still there? the shelter has a bed", to=number)
    status = phones.replies(phones.text(ALEX, "STATUS", to=number))
    phones.work()
    with svc.sessions() as session:
        volunteer_bodies = session.scalars(select(Message.body).where(
            Message.sender == "volunteer")).all()
    assert not any(b and "shelter" in b for b in volunteer_bodies)
    assert status and "shift" in status[0].lower()  # commands are still commands
    clock.advance(11 * 60)  # long after: an ordinary text on that line is a command again
    assert phones.replies(phones.text(ALEX, "hello", to=number))
