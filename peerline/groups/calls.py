"""Joining a group by phone: the menu's offer (7), the session PIN, the conference and the
participants' ``*`` menu (one-to-one help). The facilitator's side is in
:mod:`peerline.groups.lead`.

Caller ID can be faked, so a caller whose number is signed up still keys the session
PIN, and hears exactly what any caller hears until then (a faked number must not learn
that a survivor signed up for a group); three wrong PINs end the call kindly. A meeting
can be joined from ``schedule.OPEN_BEFORE`` before its start until ``schedule.LATE_JOIN``
after it (never after it ends or is locked or full: the caller is told why and gets the
ordinary menu).

A sign-up's PIN seats one call at a time. The seat frees when the line hears the call
ended; since that callback can be lost for good, a seat whose call showed no sign of life
for ``PEERLINE_GROUP_SEAT_GRACE_S`` may be taken over by the same sign-up calling from the
same number, and only once a worker read the old call's status by REST and found it over
(:func:`peerline.groups.conference.take_over`; the new call waits out of the group
meanwhile); never by another sign-up, nor by the PIN from another phone (a muted listener
is silent), nor over a call REST says is live (a faked caller ID with her PIN).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.groups import conference, pin_lock, scripts
from peerline.groups.schedule import Meeting, open_now
from peerline.groups.signup import pin_hash
from peerline.line import Line
from peerline.models import (
    Call,
    CallStage,
    GroupMeeting,
    GroupSession,
    GroupSignup,
    SignupStatus,
)
from peerline.voice import queue
from peerline.voice.common import caller_id, get_call, lock
from peerline.voice.hotline import to_hotline
from peerline.voice.prompts import spoken
from peerline.voice.stage import resume

log = logging.getLogger(__name__)

#: The menu key that joins a group (offered only while one is open).
GROUP_KEY = "7"
#: Wrong (or empty) session PINs on one call before it ends.
PIN_TRIES = 3


def menu_offer(session: Session, line: Line, call: Call) -> list[str]:
    """Words the menu adds while a group is open (both languages), or nothing.

    The same words for every caller: whether the number is signed up is never said."""
    if not open_now(session, line):
        return []
    return [spoken("group_menu", "en"), spoken("group_menu", "es")]


def start(session: Session, line: Line, call: Call) -> str | None:
    """The caller pressed 7 at the menu: the PIN prompt (None when no group is open).

    Both languages for everyone: a signed-up number's group language would tell a faked
    caller ID that it signed up."""
    if not open_now(session, line):
        return None
    # A locked number gets the prompt too: its own sign-up's PIN still works (pin_lock).
    call.stage, call.tries = CallStage.GROUP_PIN, 0
    return scripts.pin(call.id, None)


def _find(session: Session, line: Line, call: Call, keyed: str, own_only: bool = False
          ) -> tuple[GroupSession, Meeting, GroupSignup] | None:
    """The open meeting and sign-up the keyed PIN belongs to; with ``own_only`` (the
    calling number is locked) only a sign-up made from the calling number."""
    for group, meeting in open_now(session, line):
        hashed = pin_hash(line, group.id, meeting.occurs_on, keyed)
        stmt = select(GroupSignup).where(
            GroupSignup.group_id == group.id, GroupSignup.occurs_on == meeting.occurs_on,
            GroupSignup.pin_hash == hashed, GroupSignup.status == SignupStatus.ACTIVE)
        if own_only:
            if not call.from_hash:
                return None
            stmt = stmt.where(GroupSignup.phone_hash == call.from_hash)
        signup = session.scalar(stmt)
        if signup is not None:
            return group, meeting, signup
    return None


def check_pin(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """``/voice/group/pin``: the keyed session PIN; in, again, or a kind goodbye."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.GROUP_PIN:
        return resume(session, line, call)
    # Locked (faked or not, this call or another): only the number's own sign-up's PIN.
    own_only = pin_lock.locked(session, line, call)
    keyed = digits.strip()
    found = _find(session, line, call, keyed, own_only) if keyed.isdigit() else None
    if found is None:
        call.tries += 1
        now_locked = bool(keyed) and pin_lock.failed(session, line, call)
        if now_locked or call.tries >= PIN_TRIES:
            call.stage = CallStage.ENDED
            log.info("call %s: no group after %s PIN tries", call.id, call.tries)
            return scripts.told("group_pin_failed", call.lang)
        return scripts.pin(call.id, None, wrong=True)
    group, meeting, signup = found
    return _admit(session, line, call, group, meeting, signup)


