"""The voice line as stories: menu, queue, rings, bridge, voicemail, crisis, status."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from peerline.models import (
    Call,
    Conversation,
    Escalation,
    LocalMessage,
    OutboundMessage,
    Ring,
    Voicemail,
    Volunteer,
)

from .helpers import BASE_URL, LINE, LINE2, Phones, new_sid
from .races import needs_postgres
from .test_text_line import ALEX, SAM, add_volunteer

BEA = "+15550100003"  # Spanish only
DAN = "+15550100004"  # off shift
CALLER = "+15550199101"
CALLER2 = "+15550199102"
ONCALL = "+15550109999"
HOTLINE = "+18002738255"
ACCOUNT = "AC" + "0" * 32


# --- helpers ---------------------------------------------------------------------------

class Doc:
    """A parsed TwiML answer."""

    def __init__(self, response) -> None:  # noqa: ANN001
        assert response.status_code == 200, (response.status_code, response.data)
        assert response.mimetype == "text/xml"
        self.root = ET.fromstring(response.data)

    def all(self, tag: str) -> list[ET.Element]:
        return list(self.root.iter(tag))

    def one(self, tag: str) -> ET.Element:
        found = self.all(tag)
        assert len(found) == 1, (tag, ET.tostring(self.root))
        return found[0]

    def has(self, tag: str) -> bool:
        return bool(self.all(tag))

    @property
    def said(self) -> str:
        return " ".join(s.text or "" for s in self.root.iter("Say"))

    @property
    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]


def path_of(url: str) -> str:
    """A TwiML/REST URL as the path + query to post to (relative or on BASE_URL)."""
    if url.startswith(BASE_URL):
        url = url[len(BASE_URL):]
    assert url.startswith("/voice/"), url
    return url


def query_id(url: str, name: str) -> int:
    return int(parse_qs(urlsplit(url).query)[name][0])


class Leg:
    """One phone call leg, posting signed webhooks with the parameters Twilio sends."""

    def __init__(self, phones: Phones, from_: str, to: str = LINE, sid: str | None = None,
                 direction: str = "inbound") -> None:
        self.phones = phones
        self.from_, self.to = from_, to
        self.sid = sid or new_sid("CA")
        self.direction = direction

    def params(self, **extra: str) -> dict[str, str]:
        params = {"CallSid": self.sid, "AccountSid": ACCOUNT, "From": self.from_,
                  "To": self.to, "Caller": self.from_, "Called": self.to,
                  "CallStatus": "in-progress", "Direction": self.direction,
                  "ApiVersion": "2010-04-01"}
        params.update(extra)
        return params

    def post(self, url: str, **extra: str):  # noqa: ANN201
        path, _, query = path_of(url).partition("?")
        return self.phones.post(path, self.params(**extra), query=query)

    def doc(self, url: str, **extra: str) -> Doc:
        return Doc(self.post(url, **extra))

    def status(self, status: str, url: str = "/voice/status", **extra: str):  # noqa: ANN201
        response = self.post(url, CallStatus=status, **extra)
        assert response.status_code == 204, response.data
        return response


class Survivor(Leg):
    """A survivor's call to the line."""

    def call(self) -> Doc:
        return self.doc("/voice/inbound", CallStatus="ringing")

    @property
    def call_id(self) -> int:
        with self.phones.svc.sessions() as session:
            return session.scalar(select(Call.id).where(Call.sid == self.sid))

    def choose(self, digits: str) -> Doc:
        return self.doc(f"/voice/menu?call={self.call_id}", Digits=digits)

    def say(self, words: str, url: str | None = None) -> Doc:
        return self.doc(url or f"/voice/menu?call={self.call_id}", SpeechResult=words,
                        Confidence="0.91")

    def hold(self, queue_time: int = 10) -> Doc:
        return self.doc(f"/voice/hold?call={self.call_id}", QueueTime=str(queue_time),
                        QueuePosition="1", CurrentQueueSize="1", AvgQueueTime="0",
                        QueueSid="QU" + "1" * 32)

    def left_queue(self, result: str, queue_time: int = 10) -> Doc:
        return self.doc(f"/voice/queued?call={self.call_id}", QueueResult=result,
                        QueueTime=str(queue_time), QueueSid="QU" + "1" * 32)


