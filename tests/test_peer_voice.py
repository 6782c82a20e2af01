"""The optional "what kind of peer" question by keypad on a call (issue 15): asked once
while the caller waits on hold, answered by a key, kept against the caller's keyed hash
like the text answer, never asked again (by call or by text), never in a crisis or of a
withheld caller. Parsed TwiML throughout."""

from __future__ import annotations

from sqlalchemy import select, text

from peerline.models import PeerChoice

from .test_peer_support import QUESTION as TEXT_QUESTION
from .test_text_line import SAM
from .test_voice import Survivor, volunteers_on

CALLER = "+15550199601"
CALLER2 = "+15550199602"
ASKED = "one optional question"


def on_hold(phones, number: str, key: str = "1") -> Survivor:
    caller = Survivor(phones, number)
    caller.call()
    assert caller.choose(key).has("Enqueue")
    return caller


def press(caller: Survivor, digits: str):  # noqa: ANN201
    return caller.doc(f"/voice/hold/input?call={caller.call_id}", Digits=digits)


def choice_of(svc, number: str) -> PeerChoice | None:
    with svc.sessions() as session:
        return session.scalar(select(PeerChoice).where(
            PeerChoice.phone_hash == svc.line.vault.hash(number)))


def test_asked_once_on_hold_answered_by_key_and_kept(phones, svc):
    volunteers_on(svc, (SAM, "en"))
    caller = on_hold(phones, CALLER)
    doc = caller.hold()
    gather = doc.one("Gather")
    assert gather.get("action") == f"/voice/hold/input?call={caller.call_id}"
    assert gather.get("numDigits") == "1" and "dtmf" in gather.get("input")
    said = " ".join(s.text for s in gather.iter("Say"))
    assert "You are number 1 in line" in said and ASKED in said
    for n, name in enumerate(("childhood abuse", "sexual violence", "domestic violence",
                              "loss", "combat"), start=1):
        assert f"{n} for {name}" in said
    assert "press 0 for no preference" in said and "press 9" in said
    assert ASKED not in caller.hold().said  # the next cycle: not again
    assert press(caller, "7").verbs == ["Redirect"]  # not a tag: back to hold, nothing kept
    assert choice_of(svc, CALLER).answered_at is None
    answered = press(caller, "4")
    assert "experience of loss" in answered.said
    assert answered.verbs == ["Say", "Redirect"]
    assert answered.one("Redirect").text == f"/voice/hold?call={caller.call_id}"
    row = choice_of(svc, CALLER)
    assert row.tag == "loss" and row.answered_at is not None
    with svc.sessions() as session:  # sealed at rest, like the text answer
        raw = session.execute(text("SELECT tag FROM peer_choices")).scalar()
    assert raw and "loss" not in raw
    assert ASKED not in caller.hold().said
    assert press(caller, "2").verbs == ["Redirect"]  # answered: a key is only a key now
    assert choice_of(svc, CALLER).tag == "loss"
    caller.status("completed")
    # A returning caller is not asked again, and neither is the same person by text.
    again = on_hold(phones, CALLER)
    assert ASKED not in again.hold().said
    again.status("completed")
    first = phones.replies(phones.text(CALLER, "hi, I need to talk"))
    assert not any(TEXT_QUESTION in r for r in first)


def test_zero_is_no_preference_and_nine_is_still_the_hotline(phones, svc):
    volunteers_on(svc, (SAM, "en"))
    caller = on_hold(phones, CALLER)
    assert ASKED in caller.hold().said
    assert press(caller, "9").verbs == ["Leave"]  # the hotline, question or not
    other = on_hold(phones, CALLER2)
    assert ASKED in other.hold().said
    skipped = press(other, "0")
    assert "noted" in skipped.said and skipped.has("Redirect")
    row = choice_of(svc, CALLER2)
    assert row.tag is None and row.answered_at is not None


def test_spanish_keypad_question(phones, svc):
    volunteers_on(svc, (SAM, "es"))
    caller = on_hold(phones, CALLER, key="2")
    doc = caller.hold()
    assert "marca 4 para pérdida" in doc.said and "marca 0" in doc.said
    assert {s.get("language") for s in doc.all("Say")} == {"es-MX"}
    assert "experiencia en pérdida" in press(caller, "4").said
    assert choice_of(svc, CALLER).tag == "loss"


def test_never_asked_in_a_crisis_of_a_withheld_caller_or_after_a_text_answer(phones, svc):
    volunteers_on(svc, (SAM, "en"))
    crisis = Survivor(phones, CALLER)
    crisis.call()
    offer = crisis.say("i want to end my life")
    assert "988" in offer.said
    assert crisis.doc(f"/voice/crisis?call={crisis.call_id}", Digits="1").has("Enqueue")
    assert ASKED not in crisis.hold().said
    assert press(crisis, "4").verbs == ["Redirect"] and choice_of(svc, CALLER) is None
    withheld = on_hold(phones, "Anonymous")
    assert ASKED not in withheld.hold().said
    with svc.sessions() as session:
        assert session.scalars(select(PeerChoice)).all() == []
    # Answered by text first: the call does not ask.
    first = phones.replies(phones.text(CALLER2, "hi, I need to talk"))
    assert TEXT_QUESTION in first[-1]
    phones.replies(phones.text(CALLER2, "5"))
    phones.text(CALLER2, "#END")
    assert ASKED not in on_hold(phones, CALLER2).hold().said
    assert choice_of(svc, CALLER2).tag == "combat"
