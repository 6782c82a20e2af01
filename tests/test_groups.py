"""Group sessions by conference call: schedule (CLI), sign-up by text, the reminder, joining
by phone with the session PIN, the facilitator's keypad, one-to-one help, attendance."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from peerline.config import ConfigError, finalise, from_environment
from peerline.groups import admin, conference
from peerline.groups.schedule import local_time, meetings_of, parse_day
from peerline.models import (
    AuditEntry,
    Call,
    Conversation,
    GroupAction,
    GroupMeeting,
    GroupPinFailures,
    GroupSession,
    GroupSignup,
    Volunteer,
)
from peerline.telephony.gateway import GatewayError

from .dashboard_helpers import post, signed_in
from .helpers import LINE, LINE2
from .test_text_line import ALEX, ONCALL, SAM, add_volunteer
from .test_voice import Leg, Survivor, rings_to, updates_for, volunteers_on
from .test_voice_ivr import PIN, pin_call, set_pin
from .test_voice_simulator import hook

SURV = "+15550199301"
SURV2 = "+15550199302"
SURV3 = "+15550199303"


def schedule(svc, *, in_minutes: float, capacity: int = 8, muted: bool = True,
             topic: str = "Healing together", lang: str = "en", minutes: int = 60) -> int:
    """A one-off group starting ``in_minutes`` from the line's now, led by Alex."""
    at = local_time(svc.line, svc.line.now() + timedelta(minutes=in_minutes))
    with svc.sessions.begin() as session:
        return admin.add_group(session, svc.line, topic=topic, lang=lang, day=None,
                               on_date=at.date(), start=f"{at:%H:%M}", minutes=minutes,
                               capacity=capacity, facilitator_phone=ALEX, muted=muted,
                               actor="test").id


def reply(phones, number: str, body: str, to: str = LINE) -> str:
    return " ".join(phones.replies(phones.text(number, body, to=to)))


def pin_of(text: str) -> str:
    found = re.search(r"PIN (\d{6})", text)
    assert found, text
    return found.group(1)


# --- the CLI -------------------------------------------------------------------------------

def test_groups_cli_add_list_remove(app, svc):
    add_volunteer(svc, "Alex", ALEX)
    runner = app.test_cli_runner()
    added = runner.invoke(args=["groups", "add", "--topic", "Loss", "--lang", "es", "--day",
                                "tue", "--start", "19:00", "--minutes", "60", "--capacity",
                                "8", "--facilitator", ALEX])
    assert added.exit_code == 0, added.output
    once = runner.invoke(args=["groups", "add", "--topic", "Once", "--lang", "en", "--date",
                               "2030-01-02", "--start", "9:30", "--minutes", "45",
                               "--capacity", "4", "--facilitator", ALEX])
    assert once.exit_code == 0, once.output
    listing = runner.invoke(args=["groups", "list"]).output
    assert "Loss\tes\tevery tue 19:00" in listing and "2030-01-02 09:30" in listing
    assert "facilitator Alex" in listing and ALEX not in listing and "0100001" not in listing
    for bad in (["--day", "someday"], ["--day", "mon", "--date", "2030-01-01"],
                ["--date", "2030-13-01"], ["--day", "mon", "--facilitator", SAM]):
        args = ["groups", "add", "--topic", "X", "--lang", "en", "--start", "10:00",
                "--minutes", "60", "--capacity", "3", "--facilitator", ALEX, *bad]
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "Error" in result.output, (bad, result.output)
    gid = re.search(r"#(\d+)\tLoss", listing).group(1)
    removed = runner.invoke(args=["groups", "remove", gid])
    assert removed.exit_code == 0 and "Loss" not in runner.invoke(args=["groups",
                                                                          "list"]).output
    assert runner.invoke(args=["groups", "remove", gid]).exit_code != 0


# --- sign-up by text -----------------------------------------------------------------------

