"""A group meeting's conference: its row, Twilio's conference status callbacks (attendance
counts, never identities), and the facilitator's keypad actions carried out by REST.

Every REST call on a conference goes through the Gateway from a task
(``TaskKind.GROUP_ACTION``), never from a webhook.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.groups import feedback, scripts
from peerline.groups.schedule import Meeting
from peerline.line import Line
from peerline.models import (
    Call,
    CallRole,
    CallStage,
    GroupAction,
    GroupActionKind,
    GroupMeeting,
    GroupSession,
)
from peerline.telephony.gateway import (
    LIVE_CALL_STATUSES,
    NOT_FOUND,
    OVER_CALL_STATUSES,
    GatewayError,
)
from peerline.text import conversations
from peerline.text.texts import ONCALL_TEXTS
from peerline.voice.common import UnknownCall, lock

log = logging.getLogger(__name__)

#: Participants holding a seat (in the conference, or out of it with ``*`` for a moment).
SEATED = (CallStage.GROUP, CallStage.GROUP_STAR)
#: An action whose conference never reported its sid is dropped after this long.
ACTION_GIVE_UP = timedelta(minutes=5)
#: A call waiting on a takeover is told the seat is in use after this long.
SEAT_WAIT = timedelta(seconds=45)
#: Why a takeover's waiting call is not seated after all (the room changed during the
#: wait); kept in its ``leave_reason`` until ``/voice/group/wait`` tells it.
ROOM_REFUSALS = ("group_over", "group_locked", "group_full")
#: When the old call's status cannot be read (REST failed), ask again after this long.
STATUS_RETRY_S = 5.0


def meeting_row(session: Session, line: Line, meeting: Meeting) -> GroupMeeting:
    """The row of one meeting, created on first use (two callers at once: one row)."""
    found = session.scalar(select(GroupMeeting).where(
        GroupMeeting.group_id == meeting.group_id, GroupMeeting.occurs_on == meeting.occurs_on))
    if found is not None:
        return found
    row = GroupMeeting(group_id=meeting.group_id, occurs_on=meeting.occurs_on, locked=False,
                       attended=0, present=0, peak=0, created_at=line.now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        row = session.scalar(select(GroupMeeting).where(
            GroupMeeting.group_id == meeting.group_id,
            GroupMeeting.occurs_on == meeting.occurs_on))
    return row


def seated(session: Session, meeting_id: int) -> list[Call]:
    """Participants' calls holding a seat in the meeting, oldest first."""
    return list(session.scalars(select(Call).where(
        Call.group_meeting_id == meeting_id, Call.role == CallRole.SURVIVOR,
        Call.stage.in_(SEATED), Call.ended_at.is_(None)).order_by(Call.id)))


def conference_event(session: Session, line: Line, *, meeting_id: int, conference_sid: str,
                     event: str, call_sid: str) -> None:
    """One conference status callback: start/end, a participant joined/left/spoke."""
    meeting = lock(session, GroupMeeting, meeting_id)
    if meeting is None:
        raise UnknownCall(f"meeting {meeting_id}")
    now = line.now()
    if conference_sid and event in ("conference-start", "participant-join"):
        meeting.conference_sid = conference_sid  # a restarted conference replaces it
    if event == "conference-start":
        meeting.started_at = meeting.started_at or now
        return
    if event == "conference-end":
        if conference_sid == meeting.conference_sid:
            meeting.present = 0
        return
    call = session.scalar(select(Call).where(Call.sid == call_sid)) if call_sid else None
    if call is None or call.group_meeting_id != meeting.id or call.role != CallRole.SURVIVOR:
        return  # the facilitator (or a call not ours) is not counted
    if event in ("participant-join", "participant-speech-start") and session.scalar(
            select(Call.id).where(Call.id == call.id).with_for_update(skip_locked=True)):
        # A sign of life: its seat is not taken over. Locked means a webhook of this very
        # call is running (and stamps it): skipping it never waits against that webhook,
        # which holds the call before the meeting while this holds the meeting first.
        call.group_seen_at = now
    if event == "participant-join":
        meeting.present += 1
        meeting.peak = max(meeting.peak, meeting.present)
        if call.group_joined_at is None:
            call.group_joined_at = now
            meeting.attended += 1
            if meeting.attended == 1:
                feedback.after_first_join(session, line, meeting)
    elif event == "participant-leave":
        meeting.present = max(0, meeting.present - 1)
    elif event == "participant-speech-start":
        meeting.last_speaker_sid = call_sid


