"""Volunteers' wellbeing against pairing and rings, on the fake clock: the cool-down and
check-in after a crisis conversation, TALK, and the caps per shift and per week."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerline.models import Call, Conversation, Volunteer
from peerline.people import wellbeing
from peerline.voice import status_callbacks

from .helpers import LINE, Phones
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import CALLER, queued_caller, rings_to, volunteers_on

ONCALL = "+15550109999"
SURV1 = "+15550199401"
SURV2 = "+15550199402"
SURV3 = "+15550199403"
SURV4 = "+15550199404"
CRISIS_WORDS = "I want to die"


@pytest.fixture
def settings(settings, request):
    """The suite's settings; a test may add some with ``indirect`` parametrisation."""
    settings.update(getattr(request, "param", {}))
    return settings


def checkins(phones: Phones) -> list[tuple[str, str]]:
    """(line number, body) of the check-ins ALEX received (texts of one moment may
    arrive in any order, so they are looked for, not taken as the last one)."""
    return [(n, b) for n, b in phones.received(ALEX) if "How are you doing?" in b]


def offers(phones: Phones, number: str) -> list[str]:
    return [b for b in phones.bodies(number) if b.startswith(("Offer", "CRISIS OFFER"))]


def set_volunteer(svc, phone: str, **values) -> None:
    with svc.sessions.begin() as session:
        volunteer = session.scalar(select(Volunteer).where(
            Volunteer.phone_hash == svc.line.vault.hash(phone)))
        for name, value in values.items():
            setattr(volunteer, name, value)


def crisis_conversation_ended(phones: Phones, svc) -> str:
    """Alex talks with SURV1, who says crisis words; Alex ends it. The line number used."""
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    number = phones.pair(ALEX, SURV1)
    phones.text(SURV1, CRISIS_WORDS)
    phones.work()
    phones.text(ALEX, "#END", to=number)
    phones.work()
    return number


# --- the cool-down and the check-in ----------------------------------------------------

def test_after_a_crisis_conversation_a_cool_down_and_a_check_in(phones, svc, clock):
    number = crisis_conversation_ended(phones, svc)
    [checkin] = checkins(phones)
    assert checkin[0] == number and "TALK" in checkin[1]
    assert "15 min" in checkin[1]
    status = phones.replies(phones.text(ALEX, "STATUS"))[0]
    assert "cooling down after a crisis, 15 min left" in status

    phones.text(SURV2, "hello, anyone there?")
    phones.work()
    phones.text(SURV3, CRISIS_WORDS)  # a crisis broadcast waits for the cool-down too
    phones.work()
    assert offers(phones, ALEX) == [offers(phones, ALEX)[0]]  # only SURV1's, long ago
    clock.advance(14 * 60)
    phones.work()
    assert len(offers(phones, ALEX)) == 1
    clock.advance(60 + 1)  # the cool-down runs out: the crisis is offered first
    phones.work()
    assert len(offers(phones, ALEX)) == 3
    assert offers(phones, ALEX)[1].startswith("CRISIS OFFER")


def test_back_does_not_end_a_cool_down(phones, svc):
    crisis_conversation_ended(phones, svc)
    assert "not on a break" in phones.replies(phones.text(ALEX, "BACK"))[0]
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1


