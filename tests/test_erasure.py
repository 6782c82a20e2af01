"""Quick exit (#ERASE): every word of every conversation goes, both ways, here and at
Twilio; what reports need stays; another survivor's words stay."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import select

from peerline.crisis import CATEGORIES
from peerline.delivery import spool, tasks
from peerline.handlers import HANDLERS
from peerline.models import (
    Conversation,
    Escalation,
    Message,
    OutboundMessage,
    RemoteDeletion,
    Survivor,
    Task,
    Voicemail,
)

from .helpers import new_sid
from .privacy_story import (
    OTHER_FRAGMENTS,
    PENDING,
    PENDING_RELAY,
    REC_SID,
    SPOOLED,
    SURVIVOR_FRAGMENTS,
    TR_SID,
    Story,
    dump,
    opened,
    redis_values,
    send,
    spool_a_text,
    whole_story,
)
from .test_text_line import ALEX, SURV, SURV2, add_volunteer


@pytest.fixture
def fake_seed():
    return 3


@pytest.fixture
def settings(settings, fake):
    settings.update({"TWILIO_ACCOUNT_SID": fake.account_sid,
                     "TWILIO_AUTH_TOKEN": fake.auth_token,
                     "TWILIO_API_BASE_URL": fake.url, "PEERLINE_GATEWAY": "twilio",
                     "TWILIO_TIMEOUT_S": 2.0})
    return settings


def inbox_of(fake):
    def inbox(number):
        return [(m.from_, m.body) for m in fake.delivered(number)]
    return inbox


def readable(svc) -> str:
    """Everything at rest, opened with the line's keys: database and Redis."""
    values = [v for vs in dump(svc.engine).values() for v in vs]
    values += [v.decode("utf-8", "replace") for v in redis_values(svc.redis())]
    return "\n".join(opened(values, svc.line.vault))