def rings_to(phones: Phones, number: str) -> list[LocalMessage]:
    """Calls the local gateway placed to ``number``."""
    vault = phones.svc.line.vault
    with phones.svc.sessions() as session:
        return list(session.scalars(select(LocalMessage).where(
            LocalMessage.kind == "call", LocalMessage.to_hash == vault.hash(number))
            .order_by(LocalMessage.id)))


def updates_for(phones: Phones, sid: str) -> list[str]:
    """What the local gateway was asked to do to a live call (a URL, TwiML or status)."""
    with phones.svc.sessions() as session:
        return list(session.scalars(select(LocalMessage.body).where(
            LocalMessage.kind == "update", LocalMessage.to_hash == sid)
            .order_by(LocalMessage.id)))


def answer_ring(phones: Phones, volunteer: str, placed: LocalMessage) -> tuple[Leg, Doc]:
    """A volunteer's phone rang and they picked up: what they hear."""
    assert placed.from_number in phones.svc.line.numbers
    leg = Leg(phones, placed.from_number, volunteer, sid=placed.sid, direction="outbound-api")
    return leg, leg.doc(placed.body)


def volunteers_on(svc, *numbers_langs: tuple[str, str]) -> None:
    from peerline.people import roster
    from peerline.people.lookup import find_volunteer

    for number, lang in numbers_langs:
        add_volunteer(svc, f"V{number[-2:]}", number, lang)
        with svc.sessions.begin() as session:
            roster.go_on_shift(session, svc.line, find_volunteer(session, svc.line, number))


def the_call(svc, sid: str) -> Call:
    with svc.sessions() as session:
        return session.scalar(select(Call).where(Call.sid == sid))


def volunteer(svc, number: str) -> Volunteer:
    with svc.sessions() as session:
        return session.scalar(select(Volunteer).where(
            Volunteer.phone_hash == svc.line.vault.hash(number)))


def queued_caller(phones: Phones, from_: str = CALLER, to: str = LINE) -> Survivor:
    caller = Survivor(phones, from_, to)
    caller.call()
    doc = caller.choose("1")
    assert doc.has("Enqueue")
    return caller


# --- signatures and bad input ----------------------------------------------------------

VOICE_PATHS = ["/voice/inbound", "/voice/status", "/voice/menu?call=1", "/voice/hold?call=1",
               "/voice/queued?call=1", "/voice/ring?ring=1", "/voice/ring/press?ring=1",
               "/voice/recorded?call=1", "/voice/transcription?call=1",
               "/voice/volunteer/choice?call=1", "/voice/bridge/option?call=1",
               "/voice/callback/press?vm=1", "/voice/volunteer/pin?call=1",
               "/voice/callback/pin?vm=1", "/voice/callback?vm=1"]


@pytest.mark.parametrize("url", VOICE_PATHS)
def test_every_voice_webhook_answers_403_unsigned(phones, url):
    path, _, query = url.partition("?")
    params = Leg(phones, CALLER).params()
    assert phones.post(path, params, signed=False, query=query).status_code == 403
    assert phones.post(path, params, token="forged", query=query).status_code == 403


def test_garbage_but_signed_input_gets_4xx_or_kind_twiml_never_5xx(phones):
    leg = Leg(phones, CALLER)
    cases = [
        ("/voice/inbound", {"CallSid": ""}),
        ("/voice/inbound", {"To": "not a number"}),
        ("/voice/inbound", {"CallSid": "CA" + "x" * 200}),
        ("/voice/menu?call=abc", {}),
        ("/voice/menu", {}),
        ("/voice/menu?call=99999999999999999999", {}),
        ("/voice/status", {"CallStatus": ""}),
        ("/voice/status?ring=x", {"CallStatus": "completed"}),
        ("/voice/hold?call=1", {"CallSid": ""}),
        ("/voice/transcription?call=", {}),
    ]
    for url, extra in cases:
        response = leg.post(url, **extra)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    # Unknown ids, odd values: a kind TwiML answer with the hotline, not an error.
    for url in ("/voice/menu?call=424242", "/voice/ring/press?ring=5", "/voice/join?call=7",
                "/voice/callback/press?vm=3"):
        doc = leg.doc(url, Digits="1" * 500, SpeechResult="\x00" * 50)
        assert "988" in doc.said and doc.has("Hangup")
    # A status callback for a call we never saw is fine.
    leg.status("completed", CallDuration="abc")
    # A withheld or nonsense caller ID still gets the menu.
    for odd in ("Anonymous", "", "+", "266696687", "client:alice"):
        doc = Survivor(phones, odd).call()
        assert doc.one("Gather").get("action").startswith("/voice/menu?call=")