def test_groups_join_leave_by_text_never_a_conversation(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    assert "no group sessions" in reply(phones, SURV, "GROUPS")
    schedule(svc, in_minutes=2 * 24 * 60)
    listing = reply(phones, SURV, "groups")
    assert "1) " in listing and "Healing together" in listing and "JOIN" in listing
    assert reply(phones, SURV, "JOIN") == listing  # JOIN alone lists them
    joined = reply(phones, SURV, "Join 1!")
    assert LINE in joined and "#" in joined and "Healing together" in joined
    pin = pin_of(joined)
    again = reply(phones, SURV, "JOIN 1")
    assert "already signed up" in again and pin in again
    assert "signed up" in reply(phones, SURV, "GROUPS")
    assert "no group number 7" in reply(phones, SURV, "JOIN 7")
    assert "You've left" in reply(phones, SURV, "LEAVE 1")
    assert "not signed up" in reply(phones, SURV, "LEAVE 1")
    with svc.sessions() as session:
        assert session.scalar(select(Conversation.id)) is None  # never opened one
        row = session.scalar(select(GroupSignup))
        assert row.status == "cancelled" and pin not in (row.pin_hash or "")
    # Spanish: GRUPOS answers in Spanish.
    assert "Próximos grupos" in reply(phones, SURV2, "GRUPOS")


def test_group_commands_inside_a_live_conversation_are_not_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    schedule(svc, in_minutes=2 * 24 * 60)
    number = phones.pair(SAM, SURV)
    before = len(phones.bodies(SAM))
    assert "PIN" in reply(phones, SURV, "JOIN 1", to=LINE)
    phones.work()
    assert len(phones.bodies(SAM)) == before  # the peer never saw it
    phones.text(SURV, "thank you")
    phones.work()
    assert phones.bodies(SAM)[-1].endswith("thank you") and number


def test_a_full_group_is_declined_politely(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    schedule(svc, in_minutes=2 * 24 * 60, capacity=1)
    assert "PIN" in reply(phones, SURV, "JOIN 1")
    full = reply(phones, SURV2, "JOIN 1")
    assert "is full" in full and "PIN" not in full


def test_reminder_texts_dial_in_and_pin_before_the_group(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    schedule(svc, in_minutes=3 * 60)
    pin = pin_of(reply(phones, SURV, "JOIN 1", to=LINE2))
    phones.work()
    assert phones.bodies(SURV) == []  # not yet: an hour before the start
    clock.advance(2 * 3600 + 30)
    phones.work()
    [(from_number, body)] = phones.received(SURV)
    assert from_number == LINE2 and body.startswith("Reminder:")
    assert pin in body and LINE2 in body
    clock.advance(600)
    phones.work()
    assert len(phones.bodies(SURV)) == 1  # once


def test_no_reminder_after_leave_stop_or_quick_exit(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    schedule(svc, in_minutes=3 * 60)
    for number in (SURV, SURV2, SURV3):
        reply(phones, number, "JOIN 1")
    reply(phones, SURV, "LEAVE 1")
    phones.text(SURV2, "STOP")
    phones.text(SURV3, "#ERASE")
    with svc.sessions() as session:  # the quick exit ended the sign-up at once
        assert [s.status for s in session.scalars(select(GroupSignup).order_by(
            GroupSignup.id))] == ["cancelled", "active", "cancelled"]
    clock.advance(2 * 3600 + 30)
    phones.work()
    assert [phones.bodies(n) for n in (SURV, SURV2, SURV3)] == [[], [], []]


# --- by phone ------------------------------------------------------------------------------

def signed_up(phones, svc, number: str = SURV, **kwargs) -> str:
    """Alex leads a group starting in 5 minutes; ``number`` signed up: their PIN."""
    if not _has_alex(svc):
        add_volunteer(svc, "Alex", ALEX)
        set_pin(svc, ALEX, PIN)
        schedule(svc, in_minutes=5, **kwargs)
    return pin_of(reply(phones, number, "JOIN 1"))


def _has_alex(svc) -> bool:
    with svc.sessions() as session:
        return session.scalar(select(Volunteer.id).where(
            Volunteer.phone_hash == svc.line.vault.hash(ALEX))) is not None


def group_caller(phones, number: str = SURV) -> Survivor:
    caller = Survivor(phones, number)
    menu = caller.call()
    assert "press 7" in menu.said
    doc = caller.choose("7")
    gather = doc.one("Gather")
    assert gather.get("finishOnKey") == "#" and "PIN" in doc.said
    return caller


def joins(caller: Survivor, pin: str):  # noqa: ANN201
    return caller.doc(f"/voice/group/pin?call={caller.call_id}", Digits=pin)


def meeting_id(svc) -> int:
    with svc.sessions() as session:
        return session.scalar(select(GroupMeeting.id))


def conference_event(phones, leg: Leg, event: str, conference_sid: str = "CF" + "1" * 32):
    return leg.post(f"/voice/group/conference?meeting={meeting_id(phones.svc)}",
                    StatusCallbackEvent=event, ConferenceSid=conference_sid,
                    FriendlyName=f"peerline-group-{meeting_id(phones.svc)}", Muted="true",
                    Hold="false", SequenceNumber="1")


def waits_for_the_seat(caller: Survivor, pin: str):  # noqa: ANN201
    """The PIN keyed for a takeover: held out of the group (no conference) until a
    worker read the seat's old call by REST."""
    doc = joins(caller, pin)
    assert not doc.has("Conference") and "One moment" in doc.said, doc.said
    assert doc.one("Redirect").text == f"/voice/group/wait?call={caller.call_id}"
    return doc


def asks_again(caller: Survivor):  # noqa: ANN201
    """The waiting call asks where it is now (its ``<Redirect>``)."""
    return caller.doc(f"/voice/group/wait?call={caller.call_id}")


def takes_over(phones, caller: Survivor, pin: str):  # noqa: ANN201
    """A takeover that REST lets through: the wait, the worker, then the conference."""
    waits_for_the_seat(caller, pin)
    phones.work()
    return asks_again(caller)


def stage_of(svc, caller: Survivor) -> str:
    with svc.sessions() as session:
        return session.scalar(select(Call.stage).where(Call.sid == caller.sid))


def test_signed_up_caller_keys_the_pin_and_joins_muted(phones, svc):
    pin = signed_up(phones, svc)
    caller = group_caller(phones)
    doc = joins(caller, pin)
    dial = doc.one("Dial")
    assert dial.get("callerId") == LINE and dial.get("hangupOnStar") == "true"
    conf = doc.one("Conference")
    assert conf.text == f"peerline-group-{meeting_id(svc)}"
    assert conf.get("muted") == "true" and conf.get("startConferenceOnEnter") == "false"
    assert conf.get("endConferenceOnExit") == "false"
    assert "/voice/group/conference" in conf.get("statusCallback")
    assert "Healing together" in doc.said
    with svc.sessions() as session:
        assert session.scalar(select(Call.stage).where(Call.sid == caller.sid)) == "group"


def test_a_faked_caller_id_still_needs_the_pin_three_wrong_end_politely(phones, svc):
    pin = signed_up(phones, svc)
    caller = group_caller(phones)  # shows SURV's number: proves nothing
    repeated = caller.doc("/voice/inbound", CallStatus="ringing")  # Twilio asked again
    assert repeated.one("Gather").get("action") == f"/voice/group/pin?call={caller.call_id}"
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(2):
        again = joins(caller, wrong)
        assert "didn't match" in again.said and again.has("Gather")
        assert not again.has("Conference")
    last = joins(caller, "")
    assert not last.has("Conference") and last.has("Hangup") and "988" in last.said


def test_a_faked_caller_id_learns_nothing_of_a_sign_up_before_the_pin(phones, svc):
    """Caller ID can be faked: a signed-up number hears what any number hears, word for
    word, at the menu and at the PIN prompt (an abuser must not learn she signed up)."""
    signed_up(phones, svc)
    heard = []
    for number in (SURV, "+15550199398"):
        caller = Survivor(phones, number)
        menu = caller.call().said
        prompt = caller.choose("7").said
        heard.append((menu, prompt))
    assert "press 7" in heard[0][0] and "PIN" in heard[0][1]
    assert heard[0] == heard[1]


def test_an_unknown_number_with_the_right_pin_joins(phones, svc):
    pin = signed_up(phones, svc)
    caller = Survivor(phones, "+15550199399")
    assert "press 7" in caller.call().said
    caller.choose("7")
    assert joins(caller, pin).has("Conference")


def test_no_group_open_no_offer_and_7_is_not_a_group(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    schedule(svc, in_minutes=120)  # opens 10 minutes before
    caller = Survivor(phones, SURV)
    assert "press 7" not in caller.call().said
    assert not caller.choose("7").has("Conference")


def test_a_full_group_by_phone_is_told_and_offered_the_menu(phones, svc):
    pin = signed_up(phones, svc, capacity=2)
    pin2 = signed_up(phones, svc, SURV2)
    with svc.sessions.begin() as session:  # a coordinator cut the room to one since
        for group in session.scalars(select(GroupSession)):
            group.capacity = 1
    first = group_caller(phones)
    assert joins(first, pin).has("Conference")
    second = group_caller(phones, SURV2)  # their own PIN: no seat left
    told = joins(second, pin2)
    assert "full" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={second.call_id}"
    assert "text this number" in told.said


def test_unsigned_group_webhooks_are_refused(phones, svc):
    leg = Leg(phones, SURV)
    for path, query in (("/voice/group/pin", "call=1"), ("/voice/group/star", "call=1"),
                        ("/voice/group/option", "call=1"), ("/voice/group/lead/key", "call=1"),
                        ("/voice/group/conference", "meeting=1")):
        assert phones.post(path, leg.params(), signed=False, query=query).status_code == 403


def joined_caller(phones, pin: str, number: str = SURV) -> Survivor:
    """A group caller from ``number`` admitted with ``pin`` and joined to the conference."""
    caller = group_caller(phones, number)
    assert joins(caller, pin).has("Conference")
    conference_event(phones, caller, "participant-join")
    return caller


def lead_call(phones):  # noqa: ANN201
    """Alex calls, keys the PIN, presses 5: the conference as facilitator."""
    leg, menu, call_id = pin_call(phones)
    assert "5 to lead your group" in menu.said
    doc = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="5")
    return leg, doc, call_id


def test_facilitator_leads_starts_the_conference_and_attendance_is_counted(phones, svc):
    pin = signed_up(phones, svc)
    leg, doc, call_id = lead_call(phones)
    conf = doc.one("Conference")
    assert conf.get("startConferenceOnEnter") == "true" and conf.get("muted") == "false"
    assert doc.one("Dial").get("hangupOnStar") == "true"
    assert doc.one("Dial").get("callerId") == LINE
    caller = group_caller(phones)
    joins(caller, pin)
    assert conference_event(phones, leg, "conference-start").status_code == 204
    assert conference_event(phones, leg, "participant-join").status_code == 204  # Alex
    assert conference_event(phones, caller, "participant-join").status_code == 204
    assert conference_event(phones, caller, "participant-leave").status_code == 204
    assert conference_event(phones, caller, "participant-join").status_code == 204  # again
    with svc.sessions() as session:
        [counts] = conference.attendance(session)
        assert (counts.attended, counts.peak, counts.topic) == (1, 1, "Healing together")
    bad = leg.post("/voice/group/conference?meeting=999999", StatusCallbackEvent="x")
    assert bad.status_code == 404


@pytest.fixture
def twilio_timeout_s() -> float:
    """A short time-out for these tests."""
    return 2.0


def test_facilitator_mutes_everyone_through_the_rest_api(twilio_settings, fake, phones, svc):
    pin = signed_up(phones, svc, muted=False)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    leg, _, call_id = lead_call(phones)
    callers = []
    for number, key in ((SURV, pin), (SURV2, pin2)):
        caller = group_caller(phones, number)
        assert joins(caller, key).one("Conference").get("muted") == "false"
        callers.append(caller)
    conference_event(phones, callers[0], "participant-join")
    controls = leg.doc(f"/voice/group/lead/star?call={call_id}")
    assert "1 to mute everyone" in controls.said
    back = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="1")
    assert "Muting everyone" in back.said and back.has("Conference")  # redialled in
    phones.work()
    muted = [(cf, ca, form.get("Muted")) for cf, ca, form in fake.conference_updates]
    assert sorted(muted) == sorted(("CF" + "1" * 32, c.sid, "true") for c in callers)
    # 9 ends the group for everyone.
    ended = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="9")
    assert "ended" in ended.said and ended.has("Hangup")
    phones.work()
    assert fake.conference_updates[-1] == ("CF" + "1" * 32, None, {"Status": "completed"})
    over = callers[1].doc(f"/voice/group/star?call={callers[1].call_id}")
    assert "The group has ended" in over.said and over.has("Hangup")


def test_facilitator_mute_all_with_the_local_gateway_and_lock(phones, svc):
    pin = signed_up(phones, svc)
    leg, _, call_id = lead_call(phones)
    caller = group_caller(phones)
    joins(caller, pin)
    conference_event(phones, caller, "participant-join", "CF" + "2" * 32)
    leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="1")
    phones.work()
    assert updates_for(phones, "CF" + "2" * 32) == [f"mute:{caller.sid}"]
    # 4 removes the last speaker: told kindly and taken out of the conference by REST.
    other = group_caller(phones, SURV)
    joins(other, pin)
    conference_event(phones, caller, "participant-speech-start", "CF" + "2" * 32)
    removed = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="4")
    assert "Removing the last speaker" in removed.said and removed.has("Conference")
    phones.work()
    [twiml] = updates_for(phones, caller.sid)
    assert "asked you to leave" in twiml and "988" in twiml
    assert updates_for(phones, other.sid) == []
    locked = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="3")
    assert "locked" in locked.said
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))  # not the removed caller's PIN
    late = Survivor(phones, SURV2)
    late.call()
    late.choose("7")
    told = joins(late, pin2)  # even with a valid PIN: locked
    assert "closed this group" in told.said and not told.has("Conference")


