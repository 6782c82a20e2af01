"""Volunteers' breaks by text: BREAK pauses new offers and rings, BACK or time ends it."""

from __future__ import annotations

import pytest

from .helpers import LINE, Phones
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import CALLER, queued_caller, rings_to, volunteers_on

SURV1 = "+15550199301"
SURV2 = "+15550199302"
SURV3 = "+15550199303"


def offers(phones: Phones, number: str) -> list[str]:
    return [body for body in phones.bodies(number) if "Offer" in body or "OFFER" in body]


def free_number(phones: Phones, volunteer: str, used: str) -> str:
    return next(n for n in phones.svc.line.numbers if n != used)


def test_break_is_confirmed_no_offer_during_it_and_live_conversations_relay(phones, svc,
                                                                             clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    number = phones.pair(ALEX, SURV1)
    other = free_number(phones, ALEX, number)
    reply = phones.replies(phones.text(ALEX, "break 15.", to=other))
    assert len(reply) == 1 and "break for 15 min" in reply[0] and "BACK" in reply[0]
    before = len(offers(phones, ALEX))

    phones.text(SURV2, "hello, anyone there?")
    phones.work()
    phones.text(SURV3, "I want to die")  # a crisis broadcast skips them too
    phones.work()
    assert len(offers(phones, ALEX)) == before
    # The live conversation goes on, both ways; BREAK there would be relayed.
    phones.text(SURV1, "still here")
    phones.work()
    assert phones.received(ALEX)[-1] == (number, "still here")
    phones.text(ALEX, "glad you are", to=number)
    phones.work()
    assert phones.received(SURV1)[-1] == (LINE, "glad you are")
    clock.advance(14 * 60)
    phones.work()
    assert len(offers(phones, ALEX)) == before


def test_back_ends_the_break_and_a_waiting_survivor_is_offered(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    reply = phones.replies(phones.text(ALEX, "Break"))
    assert "break for 15 min" in reply[0]
    assert "on a break, 15 min left" in phones.replies(phones.text(ALEX, "STATUS"))[0]
    phones.text(SURV1, "hi")
    phones.work()
    assert offers(phones, ALEX) == []
    assert "offers can reach you again" in phones.replies(phones.text(ALEX, "back!"))[0]
    phones.work()
    assert len(offers(phones, ALEX)) == 1
    assert "not on a break" in phones.replies(phones.text(ALEX, "BACK"))[0]


def test_a_break_running_out_brings_offers_back(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(ALEX, "BREAK 5")
    phones.text(SURV1, "hi")
    phones.work()
    assert offers(phones, ALEX) == []
    clock.advance(5 * 60 + 1)
    phones.work()
    assert len(offers(phones, ALEX)) == 1


@pytest.mark.parametrize("body", ["BREAK 0", "BREAK 500", "BREAK abc", "break -5"])
def test_out_of_range_minutes_get_a_friendly_reply_and_no_break(phones, svc, body):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    reply = phones.replies(phones.text(ALEX, body))
    assert len(reply) == 1 and "1 to 120 minutes" in reply[0]
    phones.text(SURV1, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1


def test_help_mentions_break_and_back(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    reply = phones.replies(phones.text(ALEX, "HELP"))[0]
    assert "BREAK" in reply and "BACK" in reply


def test_a_voice_call_does_not_ring_a_volunteer_on_break(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    phones.text(ALEX, "BREAK 30")
    queued_caller(phones, CALLER)
    phones.work()
    assert rings_to(phones, ALEX) == []
    assert len(rings_to(phones, SAM)) == 1