def _removed(session: Session, meeting_id: int, signup: GroupSignup) -> bool:
    """True when the facilitator removed this sign-up from the meeting: a call its PIN
    seated was removed, whatever number that call or this one shows.

    Never matched by the calling number: caller ID can be faked, and someone removed
    while showing another person's number must not lock that person's own sign-up out.
    """
    return conference.signup_removed(session, meeting_id, signup.id)


def _silent(line: Line, call: Call) -> bool:
    """True when a seated call showed no sign of life (seated, a conference join or speech
    event, its ``*`` menu) for ``PEERLINE_GROUP_SEAT_GRACE_S``: its call-ended callback
    may have been lost, so its own sign-up may take the seat over."""
    seen = call.group_seen_at or call.created_at
    grace = timedelta(seconds=line.setting("PEERLINE_GROUP_SEAT_GRACE_S"))
    return line.now() - seen >= grace


def _may_take_over(line: Line, call: Call, seat: Call) -> bool:
    """True when ``call`` may take over ``seat`` (the same sign-up's): silent past the
    grace *and* from the number that holds it (not withheld).

    Silence is no proof the seat is empty: a muted listener makes no conference events at
    all. So only the seat's own number (a call back after a drop whose callback was lost)
    takes it over; a PIN keyed from any other phone (passed on, read off her phone,
    guessed) never ends a survivor's call to listen in her place."""
    return (_silent(line, seat) and call.from_hash is not None
            and seat.from_hash == call.from_hash)


def _admit(session: Session, line: Line, call: Call, group: GroupSession,
           meeting: Meeting, signup: GroupSignup) -> str:
    """Into the conference, or told why not (locked, late, full) and the menu."""
    # The group row serialises admissions: capacity holds with callers at once.
    session.scalar(select(GroupSession).where(GroupSession.id == group.id).with_for_update())
    row = conference.meeting_row(session, line, meeting)
    lang = group.lang
    call.lang = lang
    if call.conversation is not None:
        call.conversation.lang = lang
    now = line.now()
    seats = conference.seated(session, row.id)
    # The seat(s) this sign-up holds, fresh and locked (a callback may be updating them).
    held = [c for c in (lock(session, Call, s.id) for s in seats if s.group_signup_id == signup.id)
            if c.stage in conference.SEATED and c.ended_at is None]
    refusal = None
    if row.ended_at is not None or now >= meeting.ends_at:
        refusal = "group_over"
    elif _removed(session, row.id, signup):
        refusal = "group_removed_rejoin"
        log.info("call %s: a removed participant tried to rejoin", call.id)
    elif row.locked:
        refusal = "group_locked"
    elif now >= meeting.join_until:
        refusal = "group_late"
    elif any(not _may_take_over(line, call, c) for c in held):
        refusal = "group_pin_in_use"  # one phone per sign-up: a shared PIN seats nobody
    elif held and _waiting(session, line, signup, call):
        refusal = "group_pin_in_use"  # a takeover of this seat is being checked already
    elif len(seats) - len(held) >= group.capacity:  # only its own seat is taken over
        refusal = "group_full"
    if refusal is not None:  # told why, then the ordinary menu: never a dead end
        call.stage, call.tries = CallStage.MENU, 0
        return scripts.told_then_menu(refusal, lang, call.id)
    call.group_signup_id, call.group_seen_at = signup.id, now
    if held:  # silent past the grace, same number: held out until REST says it is over
        call.stage = CallStage.GROUP_WAIT
        for old in held:
            conference.take_over(session, line, row, old)
        return scripts.seat_wait(call.id, lang)
    call.stage, call.group_meeting_id = CallStage.GROUP, row.id
    return scripts.participant(call.id, row.id, lang, group.topic, group.muted,
                               caller_id(line, call))


