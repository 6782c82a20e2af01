"""A scheduled shift puts its volunteer on shift at its start and off at its end, unless
they said otherwise by text during it; against pairing, through real webhooks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from peerline.models import Conversation, ConversationStatus, Volunteer

from .schedule_helpers import MONDAY, at, schedule
from .test_text_line import ALEX, SAM, SURV, add_volunteer

SURV2 = "+15550199402"


def on_shift(svc, vid):
    with svc.sessions() as session:
        return session.get(Volunteer, vid).on_shift


def status_of(svc, survivor_line_conversation=None):
    with svc.sessions() as session:
        return [c.status for c in session.scalars(select(Conversation).order_by(Conversation.id))]


def test_start_pairs_the_queue_and_end_goes_off(phones, svc, clock):
    clock.now = at(MONDAY, 8, 55)
    alex = add_volunteer(svc, "Alex", ALEX)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    phones.text(SURV, "hi, anyone?")
    phones.work()
    assert not on_shift(svc, alex)
    assert not any("Offer" in b for b in phones.bodies(ALEX))
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert on_shift(svc, alex)
    bodies = phones.bodies(ALEX)
    assert any("scheduled shift has started" in b for b in bodies)
    assert any(b.startswith("Offer") for b in bodies)  # the waiting survivor, at once
    phones.work()  # a second pass does nothing twice
    assert sum("has started" in b for b in phones.bodies(ALEX)) == 1
    clock.now = at(MONDAY, 12, 0, 1)
    phones.work()
    assert not on_shift(svc, alex)
    assert "scheduled shift has ended: you're off shift" in phones.bodies(ALEX)[-1]


def test_going_off_with_a_live_conversation_drops_nobody(phones, svc, clock):
    clock.now = at(MONDAY, 11, 55)
    alex = add_volunteer(svc, "Alex", ALEX)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    phones.work()  # added during its time: the shift starts at once
    phones.text(SURV, "hi")
    phones.work()
    number = phones.received(ALEX)[-1][0]
    phones.text(ALEX, "YES", to=number)
    phones.work()
    clock.now = at(MONDAY, 12, 0, 1)
    phones.work()
    assert not on_shift(svc, alex)
    assert "1 live conversation(s) go on" in phones.bodies(ALEX)[-1], phones.received(ALEX)
    assert status_of(svc) == [ConversationStatus.ACTIVE]
    phones.text(SURV, "are you still there?")  # still relayed both ways
    phones.work()
    assert phones.received(ALEX)[-1] == (number, "are you still there?")
    phones.text(SURV2, "hello")  # a new survivor is not offered to them
    phones.work()
    assert not any(b.startswith("Offer") and "hello" in b for b in phones.bodies(ALEX))
    # OFF now hands the live one over to the front of the line, as OFF does.
    other = next(n for n in svc.line.numbers if n != number)
    assert "went back to the front" in phones.replies(phones.text(ALEX, "OFF", to=other))[0]
    assert status_of(svc) == [ConversationStatus.WAITING, ConversationStatus.WAITING]


def test_their_own_off_during_the_shift_wins(phones, svc, clock):
    clock.now = at(MONDAY, 9, 0, 1)
    alex = add_volunteer(svc, "Alex", ALEX)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    phones.work()
    assert on_shift(svc, alex)
    clock.now = at(MONDAY, 10)
    phones.text(ALEX, "OFF")
    clock.now = at(MONDAY, 10, 30)
    phones.work()
    assert not on_shift(svc, alex)  # not put back on
    phones.text(ALEX, "ON")
    clock.now = at(MONDAY, 12, 0, 1)
    phones.work()
    assert on_shift(svc, alex)  # ON during the shift: their word wins at the end too
    assert not any("has ended" in b for b in phones.bodies(ALEX))


def test_on_before_the_shift_still_ends_with_it_and_back_to_back_shifts_run_on(phones, svc,
                                                                                clock):
    clock.now = at(MONDAY, 8, 50)
    alex = add_volunteer(svc, "Alex", ALEX)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    schedule(svc, alex, "12:00", "14:00", day="mon")
    phones.text(ALEX, "ON")
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert not any("has started" in b for b in phones.bodies(ALEX))  # already on
    clock.now = at(MONDAY, 12, 0, 1)
    phones.work()
    assert on_shift(svc, alex)  # the next shift is under way
    clock.now = at(MONDAY, 14, 0, 1)
    phones.work()
    assert not on_shift(svc, alex)


def test_an_overnight_shift_and_someone_off_the_roster(phones, svc, clock):
    clock.now = at(MONDAY, 21, 59)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    schedule(svc, alex, "22:00", "02:00", day="mon")
    schedule(svc, sam, "22:00", "02:00", day="mon")
    phones.text(SAM, "STOP")  # opted out of texts: never put on shift
    clock.now = at(MONDAY, 22, 0, 1)
    phones.work()
    assert on_shift(svc, alex) and not on_shift(svc, sam)
    clock.now = at(MONDAY + timedelta(days=1), 1, 59)
    phones.work()
    assert on_shift(svc, alex)
    clock.now = at(MONDAY + timedelta(days=1), 2, 0, 1)
    phones.work()
    assert not on_shift(svc, alex)