# --- the menu --------------------------------------------------------------------------

def test_menu_offers_english_spanish_and_the_hotline_by_key_or_voice(phones, svc):
    caller = Survivor(phones, CALLER)
    doc = caller.call()
    gather = doc.one("Gather")
    assert set(gather.get("input").split()) == {"dtmf", "speech"}
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"/voice/menu?call={caller.call_id}"
    assert "hotline" in gather.get("hints") and "ayuda" in gather.get("hints")
    said = doc.said.lower()
    assert "press 1" in said and "marca 2" in said and "press 9" in said
    assert "hotline" in said and "ayuda" in said and "988" in said
    # No input falls through to the menu's action: never silence.
    assert doc.verbs[-1] == "Redirect"
    assert doc.one("Redirect").text == f"/voice/menu?call={caller.call_id}"
    # The call is a voice conversation of its own.
    with svc.sessions() as session:
        conversation = session.scalar(select(Conversation))
        assert (conversation.channel, conversation.status) == ("voice", "call")
    # Twilio asking again for the same CallSid gets the same menu, not a second call.
    assert caller.call().has("Gather")
    with svc.sessions() as session:
        assert len(session.scalars(select(Call)).all()) == 1


@pytest.mark.parametrize("how", [{"Digits": "9"}, {"SpeechResult": "Hotline."},
                                 {"SpeechResult": "ayuda"}, {"SpeechResult": "hot line please"}])
def test_hotline_by_9_or_by_saying_it(phones, svc, how):
    caller = Survivor(phones, CALLER, to=LINE2)
    caller.call()
    doc = caller.doc(f"/voice/menu?call={caller.call_id}", **how)
    dial = doc.one("Dial")
    assert dial.get("callerId") == LINE2  # the number they called, never theirs
    assert dial.find("Number").text == HOTLINE
    assert dial.get("action") == f"/voice/hotline/done?call={caller.call_id}"
    assert "988" in doc.said
    # The hotline not answering is not a dead end: how to reach it, then the queue.
    failed = caller.doc(dial.get("action"), DialCallStatus="no-answer")
    assert "988" in failed.said and failed.one("Redirect").text.startswith("/voice/wait?")
    assert caller.doc(failed.one("Redirect").text).has("Record")  # nobody on shift
    done = Survivor(phones, CALLER2)
    done.call()
    done.choose("9")
    bye = done.doc(f"/voice/hotline/done?call={done.call_id}", DialCallStatus="completed")
    assert bye.has("Hangup")


def test_crisis_words_at_the_menu_offer_the_hotline_at_once_and_escalate(phones, svc):
    caller = Survivor(phones, CALLER)
    caller.call()
    doc = caller.say("i just want to kill myself")
    gather = doc.one("Gather")
    assert gather.get("action") == f"/voice/crisis?call={caller.call_id}"
    assert "988" in doc.said and "press 9" in doc.said.lower()
    # Silence means yes: the fall-through connects to the hotline.
    redirect = doc.one("Redirect").text
    assert caller.doc(redirect).one("Number").text == HOTLINE
    with svc.sessions() as session:
        escalation = session.scalar(select(Escalation))
        assert escalation.source == "voice" and escalation.category == "suicidal_intent"
        conversation = session.get(Conversation, escalation.conversation_id)
        assert conversation.channel == "voice" and conversation.priority == 1
    phones.work()
    assert any("CRISIS" in body for body in phones.bodies(ONCALL))
    assert phones.bodies(CALLER) == []  # a voice crisis is answered on the call