def test_quick_exit_erases_every_conversation_both_ways_and_at_twilio(
        phones, svc, settings, clock, fake):
    fake.add_recording(REC_SID)
    fake.add_transcription(TR_SID)
    story = whole_story(phones, svc, settings, clock, inbox_of(fake), on_sid=fake.add_inbound)
    # Texts still waiting to go when the survivor leaves (both ways): they never go.
    send(phones, story, ALEX, PENDING, to=story.line_for[SURV], on_sid=fake.add_inbound)
    send(phones, story, SURV, PENDING_RELAY, on_sid=fake.add_inbound)
    assert svc.redis().llen(spool.REDIS_KEY) == 1  # the spooled text waits
    before = readable(svc)
    assert all(f in before for f in SURVIVOR_FRAGMENTS if f != "orchard street")
    with svc.sessions() as session:
        survivor_id = session.scalar(select(Survivor.id).where(
            Survivor.phone_hash == svc.line.vault.hash(SURV)))
        kept_counts = (len(session.scalars(select(Message.id)).all()),
                       len(session.scalars(select(OutboundMessage.id)).all()))
        theirs = set(session.scalars(select(Conversation.id).where(
            Conversation.survivor_id == survivor_id)))
        message_sids = set(session.scalars(select(OutboundMessage.sid).where(
            OutboundMessage.conversation_id.in_(theirs), OutboundMessage.sid.is_not(None))))
        message_sids |= set(session.scalars(select(Message.sid).where(
            Message.conversation_id.in_(theirs))))
        other_sids = set(session.scalars(select(OutboundMessage.sid).where(
            OutboundMessage.conversation_id.not_in(theirs),
            OutboundMessage.to_hash == svc.line.vault.hash(SURV2))))

    erase_sid = new_sid()
    fake.add_inbound(erase_sid, SURV, "+15550000001", "#ERASE")
    assert phones.replies(phones.text(SURV, "#ERASE", sid=erase_sid)) == []
    phones.work()

    after = readable(svc)
    for fragment in SURVIVOR_FRAGMENTS:
        assert fragment not in after, fragment
    for fragment in OTHER_FRAGMENTS:  # another survivor's words stay
        assert fragment in after, fragment
    assert svc.redis().llen(spool.REDIS_KEY) == 0
    assert PENDING not in fake.bodies(SURV)  # the waiting relays never went
    assert PENDING_RELAY not in fake.bodies(ALEX)
    assert SPOOLED not in fake.bodies(ALEX)

    with svc.sessions() as session:
        # What reports need stays: rows, times, categories, statuses.
        assert len(session.scalars(select(Message.id)).all()) >= kept_counts[0] + 2
        assert len(session.scalars(select(OutboundMessage.id)).all()) >= kept_counts[1]
        escalation = session.scalars(select(Escalation).where(
            Escalation.conversation_id.in_(theirs))).one()
        # the category stays (the classifier reads "locked in the bathroom" as danger now)
        assert escalation.category in CATEGORIES and escalation.matched is None
        assert escalation.created_at is not None
        voicemail = session.scalars(select(Voicemail)).one()
        assert (voicemail.status, voicemail.duration_s, voicemail.transcript,
                voicemail.recording_url) == ("erased", 14, None, None)
        survivor = session.get(Survivor, survivor_id)
        assert survivor.opted_out and survivor.erased_at is not None
        closed = session.scalars(select(Conversation).where(
            Conversation.survivor_id == survivor_id, Conversation.channel == "sms")).one()
        assert closed.closed_reason == "erased" and closed.closed_at is not None
        pending = session.scalars(select(OutboundMessage).where(
            OutboundMessage.conversation_id == closed.id,
            OutboundMessage.status == "erased")).all()
        assert pending and all(m.sid is None for m in pending)
        spooled = session.scalars(select(Message).where(Message.kind == "erased")).one()
        assert spooled.body is None and spooled.sid == story.spooled_sid
        statuses = set(session.scalars(select(RemoteDeletion.status)))
    assert statuses == {"deleted"}

    # Twilio was asked to delete every message both ways, the recording, the transcript.
    deleted = set(fake.deleted("message"))
    assert message_sids <= deleted
    assert story.spooled_sid in deleted and erase_sid in deleted
    assert not other_sids & deleted
    assert fake.deleted("recording") == [REC_SID]
    assert fake.deleted("transcription") == [TR_SID]
    # The peer was told the person left; that notice holds none of their words.
    assert "left" in fake.bodies(ALEX)[-1]


def test_twilio_still_delivering_is_retried_later_then_recorded_as_failed(
        phones, svc, clock, fake, caplog):
    add_volunteer(svc, "Alex", ALEX)
    story = Story()
    send(phones, story, ALEX, "ON", on_sid=fake.add_inbound)
    send(phones, story, SURV, "he reads my phone", on_sid=fake.add_inbound)
    phones.work()
    fake.configure(sent_after_s=3600)  # everything the line sends is still "queued"
    send(phones, story, SURV, "#ERASE", on_sid=fake.add_inbound)
    phones.work()
    with svc.sessions() as session:
        waiting = session.scalars(select(RemoteDeletion).where(
            RemoteDeletion.status == "pending")).all()
        assert waiting and all(r.last_error == "20009 still being delivered" for r in waiting)
        offer_sid = waiting[0].sid
    assert offer_sid not in fake.deleted()

    clock.advance(61)  # the first retry: still delivering
    phones.work()
    fake.configure(sent_after_s=0)  # delivered now
    clock.advance(301)
    phones.work()
    assert offer_sid in fake.deleted("message")

    # A record the provider never lets go of: a few tries, then failed, logged.
    fake.configure(sent_after_s=10 ** 9)
    send(phones, story, SURV2, "a text to a survivor who leaves at once",
         on_sid=fake.add_inbound)
    phones.work()
    send(phones, story, SURV2, "#ERASE", on_sid=fake.add_inbound)
    caplog.set_level(logging.INFO, logger="peerline.delivery.remote_delete")
    for _ in range(12):
        phones.work()
        clock.advance(13 * 3600)
    with svc.sessions() as session:
        failed = session.scalars(select(RemoteDeletion).where(
            RemoteDeletion.status == "failed")).all()
    assert failed and all(r.attempts == 7 and "20009" in r.last_error for r in failed)
    lines = [r.getMessage() for r in caplog.records if "remote_delete_failed" in r.getMessage()]
    assert len(lines) == len(failed) and all("20009" in line for line in lines)
    listed = phones.app.test_cli_runner().invoke(args=["privacy", "deletions"]).output
    assert all(r.sid in listed for r in failed) and "still being delivered" in listed


