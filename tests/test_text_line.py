"""The text line as stories: a survivor texts, an on-shift volunteer answers, masked."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import Conversation, Message, Offer

from .helpers import LINE, LINE2, LINE3

ALEX = "+15550100001"
SAM = "+15550100002"
SURV = "+15550199001"
SURV2 = "+15550199002"
ONCALL = "+15550109999"


def add_volunteer(svc, name, phone, lang="en", capacity=None):
    from peerline.people import roster

    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, lang, capacity).id


def test_survivor_reaches_a_volunteer_and_they_talk_masked(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert "on shift" in phones.replies(phones.text(ALEX, "on"))[0]

    replies = phones.replies(phones.text(SURV, "hi, is anyone there? I had a rough night"))
    assert "peer" in replies[0].lower()
    phones.work()

    offer = phones.received(ALEX)[-1]
    assert offer[0] in (LINE, LINE2, LINE3)
    assert "rough night" in offer[1] and "YES" in offer[1]
    assert SURV not in offer[1] and "199001" not in offer[1]

    assert phones.replies(phones.text(ALEX, "Yes!", to=offer[0])) == []
    phones.work()
    assert any("connected" in b for b in phones.bodies(ALEX))
    assert "A peer volunteer is here now" in phones.bodies(SURV)[-1]
    assert phones.received(SURV)[-1][0] == LINE  # the number the survivor texted

    phones.text(SURV, "thank you for answering")
    phones.text(ALEX, "I'm here. Want to tell me what happened?", to=offer[0])
    phones.work()
    assert phones.received(ALEX)[-1] == (offer[0], "thank you for answering")
    assert phones.received(SURV)[-1] == (LINE, "I'm here. Want to tell me what happened?")

    phones.text(ALEX, "#end", to=offer[0])
    phones.work()
    assert "ended" in phones.bodies(SURV)[-2]
    assert "how much did this conversation help" in phones.bodies(SURV)[-1]  # feedback
    assert "ended" in phones.bodies(ALEX)[-1]
    with svc.sessions() as session:
        assert session.scalar(select(Conversation.status)) == "closed"

    # The next text starts a new conversation.
    phones.text(SURV, "hello again")
    with svc.sessions() as session:
        assert len(session.scalars(select(Conversation)).all()) == 2


def test_no_number_ever_crosses(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, f"my number is {SURV}? anyway hi")
    phones.work()
    line_no = phones.received(ALEX)[-1][0]
    phones.text(ALEX, "YES", to=line_no)
    phones.text(ALEX, "hello", to=line_no)
    phones.text(SURV, "hey")
    phones.work()
    for sent in phones.all_sent():
        assert sent.from_number in (LINE, LINE2, LINE3)
        to = svc.line.vault.decrypt(sent.to_enc)
        if to == ALEX:
            assert "+15550199001"[2:] not in sent.body.replace(
                "my number is +15550199001", "")
        if to == SURV:
            assert "0100001" not in sent.body


def test_pass_and_timeout_move_the_offer_on(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    phones.text(ALEX, "ON")
    clock.advance(5)
    phones.text(SAM, "ON")
    phones.text(SURV, "hi")
    phones.work()
    # Alex is the longest idle: offered first.
    assert "YES" in phones.bodies(ALEX)[-1]
    assert not any("YES" in b for b in phones.bodies(SAM)[1:])
    assert "Passed" in phones.replies(phones.text(ALEX, "pass."))[0]
    phones.work()
    assert "YES" in phones.bodies(SAM)[-1]
    clock.advance(61)
    phones.work()
    with svc.sessions() as session:
        statuses = sorted(session.scalars(select(Offer.status)).all())
    assert statuses == ["expired", "passed"]
    assert "timed out" in phones.bodies(SAM)[-1]


def test_stop_is_honoured_and_please_dont_stop_is_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    line_no = phones.pair(ALEX, SURV)
    phones.text(SURV, "please don't stop")
    phones.work()
    assert phones.received(ALEX)[-1] == (line_no, "please don't stop")
    before = len(phones.received(SURV))
    assert phones.replies(phones.text(SURV, "STOP")) == []
    phones.work()
    assert "left" in phones.bodies(ALEX)[-1]
    phones.text(ALEX, "are you still there?", to=line_no)
    phones.text(SURV, "hello?")
    phones.work()
    assert len(phones.received(SURV)) == before
    assert phones.replies(phones.text(SURV, "START"))


def test_duplicate_webhook_stores_once_and_relays_once(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    first = phones.text(SURV, "only once", sid="SMdup0000000000000000000000000001")
    again = phones.text(SURV, "only once", sid="SMdup0000000000000000000000000001")
    assert again.status_code == 200 and phones.replies(again) == []
    assert first.status_code == 200
    phones.work()
    assert phones.bodies(ALEX).count("only once") == 1
    with svc.sessions() as session:
        bodies = session.scalars(select(Message.body)).all()  # sealed: compared once read
        assert bodies.count("only once") == 1


def test_unsigned_or_forged_requests_get_403(phones):
    response = phones.post("/sms/inbound", {"From": SURV, "Body": "hi"}, signed=False)
    assert response.status_code == 403
    response = phones.post("/sms/inbound", {"From": SURV, "Body": "hi"}, token="wrong")
    assert response.status_code == 403
    assert phones.post("/sms/status", {"MessageSid": "SM1"}, signed=False).status_code == 403


def test_nobody_on_shift_tells_survivor_and_alerts_oncall(phones):
    replies = phones.replies(phones.text(SURV, "is anyone there"))
    assert any("No peer volunteer is on shift" in r for r in replies)
    assert any("988" in r for r in replies)
    phones.work()
    assert "no volunteer" in phones.bodies(ONCALL)[-1]


def test_stop_while_waiting_withdraws_the_offer_and_tells_the_volunteer(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "hi")
    phones.work()
    number = phones.received(ALEX)[-1][0]
    assert phones.bodies(ALEX)[-1].startswith("Offer")
    phones.text(SURV, "stop")
    phones.work()
    assert "offer is closed" in phones.bodies(ALEX)[-1]
    assert "no longer open" in phones.replies(phones.text(ALEX, "YES", to=number))[0]
    with svc.sessions() as session:
        assert session.scalar(select(Offer.status)) == "withdrawn"