def test_an_ordinary_ending_has_no_cool_down(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    number = phones.pair(ALEX, SURV1)
    phones.text(ALEX, "#END", to=number)
    phones.work()
    assert not any("How are you doing" in b for b in phones.bodies(ALEX))
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 2


def test_a_survivor_leaving_a_crisis_conversation_starts_the_cool_down(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.pair(ALEX, SURV1)
    phones.text(SURV1, CRISIS_WORDS)
    phones.work()
    phones.text(SURV1, "STOP")
    phones.work()
    assert len(checkins(phones)) == 1
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1


@pytest.mark.parametrize("settings", [{"PEERLINE_COOLDOWN_S": 120}], indirect=True)
def test_the_cool_down_length_is_a_setting(phones, svc, clock):
    crisis_conversation_ended(phones, svc)
    assert "2 min" in checkins(phones)[0][1]
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1
    clock.advance(121)
    phones.work()
    assert len(offers(phones, ALEX)) == 2


def test_a_voice_call_does_not_ring_a_volunteer_cooling_down(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    set_volunteer(svc, ALEX, cooldown_until=clock() + timedelta(minutes=10))
    queued_caller(phones, CALLER)
    phones.work()
    assert rings_to(phones, ALEX) == []
    assert len(rings_to(phones, SAM)) == 1


def test_a_crisis_call_a_volunteer_answered_starts_their_cool_down(phones, svc, clock):
    volunteers_on(svc, (ALEX, "en"))
    with svc.sessions.begin() as session:
        alex = session.scalar(select(Volunteer).where(
            Volunteer.phone_hash == svc.line.vault.hash(ALEX)))
        call = Call(sid="CA" + "7" * 32, line_number=LINE, created_at=clock(),
                    answered_at=clock(), priority=1, volunteer_id=alex.id, stage="bridged")
        session.add(call)
        session.flush()
        status_callbacks.call_over(session, svc.line, call, "completed", 300)
    phones.work()
    assert len(checkins(phones)) == 1
    phones.text(SURV2, "hi")
    phones.work()
    assert offers(phones, ALEX) == []


# --- TALK --------------------------------------------------------------------------------

def test_talk_alerts_the_on_call_coordinator_without_survivor_detail(phones, svc):
    crisis_conversation_ended(phones, svc)
    before = len(phones.bodies(ONCALL))
    reply = phones.replies(phones.text(ALEX, "talk"))[0]
    assert "on-call coordinator has been asked" in reply
    phones.work()
    alerts = phones.bodies(ONCALL)[before:]
    assert len(alerts) == 1
    alert = alerts[0]
    assert "Alex" in alert and "TALK" in alert
    with svc.sessions() as session:
        cid = session.scalar(select(Conversation.id))
        vid = session.scalar(select(Volunteer.id).where(Volunteer.name == "Alex"))
    assert f"(#{vid})" in alert  # the volunteer is named; nothing of the conversation is
    for secret in (SURV1, SURV1[-4:], "die", f"#{cid}"):
        assert secret not in alert.replace(f"(#{vid})", "")
    assert "asked a few minutes ago" in phones.replies(phones.text(ALEX, "TALK"))[0]
    phones.work()
    assert len(phones.bodies(ONCALL)) == before + 1


@pytest.mark.parametrize("settings", [{"PEERLINE_ONCALL_NUMBER": ""}], indirect=True)
def test_talk_with_no_on_call_coordinator_says_so(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert "No on-call coordinator" in phones.replies(phones.text(ALEX, "TALK"))[0]


def test_talk_inside_a_conversation_is_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV1)
    phones.text(ALEX, "talk", to=number)
    phones.work()
    assert phones.received(SURV1)[-1] == (LINE, "talk")


# --- caps --------------------------------------------------------------------------------

def take_and_end(phones: Phones, survivor: str) -> None:
    """ALEX (on shift) takes ``survivor``'s new conversation and ends it."""
    phones.text(survivor, "hi")
    phones.work()
    number = phones.received(ALEX)[-1][0]
    phones.text(ALEX, "YES", to=number)
    phones.work()
    phones.text(ALEX, "#END", to=number)
    phones.work()


@pytest.mark.parametrize("settings", [{"PEERLINE_CAP_PER_SHIFT": 2}], indirect=True)
def test_the_shift_cap_stops_ordinary_offers_until_a_new_shift(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.text(ALEX, "ON")
    take_and_end(phones, SURV1)
    take_and_end(phones, SURV2)
    phones.text(SURV3, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 2
    assert "wellbeing cap reached: 2 this shift" in phones.replies(
        phones.text(ALEX, "STATUS"))[0]
    phones.text(ALEX, "OFF")
    clock.advance(60)
    phones.text(ALEX, "ON")  # a new shift: the shift cap starts again
    phones.work()
    assert len(offers(phones, ALEX)) == 3


@pytest.mark.parametrize("settings", [{"PEERLINE_CAP_PER_SHIFT": 1},
                                      {"PEERLINE_CAP_PER_SHIFT": 0, "PEERLINE_CAP_PER_WEEK": 1}],
                         indirect=True)
def test_an_open_offer_counts_towards_the_cap(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.text(ALEX, "ON")
    phones.text(SURV1, "hi")
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1


@pytest.mark.parametrize("settings", [{"PEERLINE_CAP_PER_SHIFT": 0,
                                       "PEERLINE_CAP_PER_WEEK": 2}], indirect=True)
def test_the_week_cap_holds_across_shifts_for_seven_days(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.text(ALEX, "ON")
    take_and_end(phones, SURV1)
    take_and_end(phones, SURV2)
    phones.text(ALEX, "OFF")
    phones.text(ALEX, "ON")
    phones.text(SURV3, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 2
    clock.advance(7 * 86400 + 60)
    phones.text(ALEX, "ON")
    phones.work()
    assert len(offers(phones, ALEX)) == 3


def test_a_volunteers_own_cap_overrides_the_line_and_crises_still_reach_them(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    set_volunteer(svc, ALEX, cap_per_shift=1)
    phones.text(ALEX, "ON")
    take_and_end(phones, SURV1)
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1
    phones.text(SURV3, CRISIS_WORDS)  # decided: caps never hold back a crisis broadcast
    phones.work()
    assert len(offers(phones, ALEX)) == 2 and offers(phones, ALEX)[-1].startswith("CRISIS")


def test_a_capped_volunteer_is_not_rung_for_an_ordinary_call(phones, svc):
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    set_volunteer(svc, ALEX, cap_per_shift=1)
    set_volunteer(svc, SAM, capacity=1)
    take_and_end(phones, SURV1)  # Alex is the first free one: they take it
    queued_caller(phones, CALLER)
    phones.work()
    assert rings_to(phones, ALEX) == []
    assert len(rings_to(phones, SAM)) == 1


# --- the coordinator's view ------------------------------------------------------------

def test_who_had_several_crises_this_week(phones, svc, clock):
    crisis_conversation_ended(phones, svc)
    clock.advance(16 * 60)
    phones.work()
    number = phones.pair(ALEX, SURV2)
    phones.text(SURV2, CRISIS_WORDS)
    phones.work()
    phones.text(ALEX, "#END", to=number)
    add_volunteer(svc, "Sam", SAM)
    phones.pair(SAM, SURV3)
    phones.work()
    with svc.sessions() as session:
        rows = wellbeing.crisis_week(session, svc.line)
    assert [(r.name, r.crises, r.taken, r.several, r.cooling_down) for r in rows] == [
        ("Alex", 2, 2, True, True), ("Sam", 0, 1, False, False)]
    with svc.sessions() as session:
        later = wellbeing.crisis_week(session, svc.line, clock() + timedelta(days=8))
    assert later == []


def test_a_capped_volunteer_first_in_line_is_skipped_for_the_next(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    add_volunteer(svc, "Sam", SAM, capacity=3)
    set_volunteer(svc, ALEX, cap_per_shift=1)
    phones.text(ALEX, "ON")
    take_and_end(phones, SURV1)
    clock.advance(60)
    phones.text(SAM, "ON")  # Alex has been idle longer, so Alex would be asked first
    phones.text(SURV2, "hi")
    phones.work()
    assert len(offers(phones, ALEX)) == 1
    assert len(offers(phones, SAM)) == 1


@pytest.mark.parametrize("settings", [{"PEERLINE_CAP_PER_SHIFT": 5,
                                       "PEERLINE_CAP_PER_WEEK": 20}], indirect=True)
def test_roster_caps_sets_and_clears_a_volunteers_own_caps(app, svc):
    add_volunteer(svc, "Alex", ALEX)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["roster", "caps", "--phone", ALEX, "--per-shift", "3"])
    assert out.exit_code == 0, out.output
    assert "at most 3 conversations per shift, 20 per 7 days" in out.output
    out = runner.invoke(args=["roster", "caps", "--phone", ALEX, "--per-week", "0"])
    assert "at most 5 conversations per shift, any number per 7 days" in out.output
    assert runner.invoke(args=["roster", "caps", "--phone", ALEX,
                               "--per-shift", "-1"]).exit_code != 0
    assert runner.invoke(args=["roster", "caps", "--phone", "+15550100077"]).exit_code != 0