def _paired_on_twilio(phones, svc, fake):  # noqa: ANN001, ANN202
    """Alex on shift and paired with SURV through the fake Twilio: (story, line number)."""
    add_volunteer(svc, "Alex", ALEX)
    story = Story()
    send(phones, story, ALEX, "ON", on_sid=fake.add_inbound)
    send(phones, story, SURV, "hello", on_sid=fake.add_inbound)
    phones.work()
    number = fake.delivered(ALEX)[-1].from_
    send(phones, story, ALEX, "YES", to=number, on_sid=fake.add_inbound)
    phones.work()
    return story, number


def test_a_text_spooled_before_the_quick_exit_is_replayed_without_its_words(
        phones, svc, settings, clock, fake):
    story, number = _paired_on_twilio(phones, svc, fake)
    spool_a_text(settings, clock, story, on_sid=fake.add_inbound)  # the survivor's
    spool_a_text(settings, clock, story, on_sid=fake.add_inbound, sender=ALEX,
                 body="i am still here, tell me about the orchard", to=number)  # the peer's
    clock.advance(5)
    send(phones, story, SURV, "#ERASE", on_sid=fake.add_inbound)  # drains after erasing
    phones.work()
    spooled = [story.inbound[SURV][-2], story.inbound[ALEX][-1]]
    with svc.sessions() as session:
        replayed = session.scalars(select(Message).where(Message.sid.in_(spooled))).all()
        assert len(replayed) == 2
        assert all(m.body is None and m.kind == "erased" for m in replayed)
    assert set(spooled) <= set(fake.deleted("message"))
    assert not [b for b in fake.bodies(ALEX) if "orchard" in b]
    # A text after the quick exit is the survivor's own again (a fresh start, no START).
    send(phones, story, SURV, "new words later", on_sid=fake.add_inbound)
    with svc.sessions() as session:
        assert "new words later" in session.scalars(select(Message.body)).all()


def test_a_text_in_flight_at_the_quick_exit_is_deleted_at_twilio_once_sent(
        phones, svc, clock, fake):
    story, number = _paired_on_twilio(phones, svc, fake)
    # (plainly calm: "meet me by the willow tree" reads as a watch-level note first)
    send(phones, story, SURV, "we had soup for lunch by the willow tree",
         on_sid=fake.add_inbound)
    with svc.sessions() as session:
        relay = session.scalars(select(OutboundMessage).where(
            OutboundMessage.kind == "relay").order_by(OutboundMessage.id.desc())).first()
        assert "willow" in relay.body
        task_id = session.scalar(select(Task.id).where(Task.kind == "send",
                                                       Task.ref_id == relay.id))
    fake.configure(slow_s=1.0)  # Twilio holds its answer: the send is in flight
    worker = threading.Thread(target=tasks.run,
                              args=(svc.sessions, svc.line, task_id, HANDLERS))
    worker.start()
    while not fake.in_flight and worker.is_alive():
        threading.Event().wait(0.01)
    send(phones, story, SURV, "#ERASE", on_sid=fake.add_inbound)
    worker.join()
    fake.configure(slow_s=0.0)
    phones.work()
    [sent] = [m for m in fake.delivered(ALEX) if "willow" in m.body]  # it did go
    with svc.sessions() as session:
        row = session.get(OutboundMessage, relay.id)
        assert (row.status, row.sid, row.body) == ("sent", sent.sid, None)
    assert sent.sid in fake.deleted("message")  # and Twilio's copy went after it