def test_facilitator_hanging_up_ends_the_group(phones, svc):
    pin = signed_up(phones, svc)
    leg, _, call_id = lead_call(phones)
    caller = Leg(phones, SURV)
    conference_event(phones, caller, "conference-start", "CF" + "3" * 32)
    leg.status("completed")
    phones.work()
    assert updates_for(phones, "CF" + "3" * 32) == ["end"]
    late = group_caller(phones)
    told = joins(late, pin)
    assert "The group has ended" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={late.call_id}"


def test_lead_needs_the_volunteer_pin_on_the_call(phones, svc):
    add_volunteer(svc, "Alex", ALEX)  # no PIN on file: the IVR opens without one
    schedule(svc, in_minutes=5)
    leg = Leg(phones, ALEX)  # anyone can make a call show Alex's number
    menu = leg.doc("/voice/inbound", CallStatus="ringing")
    assert "lead your group" not in menu.said
    with svc.sessions() as session:
        call_id = session.scalar(select(Call.id).where(Call.sid == leg.sid))
    refused = leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="5")
    assert "needs your PIN" in refused.said and not refused.has("Conference")


def test_participant_star_1_asks_for_one_to_one_help(phones, svc):
    pin = signed_up(phones, svc)
    volunteers_on(phones.svc, (SAM, "en"))
    caller = group_caller(phones)
    joins(caller, pin)
    menu = caller.doc(f"/voice/group/star?call={caller.call_id}")
    assert "Press 1 to talk one-to-one" in menu.said
    back = caller.doc(f"/voice/group/option?call={caller.call_id}", Digits="5")
    assert back.has("Conference") and "Back to the group" in back.said
    caller.doc(f"/voice/group/star?call={caller.call_id}")
    help_ = caller.doc(f"/voice/group/option?call={caller.call_id}", Digits="1")
    assert help_.has("Enqueue")  # the ordinary voice queue: a peer is rung
    phones.work()
    assert len(rings_to(phones, SAM)) == 1 and rings_to(phones, ALEX) == []


