"""Volunteers on the phone: the IVR (PIN, shift, status) and returning voicemails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from peerline.models import Call, Voicemail, Volunteer
from peerline.people import pins
from peerline.voice import callbacks

from .helpers import BASE_URL, LINE2
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import (
    CALLER,
    Leg,
    Survivor,
    rings_to,
    volunteer,
    volunteers_on,
)


def ivr_call(phones, number: str = ALEX):  # noqa: ANN201
    leg = Leg(phones, number)
    doc = leg.doc("/voice/inbound", CallStatus="ringing")
    with phones.svc.sessions() as session:
        call_id = session.scalar(select(Call.id).where(Call.sid == leg.sid))
    return leg, doc, call_id


def set_pin(svc, number: str, pin: str) -> None:
    with svc.sessions.begin() as session:
        person = session.scalar(select(Volunteer).where(
            Volunteer.phone_hash == svc.line.vault.hash(number)))
        pins.set_pin(svc.line, person, pin)


PIN = "2468"


def pin_call(phones, number: str = ALEX, pin: str = PIN):  # noqa: ANN201
    """A volunteer's call with the right PIN keyed: (leg, the menu, call id)."""
    leg, doc, call_id = ivr_call(phones, number)
    assert doc.one("Gather").get("action") == f"/voice/volunteer/pin?call={call_id}"
    menu = leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits=pin)
    assert "press 1" in menu.said.lower()
    return leg, menu, call_id


def test_volunteer_ivr_on_off_shift_and_status(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text("+15550199200", "hello, anyone?")  # one texter waiting
    leg, doc, call_id = ivr_call(phones)
    said = doc.said.lower()
    assert "off shift" in said and "press 1" in said and "1 texters" in said
    gather = doc.one("Gather")
    assert gather.get("action") == f"/voice/volunteer/choice?call={call_id}"
    assert gather.get("input") == "dtmf"
    assert not doc.has("Enqueue")  # a volunteer never lands in the survivors' queue

    on = leg.doc(gather.get("action"), Digits="1")
    assert "you're on shift" in on.said.lower()
    assert volunteer(svc, ALEX).on_shift
    phones.work()
    assert any("Offer" in body for body in phones.bodies(ALEX))  # pairing pulled the texter

    status = leg.doc(gather.get("action"), Digits="3")
    assert "9am" in status.said and "Texters waiting: 1" in status.said

    phones.text(ALEX, "YES", to=phones.received(ALEX)[-1][0])
    holding = leg.doc(gather.get("action"), Digits="2")
    assert "1 live text conversations" in holding.said and volunteer(svc, ALEX).on_shift
    off = leg.doc(gather.get("action"), Digits="2")
    assert "off shift" in off.said.lower() and not volunteer(svc, ALEX).on_shift
    assert leg.doc(gather.get("action"), Digits="2").said.startswith("You're not on shift")
    # Hanging up ends the IVR call.
    leg.status("completed")
    with svc.sessions() as session:
        assert session.get(Call, call_id).outcome == "ivr"


def test_pin_asked_first_where_one_is_on_file(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    set_pin(svc, SAM, "4321")
    _, doc, _ = ivr_call(phones, ALEX)  # no PIN on file: the menu, and how to get a PIN
    assert doc.one("Gather").get("finishOnKey") is None and "press 1" in doc.said.lower()
    assert "ask a coordinator" in doc.said and "4 to return" not in doc.said
    leg, doc, call_id = ivr_call(phones, SAM)
    gather = doc.one("Gather")
    assert "PIN" in doc.said and gather.get("finishOnKey") == "#"
    # The menu's own URL does nothing before the PIN.
    early = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="1")
    assert "PIN" in early.said and not volunteer(svc, SAM).on_shift
    wrong = leg.doc(gather.get("action"), Digits="1111")
    assert "didn't match" in wrong.said and wrong.has("Gather")
    right = leg.doc(gather.get("action"), Digits="4321")
    assert "press 1" in right.said.lower()
    assert "on shift" in leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="1").said
    # Three misses: goodbye.
    leg, doc, call_id = ivr_call(phones, SAM)
    for _ in range(3):
        last = leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="0000")
    assert last.has("Hangup") and not last.has("Gather")


def voicemail_left(phones, svc, clock, to: str = LINE2) -> Survivor:  # noqa: ANN001
    caller = Survivor(phones, CALLER, to=to)
    caller.call()
    caller.choose("1")  # nobody on shift: straight to voicemail
    caller.doc(f"/voice/recorded?call={caller.call_id}",
               RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9",
               RecordingSid="RE" + "9" * 32, RecordingDuration="20")
    caller.status("completed")
    clock.advance(300)
    return caller


