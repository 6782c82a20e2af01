"""The feedback question after a group meeting: when it goes (after the end, never during,
once), to whom (attendees only, from the number they signed up on) and its exclusions
(crisis in it, the hotline from the group, STOP, removed, withheld, in a text
conversation); the answer, and the dashboard's split of conversation and group feedback."""

from __future__ import annotations

from sqlalchemy import select, text

from peerline.models import Feedback, GroupMeeting

from .dashboard_helpers import signed_in
from .helpers import LINE2
from .test_groups import (
    SURV,
    SURV2,
    SURV3,
    conference_event,
    group_caller,
    joins,
    lead_call,
    pin_of,
    reply,
    signed_up,
)
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import Survivor

QUESTION = "how much did the group help"
DAN = "+15550199304"
EVE = "+15550199305"
GUS = "+15550199306"
HAL = "+15550199307"


def attend(phones, number: str, pin: str) -> Survivor:
    """``number`` calls, keys ``pin`` and joins the conference (counted)."""
    caller = group_caller(phones, number)
    assert joins(caller, pin).has("Conference")
    conference_event(phones, caller, "participant-join")
    return caller


def asked(phones, number: str) -> list[str]:
    return [b for b in phones.bodies(number) if QUESTION in b]


def test_asked_once_after_the_facilitator_ends_it_never_during(app, phones, svc, clock):
    pin = signed_up(phones, svc)  # a group in 5 minutes, an hour long, led by Alex
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1", to=LINE2))
    reply(phones, SURV3, "JOIN 1")  # signed up, never calls: not an attendee
    leg, _, call_id = lead_call(phones)
    conference_event(phones, leg, "conference-start")
    callers = [attend(phones, SURV, pin), attend(phones, SURV2, pin2)]
    clock.advance(20 * 60)
    phones.work()
    assert [asked(phones, n) for n in (SURV, SURV2, SURV3)] == [[], [], []]  # going on
    ended = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="9")
    assert "ended" in ended.said
    for caller in callers:
        caller.status("completed")
    phones.work()
    clock.advance(100)  # (the harness lets a wait of under 3 s pass by itself)
    phones.work()
    assert [asked(phones, n) for n in (SURV, SURV2)] == [[], []]  # not straight away
    clock.advance(21)
    phones.work()
    assert len(asked(phones, SURV)) == 1 and len(asked(phones, SURV2)) == 1
    assert asked(phones, SURV3) == []
    assert "Healing together" in asked(phones, SURV)[0]
    assert phones.received(SURV2)[-1][0] == LINE2  # from the number they signed up on
    clock.advance(3600)  # the scheduled end passes too: nobody is asked twice
    phones.work()
    assert len(asked(phones, SURV)) == 1 and len(asked(phones, SURV2)) == 1
    thanks = phones.replies(phones.text(SURV, "5 grateful"))
    assert thanks == ["Thank you for telling us. Text this number any time to talk again."]
    with svc.sessions() as session:
        meeting = session.scalar(select(GroupMeeting.id))
        rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(r.group_meeting_id, r.conversation_id) for r in rows] == [(meeting, None)] * 2
        assert sorted((r.score, r.words) for r in rows if r.score) == [(5, "grateful")]
        assert "grateful" not in session.execute(text(
            "SELECT words FROM feedback WHERE score = 5")).scalar()  # sealed
    page = signed_in(app, svc, "viewer").get("/dashboard/feedback").get_data(as_text=True)
    assert 'data-kind="group-asked">2<' in page and 'data-kind="group-answered">1<' in page
    assert 'data-kind-score="group-5">1<' in page
    assert 'data-kind="conversation-asked">0<' in page and 'data-score="5">1<' in page
    assert "grateful" not in page


def test_asked_after_the_scheduled_end_when_nobody_ends_it(phones, svc, clock):
    clock.now = clock.now.replace(second=0, microsecond=0)  # the group starts on a minute
    pin = signed_up(phones, svc)
    leg, _, _ = lead_call(phones)
    conference_event(phones, leg, "conference-start")
    attend(phones, SURV, pin)
    clock.advance(5 * 60 + 59 * 60)  # a minute before the scheduled end
    phones.work()
    assert asked(phones, SURV) == []
    clock.advance(60 + 100)
    phones.work()
    assert asked(phones, SURV) == []
    clock.advance(21)
    phones.work()
    assert len(asked(phones, SURV)) == 1