def test_spanish_group_prompts(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    schedule(svc, in_minutes=5, lang="es", topic="Sanar")
    pin = pin_of(reply(phones, SURV3, "JOIN 1"))
    caller = group_caller(phones, SURV3)
    doc = joins(caller, pin)
    assert "Bienvenida a Sanar" in doc.said and doc.one("Say").get("language") == "es-MX"


def test_weekly_meetings_in_the_line_time_zone(app, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    clock.now = datetime(2026, 3, 5, 12, 0)  # a Thursday; US clocks change on 8 March
    with svc.sessions.begin() as session:
        gid = admin.add_group(session, svc.line, topic="Weekly", lang="en",
                              day=parse_day("tue"), on_date=None, start="19:00", minutes=60,
                              capacity=5, facilitator_phone=ALEX, actor="test").id
    with svc.sessions() as session:
        group = session.get(GroupSession, gid)
        found = meetings_of(svc.line, group, clock.now, clock.now + timedelta(days=14))
    assert [m.occurs_on for m in found] == [date(2026, 3, 10), date(2026, 3, 17)]
    # 19:00 in New York is 23:00 UTC after the change (EDT), 00:00 before it (EST).
    assert [m.starts_at for m in found] == [datetime(2026, 3, 10, 23), datetime(2026, 3, 17, 23)]
    svc.line.settings["PEERLINE_TIMEZONE"] = "Europe/Madrid"
    with svc.sessions() as session:
        group = session.get(GroupSession, gid)
        found = meetings_of(svc.line, group, clock.now, clock.now + timedelta(days=7))
    assert [m.starts_at for m in found] == [datetime(2026, 3, 10, 18)]


def test_an_unknown_time_zone_is_refused_at_start():
    with pytest.raises(ConfigError) as caught:
        finalise(from_environment({"PEERLINE_TIMEZONE": "Mars/Olympus"}))
    assert "PEERLINE_TIMEZONE" in str(caught.value)
    assert finalise(from_environment({}))["PEERLINE_TIMEZONE"] == "America/New_York"


# --- the dashboard -------------------------------------------------------------------------

def test_dashboard_groups_schedule_remove_attendance_and_roles(app, svc):
    add_volunteer(svc, "Alex", ALEX)
    coordinator = signed_in(app, svc, "coordinator")
    form = {"topic": "After loss", "lang": "es", "day": "wed", "on_date": "", "start": "18:30",
            "minutes": "90", "capacity": "6", "facilitator": ALEX, "muted": "y"}
    added = post(coordinator, "/dashboard/groups", form, page="/dashboard/groups")
    assert added.status_code == 302
    page = coordinator.get("/dashboard/groups").get_data(as_text=True)
    assert "After loss" in page and "every wed 18:30" in page and ALEX not in page
    bad = post(coordinator, "/dashboard/groups", {**form, "day": "", "on_date": ""},
               page="/dashboard/groups")
    assert bad.status_code == 400 and "exactly one of" in bad.get_data(as_text=True)
    assert coordinator.post("/dashboard/groups",
                            data={**form, "csrf_token": "forged"}).status_code == 400
    with svc.sessions.begin() as session:
        gid = session.scalar(select(GroupSession.id))
        meeting = GroupMeeting(group_id=gid, occurs_on=svc.line.now().date(), locked=False,
                               attended=4, present=0, peak=3, created_at=svc.line.now())
        session.add(meeting)
    viewer = signed_in(app, svc, "viewer")
    seen = viewer.get("/dashboard/groups").get_data(as_text=True)
    assert "After loss" in seen and '<td class="attended">4</td>' in seen
    assert "Schedule a group" not in seen and "Remove" not in seen
    assert post(viewer, "/dashboard/groups", form, page="/dashboard/groups").status_code == 403
    assert post(viewer, f"/dashboard/groups/{gid}/remove",
                page="/dashboard/groups").status_code == 403
    removed = post(coordinator, f"/dashboard/groups/{gid}/remove", page="/dashboard/groups")
    assert removed.status_code == 302
    assert "No groups are scheduled" in coordinator.get("/dashboard/groups").get_data(
        as_text=True)
    with svc.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("group.%")).order_by(AuditEntry.id)))
    assert actions == ["group.add", "group.remove"]


# --- the simulator -------------------------------------------------------------------------

def test_the_simulator_joins_a_group_and_plays_the_facilitator_keypad(phones, svc, app):
    pin = signed_up(phones, svc)  # signed up by text
    client = app.test_client()
    page = client.get("/simulator/call").get_data(as_text=True)
    assert "participant-join" in page and "statusCallback" in page
    menu = hook(client, "/voice/inbound", CallSid="CAsimgroup1", From=SURV,
                CallStatus="ringing")
    gather = menu["steps"][0]
    assert any("press 7" in c["text"] for c in gather["children"])
    asked = hook(client, gather["attrs"]["action"], CallSid="CAsimgroup1", From=SURV,
                 Digits="7")
    joined = hook(client, asked["steps"][0]["attrs"]["action"], CallSid="CAsimgroup1",
                  From=SURV, Digits=pin)
    dial = joined["steps"][-1]
    assert dial["verb"] == "Dial" and dial["attrs"]["hangupOnStar"] == "true"
    conf = dial["children"][0]
    callback = hook(client, conf["attrs"]["statusCallback"], CallSid="CAsimgroup1",
                    From=SURV, StatusCallbackEvent="participant-join",
                    ConferenceSid="CF" + "9" * 32, FriendlyName=conf["text"])
    assert callback["status"] == 204
    with svc.sessions() as session:
        assert conference.attendance(session)[0].attended == 1
    # The facilitator: PIN, 5, then * and 1 (mute everyone) from the simulator.
    lead = dict(CallSid="CAsimlead1", From=ALEX)
    pin_prompt = hook(client, "/voice/inbound", CallStatus="ringing", **lead)
    ivr = hook(client, pin_prompt["steps"][0]["attrs"]["action"], Digits=PIN, **lead)
    choice = next(s for s in ivr["steps"] if s["verb"] == "Gather")["attrs"]["action"]
    led = hook(client, choice, Digits="5", **lead)
    star = hook(client, led["steps"][-1]["attrs"]["action"], **lead)
    keys = hook(client, star["steps"][0]["attrs"]["action"], Digits="1", **lead)
    assert keys["steps"][-1]["verb"] == "Dial"
    phones.work()
    updates = client.get(f"/simulator/call/api/updates?sid={'CF' + '9' * 32}").get_json()
    assert [u["status"] for u in updates["updates"]] == ["mute:CAsimgroup1"]