def request_action(session: Session, line: Line, meeting: GroupMeeting, kind: str,
                   target_call_id: int | None = None) -> None:
    """Store a keypad action and its task (run after commit by a worker)."""
    action = GroupAction(meeting_id=meeting.id, kind=kind, target_call_id=target_call_id,
                         created_at=line.now())
    session.add(action)
    session.flush()
    tasks.add(session, TaskKind.GROUP_ACTION, action.id, line.now())


def take_over(session: Session, line: Line, meeting: GroupMeeting, call: Call) -> None:
    """The same sign-up, from the number holding the seat, asks for the seat of ``call``,
    silent past the grace period (its call-ended callback was probably lost). The seat is
    not given yet: a worker first reads the old call's status by REST
    (:func:`takeover_task`), while the new call waits out of the group."""
    request_action(session, line, meeting, GroupActionKind.TAKEOVER, target_call_id=call.id)
    log.info("call %s: its group seat is asked for by the same sign-up", call.id)


def last_speaker(session: Session, meeting: GroupMeeting) -> Call | None:
    """Whom "remove the last speaker" removes: the last to speak (speaker events) if still
    in the group, else the participant who joined last."""
    calls = [c for c in seated(session, meeting.id) if c.stage == CallStage.GROUP]
    for call in calls:
        if meeting.last_speaker_sid and call.sid == meeting.last_speaker_sid:
            return call
    return calls[-1] if calls else None


def end_meeting(session: Session, line: Line, meeting: GroupMeeting) -> None:
    """End the meeting for everyone (by REST); the feedback question follows."""
    meeting.ended_at = line.now()
    request_action(session, line, meeting, GroupActionKind.END)
    feedback.after_end(session, line, meeting)


def facilitator_gone(session: Session, line: Line, call: Call) -> None:
    """The facilitator's call ended: the meeting ends for everyone (by REST)."""
    if call.group_meeting_id is None:
        return
    meeting = lock(session, GroupMeeting, call.group_meeting_id)
    if meeting is not None and meeting.ended_at is None:
        end_meeting(session, line, meeting)


def _gone(exc: GatewayError) -> bool:
    """The participant, call or conference is no longer there (nothing to do)."""
    return exc.permanent or exc.status == 404


def action_task(sessions: sessionmaker[Session], line: Line, action_id: int | None) -> None:
    """Worker entry: carry out one keypad action on the conference, by REST."""
    with sessions() as session:
        action = session.get(GroupAction, action_id)
        if action is None or action.done_at is not None:
            return
        if action.kind == GroupActionKind.TAKEOVER:
            session.close()
            takeover_task(sessions, line, action_id)
            return
        meeting = action.meeting
        conference_sid, kind = meeting.conference_sid, action.kind
        participants = [c.sid for c in seated(session, meeting.id)
                        if c.stage == CallStage.GROUP]
        target = session.get(Call, action.target_call_id) if action.target_call_id else None
        target_sid, target_lang = (target.sid, target.lang) if target else (None, "en")
        waited = line.now() - action.created_at
    if conference_sid is None and kind != GroupActionKind.REMOVE:
        if waited < ACTION_GIVE_UP:
            raise tasks.Retry(2.0, "conference sid not known yet")
        log.warning("group action %s dropped: the conference never reported", action_id)
    else:
        try:
            _carry_out(line, kind, conference_sid, participants, target_sid, target_lang)
        except GatewayError as exc:
            raise tasks.Retry(exc.retry_after or 2.0, str(exc)) from None
    with sessions.begin() as session:
        row = session.get(GroupAction, action_id)
        row.done_at = line.now()


def _carry_out(line: Line, kind: str, conference_sid: str | None, participants: list[str],
               target_sid: str | None, target_lang: str) -> None:
    if kind in (GroupActionKind.MUTE_ALL, GroupActionKind.UNMUTE_ALL):
        assert conference_sid is not None
        for sid in participants:  # idempotent: a retry mutes everyone again
            try:
                line.gateway.update_participant(conference_sid, sid,
                                                muted=kind == GroupActionKind.MUTE_ALL)
            except GatewayError as exc:
                if not _gone(exc):
                    raise
    elif kind == GroupActionKind.REMOVE and target_sid:
        try:
            line.gateway.update_call(target_sid, twiml=scripts.told("group_removed", target_lang))
        except GatewayError as exc:
            if not _gone(exc):
                raise
    elif kind == GroupActionKind.END and conference_sid:
        try:
            line.gateway.end_conference(conference_sid)
        except GatewayError as exc:
            if not _gone(exc):
                raise


