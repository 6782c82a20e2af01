"""Privacy: numbers encrypted and hashed, job payloads clean, retention, quick exit, keys."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from peerline.app import create_app
from peerline.models import (
    Conversation,
    Escalation,
    Message,
    Offer,
    OutboundMessage,
    Survivor,
    Volunteer,
)
from peerline.privacy.purge import purge_expired

from .privacy_story import dump, opened, redis_values
from .test_text_line import ALEX, ONCALL, SURV, add_volunteer


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


def _quick_exited(phones, svc) -> str:
    """Alex and SURV talk, SURV quick-exits: the line number they used."""
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV, "my stepfather keeps texting me")
    # not a crisis text (round 8's classifier reads "he reads my phone at night" as danger
    # now): these tests start from an ordinary conversation
    phones.text(SURV, "my mom says he reads my phone")
    phones.work()
    assert phones.replies(phones.text(SURV, "#erase")) == []
    phones.work()
    return number


def _readable(svc) -> str:
    values = [v for vs in dump(svc.engine).values() for v in vs]
    values += [v.decode("utf-8", "replace") for v in redis_values(svc.redis())]
    return "\n".join(opened(values, svc.line.vault))


def test_a_crisis_text_after_a_quick_exit_is_answered_escalated_and_alerted(phones, svc):
    """Found in an attack review: after #ERASE every text was stored and never answered
    until START. The next text is a fresh start, as if START came first."""
    _quick_exited(phones, svc)
    replies = phones.replies(phones.text(
        SURV, "I want to kill myself tonight, I have the pills"))
    assert any("988" in r for r in replies)  # the hotline, in the same reply
    assert any("peer support line" in r for r in replies)  # a new conversation's welcome
    phones.work()
    with svc.sessions() as session:
        survivor = session.scalars(select(Survivor)).one()
        assert not survivor.opted_out
        fresh = session.scalars(select(Conversation).where(
            Conversation.status != "closed")).one()
        assert fresh.priority == 1
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.conversation_id == fresh.id
        assert session.scalars(select(Offer).where(Offer.conversation_id == fresh.id)).all()
    assert "CRISIS" in phones.bodies(ONCALL)[-1]  # the on-call coordinator is alerted


def test_an_ordinary_text_after_a_quick_exit_opens_a_new_conversation_without_old_words(
        phones, svc):
    _quick_exited(phones, svc)
    replies = phones.replies(phones.text(SURV, "hello again, can someone talk"))
    assert replies and "peer support line" in replies[0]
    phones.work()
    with svc.sessions() as session:
        conversations = session.scalars(select(Conversation).order_by(Conversation.id)).all()
        assert [c.status for c in conversations][0] == "closed"
        assert conversations[0].closed_reason == "erased"
        assert len(conversations) == 2 and conversations[1].status != "closed"
    offer_line = phones.received(ALEX)[-1][0]  # offered to the free peer, as any first text
    assert "YES" in phones.bodies(ALEX)[-1]
    phones.text(ALEX, "YES", to=offer_line)
    phones.work()
    everything = _readable(svc) + "\n".join(phones.bodies(ALEX) + phones.bodies(SURV))
    for old in ("stepfather", "reads my phone"):
        assert old not in everything, old
    assert "hello again" in everything
    with svc.sessions() as session:
        fresh = session.scalars(select(Conversation).where(
            Conversation.status == "active")).one()
        assert fresh.volunteer_line and not fresh.closed_reason


def test_stop_after_a_quick_exit_stays_silent(phones, svc):
    _quick_exited(phones, svc)
    assert phones.replies(phones.text(SURV, "STOP")) == []
    assert phones.replies(phones.text(SURV, "I want to kill myself tonight")) == []
    phones.work()
    with svc.sessions() as session:
        assert session.scalars(select(Survivor)).one().opted_out
        assert session.scalars(select(Escalation)).all() == []
        assert session.scalars(select(Conversation).where(
            Conversation.status != "closed")).all() == []
    assert phones.bodies(SURV) == []
    # START lifts it, as before.
    assert phones.replies(phones.text(SURV, "START"))


def test_a_quick_exit_after_stop_keeps_the_stop(phones, svc):
    """Found in an attack review: #ERASE after STOP cleared ``opted_out_at``, so the next
    text (or a faked one) was a fresh start and the line texted a phone that said STOP."""
    phones.text(SURV, "my stepfather reads my phone")
    phones.work()
    assert phones.replies(phones.text(SURV, "STOP")) == []
    assert phones.replies(phones.text(SURV, "#ERASE")) == []
    assert phones.replies(phones.text(SURV, "hello, anyone there")) == []
    phones.work()
    with svc.sessions() as session:
        survivor = session.scalars(select(Survivor)).one()
        assert survivor.opted_out and survivor.opted_out_at is not None
        assert session.scalars(select(Conversation).where(
            Conversation.status != "closed")).all() == []
    assert phones.replies(phones.text(SURV, "START"))


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
