"""Volunteers keep their shifts by text: reminders (OK, CANT, nobody answers, someone
takes it), SHIFTS, OPEN, TAKE n (first wins, free and under the weekly limit), SWAP n;
CANT and SWAP only act on the reply with the code (a faked From gives nothing away);
reminders on the line's clock across DST."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

from sqlalchemy import select

from peerline.models import Alert, ShiftSlot, Volunteer

from .helpers import LINE, Phones
from .races import needs_postgres
from .schedule_helpers import MONDAY, at, schedule, shift_number
from .test_text_line import ALEX, ONCALL, SAM, add_volunteer
from .test_voice_ivr import PIN, ivr_call, pin_call, set_pin

KIM = "+15550100003"
CONFIRM = re.compile(r"reply (YES (?:CANT|SWAP) \d+ \d{4}) within 15 min")


def confirmed(phones, number, word):
    """Text ``word`` (``CANT``, ``SWAP 12``...), then the confirmation it asks for; returns
    the question and the texts the phone got after confirming."""
    question = phones.replies(phones.text(number, word))[0]
    match = CONFIRM.search(question)
    assert match, question
    seen = len(phones.bodies(number))
    assert phones.replies(phones.text(number, match.group(1))) == []
    phones.work()
    return question, phones.bodies(number)[seen:]


def reminders(phones, number):
    return [b for b in phones.bodies(number) if b.startswith("Reminder")]


def offers_of_shifts(phones, number):
    return [b for b in phones.bodies(number) if b.startswith("Open shift")]


def on_shift(svc, vid):
    with svc.sessions() as session:
        return session.get(Volunteer, vid).on_shift


def monday_shift(phones, svc, clock):
    """Alex holds mon 09:00-12:00; Sam is free; it is Monday 05:00 in New York."""
    clock.now = at(MONDAY, 5)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    phones.work()
    assert reminders(phones, ALEX) == []
    clock.now = at(MONDAY, 6, 0, 1)  # three hours before
    phones.work()
    assert len(reminders(phones, ALEX)) == 1
    return alex, sam, shift_number(reminders(phones, ALEX)[0])


def test_ok_confirms_and_nothing_more_happens(phones, svc, clock):
    alex, _sam, n = monday_shift(phones, svc, clock)
    assert "Mon Jan 4 09:00-12:00" in reminders(phones, ALEX)[0]
    reply = phones.replies(phones.text(ALEX, "ok!"))
    assert f"shift #{n}" in reply[0] and "confirmed" in reply[0]
    clock.now = at(MONDAY, 8, 30)
    phones.work()
    assert phones.bodies(ONCALL) == [] and offers_of_shifts(phones, SAM) == []
    assert len(reminders(phones, ALEX)) == 1  # once
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert on_shift(svc, alex)


def test_cant_gives_it_up_and_the_first_take_gets_it(phones, svc, clock):
    alex, sam, n = monday_shift(phones, svc, clock)
    kim = add_volunteer(svc, "Kim", KIM)
    question, notices = confirmed(phones, ALEX, "CANT")
    assert f"give up shift #{n} (Mon Jan 4 09:00-12:00)" in question
    assert len(notices) == 1 and "offered to other peers" in notices[0]
    assert any("Alex can't make shift" in b for b in phones.bodies(ONCALL))
    assert offers_of_shifts(phones, SAM) and offers_of_shifts(phones, KIM)
    assert offers_of_shifts(phones, ALEX) == []
    assert f"#{n}" in phones.replies(phones.text(KIM, "OPEN"))[0]
    assert "It's yours" in phones.replies(phones.text(SAM, f"take {n}"))[0]
    assert "no longer open" in phones.replies(phones.text(KIM, f"TAKE {n}"))[0]
    phones.work()
    assert any("Sam took shift" in b for b in phones.bodies(ONCALL))
    assert "No open shifts" in phones.replies(phones.text(KIM, "OPEN"))[0]
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert on_shift(svc, sam) and not on_shift(svc, alex) and not on_shift(svc, kim)


def test_a_faked_cant_or_swap_gives_nothing_away(phones, svc, clock):
    """Someone faking Alex's number can ask, but the code goes to Alex's real phone: a
    wrong, missing or stale code changes nothing, and Alex sees every question."""
    alex, sam, n = monday_shift(phones, svc, clock)
    question = phones.replies(phones.text(ALEX, f"CANT {n}"))[0]
    assert "Not you? Ignore this" in question
    code = CONFIRM.search(question).group(1).split()[-1]
    wrong = "0000" if code != "0000" else "1111"
    for word in (f"YES CANT {n} {wrong}", f"CANT {n} {wrong}", f"YES SWAP {n} {wrong}"):
        assert "doesn't match" in phones.replies(phones.text(ALEX, word))[0], word
    assert CONFIRM.search(phones.replies(phones.text(ALEX, f"YES CANT {n}"))[0])  # asks
    clock.advance(31 * 60)  # past the code's second window
    assert "too old" in phones.replies(phones.text(ALEX, f"YES CANT {n} {code}"))[0]
    phones.work()
    assert offers_of_shifts(phones, SAM) == [] and phones.bodies(ONCALL) == []
    with svc.sessions() as session:
        slot = session.get(ShiftSlot, int(n))
        assert (slot.volunteer_id, slot.open_since) == (alex, None)
    assert "Thanks" in phones.replies(phones.text(ALEX, "OK"))[0]  # still Alex's to confirm


def test_guessing_the_code_by_faked_texts_locks_after_a_few(phones, svc, clock):
    """Four digits could all be tried from a faked number: wrong codes count like wrong
    PINs; at the limit the on-call hears, and even the right code is refused meanwhile."""
    alex, sam, n = monday_shift(phones, svc, clock)
    code = CONFIRM.search(phones.replies(phones.text(ALEX, f"CANT {n}"))[0]).group(1)
    code = code.split()[-1]
    wrongs = [f"{i:04d}" for i in range(10) if f"{i:04d}" != code][:5]
    answers = [phones.replies(phones.text(ALEX, f"YES CANT {n} {w}"))[0] for w in wrongs]
    assert all("doesn't match" in a for a in answers[:4]), answers
    assert "Too many wrong codes" in answers[4]
    assert "Too many wrong codes" in phones.replies(phones.text(ALEX, f"YES CANT {n} {code}"))[0]
    phones.work()
    assert any("wrong codes texted" in b for b in phones.bodies(ONCALL))
    assert offers_of_shifts(phones, SAM) == []
    with svc.sessions() as session:
        slot = session.get(ShiftSlot, int(n))
        assert (slot.volunteer_id, slot.open_since) == (alex, None)


def test_wrong_codes_by_text_never_lock_the_volunteers_voice_access(phones, svc, clock):
    """From can be faked: a guesser texting wrong shift codes locks the codes only. Alex's
    voice PIN still opens a call, and wrong PINs on a call do not lock the codes."""
    alex, sam, n = monday_shift(phones, svc, clock)
    set_pin(svc, ALEX, PIN)
    code = CONFIRM.search(phones.replies(phones.text(ALEX, f"CANT {n}"))[0]).group(1)
    code = code.split()[-1]
    for wrong in [f"{i:04d}" for i in range(10) if f"{i:04d}" != code][:5]:
        phones.text(ALEX, f"YES CANT {n} {wrong}")
    with svc.sessions() as session:
        person = session.get(Volunteer, alex)
        assert person.code_locked_until is not None and person.pin_locked_until is None
    pin_call(phones, ALEX, PIN)  # voice access is untouched
    for _ in range(2):  # and a voice lock after it is still its own alert to the on-call
        leg, _doc, call_id = ivr_call(phones, ALEX)
        for _try in range(3):
            leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
    with svc.sessions() as session:
        kinds = set(session.scalars(select(Alert.kind)))
    assert {f"code_lock-{alex}", f"pin_lock-{alex}"} <= kinds, kinds
    # And the other way: wrong PINs on calls leave Sam's codes alone.
    set_pin(svc, SAM, "4321")
    for _ in range(2):
        leg, _doc, call_id = ivr_call(phones, SAM)
        for _try in range(3):
            leg.doc(f"/voice/volunteer/pin?call={call_id}", Digits="9999")
    with svc.sessions() as session:
        person = session.get(Volunteer, sam)
        assert person.pin_locked_until is not None and person.code_locked_until is None
        assert person.code_failures == 0


def test_nobody_answers_the_coordinator_hears_and_it_is_offered(phones, svc, clock):
    alex, sam, n = monday_shift(phones, svc, clock)
    clock.now = at(MONDAY, 7, 59)
    phones.work()
    assert phones.bodies(ONCALL) == []
    clock.now = at(MONDAY, 8, 0, 1)  # an hour before, no OK
    phones.work()
    assert any("has not confirmed" in b for b in phones.bodies(ONCALL))
    assert len(offers_of_shifts(phones, SAM)) == 1
    phones.work()
    assert len(offers_of_shifts(phones, SAM)) == 1  # once
    # Nobody takes it: it stays Alex's, and the schedule puts Alex on.
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert on_shift(svc, alex) and not on_shift(svc, sam)
    assert "no longer open" in phones.replies(phones.text(SAM, f"TAKE {n}"))[0]


def test_unconfirmed_then_someone_takes_it_and_the_holder_is_told(phones, svc, clock):
    alex, sam, n = monday_shift(phones, svc, clock)
    clock.now = at(MONDAY, 8, 0, 1)
    phones.work()
    assert "It's yours" in phones.replies(phones.text(SAM, f"TAKE #{n}"))[0]
    phones.work()
    assert any("Another peer took your shift" in b for b in phones.bodies(ALEX))
    assert "no shift reminder" in phones.replies(phones.text(ALEX, "OK"))[0]
    clock.now = at(MONDAY, 9, 0, 1)
    phones.work()
    assert on_shift(svc, sam) and not on_shift(svc, alex)


def test_late_ok_keeps_an_unconfirmed_shift(phones, svc, clock):
    alex, sam, n = monday_shift(phones, svc, clock)
    clock.now = at(MONDAY, 8, 0, 1)
    phones.work()
    assert "confirmed" in phones.replies(phones.text(ALEX, "OK"))[0]
    assert "no longer open" in phones.replies(phones.text(SAM, f"TAKE {n}"))[0]


def test_take_refuses_a_busy_peer_and_one_over_the_weekly_limit(phones, svc, clock,
                                                                 settings):
    alex, sam, n = monday_shift(phones, svc, clock)
    kim = add_volunteer(svc, "Kim", KIM)
    schedule(svc, sam, "11:00", "13:00", day="mon")  # overlaps Alex's 09:00-12:00
    for day in ("tue", "wed", "thu", "fri", "sat", "sun"):
        schedule(svc, kim, "08:00", "11:00", day=day)  # 18 h that week (limit 20)
    confirmed(phones, ALEX, "CANT")
    assert offers_of_shifts(phones, SAM) == [] and offers_of_shifts(phones, KIM) == []
    assert "already have a shift then" in phones.replies(phones.text(SAM, f"TAKE {n}"))[0]
    assert "over 20 hours" in phones.replies(phones.text(KIM, f"TAKE {n}"))[0]
    assert "no open shift #999" in phones.replies(phones.text(KIM, "TAKE 999"))[0].lower()
    assert "for example TAKE 12" in phones.replies(phones.text(KIM, "TAKE"))[0]


def test_swap_offers_a_shift_that_stays_yours_until_taken(phones, svc, clock):
    clock.now = at(MONDAY, 5)
    alex = add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    schedule(svc, alex, "09:00", "12:00", on_date=str(MONDAY + timedelta(days=2)))
    schedule(svc, alex, "09:00", "12:00", day="fri")
    listing = phones.replies(phones.text(ALEX, "SHIFTS"))[0]
    assert "Wed Jan 6 09:00-12:00" in listing and "Fri Jan 8 09:00-12:00" in listing
    assert listing.index("Wed") < listing.index("Fri")
    n = shift_number(listing)
    question, notices = confirmed(phones, ALEX, f"SWAP {n}")
    assert f"offer shift #{n} (Wed Jan 6 09:00-12:00) to other peers" in question
    assert len(notices) == 1 and "stays yours" in notices[0]
    assert "already offered" in phones.replies(phones.text(ALEX, f"SWAP {n}"))[0]
    assert "no upcoming shift" in phones.replies(phones.text(SAM, f"SWAP {n}"))[0]
    assert len(offers_of_shifts(phones, SAM)) == 1
    assert phones.bodies(ONCALL) == []  # a swap is the volunteer's own arrangement
    assert "It's yours" in phones.replies(phones.text(SAM, f"TAKE {n}"))[0]
    assert "Wed" not in phones.replies(phones.text(ALEX, "SHIFTS"))[0]
    assert "Wed Jan 6" in phones.replies(phones.text(SAM, "SHIFTS"))[0]


def test_shifts_none_and_help_mentions_the_commands(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert "no shifts in the next 14 days" in phones.replies(phones.text(ALEX, "shifts"))[0]
    help_text = phones.replies(phones.text(ALEX, "HELP"))[0]
    for word in ("SHIFTS", "OK", "CANT", "OPEN", "TAKE", "SWAP"):
        assert word in help_text


def test_reminders_follow_the_line_clock_across_both_dst_changes(phones, svc, clock):
    spring, fall = date(2027, 3, 14), date(2027, 11, 7)
    clock.now = at(spring - timedelta(days=7), 5)
    alex = add_volunteer(svc, "Alex", ALEX)
    schedule(svc, alex, "09:00", "10:00", day="sun")

    def reminded(sunday):
        with svc.sessions() as session:
            slot = session.scalar(select(ShiftSlot).where(ShiftSlot.starts_at == at(sunday, 9)))
            return slot is not None and slot.reminded_at is not None

    for sunday in (spring - timedelta(days=7), spring, fall - timedelta(days=7), fall):
        clock.now = at(sunday, 5, 59)
        phones.work()
        assert not reminded(sunday), sunday
        clock.now = at(sunday, 6, 0, 1)
        phones.work()
        assert reminded(sunday), sunday
        assert f"{sunday:%b} {sunday.day} 09:00-10:00" in reminders(phones, ALEX)[-1]
    # The same wall-clock reminder is an hour apart in UTC across each change.
    assert at(spring, 6) - at(spring - timedelta(days=7), 6) == timedelta(days=7, hours=-1)
    assert at(fall, 6) - at(fall - timedelta(days=7), 6) == timedelta(days=7, hours=1)


def test_two_takes_at_once_one_wins(app, svc, clock):
    needs_postgres(svc)
    clock.now = at(MONDAY, 5)
    alex = add_volunteer(svc, "Alex", ALEX)
    takers = [add_volunteer(svc, f"T{i}", f"+1555010050{i}") for i in range(4)]
    schedule(svc, alex, "09:00", "12:00", day="mon")
    phones = Phones(app, app.test_client())
    phones.work()
    clock.now = at(MONDAY, 6, 0, 1)
    phones.work()
    n = shift_number(reminders(phones, ALEX)[0])
    confirmed(phones, ALEX, "CANT")
    barrier = threading.Barrier(len(takers))
    replies: list[str] = []
    errors: list[BaseException] = []

    def take(i: int) -> None:
        with app.app_context():
            taker = Phones(app, app.test_client())
            barrier.wait()
            try:
                replies.append(taker.replies(taker.text(f"+1555010050{i}", f"TAKE {n}",
                                                        to=LINE))[0])
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(takers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum("It's yours" in r for r in replies) == 1, replies
    assert sum("no longer open" in r for r in replies) == len(takers) - 1, replies
    with svc.sessions() as session:
        slot = session.scalar(select(ShiftSlot).where(ShiftSlot.id == int(n)))
        assert slot.volunteer_id in takers and slot.open_since is None