def test_joining_late_is_declined_kindly_and_the_menu_follows(phones, svc, clock):
    pin = signed_up(phones, svc)  # starts in 5 minutes, lasts an hour
    clock.advance(40 * 60)  # 35 minutes in: past the 30 minutes of late joining
    caller = group_caller(phones)
    told = joins(caller, pin)
    assert "going for a while" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={caller.call_id}"
    clock.advance(30 * 60)  # over: no offer any more
    assert "press 7" not in Survivor(phones, SURV2).call().said


# --- removed participants, PIN guessing across calls ---------------------------------------

def removed_from_the_group(phones, caller: Survivor, leg: Leg, call_id: int) -> None:
    """``caller`` (seated) speaks, the facilitator presses 4, the REST update drops them."""
    conference_event(phones, caller, "participant-join")
    conference_event(phones, caller, "participant-speech-start")
    removed = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="4")
    assert "Removing the last speaker" in removed.said
    phones.work()
    assert "asked you to leave" in updates_for(phones, caller.sid)[0]
    caller.status("completed")


def test_a_removed_participant_cannot_rejoin_with_their_pin_from_any_phone(phones, svc):
    pin = signed_up(phones, svc)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    leg, _, call_id = lead_call(phones)
    caller = group_caller(phones)
    assert joins(caller, pin).has("Conference")
    removed_from_the_group(phones, caller, leg, call_id)
    # The same number calls back and keys their own PIN: refused, then the menu.
    again = group_caller(phones)
    told = joins(again, pin)
    assert "can't rejoin" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={again.call_id}"
    # Another phone with the removed caller's PIN: refused (the sign-up is known).
    for number in ("+15550199399", SURV2, "Anonymous"):
        stranger = group_caller(phones, number)
        told = joins(stranger, pin)
        assert "can't rejoin" in told.said and not told.has("Conference"), number
    # Anyone else still joins.
    assert joins(group_caller(phones, SURV2), pin2).has("Conference")
    with svc.sessions() as session:
        seated = list(session.scalars(select(Call.group_signup_id).where(
            Call.stage == "group")))
        signup2 = session.scalar(select(GroupSignup.id).where(
            GroupSignup.phone_hash == svc.line.vault.hash(SURV2)))
    assert seated == [signup2]


def test_a_faked_caller_id_removed_never_locks_out_the_real_owner_of_the_number(
        phones, svc):
    """Caller ID can be faked: someone showing SURV2's number, seated by another sign-up's
    PIN and removed, leaves SURV2's own sign-up alone; the removed sign-up stays out."""
    pin = signed_up(phones, svc)  # SURV's sign-up (its PIN passed on, or SURV herself)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    leg, _, call_id = lead_call(phones)
    faker = group_caller(phones, SURV2)  # shows SURV2's number
    assert joins(faker, pin).has("Conference")
    removed_from_the_group(phones, faker, leg, call_id)
    # The real SURV2 calls from her own phone with her own PIN: in.
    real = group_caller(phones, SURV2)
    assert joins(real, pin2).has("Conference")
    # The sign-up that was removed stays out, from its own number or any other.
    for number in (SURV, "+15550199399"):
        told = joins(group_caller(phones, number), pin)
        assert "can't rejoin" in told.said and not told.has("Conference"), number


def test_pin_guessing_is_locked_across_calls(phones, svc, clock):
    pin = signed_up(phones, svc)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))  # a PIN the guesser would like to hit
    svc.line.settings["PEERLINE_GROUP_PIN_LOCK_S"] = 600
    wrong = next(p for p in ("000000", "111111", "222222") if p not in (pin, pin2))
    early = group_caller(phones, SURV3)  # a call open before the lock, PIN not keyed yet
    first = group_caller(phones, SURV3)
    for _ in range(2):
        assert "didn't match" in joins(first, wrong).said
    assert joins(first, wrong).has("Hangup")  # three on this call: goodbye
    second = group_caller(phones, SURV3)  # hang up and call again: the count goes on
    assert "didn't match" in joins(second, wrong).said  # 4th wrong PIN
    locked = joins(second, wrong)  # 5th (PEERLINE_GROUP_PIN_MAX_FAILURES): locked
    assert locked.has("Hangup") and not locked.has("Conference")
    # Locked: a PIN right for a sign-up not made from this number is refused like a
    # wrong one, on a call opened before the lock too, and ends the call at once.
    told = joins(early, pin2)
    assert told.has("Hangup") and not told.has("Conference")
    told = joins(group_caller(phones, SURV3), pin)
    assert told.has("Hangup") and not told.has("Conference")
    # Another phone is not locked; the lock ends after PEERLINE_GROUP_PIN_LOCK_S.
    other_phone = group_caller(phones, SURV2)
    assert joins(other_phone, pin).has("Conference")
    other_phone.status("completed")  # one phone per PIN at a time
    clock.advance(601)
    assert joins(group_caller(phones, SURV3), pin).has("Conference")
    with svc.sessions() as session:
        rows = list(session.scalars(select(GroupPinFailures)))
    assert len(rows) == 1 and rows[0].phone_hash != svc.line.vault.hash(SURV3)
    assert SURV3 not in rows[0].phone_hash


def test_withheld_callers_keep_the_per_call_limit_and_never_lock_each_other_out(
        phones, svc, clock):
    """A guesser behind a withheld number cannot lock every withheld caller out: there
    is no key to count them under, so each call has only its own three tries."""
    pin = signed_up(phones, svc)
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(3):  # nine wrong PINs over three withheld calls
        guesser = group_caller(phones, "Anonymous")
        for _ in range(2):
            assert "didn't match" in joins(guesser, wrong).said
        assert joins(guesser, wrong).has("Hangup")
    assert joins(group_caller(phones, "Anonymous"), pin).has("Conference")
    with svc.sessions() as session:
        assert list(session.scalars(select(GroupPinFailures))) == []


def test_one_sign_up_seats_one_phone_at_a_time(phones, svc):
    """A PIN passed on (or read off a shared phone) does not seat a second caller while
    its owner is in the group; once that call ends, the PIN works again (a dropped call
    can come back)."""
    pin = signed_up(phones, svc)
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    other = Survivor(phones, "+15550199398")
    other.call()
    other.choose("7")
    told = joins(other, pin)
    assert "already in use" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={other.call_id}"
    owner.status("completed")  # the owner's call ends: the seat is free again
    back = group_caller(phones)
    assert joins(back, pin).has("Conference")