def test_crisis_in_spanish_and_choosing_to_wait_for_a_peer(phones, svc):
    volunteers_on(svc, (BEA, "es"))
    caller = Survivor(phones, CALLER)
    caller.call()
    caller.choose("2")
    with svc.sessions() as session:
        assert session.scalar(select(Call.lang)) == "es"
    doc = caller.say("ya no quiero vivir, quiero matarme", url=f"/voice/hold/input?call="
                     f"{caller.call_id}")
    assert doc.verbs == ["Leave"]
    offer = caller.left_queue("leave")
    assert "988" in offer.said and offer.one("Say").get("language") == "es-MX"
    back = caller.doc(offer.one("Gather").get("action"), Digits="1")
    assert back.has("Enqueue")
    assert the_call(svc, caller.sid).priority == 1


# --- queue, rings, bridge --------------------------------------------------------------

def test_caller_waits_all_eligible_volunteers_ring_first_1_is_bridged(phones, svc):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en,es"), (BEA, "es"))
    add_volunteer(svc, "Dan", DAN)  # not on shift
    caller = Survivor(phones, CALLER, to=LINE2)
    caller.call()
    doc = caller.choose("1")
    enqueue = doc.one("Enqueue")
    call_id = caller.call_id
    assert enqueue.get("waitUrl") == f"/voice/hold?call={call_id}"
    assert enqueue.get("action") == f"/voice/queued?call={call_id}"
    assert "finding a peer" in doc.said

    hold = caller.hold()
    assert "number 1 in line" in hold.said
    assert "press 9" in hold.said.lower()
    gather = hold.one("Gather")
    assert "speech" in gather.get("input")
    assert gather.get("action") == f"/voice/hold/input?call={call_id}"

    phones.work()
    alex_ring, = rings_to(phones, ALEX)
    sam_ring, = rings_to(phones, SAM)
    assert rings_to(phones, BEA) == [] and rings_to(phones, DAN) == []
    for placed in (alex_ring, sam_ring):
        assert placed.from_number == LINE2  # the line, never the caller
        assert placed.body.startswith(BASE_URL + "/voice/ring?ring=")
        assert CALLER not in placed.body

    alex, whisper = answer_ring(phones, ALEX, alex_ring)
    assert "press 1" in whisper.said.lower()
    assert whisper.one("Gather").get("action").startswith("/voice/ring/press?ring=")
    sam, sam_whisper = answer_ring(phones, SAM, sam_ring)

    bridge = alex.doc(whisper.one("Gather").get("action"), Digits="1")
    conference = bridge.one("Conference")
    assert conference.text == f"peerline-call-{call_id}"
    assert bridge.one("Dial").get("hangupOnStar") == "true"
    assert conference.get("endConferenceOnExit") == "false"

    told = sam.doc(sam_whisper.one("Gather").get("action"), Digits="1")
    assert not told.has("Dial") and told.has("Hangup")
    assert "another peer" in told.said.lower()

    phones.work()
    assert updates_for(phones, caller.sid) == [f"{BASE_URL}/voice/join?call={call_id}"]
    sam_told = updates_for(phones, sam_ring.sid)
    assert len(sam_told) == 1 and "Another peer" in sam_told[0] and "<Dial" not in sam_told[0]

    joined = caller.doc(f"/voice/join?call={call_id}")
    caller_conf = joined.one("Conference")
    assert caller_conf.text == f"peerline-call-{call_id}"
    assert caller_conf.get("endConferenceOnExit") == "true"
    assert volunteer(svc, ALEX).on_call and not volunteer(svc, SAM).on_call

    caller.status("completed", CallDuration="300")
    call = the_call(svc, caller.sid)
    assert (call.outcome, call.stage, call.wait_s) == ("answered", "ended", 0)
    with svc.sessions() as session:
        assert session.get(Conversation, call.conversation_id).status == "closed"
    assert not volunteer(svc, ALEX).on_call


def test_a_volunteer_on_a_call_gets_no_text_offers_until_it_ends(phones, svc):
    caller, alex = bridged(phones, svc)
    phones.text(CALLER2, "hi, can someone text with me?")
    phones.work()
    assert not any("Offer" in body for body in phones.bodies(ALEX))
    # The peer hangs up: free again, and the waiting texter is offered.
    alex.status("completed", url=ring_status_url(alex))
    phones.work()
    assert not volunteer(svc, ALEX).on_call
    assert any("Offer" in body for body in phones.bodies(ALEX))
    assert the_call(svc, caller.sid).stage == "after"


