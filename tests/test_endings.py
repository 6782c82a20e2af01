"""Endings nobody typed, OFF with live conversations, waiting too long."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import Conversation

from .test_text_line import ALEX, ONCALL, SAM, SURV, add_volunteer


def status(svc):
    with svc.sessions() as session:
        return session.scalars(select(Conversation.status).order_by(Conversation.id)).all()


def test_idle_conversation_closes_kindly(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "how are you doing?", to=number)
    phones.work()
    clock.advance(59 * 60)
    phones.work()
    assert status(svc) == ["active"]
    clock.advance(2 * 60)
    phones.work()
    assert status(svc) == ["closed"]
    assert "closed this conversation" in phones.bodies(SURV)[-2]
    assert "how much did this conversation help" in phones.bodies(SURV)[-1]  # feedback
    assert "closed after a quiet hour" in phones.bodies(ALEX)[-1]


def test_silent_volunteer_is_nudged_then_survivor_requeued_at_front(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    phones.pair(ALEX, SURV)
    phones.text("+15550199077", "someone else waiting")
    phones.text(SURV, "are you there?")
    phones.work()
    clock.advance(601)
    phones.work()
    assert "waiting for your reply" in phones.bodies(ALEX)[-1]
    clock.advance(300)
    phones.work()
    assert "front of the line" in phones.bodies(SURV)[-1]
    with svc.sessions() as session:
        first = session.scalar(select(Conversation).order_by(Conversation.id))
        assert first.status == "waiting" and first.front
    # The next volunteer gets the re-queued survivor first, with the history.
    phones.text(SAM, "ON")
    phones.work()
    offers = [(n, b) for n, b in phones.received(SAM) if b.startswith("Offer")]
    assert "are you there?" in offers[0][1]  # the front of the line is offered first
    phones.text(SAM, "YES", to=offers[0][0])
    phones.work()
    assert any("are you there?" in b and "them:" in b for b in phones.bodies(SAM))


def test_off_with_live_conversations_asks_then_hands_over(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "hello, I'm Alex", to=number)
    other = "+15550000002" if number != "+15550000002" else "+15550000003"
    reply = phones.replies(phones.text(ALEX, "OFF", to=other))
    assert "still have 1 live conversation" in reply[0]
    reply = phones.replies(phones.text(ALEX, "off", to=other))
    assert "back to the front" in reply[0]
    phones.work()
    assert "front of the line" in phones.bodies(SURV)[-1]
    phones.text(SAM, "ON")
    phones.work()
    phones.text(SAM, "YES", to=phones.received(SAM)[-1][0])
    phones.work()
    handed = [b for b in phones.bodies(SAM) if "handed over" in b]
    assert handed and "peer: hello, I'm Alex" in handed[0] and "them: hi" in handed[0]


def test_waiting_too_long_is_told_and_oncall_alerted(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "hi")
    phones.work()
    phones.text(ALEX, "PASS")
    phones.work()
    clock.advance(301)
    phones.work()
    assert "still in line" in phones.bodies(SURV)[-1]
    assert "988" in phones.bodies(SURV)[-1]
    assert "waited" in phones.bodies(ONCALL)[-1]
    assert status(svc) == ["waiting"]


def test_missed_offers_take_a_volunteer_off_shift(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    for n in range(3):
        phones.text(f"+155501990{n + 10}", "hi")
        phones.work()
        clock.advance(61)
        phones.work()
    assert "no new offers" in phones.bodies(ALEX)[-1]
    assert "not on shift" in phones.replies(phones.text(ALEX, "OFF"))[0]


def test_missed_offers_never_cost_a_live_conversation(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=2)
    number = phones.pair(ALEX, SURV)
    for n in range(3):
        phones.text(f"+155501990{n + 20}", "hi")
        phones.work()
        clock.advance(61)
        phones.text(SURV, "still here")  # the live conversation goes on
        phones.text(ALEX, "i'm with you", to=number)
        phones.work()
    assert "no new offers" in phones.bodies(ALEX)[-1]
    assert status(svc)[0] == "active"
    phones.text(ALEX, "are you ok?", to=number)
    phones.work()
    assert phones.bodies(SURV)[-1] == "are you ok?"


def test_volunteer_commands(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert "not on shift" in phones.replies(phones.text(ALEX, "OFF"))[0]
    assert "off shift" in phones.replies(phones.text(ALEX, " Status. "))[0]
    assert "Commands" in phones.replies(phones.text(ALEX, "help"))[0]
    assert "didn't get that" in phones.replies(phones.text(ALEX, "hello?"))[0]
    assert "no open offer" in phones.replies(phones.text(ALEX, "yes"))[0]
    assert "not in a conversation" in phones.replies(phones.text(ALEX, "#end"))[0]
    phones.text(ALEX, "ON")
    assert "on shift" in phones.replies(phones.text(ALEX, "STATUS"))[0]


def test_failed_offer_delivery_moves_to_next_volunteer(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    phones.text(ALEX, "ON")
    clock.advance(1)
    phones.text(SAM, "ON")
    phones.text(SURV, "hi")
    phones.work()
    from peerline.models import OutboundMessage

    with svc.sessions() as session:
        offer_sid = session.scalar(select(OutboundMessage.sid).where(
            OutboundMessage.kind == "offer"))
    response = phones.post("/sms/status", {"MessageSid": offer_sid,
                                           "MessageStatus": "undelivered",
                                           "ErrorCode": "30003"})
    assert response.status_code == 204
    phones.work()
    assert phones.bodies(SAM)[-1].startswith("Offer")
    # A late "sent" report does not move the status backwards.
    phones.post("/sms/status", {"MessageSid": offer_sid, "MessageStatus": "sent"})
    with svc.sessions() as session:
        assert session.scalar(select(OutboundMessage.status).where(
            OutboundMessage.sid == offer_sid)) == "undelivered"


def test_wait_notice_repeats_gently(phones, svc, clock):
    phones.text(SURV, "hi")  # nobody on shift: told at once
    phones.work()
    notices = lambda: sum("No peer volunteer" in b or "still in line" in b  # noqa: E731
                          for b in phones.bodies(SURV))
    assert notices() == 0  # the immediate notice came in the TwiML reply
    clock.advance(301)
    phones.work()
    clock.advance(301)
    phones.work()
    assert notices() == 0  # not again within three thresholds of the first
    clock.advance(400)
    phones.work()
    assert notices() == 1