def test_a_lost_call_ended_callback_frees_the_seat_for_its_own_sign_up_only(phones, svc, clock):
    """Twilio's call-ended callback can be lost for good (its retries fail too): the seat
    of a call the line never heard end is free again for the same sign-up once the call
    shows no sign of life for ``PEERLINE_GROUP_SEAT_GRACE_S``; the old call is ended by
    REST in case it was still there (one phone per PIN); no other sign-up gains by it."""
    pin = signed_up(phones, svc, capacity=2)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    with svc.sessions.begin() as session:  # one seat: the stale one is never SURV2's
        for group in session.scalars(select(GroupSession)):
            group.capacity = 1
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    assert 60 <= grace <= 600
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    # Her call drops; the line never hears it ended. She calls straight back: in use.
    back = group_caller(phones)
    told = joins(back, pin)
    assert "already in use" in told.said and not told.has("Conference")
    clock.advance(grace + 1)
    other = group_caller(phones, SURV2)  # another sign-up: the room is still full
    told = joins(other, pin2)
    assert "full" in told.said and not told.has("Conference")
    again = group_caller(phones)
    # Her own sign-up takes the seat over, once REST says the old call is gone (404 here).
    assert takes_over(phones, again, pin).has("Conference")
    phones.work()
    [twiml] = updates_for(phones, owner.sid)  # the old call, if still there, is told
    assert "a new call" in twiml and "988" in twiml and "<Hangup" in twiml
    assert updates_for(phones, again.sid) == []
    with svc.sessions() as session:
        seated = list(session.scalars(select(Call.sid).where(
            Call.stage.in_(("group", "group_star")))))
    assert seated == [again.sid]
    # The lost callback turns up late after all: the new seat is untouched.
    owner.status("completed")
    conference_event(phones, owner, "participant-leave")
    told = joins(group_caller(phones, "+15550199398"), pin)
    assert "already in use" in told.said and not told.has("Conference")


def test_a_seat_with_signs_of_life_is_not_taken_over(phones, svc, clock):
    """Speaking, ``*`` and back, any conference event of the call: it is there, and the
    same PIN from another phone stays out however long the group goes on."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    clock.advance(grace - 10)
    conference_event(phones, owner, "participant-speech-start")
    clock.advance(grace - 10)
    owner.doc(f"/voice/group/star?call={owner.call_id}")
    clock.advance(5)
    assert owner.doc(f"/voice/group/option?call={owner.call_id}", Digits="0").has("Conference")
    clock.advance(grace - 10)
    told = joins(group_caller(phones, "+15550199398"), pin)
    assert "already in use" in told.said and not told.has("Conference")
    phones.work()
    assert updates_for(phones, owner.sid) == []


def test_a_taken_over_seat_is_ended_through_the_rest_api(twilio_settings, fake, phones, svc,
                                                          clock):
    """The takeover goes through Twilio's Calls API from a task: the old call's status is
    read first (completed: its callback was lost), then it is told and hung up in case;
    a call Twilio no longer knows (404) is over too, and the task finishes, never
    retried."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    first = group_caller(phones)
    assert joins(first, pin).has("Conference")
    fake.calls.append({"sid": first.sid, "to": LINE, "from": SURV, "url": "",
                       "status": "completed", "status_callback": ""})  # ended, unheard
    clock.advance(grace + 1)
    second = group_caller(phones)
    assert takes_over(phones, second, pin).has("Conference")
    [call] = [c for c in fake.calls if c["sid"] == first.sid]
    assert "a new call" in call["twiml"] and "<Hangup" in call["twiml"]
    assert ("GET", "call", "200") in fake.requests
    clock.advance(grace + 1)  # the second call is gone too, unknown to Twilio now: 404
    third = group_caller(phones)
    assert takes_over(phones, third, pin).has("Conference")
    assert ("GET", "call", "404") in fake.requests
    with svc.sessions() as session:
        actions = list(session.execute(select(GroupAction.kind, GroupAction.target_call_id,
                                              GroupAction.done_at).order_by(GroupAction.id)))
        ids = [session.scalar(select(Call.id).where(Call.sid == c.sid))
               for c in (first, second)]
    assert [(kind, target) for kind, target, _ in actions] == [("takeover", ids[0]),
                                                               ("takeover", ids[1])]
    assert all(done is not None for _, _, done in actions)
    assert [stage_of(svc, c) for c in (first, second, third)] == ["after", "after", "group"]


@pytest.mark.parametrize("status", ["in-progress", "ringing"])
def test_a_live_seated_call_is_never_taken_over_by_its_pin_and_a_faked_caller_id(
        phones, svc, clock, status):
    """Her PIN plus a faked caller ID of her number used to end a silent (muted,
    listening) survivor's call and listen in her place. The takeover task now reads the
    old call's status by REST first: live, the new call is told the PIN is in use (then
    the menu), she keeps her seat and her call, and the on-call hears of it (no number,
    no PIN). The new call never enters the conference meanwhile."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    svc.line.gateway.set_call_status(owner.sid, status)  # what Twilio's REST reports
    clock.advance(grace * 3)  # muted, listening: no events at all
    faker = group_caller(phones)  # shows SURV's number, keys her PIN
    waits_for_the_seat(faker, pin)
    assert not asks_again(faker).has("Conference")  # still held out before the worker
    phones.work()
    told = asks_again(faker)
    assert "already in use" in told.said and not told.has("Conference")
    assert told.one("Gather").get("action") == f"/voice/menu?call={faker.call_id}"
    assert updates_for(phones, owner.sid) == [] and updates_for(phones, faker.sid) == []
    assert stage_of(svc, owner) == "group" and stage_of(svc, faker) == "menu"
    alerts = [b for b in phones.bodies(ONCALL) if "seat" in b]
    assert len(alerts) == 1 and SURV not in alerts[0] and pin not in alerts[0]
    assert "faking" in alerts[0]
    # REST saw her call live: a sign of life, so the next try is refused at once.
    told = joins(group_caller(phones), pin)
    assert "already in use" in told.said and not told.has("Conference")
    # Later tries are refused the same way; the on-call alert is paced.
    clock.advance(grace + 1)
    again = group_caller(phones)
    waits_for_the_seat(again, pin)
    phones.work()
    assert "already in use" in asks_again(again).said
    assert len([b for b in phones.bodies(ONCALL) if "seat" in b]) == 1
    assert stage_of(svc, owner) == "group"


@pytest.mark.parametrize("status", ["completed", "no-answer", "canceled"])
def test_an_ended_seated_call_is_taken_over_as_before(phones, svc, clock, status):
    """REST says the old call is over (its call-ended callback was lost): the waiting
    call is seated, the old one leaves the seat (told by REST in case), no alert."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    svc.line.gateway.set_call_status(owner.sid, status)
    clock.advance(grace + 1)
    back = group_caller(phones)
    assert takes_over(phones, back, pin).has("Conference")
    assert stage_of(svc, owner) == "after" and stage_of(svc, back) == "group"
    [twiml] = updates_for(phones, owner.sid)
    assert "a new call" in twiml
    assert not [b for b in phones.bodies(ONCALL) if "seat" in b]