def ring_status_url(leg: Leg) -> str:
    with leg.phones.svc.sessions() as session:
        ring_id = session.scalar(select(Ring.id).where(Ring.sid == leg.sid))
    return f"/voice/status?ring={ring_id}"


def test_two_volunteers_pressing_1_at_once_make_one_bridge(phones, svc, app):
    needs_postgres(svc)
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    caller = queued_caller(phones)
    phones.work()
    legs = []
    for number in (ALEX, SAM):
        leg, whisper = answer_ring(phones, number, rings_to(phones, number)[0])
        legs.append((leg, whisper.one("Gather").get("action")))
    results: dict[str, bytes] = {}
    barrier = threading.Barrier(2)

    def press(leg: Leg, action: str) -> None:
        mine = Phones(app, app.test_client())
        leg = Leg(mine, leg.from_, leg.to, sid=leg.sid, direction=leg.direction)
        with app.app_context():
            barrier.wait()
            response = leg.post(action, Digits="1")
        results[leg.to] = response.data

    threads = [threading.Thread(target=press, args=pair) for pair in legs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dials = [number for number, body in results.items() if b"<Dial" in body]
    assert len(dials) == 1
    loser = SAM if dials == [ALEX] else ALEX
    assert b"Another peer" in results[loser] and b"<Hangup" in results[loser]
    winner = volunteer(svc, dials[0]).id
    with svc.sessions() as session:
        rings = {r.volunteer_id: r.status for r in session.scalars(select(Ring))}
        assert rings[winner] == "accepted" and sorted(rings.values()) == ["accepted", "taken"]
        call = session.scalar(select(Call).where(Call.sid == caller.sid))
        assert (call.stage, call.volunteer_id) == ("bridging", winner)
    # Pressing again later changes nothing.
    again = Leg(phones, LINE, loser, sid=[leg.sid for leg, _ in legs if leg.to == loser][0],
                direction="outbound-api")
    assert not again.doc(legs[0][1] if loser == ALEX else legs[1][1], Digits="1").has("Dial")


def test_ringing_phones_are_hung_up_when_a_peer_takes_the_call(phones, svc):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    caller = queued_caller(phones)
    phones.work()
    alex, whisper = answer_ring(phones, ALEX, rings_to(phones, ALEX)[0])
    alex.doc(whisper.one("Gather").get("action"), Digits="1")
    phones.work()
    sam_ring = rings_to(phones, SAM)[0]
    assert updates_for(phones, sam_ring.sid) == ["completed"]  # still ringing: just end it
    # Sam picks up a moment too late anyway: told, hung up, no Dial.
    _, late = answer_ring(phones, SAM, sam_ring)
    assert late.has("Hangup") and not late.has("Dial") and "another peer" in late.said.lower()
    assert caller.hold().verbs == ["Leave"]  # the queue's own backstop joins them too
    assert caller.left_queue("leave").one("Conference").text.startswith("peerline-call-")


def test_ring_statuses_are_recorded_and_rung_again(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    caller = queued_caller(phones)
    phones.work()
    alex_ring, sam_ring = rings_to(phones, ALEX)[0], rings_to(phones, SAM)[0]
    Leg(phones, LINE, ALEX, sid=alex_ring.sid, direction="outbound-api").status(
        "no-answer", url=path_of(alex_ring.body).replace("/voice/ring", "/voice/status"))
    Leg(phones, LINE, SAM, sid=sam_ring.sid, direction="outbound-api").status("busy")
    with svc.sessions() as session:
        assert sorted(session.scalars(select(Ring.status))) == ["busy", "no-answer"]
    clock.advance(6)
    phones.work()
    assert len(rings_to(phones, ALEX)) == 2 and len(rings_to(phones, SAM)) == 2
    assert "number 1 in line" in caller.hold().said


def test_position_in_line_counts_callers_ahead_crisis_first(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"))
    first = queued_caller(phones, CALLER)
    clock.advance(5)
    second = queued_caller(phones, CALLER2)
    assert "number 2 in line" in second.hold().said
    third = queued_caller(phones, "+15550199103")
    assert "number 3 in line" in third.hold().said
    third.say("i want to end my life", url=f"/voice/hold/input?call={third.call_id}")
    third.left_queue("leave")
    third.doc(f"/voice/crisis?call={third.call_id}", Digits="1")
    assert "number 1 in line" in third.hold().said
    assert "number 2 in line" in first.hold().said
    phones.work()
    ring, = rings_to(phones, ALEX)  # one phone: it rings for the crisis caller first
    crisis_call = third.call_id
    with svc.sessions() as session:
        assert session.scalar(select(Ring.call_id)) == crisis_call


def test_abandoned_while_waiting_is_recorded_with_the_wait(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"))
    caller = queued_caller(phones)
    phones.work()
    placed = rings_to(phones, ALEX)[0]
    clock.advance(42)
    caller.left_queue("hangup", queue_time=42)
    caller.status("completed", CallDuration="50")
    call = the_call(svc, caller.sid)
    assert (call.outcome, call.wait_s) == ("abandoned", 42)
    phones.work()
    assert updates_for(phones, placed.sid) == ["completed"]
    # A peer answering now hears the caller has gone.
    _, doc = answer_ring(phones, ALEX, placed)
    assert "no longer waiting" in doc.said and not doc.has("Dial")


# --- max wait, voicemail, text-back ----------------------------------------------------

def test_max_wait_leads_to_voicemail_and_a_text_back_from_the_number_called(phones, svc,
                                                                            clock):
    volunteers_on(svc, (ALEX, "en"))
    caller = queued_caller(phones, to=LINE2)
    phones.work()
    placed = rings_to(phones, ALEX)[0]
    clock.advance(100)
    hold = caller.hold(queue_time=100)
    assert int(hold.one("Gather").get("timeout")) <= 20
    clock.advance(81)
    assert caller.hold(queue_time=181).verbs == ["Leave"]
    doc = caller.left_queue("leave", queue_time=181)
    record = doc.one("Record")
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == f"/voice/transcription?call={caller.call_id}"
    assert record.get("action") == f"/voice/recorded?call={caller.call_id}"
    assert "text" in doc.said and "988" in doc.said
    assert doc.verbs[-1] == "Redirect"  # no message still ends kindly
    phones.work()
    (from_number, body), = phones.received(CALLER)
    assert from_number == LINE2 and "text this number" in body
    assert updates_for(phones, placed.sid) == ["completed"]

    thanks = caller.doc(record.get("action"), RecordingUrl="https://api.twilio.com/rec/RE1",
                        RecordingSid="RE" + "1" * 32, RecordingDuration="14", Digits="#")
    assert thanks.has("Hangup") and "call you back" in thanks.said
    phones.work()
    assert any("voicemail" in b and "press 4" in b for b in phones.bodies(ALEX))
    assert any("voicemail" in b for b in phones.bodies(ONCALL))

    caller.status("completed")
    transcript = caller.post(record.get("transcribeCallback"),
                             TranscriptionText="please call me back, i can't keep going, "
                                               "i want to kill myself",
                             TranscriptionStatus="completed", RecordingSid="RE" + "1" * 32,
                             TranscriptionSid="TR" + "1" * 32)
    assert transcript.status_code == 204
    with svc.sessions() as session:
        voicemail = session.scalar(select(Voicemail))
        assert voicemail.status == "new" and voicemail.priority == 1
        assert voicemail.recording_url.endswith("RE1") and "kill myself" in voicemail.transcript
        assert session.scalar(select(Escalation.source)) == "voice"
        assert session.scalar(select(Call.outcome)) == "voicemail"
    phones.work()
    assert "988" in phones.received(CALLER)[-1][1] and phones.received(CALLER)[-1][0] == LINE2


def test_the_deadline_backstop_moves_a_forgotten_caller_to_voicemail(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"))
    caller = queued_caller(phones)
    phones.work()
    clock.advance(205)  # no hold request came (lost), the backstop task is due
    phones.work()
    assert updates_for(phones, caller.sid) == [f"{BASE_URL}/voice/voicemail?call="
                                               f"{caller.call_id}"]
    assert caller.doc(f"/voice/voicemail?call={caller.call_id}").has("Record")
    assert len(phones.received(CALLER)) == 1


def test_nobody_on_shift_goes_straight_to_voicemail_with_hours(phones, svc):
    caller = Survivor(phones, CALLER)
    caller.call()
    doc = caller.choose("2")
    assert doc.has("Record") and "de turno" in doc.said
    phones.work()
    assert phones.received(CALLER)[0][0] == LINE and "escribir" in phones.bodies(CALLER)[0]
    assert any("no volunteer" in body for body in phones.bodies(ONCALL))


def test_withheld_caller_gets_the_menu_and_voicemail_but_no_text_back(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"))
    caller = Survivor(phones, "Anonymous")
    menu = caller.call()
    assert menu.has("Gather")
    caller.choose("1")
    clock.advance(190)
    caller.hold(queue_time=190)
    doc = caller.left_queue("leave", queue_time=190)
    assert doc.has("Record") and "hidden" in doc.said
    thanks = caller.doc(f"/voice/recorded?call={caller.call_id}",
                        RecordingUrl="https://api.twilio.com/rec/RE2",
                        RecordingSid="RE" + "2" * 32, RecordingDuration="9")
    assert "call you back" not in thanks.said
    caller.post(f"/voice/transcription?call={caller.call_id}",
                TranscriptionText="i'm going to kill myself tonight",
                TranscriptionStatus="completed")
    phones.work()
    with svc.sessions() as session:
        texts = session.scalars(select(OutboundMessage)).all()
        assert all(svc.line.vault.decrypt(t.to_enc) in (ONCALL, ALEX) for t in texts)
        assert session.scalar(select(Voicemail.status)) == "no_callback"
        assert session.scalar(select(Escalation.source)) == "voice"


def test_no_message_left_still_ends_kindly(phones, svc):
    caller = Survivor(phones, CALLER)
    caller.call()
    caller.choose("1")  # nobody on shift: voicemail
    doc = caller.doc(f"/voice/recorded?call={caller.call_id}")
    assert "didn't hear a message" in doc.said and doc.has("Hangup")
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail)) is None


def test_menu_without_an_answer_goes_on_in_english(phones, svc):
    volunteers_on(svc, (ALEX, "en"))
    caller = Survivor(phones, CALLER)
    caller.call()
    again = caller.doc(f"/voice/menu?call={caller.call_id}")
    assert again.has("Gather") and "didn't catch" in again.said
    assert caller.doc(f"/voice/menu?call={caller.call_id}", SpeechResult="umm").has("Enqueue")


# --- during a call: warm transfer, the peer leaving --------------------------------------

def bridged(phones: Phones, svc) -> tuple[Survivor, Leg]:  # noqa: ANN001
    volunteers_on(svc, (ALEX, "en"))
    caller = queued_caller(phones)
    phones.work()
    alex, whisper = answer_ring(phones, ALEX, rings_to(phones, ALEX)[0])
    alex.doc(whisper.one("Gather").get("action"), Digits="1")
    phones.work()
    caller.doc(f"/voice/join?call={caller.call_id}")
    return caller, alex


def test_warm_transfer_star_9_brings_the_hotline_into_the_call(phones, svc):
    caller, alex = bridged(phones, svc)
    call_id = caller.call_id
    menu = alex.doc(f"/voice/bridge/star?call={call_id}", DialCallStatus="completed")
    assert "press 9" in menu.said.lower()
    assert menu.one("Gather").get("action") == f"/voice/bridge/option?call={call_id}"
    back = alex.doc(f"/voice/bridge/option?call={call_id}", Digits="9")
    assert back.one("Conference").text == f"peerline-call-{call_id}"
    assert "988" in back.said
    phones.work()
    hotline, = rings_to(phones, HOTLINE)
    assert hotline.from_number == LINE
    leg = Leg(phones, LINE, HOTLINE, sid=hotline.sid, direction="outbound-api")
    joined = leg.doc(hotline.body)
    conf = joined.one("Conference")
    assert conf.text == f"peerline-call-{call_id}" and conf.get("endConferenceOnExit") == "true"
    # The peer drops after the hand-over: the caller stays with the hotline.
    alex.status("completed", url=ring_status_url(alex))
    phones.work()
    assert updates_for(phones, caller.sid) == [f"{BASE_URL}/voice/join?call={call_id}"]
    assert not volunteer(svc, ALEX).on_call
    # When the hotline hangs up, the caller hears a goodbye, not silence.
    bye = caller.doc(f"/voice/bridge/end?call={call_id}", DialCallStatus="completed")
    assert bye.has("Hangup") and "call or text" in bye.said


def test_when_the_peer_hangs_up_the_caller_hears_a_goodbye_with_the_hotline(phones, svc):
    caller, alex = bridged(phones, svc)
    alex.status("completed", url=ring_status_url(alex))
    phones.work()
    assert updates_for(phones, caller.sid)[-1] == (f"{BASE_URL}/voice/after?call="
                                                  f"{caller.call_id}")
    after = caller.doc(f"/voice/after?call={caller.call_id}")
    assert "press 9" in after.said.lower() and after.has("Hangup")
    assert caller.doc(after.one("Gather").get("action"), Digits="9").one(
        "Number").text == HOTLINE


def test_peer_ends_with_star_8_and_the_hotline_not_answering_is_told(phones, svc):
    caller, alex = bridged(phones, svc)
    call_id = caller.call_id
    alex.doc(f"/voice/bridge/option?call={call_id}", Digits="9")
    phones.work()
    hotline, = rings_to(phones, HOTLINE)
    Leg(phones, LINE, HOTLINE, sid=hotline.sid).status("no-answer",
                                                        url=f"/voice/status?hotline={call_id}")
    phones.work()
    told = updates_for(phones, alex.sid)[-1]
    assert "didn't answer" in told and "peerline-call" in told
    ended = alex.doc(f"/voice/bridge/option?call={call_id}", Digits="8")
    assert ended.has("Hangup") and not ended.has("Dial")
    phones.work()
    assert updates_for(phones, caller.sid)[-1].endswith(f"/voice/after?call={call_id}")
    assert not volunteer(svc, ALEX).on_call


def test_caller_hanging_up_frees_the_peer_and_they_are_told(phones, svc):
    caller, alex = bridged(phones, svc)
    caller.status("completed", CallDuration="120")
    assert not volunteer(svc, ALEX).on_call
    doc = alex.doc(f"/voice/bridge/star?call={caller.call_id}", DialCallStatus="completed")
    assert "hung up" in doc.said and doc.has("Hangup")


def test_no_phone_number_in_logs_or_job_arguments(phones, svc, caplog, clock):
    import logging

    caplog.set_level(logging.DEBUG)
    volunteers_on(svc, (ALEX, "en"))
    caller = queued_caller(phones)
    phones.work()
    alex, whisper = answer_ring(phones, ALEX, rings_to(phones, ALEX)[0])
    alex.doc(whisper.one("Gather").get("action"), Digits="1")
    phones.work()
    clock.advance(300)
    caller.status("completed")
    phones.work()
    text = "\n".join(record.getMessage() for record in caplog.records)
    for number in (CALLER, ALEX, CALLER[2:], ALEX[2:]):
        assert number not in text
    from peerline.models import Task

    with svc.sessions() as session:
        kinds = set(session.scalars(select(Task.kind)))
    assert {"voice_ring", "voice_dial", "voice_bridge"} <= kinds


def test_redis_down_while_a_caller_waits_never_means_silence(phones, svc, settings, clock):
    """No worker can ring anyone: the caller still hears the hold loop, then voicemail;
    once Redis is back the text-back goes out."""
    from peerline.app import create_app

    volunteers_on(svc, (ALEX, "en"))
    down = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0"}, clock=clock)
    down_phones = Phones(down, down.test_client())
    with down.app_context():
        caller = queued_caller(down_phones)
        hold = caller.hold(queue_time=60)
        assert hold.has("Say") and hold.has("Gather")  # never silence
        clock.advance(181)
        assert caller.hold(queue_time=181).verbs == ["Leave"]
        voicemail = caller.left_queue("leave", queue_time=181)
        assert voicemail.has("Record") and "988" in voicemail.said
    down.extensions["peerline"].engine.dispose()
    assert phones.received(CALLER) == []
    phones.work()  # Redis is back: the sweeper finds what was stored
    (from_number, body), = phones.received(CALLER)
    assert from_number == LINE and "text this number" in body