def _waiter(session: Session, line: Line, old: Call) -> Call | None:
    """The call waiting to take ``old``'s seat (same sign-up), locked; None once it hung
    up or gave up waiting (or went quiet longer than ``SEAT_WAIT``, its callbacks lost)."""
    since = line.now() - 2 * SEAT_WAIT
    waiter_id = session.scalar(select(Call.id).where(
        Call.group_signup_id == old.group_signup_id, Call.stage == CallStage.GROUP_WAIT,
        Call.ended_at.is_(None), Call.id != old.id, Call.group_seen_at >= since)
        .order_by(Call.id.desc()).limit(1))
    # Locked before the old call, in the webhooks' order (a call, then the seat it wants).
    waiter = lock(session, Call, waiter_id) if waiter_id is not None else None
    if waiter is None or waiter.stage != CallStage.GROUP_WAIT or waiter.ended_at is not None:
        return None
    return waiter


def _holds_seat(call: Call) -> bool:
    """Seated in the group and not ended."""
    return call.stage in SEATED and call.ended_at is None


def _old_call_live(line: Line, sid: str) -> bool:
    """True while REST says the call is up (queued, ringing, in progress); False once it
    is over (a status Twilio defines as over) or Twilio does not know it (404 with its
    error 20404). Any other
    failure, or a status that is neither (unparsed, new), raises :class:`tasks.Retry`:
    the seat is never given on a guess (fail closed, see :func:`takeover_task`)."""
    try:
        status = line.gateway.call_status(sid)
    except GatewayError as exc:
        if exc.status == 404 and exc.code == NOT_FOUND:
            return False  # Twilio's own "no such call", not any 404 (a proxy, a wrong URL)
        log.warning("group seat takeover: the old call's status could not be read (%s)", exc)
        raise tasks.Retry(exc.retry_after or STATUS_RETRY_S, str(exc)) from None
    if status in LIVE_CALL_STATUSES:
        return True
    if status in OVER_CALL_STATUSES:
        return False
    log.warning("group seat takeover: the old call's status %r is not known", status[:20])
    raise tasks.Retry(STATUS_RETRY_S, "unknown call status")


def signup_removed(session: Session, meeting_id: int | None, signup_id: int | None) -> bool:
    """True when the facilitator removed a call this sign-up's PIN seated in the meeting
    (any meeting when None: a sign-up is for one meeting); see
    :func:`peerline.groups.calls._removed`."""
    if signup_id is None:
        return False
    stmt = (select(Call.id).join(GroupAction, GroupAction.target_call_id == Call.id)
            .where(GroupAction.kind == GroupActionKind.REMOVE, Call.group_signup_id == signup_id))
    if meeting_id is not None:
        stmt = stmt.where(GroupAction.meeting_id == meeting_id)
    return session.scalar(stmt.limit(1)) is not None


def _room_refusal(session: Session, meeting: GroupMeeting, group: GroupSession,
                  old: Call) -> str | None:
    """Why a waiting call may no longer be seated (the group's row locked): the meeting
    ended or was locked during the wait, or its seats are full without ``old``'s (the
    seat a takeover replaces). None when it may."""
    if meeting.ended_at is not None:
        return "group_over"
    if meeting.locked:
        return "group_locked"
    others = [c for c in seated(session, meeting.id) if c.id != old.id]
    if len(others) >= group.capacity:
        return "group_full"
    return None