def _waiting(session: Session, line: Line, signup: GroupSignup, call: Call) -> bool:
    """True while another call of this sign-up waits on a takeover of its seat."""
    since = line.now() - conference.SEAT_WAIT
    return session.scalar(select(Call.id).where(
        Call.group_signup_id == signup.id, Call.stage == CallStage.GROUP_WAIT,
        Call.ended_at.is_(None), Call.id != call.id, Call.group_seen_at >= since)
        .limit(1)) is not None


def seat_wait(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/group/wait``: a caller held out while the takeover task checks the old
    call by REST. Seated (the old call is over), refused (it is live: the seat is in use,
    then the menu), or still waiting; after ``conference.SEAT_WAIT`` they are told the
    seat is in use and get the menu (the task then takes nothing over)."""
    call = get_call(session, call_id, sid)
    if call.stage == CallStage.GROUP and call.group_meeting_id is not None:
        meeting = lock(session, GroupMeeting, call.group_meeting_id)
        if meeting.ended_at is not None:
            call.stage = CallStage.ENDED
            return scripts.told("group_over", call.lang)
        group = meeting.group
        return scripts.participant(call.id, meeting.id, call.lang, group.topic, group.muted,
                                   caller_id(line, call))
    if call.stage == CallStage.MENU:  # refused by the task
        reason, call.leave_reason = call.leave_reason, None
        if reason not in conference.ROOM_REFUSALS:  # the seat's call is live, or removed
            removed = conference.signup_removed(session, None, call.group_signup_id)
            reason = "group_removed_rejoin" if removed else "group_pin_in_use"
        return scripts.told_then_menu(reason, call.lang, call.id)
    if call.stage != CallStage.GROUP_WAIT:
        return resume(session, line, call)
    if line.now() - (call.group_seen_at or call.created_at) >= conference.SEAT_WAIT:
        call.stage, call.tries = CallStage.MENU, 0
        log.info("call %s: the seat's old call could not be checked in time", call.id)
        return scripts.told_then_menu("group_pin_in_use", call.lang, call.id)
    return scripts.seat_wait(call.id, call.lang, first=False)


def _meeting_of(session: Session, call: Call) -> tuple[GroupMeeting, GroupSession] | None:
    if call.group_meeting_id is None:
        return None
    meeting = lock(session, GroupMeeting, call.group_meeting_id)
    return (meeting, meeting.group) if meeting is not None else None


def participant_star(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/group/star`` (the ``<Dial>`` action): ``*`` pressed, or the group ended."""
    call = get_call(session, call_id, sid)
    found = _meeting_of(session, call)
    if call.stage != CallStage.GROUP or found is None:
        return resume(session, line, call)
    call.group_seen_at = line.now()  # a sign of life: the seat is not silent
    meeting, _ = found
    if meeting.ended_at is not None:
        call.stage = CallStage.ENDED
        return scripts.told("group_over", call.lang)
    call.stage = CallStage.GROUP_STAR
    return scripts.participant_star(call.id, call.lang)


def participant_option(session: Session, line: Line, *, call_id: int, sid: str,
                       digits: str) -> str:
    """``/voice/group/option``: 1 one-to-one help (the voice queue), 9 the hotline, else
    back into the group (the seat was kept)."""
    call = get_call(session, call_id, sid)
    found = _meeting_of(session, call)
    if call.stage != CallStage.GROUP_STAR or found is None:
        return resume(session, line, call)
    call.group_seen_at = line.now()
    meeting, group = found
    key = digits.strip()[:1]
    if key == "1":  # an ordinary call for a peer: rung, held, voicemail, never silence
        call.stage = CallStage.MENU
        log.info("call %s: one-to-one help asked from a group", call.id)
        return queue.enqueue(session, line, call)
    if key == "9":
        call.stage = CallStage.MENU
        return to_hotline(session, line, call)
    if meeting.ended_at is not None:
        call.stage = CallStage.ENDED
        return scripts.told("group_over", call.lang)
    call.stage = CallStage.GROUP
    return scripts.participant(call.id, meeting.id, call.lang, group.topic, group.muted,
                               caller_id(line, call), welcome=False)