def test_a_takeover_whose_rest_check_fails_gives_nothing_and_is_retried(
        twilio_settings, fake, phones, svc, clock):
    """Fail closed: when Twilio cannot say whether the old call is live (an error), the
    seat is not given on a guess (someone could listen in her place); the caller waits
    out of the group and the task is retried. Once the check succeeds (completed), the
    takeover goes on; when it never does, the caller is told the PIN is in use and
    nothing is taken over."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    fake.calls.append({"sid": owner.sid, "to": LINE, "from": SURV, "url": "",
                       "status": "completed", "status_callback": ""})
    clock.advance(grace + 1)
    fake.call_fetch_faults = 1
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    phones.work()
    assert ("GET", "call", "500") in fake.requests
    assert not asks_again(back).has("Conference")  # not taken over now
    assert stage_of(svc, owner) == "group" and stage_of(svc, back) == "group_wait"
    assert "twiml" not in next(c for c in fake.calls if c["sid"] == owner.sid)
    with svc.sessions() as session:
        assert session.scalar(select(GroupAction.done_at)) is None  # to be retried
    clock.advance(6)
    phones.work()  # the retry reads "completed": the takeover goes on
    assert asks_again(back).has("Conference")
    assert stage_of(svc, owner) == "after" and stage_of(svc, back) == "group"
    # Twilio keeps failing: the caller is told after a while; nothing is taken over.
    fake.calls.append({"sid": back.sid, "to": LINE, "from": SURV, "url": "",
                       "status": "completed", "status_callback": ""})
    clock.advance(grace + 1)
    fake.call_fetch_faults = 1000
    last = group_caller(phones)
    waits_for_the_seat(last, pin)
    for _ in range(12):
        phones.work()
        clock.advance(5)
        told = asks_again(last)
        if not told.has("Redirect"):
            break
    assert "already in use" in told.said and not told.has("Conference")
    phones.work()
    clock.advance(6)
    phones.work()
    assert stage_of(svc, back) == "group" and stage_of(svc, last) == "menu"
    with svc.sessions() as session:
        assert all(session.scalars(select(GroupAction.done_at)))


def test_a_faked_caller_id_guessing_pins_never_locks_the_real_owner_out(phones, svc):
    """The group PIN lock is counted per calling number, and caller ID can be faked:
    someone showing SURV's number and keying wrong PINs used to pause SURV's own joining
    for an hour. Now a locked number still joins with the PIN of the sign-up made from
    it (the one thing the faker does not know); any other PIN keyed from it, even one
    right for another sign-up, counts as wrong and ends the call at once (one guess a
    call, at one PIN), and the on-call hears of the lock."""
    pin = signed_up(phones, svc)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    wrong = next(p for p in ("000000", "111111", "222222") if p not in (pin, pin2))
    max_failures = svc.line.setting("PEERLINE_GROUP_PIN_MAX_FAILURES")
    faker, failures = group_caller(phones), 0  # shows SURV's number
    while failures < max_failures:
        told = joins(faker, wrong)
        failures += 1
        if told.has("Hangup") and failures < max_failures:
            faker = group_caller(phones)
    assert told.has("Hangup") and not told.has("Conference")  # locked now
    phones.work()
    alert = [b for b in phones.bodies(ONCALL) if "group" in b.lower()]
    assert len(alert) == 1 and SURV not in alert[0] and pin not in alert[0]
    # The lock holds for guessing: another sign-up's right PIN from this number is a
    # wrong one (no hint that it exists), and one wrong PIN ends the call.
    guesser = group_caller(phones)
    told = joins(guesser, pin2)
    assert told.has("Hangup") and not told.has("Conference")
    # The real SURV, from her own phone with the PIN texted to it: in.
    real = group_caller(phones)
    assert joins(real, pin).has("Conference")
    # SURV2 is not touched by any of it.
    assert joins(group_caller(phones, SURV2), pin2).has("Conference")


def test_a_pin_from_another_phone_never_takes_a_silent_listeners_seat(phones, svc, clock):
    """A muted group's listener makes no conference events: her seat looks "silent" after
    ``PEERLINE_GROUP_SEAT_GRACE_S`` though she is there. The takeover meant for a lost
    call-ended callback let anyone holding her PIN (passed on, read off her phone,
    guessed) from another phone end her call and listen in her place, and then hold the
    seat against her. A seat is taken over only by a call from the number that holds it
    (her call back after a drop); any other phone is told the PIN is in use."""
    pin = signed_up(phones, svc)  # a muted group
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    clock.advance(grace * 5)  # she listens, muted: no events at all
    for number in ("+15550199398", SURV2, "Anonymous"):
        told = joins(group_caller(phones, number), pin)
        assert "already in use" in told.said and not told.has("Conference"), number
    phones.work()
    assert updates_for(phones, owner.sid) == []  # her call is left alone
    with svc.sessions() as session:
        seated = list(session.scalars(select(Call.sid).where(
            Call.stage.in_(("group", "group_star")))))
    assert seated == [owner.sid]
    # Her own number after a drop whose callback was lost: the seat is taken over (REST:
    # Twilio does not know her old call any more).
    back = group_caller(phones)
    assert takes_over(phones, back, pin).has("Conference")


# --- attack review 2026-12-06: the seat takeover's wait ------------------------------------

def test_a_sign_up_removed_while_its_takeover_waits_is_not_seated(phones, svc, clock):
    """The facilitator removes a silent seat (4: the last speaker) while the same sign-up's
    new call waits on the takeover check. The removal leaves the old call not seated, so
    the task used to skip the REST check and seat the waiting call: the removed sign-up
    was back in the group. It is refused now, as any rejoin of a removed sign-up."""
    pin = signed_up(phones, svc)
    leg, _, call_id = lead_call(phones)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    conference_event(phones, owner, "participant-join")
    conference_event(phones, owner, "participant-speech-start")
    clock.advance(grace + 1)
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    removed = leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="4")
    assert "Removing the last speaker" in removed.said
    svc.line.gateway.set_call_status(owner.sid, "completed")  # the removal hung it up
    phones.work()
    told = asks_again(back)
    assert "can't rejoin" in told.said and not told.has("Conference"), told.said
    assert stage_of(svc, back) == "menu" and stage_of(svc, owner) == "after"
    with svc.sessions() as session:
        assert not list(session.scalars(select(Call.sid).where(Call.stage == "group")))


def test_a_waiter_found_only_at_the_second_look_is_not_seated_unchecked(
        phones, svc, clock, monkeypatch):
    """The task looks for the waiting call twice (before and after the REST check). When
    the first look found none, REST was never asked, and a call waiting by the second
    look was seated over a seat REST would have called live. It is asked again now."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    svc.line.gateway.set_call_status(owner.sid, "in-progress")  # she is there, muted
    clock.advance(grace + 1)
    faker = group_caller(phones)
    waits_for_the_seat(faker, pin)
    real_waiter, looks = conference._waiter, []

    def first_look_misses(session, line, old):  # noqa: ANN001, ANN202
        looks.append(1)
        return None if len(looks) == 1 else real_waiter(session, line, old)

    monkeypatch.setattr(conference, "_waiter", first_look_misses)
    phones.work()
    told = asks_again(faker)
    assert not told.has("Conference"), told.said
    assert stage_of(svc, owner) == "group" and stage_of(svc, faker) != "group"


