"""A faked caller ID must not reach survivors: the volunteer's PIN on that very call.

A call showing a rostered volunteer's number proves nothing (caller ID is cheap to fake).
Without the PIN keyed on the call: shift and status only, never a survivor's words,
never a call to a survivor. Wrong PINs end the call, then lock voice access for a while
and alert the on-call coordinator (once).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from peerline.models import Alert, Call, Task, Voicemail, Volunteer
from peerline.people import pins
from peerline.voice import callbacks

from .helpers import LINE2
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import CALLER, HOTLINE, ONCALL, Leg, bridged, rings_to, volunteer
from .test_voice_ivr import PIN, ivr_call, pin_call, set_pin, voicemail_left


def voicemail_id(svc) -> int:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(Voicemail.id))


def voicemail_row(svc) -> Voicemail:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(Voicemail))


def nothing_reached_the_caller(phones, svc) -> None:  # noqa: ANN001
    """No call placed to the survivor, and their voicemail still waits."""
    assert rings_to(phones, CALLER) == []
    assert voicemail_row(svc).status == "new"


def pin_prompt(doc) -> bool:  # noqa: ANN001
    gathers = doc.all("Gather")
    return len(gathers) == 1 and gathers[0].get("finishOnKey") == "#" and "PIN" in doc.said


# --- no PIN on file ----------------------------------------------------------------------

def test_no_pin_on_file_shift_and_status_only_and_told_how_to_get_one(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    leg, doc, call_id = ivr_call(phones)  # anyone can make a call show Alex's number
    assert "Voicemails waiting: 1" in doc.said and "ask a coordinator" in doc.said
    assert "4 to return" not in doc.said
    choice = f"/voice/volunteer/choice?call={call_id}"
    assert "on shift" in leg.doc(choice, Digits="1").said and volunteer(svc, ALEX).on_shift
    status = leg.doc(choice, Digits="3")
    assert "Voicemails to return: 1" in status.said  # counts, never words
    refused = leg.doc(choice, Digits="4")
    assert "need your PIN" in refused.said and "ask a coordinator" in refused.said
    assert not refused.has("Play") and not refused.has("Dial")
    assert refused.one("Gather").get("action") == choice  # back to the menu
    phones.work()
    nothing_reached_the_caller(phones, svc)
    assert "off shift" in leg.doc(choice, Digits="2").said.lower()


def test_a_pin_set_during_a_call_does_not_open_that_call(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    leg, _, call_id = ivr_call(phones)
    set_pin(svc, ALEX, PIN)  # a coordinator sets it meanwhile: not keyed on this call
    refused = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    assert "need your PIN" in refused.said and not refused.has("Play")
    nothing_reached_the_caller(phones, svc)


def test_no_pin_on_file_no_coordinator_callback(app, phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    alex_id, vm_id = volunteer(svc, ALEX).id, voicemail_id(svc)
    with svc.sessions.begin() as session:
        assert "no PIN" in callbacks.callback_refusal(session, svc.line, vm_id, alex_id)
        assert not callbacks.start_callback(session, svc.line, vm_id, alex_id)
    phones.work()
    assert rings_to(phones, ALEX) == []
    nothing_reached_the_caller(phones, svc)


def test_a_call_to_the_line_cannot_set_up_a_warm_transfer(phones, svc):
    caller, _alex_leg = bridged(phones, svc)  # Alex (no PIN) took a survivor's call
    call_id = caller.call_id
    faked, doc, _ = ivr_call(phones, ALEX)  # someone else calls showing Alex's number
    assert not doc.has("Conference") and not doc.has("Dial")
    for path in (f"/voice/bridge/star?call={call_id}", f"/voice/bridge/option?call={call_id}"):
        answer = faked.doc(path, Digits="9")
        assert not answer.has("Conference") and not answer.has("Dial")
    phones.work()
    assert rings_to(phones, HOTLINE) == []
    with svc.sessions() as session:
        assert session.scalar(select(Call.transfer_status).where(Call.id == call_id)) is None
        assert session.scalar(select(func.count()).select_from(Task).where(
            Task.kind == "voice_hotline")) == 0


# --- a PIN on file, not keyed --------------------------------------------------------------

def test_pin_on_file_but_not_keyed_reaches_nothing(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, doc, call_id = ivr_call(phones)
    assert pin_prompt(doc)
    for digits in ("4", "1"):  # the menu's own URL, skipping the PIN
        early = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits=digits)
        assert pin_prompt(early) and not early.has("Play")
    assert not volunteer(svc, ALEX).on_shift
    # The callback's own URL from this call: it does not hold the voicemail.
    press = leg.doc(f"/voice/callback/press?vm={voicemail_id(svc)}", Digits="1")
    assert not press.has("Dial")
    phones.work()
    nothing_reached_the_caller(phones, svc)


def test_coordinator_callback_leg_asks_the_pin_before_the_voicemail(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    vm_id = voicemail_id(svc)
    with svc.sessions.begin() as session:
        assert callbacks.start_callback(session, svc.line, vm_id, volunteer(svc, ALEX).id)
    phones.work()
    placed, = rings_to(phones, ALEX)
    leg = Leg(phones, LINE2, ALEX, sid=placed.sid, direction="outbound-api")
    ask = leg.doc(f"/voice/callback?vm={vm_id}")  # whoever (or whatever box) picked up
    assert pin_prompt(ask) and not ask.has("Play")
    # Pressing 1 without the PIN: refused, nothing dialled, the voicemail waits again.
    press = leg.doc(f"/voice/callback/press?vm={vm_id}", Digits="1")
    assert not press.has("Dial") and "PIN" in press.said and press.has("Hangup")
    phones.work()
    nothing_reached_the_caller(phones, svc)


def test_a_held_voicemail_cannot_be_dialled_from_another_call(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    set_pin(svc, SAM, "4321")
    sam, _, sam_call = pin_call(phones, SAM, "4321")
    offer = sam.doc(f"/voice/volunteer/choice?call={sam_call}", Digits="4")
    press = offer.one("Gather").get("action")
    faked, _, _ = ivr_call(phones, ALEX)  # a call without the PIN tries Sam's callback
    refused = faked.doc(press, Digits="1")
    assert not refused.has("Dial")
    row = voicemail_row(svc)
    assert row.status == "calling" and row.volunteer_id == volunteer(svc, SAM).id
    assert not volunteer(svc, ALEX).on_call
    # Sam, who keyed the PIN, still can.
    assert sam.doc(press, Digits="1").one("Dial").find("Number").text == CALLER


# --- wrong PINs --------------------------------------------------------------------------

def test_three_wrong_pins_end_the_call(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, _, call_id = ivr_call(phones)
    pin_url = f"/voice/volunteer/pin?call={call_id}"
    for _ in range(2):
        again = leg.doc(pin_url, Digits="1111")
        assert "didn't match" in again.said and pin_prompt(again)
    last = leg.doc(pin_url, Digits="0000")
    assert last.has("Hangup") and not last.has("Gather") and "coordinator" in last.said
    # The call is over for the PIN: the right one now opens nothing.
    late = leg.doc(pin_url, Digits=PIN)
    assert not late.has("Gather") and "press 1" not in late.said.lower()
    assert not leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4").has("Play")
    with svc.sessions() as session:
        assert session.get(Call, call_id).pin_verified_at is None
    nothing_reached_the_caller(phones, svc)


def test_repeated_failures_lock_voice_access_and_alert_on_call_once(phones, svc, clock):
    voicemail_left(phones, svc, clock)
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    phones.work()
    alerts_before = len(phones.bodies(ONCALL))
    first, _, first_id = ivr_call(phones)
    for _ in range(3):  # 3 wrong: this call ends
        first.doc(f"/voice/volunteer/pin?call={first_id}", Digits="9999")
    waiting, _, waiting_id = ivr_call(phones)  # a call at the PIN prompt when it locks
    second, _, second_id = ivr_call(phones)
    second.doc(f"/voice/volunteer/pin?call={second_id}", Digits="9999")  # 4th
    locked = second.doc(f"/voice/volunteer/pin?call={second_id}", Digits="9999")  # 5th
    assert "locked" in locked.said and "coordinator" in locked.said and locked.has("Hangup")
    # Even the right PIN is refused while locked, on a call already open...
    refused = waiting.doc(f"/voice/volunteer/pin?call={waiting_id}", Digits=PIN)
    assert "locked" in refused.said and not refused.has("Gather")
    with svc.sessions() as session:
        assert session.get(Call, waiting_id).pin_verified_at is None
    # ...and on a new call, which hears it at once.
    third, doc, third_id = ivr_call(phones)
    assert "locked" in doc.said and not doc.has("Gather") and doc.has("Hangup")
    assert not third.doc(f"/voice/volunteer/choice?call={third_id}", Digits="4").has("Play")
    phones.work()
    alerts = phones.bodies(ONCALL)[alerts_before:]
    assert len(alerts) == 1, alerts  # one lock, one alert
    assert "locked" in alerts[0] and f"#{volunteer(svc, ALEX).id}" in alerts[0]
    assert ALEX[2:] not in alerts[0].replace(" ", "") and PIN not in alerts[0]
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(
            Alert.kind.like("pin_lock%"))) == 1
    nothing_reached_the_caller(phones, svc)
    # After PEERLINE_PIN_LOCK_S (default 30 min) the right PIN works again.
    clock.advance(30 * 60 + 1)
    leg, _, call_id = pin_call(phones)
    offer = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4")
    assert offer.has("Play")


def test_failures_spread_out_do_not_lock(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    window = svc.config["PEERLINE_PIN_FAILURE_WINDOW_S"]
    for _ in range(3):  # 3 wrong PINs, each more than the window after the one before
        leg, _, call_id = ivr_call(phones)
        leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
        clock.advance(window + 60)
    leg, _, call_id = ivr_call(phones)
    for _ in range(2):
        leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
    pin_call(phones)  # 2 close together: not 5 within the window
    assert volunteer(svc, ALEX).pin_locked_until is None


def test_a_slow_guesser_one_call_every_20_minutes_is_locked(phones, svc, clock):
    """Two wrong PINs a call, a call every 20 minutes (under the old 15-minute window
    this never added up): the default window counts them all, and locks."""
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    for _ in range(3):
        leg, _, call_id = ivr_call(phones)
        for _ in range(2):
            leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
        clock.advance(20 * 60)
    assert volunteer(svc, ALEX).pin_locked_until is not None


@pytest.fixture
def strict(settings):  # noqa: ANN001, ANN201
    settings.update(PEERLINE_PIN_MAX_FAILURES=2, PEERLINE_PIN_LOCK_S=60)
    return settings


def test_pin_lock_settings_are_honoured(strict, phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    leg, _, call_id = ivr_call(phones)
    leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
    assert "locked" in leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999").said
    assert "locked" in ivr_call(phones)[1].said
    clock.advance(61)
    pin_call(phones)


# --- the CLI ---------------------------------------------------------------------------

def stored_pin_hash(svc, number: str) -> str | None:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(Volunteer.pin_hash).where(
            Volunteer.phone_hash == svc.line.vault.hash(number)))


def test_roster_add_with_pin_stores_a_hash(app, svc):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "add", "--name", "Ana", "--phone", "+15550100042",
                                 "--pin", "1234"])
    assert result.exit_code == 0, result.output
    stored = stored_pin_hash(svc, "+15550100042")
    assert stored.startswith("scrypt:") and "1234" not in stored
    assert pins.matches(svc.line, stored, "1234") and not pins.matches(svc.line, stored, "1235")
    assert not check_password_hash(stored, "1234")  # keyed: a dump alone can't be tried
    assert "1234" not in result.output
    listing = runner.invoke(args=["roster", "list"]).output
    assert "\tPIN" in listing


@pytest.mark.parametrize("bad", ["123", "12a4", "abcd", "12 34", "١٢٣٤", "1234567890123", ""])
def test_roster_add_refuses_a_bad_pin(app, svc, bad):
    result = app.test_cli_runner().invoke(args=["roster", "add", "--name", "Ana",
                                                "--phone", "+15550100042", "--pin", bad])
    assert result.exit_code != 0 and "4 to 12 digits" in result.output
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Volunteer)) == 0


def test_roster_set_pin_prompts_twice_hidden_and_stores_a_hash(app, svc, clock):
    runner = app.test_cli_runner()
    runner.invoke(args=["roster", "add", "--name", "Ana", "--phone", "+15550100042"])
    assert stored_pin_hash(svc, "+15550100042") is None
    result = runner.invoke(args=["roster", "set-pin", "--phone", "(555) 010-0042"],
                           input="86420\n86420\n")
    assert result.exit_code == 0, result.output
    assert "86420" not in result.output  # never echoed
    assert "New PIN" in result.output and "Same PIN again" in result.output
    stored = stored_pin_hash(svc, "+15550100042")
    assert "86420" not in stored and pins.matches(svc.line, stored, "86420")
    # No --pin option: PINs stay out of shell history.
    assert runner.invoke(args=["roster", "set-pin", "--phone", "+15550100042",
                               "--pin", "1111"]).exit_code != 0
    # A mismatch or a bad PIN changes nothing.
    for typed in ("1111\n2222\n", "12\n", "abcd\n"):
        bad = runner.invoke(args=["roster", "set-pin", "--phone", "+15550100042"],
                            input=typed)
        assert bad.exit_code != 0
        assert pins.matches(svc.line, stored_pin_hash(svc, "+15550100042"), "86420")
    assert "digits (0-9)" in runner.invoke(  # click masks the typed value in the error
        args=["roster", "set-pin", "--phone", "+15550100042"], input="12\n").output
    unknown = runner.invoke(args=["roster", "set-pin", "--phone", "+15550100043"],
                            input="1234\n1234\n")
    assert unknown.exit_code != 0 and "no volunteer" in unknown.output


def test_set_pin_lifts_a_lock(app, phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    with svc.sessions.begin() as session:
        person = session.scalar(select(Volunteer))
        person.pin_locked_until = clock() + timedelta(minutes=30)
    assert "PIN locked" in app.test_cli_runner().invoke(args=["roster", "list"]).output
    assert "locked" in ivr_call(phones)[1].said
    result = app.test_cli_runner().invoke(args=["roster", "set-pin", "--phone", ALEX],
                                          input="13579\n13579\n")
    assert result.exit_code == 0, result.output
    pin_call(phones, ALEX, "13579")