def test_nobody_is_asked_when_the_facilitator_never_came(phones, svc, clock):
    pin = signed_up(phones, svc)
    attend(phones, SURV, pin)  # waited with the hold music: the conference never started
    clock.advance(2 * 3600)
    phones.work()
    assert asked(phones, SURV) == []
    with svc.sessions() as session:
        assert session.scalar(select(GroupMeeting.attended)) == 1
        assert session.scalars(select(Feedback)).all() == []


def test_never_after_a_crisis_the_hotline_stop_removal_withheld_or_mid_conversation(
        phones, svc, clock):
    pin = signed_up(phones, svc)
    pins = {n: pin_of(reply(phones, n, "JOIN 1")) for n in (SURV2, SURV3, DAN, EVE, GUS, HAL)}
    leg, _, call_id = lead_call(phones)
    conference_event(phones, leg, "conference-start")
    attend(phones, SURV, pin)  # the only one asked
    hotline = attend(phones, SURV2, pins[SURV2])  # * then 9: the hotline from the group
    hotline.doc(f"/voice/group/star?call={hotline.call_id}")
    assert hotline.doc(f"/voice/group/option?call={hotline.call_id}", Digits="9").has("Dial")
    attend(phones, SURV3, pins[SURV3])  # texts crisis words during the group
    phones.text(SURV3, "I want to kill myself")
    phones.text(SURV3, "#END")  # that conversation is over by the time we ask
    attend(phones, DAN, pins[DAN])  # says STOP after the group, before the question
    removed = attend(phones, EVE, pins[EVE])  # removed by the facilitator
    conference_event(phones, removed, "participant-speech-start")
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="4")
    withheld = Survivor(phones, "Anonymous")  # keys GUS's PIN; GUS never calls
    withheld.call()
    withheld.choose("7")
    assert joins(withheld, pins[GUS]).has("Conference")
    conference_event(phones, withheld, "participant-join")
    attend(phones, HAL, pins[HAL])  # in a text conversation with a peer when we ask
    add_volunteer(svc, "Sam", SAM)
    phones.pair(SAM, HAL)
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="9")
    phones.work()
    phones.text(DAN, "STOP")
    clock.advance(121)
    phones.work()
    assert len(asked(phones, SURV)) == 1
    for number in (SURV2, SURV3, DAN, EVE, GUS, HAL):
        assert asked(phones, number) == [], number
    assert not any(QUESTION in b for b in phones.bodies(SAM))  # nothing reached the peer
    with svc.sessions() as session:
        assert len(session.scalars(select(Feedback)).all()) == 1
    assert ALEX


def test_not_asked_on_a_phone_that_did_not_sign_up(phones, svc, clock):
    """Found in an attack review: the question (naming the group's topic) went to the
    caller ID, so a PIN keyed from another phone, or under a faked caller ID, made the
    line text a number that never signed up about a trauma group it never joined."""
    pin = signed_up(phones, svc)  # SURV signed up
    leg, _, call_id = lead_call(phones)
    conference_event(phones, leg, "conference-start")
    caller = attend(phones, DAN, pin)  # SURV's PIN, DAN's caller ID
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="9")
    caller.status("completed")
    clock.advance(200)
    phones.work()
    assert asked(phones, DAN) == []
    assert asked(phones, SURV) == []  # did not call: not asked either


def test_a_faked_caller_id_removed_costs_the_real_owner_nothing(phones, svc, clock):
    """Someone showing SURV2's number, seated by SURV's PIN and removed: the real SURV2,
    who attended with her own PIN, is still asked; the removed sign-up is not."""
    pin = signed_up(phones, svc)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    leg, _, call_id = lead_call(phones)
    conference_event(phones, leg, "conference-start")
    faker = attend(phones, SURV2, pin)  # SURV's PIN under SURV2's caller ID
    conference_event(phones, faker, "participant-speech-start")
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="4")
    faker.status("completed")
    real = attend(phones, SURV2, pin2)
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="9")
    real.status("completed")
    clock.advance(200)
    phones.work()
    assert len(asked(phones, SURV2)) == 1
    assert asked(phones, SURV) == []