def test_returning_a_voicemail_from_the_ivr_dials_them_masked(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, doc, call_id = pin_call(phones)
    assert "4 to return a voicemail: 1 waiting" in doc.said
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    assert offer.one("Play").text.endswith("/Recordings/RE9")
    assert "5 minutes ago" in offer.said and CALLER not in offer.said
    press = offer.one("Gather").get("action")
    dial = leg.doc(press, Digits="1")
    dial_verb = dial.one("Dial")
    assert dial_verb.get("callerId") == LINE2  # the line, never the volunteer
    assert dial_verb.find("Number").text == CALLER
    assert volunteer(svc, ALEX).on_call
    done = leg.doc(dial_verb.get("action"), DialCallStatus="completed", DialCallDuration="60")
    assert done.has("Hangup")
    with svc.sessions() as session:
        voicemail = session.scalar(select(Voicemail))
        assert voicemail.status == "done" and voicemail.done_at is not None
    assert not volunteer(svc, ALEX).on_call


@pytest.mark.parametrize("word", ["#ERASE", "STOP"])
def test_a_number_that_quick_exited_or_stopped_is_never_called_back(phones, svc, clock, word):
    """A quick exit (or STOP) from a number, then a voicemail left "from" it (a faked
    caller ID, say): the line never rings a phone that asked for silence."""
    phones.text(CALLER, "hello")
    phones.text(CALLER, word)
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, _, call_id = pin_call(phones)
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    refused = leg.doc(offer.one("Gather").get("action"), Digits="1")
    assert not refused.has("Dial") and "won't call them back" in refused.said
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail)).status == "no_callback"
    assert not volunteer(svc, ALEX).on_call


def test_callback_not_answered_goes_back_in_the_list(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, _, call_id = pin_call(phones)
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    dial = leg.doc(offer.one("Gather").get("action"), Digits="1").one("Dial")
    missed = leg.doc(dial.get("action"), DialCallStatus="no-answer")
    assert "stays in the list" in missed.said
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail.status)) == "new"
    # Pressing 2 leaves it for later too; hanging up before choosing puts it back.
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    leg.doc(offer.one("Gather").get("action"), Digits="2")
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    leg.status("completed")
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail.status)) == "new"


def test_start_callback_rings_the_peer_who_keys_the_pin_then_calls_back(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    volunteers_on(svc, (ALEX, "en"))
    set_pin(svc, ALEX, PIN)
    with svc.sessions() as session:
        voicemail_id = session.scalar(select(Voicemail.id))
    alex_id = volunteer(svc, ALEX).id
    with svc.sessions.begin() as session:
        assert callbacks.start_callback(session, svc.line, voicemail_id, alex_id)
    with svc.sessions.begin() as session:
        assert not callbacks.start_callback(session, svc.line, voicemail_id, alex_id)  # claimed
    phones.work()
    placed, = rings_to(phones, ALEX)
    assert placed.from_number == LINE2
    assert placed.body == f"{BASE_URL}/voice/callback?vm={voicemail_id}"
    leg = Leg(phones, LINE2, ALEX, sid=placed.sid, direction="outbound-api")
    ask = leg.doc(placed.body)  # the PIN first: the phone may be answered by anyone
    assert "PIN" in ask.said and not ask.has("Play")
    assert ask.one("Gather").get("action") == f"/voice/callback/pin?vm={voicemail_id}"
    offer = leg.doc(ask.one("Gather").get("action"), Digits=PIN)
    assert offer.has("Play")
    dial = leg.doc(offer.one("Gather").get("action"), Digits="1").one("Dial")
    assert dial.find("Number").text == CALLER and dial.get("callerId") == LINE2
    leg.doc(dial.get("action"), DialCallStatus="completed")
    leg.status("completed", url=f"/voice/status?vm={voicemail_id}")
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail.status)) == "done"


def test_callback_ring_unanswered_returns_the_voicemail(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    volunteers_on(svc, (ALEX, "en"))
    set_pin(svc, ALEX, PIN)
    with svc.sessions() as session:
        voicemail_id = session.scalar(select(Voicemail.id))
    alex_id = volunteer(svc, ALEX).id
    with svc.sessions.begin() as session:
        callbacks.start_callback(session, svc.line, voicemail_id, alex_id)
    phones.work()
    placed, = rings_to(phones, ALEX)
    Leg(phones, LINE2, ALEX, sid=placed.sid).status("no-answer",
                                                    url=f"/voice/status?vm={voicemail_id}")
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail.status)) == "new"