def takeover_task(sessions: sessionmaker[Session], line: Line, action_id: int | None) -> None:
    """Worker step of a seat takeover: read the old call's status by REST, then seat the
    waiting call or refuse it.

    - Over (completed, failed, busy, no-answer, canceled) or unknown to Twilio (404): the
      lost call-ended callback the takeover exists for. The old call leaves the seat (and
      is told why by REST, in case it is there after all); the waiting call is seated.
    - Live: the PIN and the seat's number were keyed on a new call while the seated one
      is still up (a faked caller ID with her PIN, or a second phone showing her number).
      The holder keeps her seat, the new call is told the PIN is in use (then the menu),
      and the on-call coordinator is told (paced, never a number).
    - REST failed (an error, a time-out): nothing is given. Fail closed: someone
      listening in the holder's place is worse than a dropped caller waiting longer, so
      the task is retried (``tasks.Retry``) while the caller waits (``SEAT_WAIT``); once
      she gave up or hung up, the task ends without taking anything over.

    Before seating, the room is counted again under the group's row lock, as an
    admission counts it: a meeting ended or locked during the wait, or seats full
    without the old call's (freed meanwhile by its own late callback and given to
    another caller), seat nobody; the caller is told why (``leave_reason``), then the
    menu.
    """
    with sessions() as session:
        action = session.get(GroupAction, action_id)
        if action is None or action.done_at is not None:
            return
        old = session.get(Call, action.target_call_id) if action.target_call_id else None
        waiter = _waiter(session, line, old) if old is not None else None
        still_seated = old is not None and _holds_seat(old)
        old_sid, old_lang = (old.sid, old.lang) if old is not None else (None, "en")
    live, checked = False, False
    if waiter is not None and still_seated and old_sid:
        live, checked = _old_call_live(line, old_sid), True  # REST, outside any transaction
    with sessions.begin() as session:
        action = session.get(GroupAction, action_id)
        action.done_at = line.now()
        old = session.get(Call, action.target_call_id) if action.target_call_id else None
        waiter = _waiter(session, line, old) if old is not None else None
        if waiter is None:  # she hung up or gave up waiting: nothing is taken over
            return
        # The group row, as an admission takes it (its call, the group, then the seats):
        # it serialises seating, so the room is counted here as a new caller's would be.
        meeting = session.get(GroupMeeting, action.meeting_id)
        group = session.scalar(select(GroupSession).where(
            GroupSession.id == meeting.group_id).with_for_update())
        old = lock(session, Call, old.id)
        session.refresh(meeting)
        if signup_removed(session, action.meeting_id, waiter.group_signup_id):
            # Removed by the facilitator while it waited: out, as any rejoin would be.
            waiter.stage, waiter.tries = CallStage.MENU, 0
            log.info("call %s: no group seat, its sign-up was removed", waiter.id)
            return
        if not checked and _holds_seat(old):
            # Seated, yet REST was not asked (no waiter at the first look): ask now.
            raise tasks.Retry(0.0, "the old call was not checked")
        if live and _holds_seat(old):
            waiter.stage, waiter.tries = CallStage.MENU, 0  # told at its next ask
            old.group_seen_at = line.now()  # REST saw it live: a sign of life
            log.warning("call %s: group seat takeover refused, the seated call %s is live",
                        waiter.id, old.id)
            conversations.alert_oncall(session, line, "group_seat_kept", None,
                                       ONCALL_TEXTS["group_seat_kept"].format(cid=waiter.id))
            return
        refusal = _room_refusal(session, meeting, group, old)
        if refusal is not None:
            # Admitted before the wait, but the room changed meanwhile: the meeting ended
            # or was locked, or the old seat was freed (its own late call-ended callback)
            # and given to another caller. Told why at its next ask, then the menu.
            waiter.stage, waiter.tries, waiter.leave_reason = CallStage.MENU, 0, refusal
            log.info("call %s: no group seat after the wait (%s)", waiter.id, refusal)
            return
        told_old = _holds_seat(old)
        if told_old:
            old.stage = CallStage.AFTER
        waiter.stage, waiter.group_meeting_id = CallStage.GROUP, action.meeting_id
        waiter.group_seen_at = line.now()
        log.info("call %s: took over the group seat of call %s (its call is over)",
                 waiter.id, old.id)
    if told_old and old_sid:  # in case it is still there after all (one call per PIN)
        try:
            line.gateway.update_call(old_sid, twiml=scripts.told("group_seat_taken", old_lang))
        except GatewayError as exc:
            log.info("group seat takeover: the old call was not told (%s)", exc)


@dataclass
class Attendance:
    """One meeting's counts (never who)."""

    group_id: int
    topic: str
    occurs_on: date
    attended: int
    peak: int


def attendance(session: Session, since: date | None = None,
               until: date | None = None) -> list[Attendance]:
    """Attendance counts per meeting (for reports and the dashboard), newest first."""
    stmt = (select(GroupMeeting, GroupSession.topic)
            .join(GroupSession, GroupSession.id == GroupMeeting.group_id)
            .order_by(GroupMeeting.occurs_on.desc(), GroupMeeting.id.desc()))
    if since is not None:
        stmt = stmt.where(GroupMeeting.occurs_on >= since)
    if until is not None:
        stmt = stmt.where(GroupMeeting.occurs_on <= until)
    return [Attendance(m.group_id, topic, m.occurs_on, m.attended, m.peak)
            for m, topic in session.execute(stmt)]


def ended(meeting: GroupMeeting, now: datetime) -> bool:
    """True once the facilitator ended the meeting."""
    return meeting.ended_at is not None and meeting.ended_at <= now