@pytest.mark.parametrize("status", ["initiated", "None", ""])
def test_an_odd_rest_status_gives_no_seat(phones, svc, clock, status):
    """Fail closed: only a status Twilio defines as over (or a 404) frees the seat. An
    unexpected one (a status the client did not parse, ``None``) used to count as over."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    svc.line.gateway.set_call_status(owner.sid, status)
    clock.advance(grace + 1)
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    phones.work()
    assert not asks_again(back).has("Conference")
    assert stage_of(svc, owner) == "group" and stage_of(svc, back) == "group_wait"
    svc.line.gateway.set_call_status(owner.sid, "completed")
    clock.advance(6)
    phones.work()  # the retry reads a real status: the takeover goes on
    assert asks_again(back).has("Conference")


def test_the_wait_webhook_is_signed_and_odd_input_never_500s(phones, svc):
    """``/voice/group/wait``: unsigned 403; signed without a CallSid 400; an unknown call
    or another call's sid, kind TwiML; a call at the menu, its menu."""
    leg = Leg(phones, SURV)
    assert phones.post("/voice/group/wait", leg.params(), signed=False,
                       query="call=1").status_code == 403
    assert phones.post("/voice/group/wait", {"From": SURV}, query="call=1").status_code == 400
    assert phones.post("/voice/group/wait", leg.params(), query="call=x").status_code == 400
    assert phones.post("/voice/group/wait", leg.params(),
                       query="call=99999").status_code == 200
    signed_up(phones, svc)
    caller = group_caller(phones)
    other = Leg(phones, SURV2)
    response = phones.post("/voice/group/wait", other.params(),
                           query=f"call={caller.call_id}")
    assert response.status_code == 200 and b"Conference" not in response.data


def test_a_404_that_is_not_twilios_no_such_call_gives_no_seat(phones, svc, clock, monkeypatch):
    """Only Twilio's own "not found" (404 with error 20404) means the old call is gone. A
    bare 404 (a proxy, a wrong API URL) used to free the seat of a live survivor."""
    pin = signed_up(phones, svc)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = group_caller(phones)
    assert joins(owner, pin).has("Conference")
    svc.line.gateway.set_call_status(owner.sid, "in-progress")

    def bare_404(sid: str) -> str:
        raise GatewayError("twilio error 404/None", status=404)

    monkeypatch.setattr(svc.line.gateway, "call_status", bare_404)
    clock.advance(grace + 1)
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    phones.work()
    assert not asks_again(back).has("Conference")
    assert stage_of(svc, owner) == "group" and stage_of(svc, back) == "group_wait"


# --- the room re-checked when a takeover's wait ends (README "Left open" until locks11) --

def test_a_seat_freed_by_its_late_callback_and_given_away_is_not_taken_over(
        phones, svc, clock):
    """The old call's call-ended callback turns up late, while its own sign-up's new
    call waits on the takeover: the seat is free, and another sign-up is seated in it.
    The takeover used to seat the waiting call as well, one over capacity. The room is
    counted again under the group's row lock now: the waiting call is told the group is
    full (then the menu), and the group keeps its capacity."""
    pin = signed_up(phones, svc)
    pin2 = pin_of(reply(phones, SURV2, "JOIN 1"))
    with svc.sessions.begin() as session:
        for group in session.scalars(select(GroupSession)):
            group.capacity = 1
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = joined_caller(phones, pin)
    clock.advance(grace + 1)
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    owner.status("completed")  # late, but heard: the seat is free
    other = group_caller(phones, SURV2)
    assert joins(other, pin2).has("Conference")  # the one seat, now hers
    phones.work()
    told = asks_again(back)
    assert "full" in told.said and not told.has("Conference"), told.said
    assert told.one("Gather").get("action") == f"/voice/menu?call={back.call_id}"
    assert stage_of(svc, back) == "menu" and stage_of(svc, other) == "group"
    with svc.sessions() as session:
        seated = list(session.scalars(select(Call.sid).where(
            Call.stage.in_(("group", "group_star")))))
    assert seated == [other.sid]


def test_a_meeting_locked_during_the_wait_seats_nobody(phones, svc, clock):
    """The caller was admitted (her own silent seat, from her own number) before the
    facilitator locked the meeting; the takeover used to seat her anyway once REST said
    the old call was over. Now she is told the group is closed, then the menu."""
    pin = signed_up(phones, svc)
    leg, _, call_id = lead_call(phones)
    grace = svc.line.setting("PEERLINE_GROUP_SEAT_GRACE_S")
    owner = joined_caller(phones, pin)
    svc.line.gateway.set_call_status(owner.sid, "completed")  # its callback was lost
    clock.advance(grace + 1)
    back = group_caller(phones)
    waits_for_the_seat(back, pin)
    assert "locked" in leg.doc(f"/voice/group/lead/key?call={call_id}", Digits="3").said
    phones.work()
    told = asks_again(back)
    assert "closed this group" in told.said and not told.has("Conference"), told.said
    assert told.one("Gather").get("action") == f"/voice/menu?call={back.call_id}"
    assert stage_of(svc, back) == "menu"
    with svc.sessions() as session:
        assert session.scalar(select(Call.leave_reason).where(Call.sid == back.sid)) is None
