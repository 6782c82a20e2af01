"""The feedback question after a group meeting (peer support, issue 15).

Asked once per person and meeting, ``AFTER_END`` after the meeting ended (the facilitator
ended it, or their call did), or after its scheduled end when nobody ended it; never while
it goes on, and not at all when the conference never started (the facilitator never came:
callers only heard the hold music). Only to participants who joined the conference (the
attendance count), by text from the number they signed up on, and never to someone who:

- had a crisis in it: a crisis heard on their call, the hotline from the group (``*`` 9),
  or a crisis escalation in any of their conversations since their call began;
- said ``STOP`` (or quick-exited, which opts out too), or called with a withheld number;
- was removed by the facilitator (their sign-up, whatever number the removed call showed);
- is in a text conversation now (the question would land in that thread);
- called from a number other than the one that signed up (another phone, or a faked
  caller ID: the question names the group).

Two task rows carry it (``TaskKind.GROUP_FEEDBACK``, keyed per meeting): one at the
scheduled end, stored when the first participant joins, and one when the meeting is ended;
whichever runs first asks, the other finds everyone asked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.groups.schedule import meeting_on
from peerline.line import Line
from peerline.models import (
    Call,
    CallOutcome,
    CallRole,
    CallStage,
    Conversation,
    ConversationStatus,
    Escalation,
    GroupAction,
    GroupActionKind,
    GroupMeeting,
    GroupSignup,
    Survivor,
)
from peerline.peer import feedback

log = logging.getLogger(__name__)

#: The question goes this long after the meeting ends (its calls have ended by then).
AFTER_END = timedelta(minutes=2)
_CRISIS_STAGES = (CallStage.CRISIS, CallStage.HOTLINE)
_CRISIS_OUTCOMES = (CallOutcome.CRISIS, CallOutcome.HOTLINE)


def scheduled_end(line: Line, meeting: GroupMeeting) -> datetime:
    """When the meeting is due to end (naive UTC)."""
    return meeting_on(line, meeting.group, meeting.occurs_on).ends_at


def after_first_join(session: Session, line: Line, meeting: GroupMeeting) -> None:
    """The first participant joined: ask at the scheduled end (if nobody ends it first)."""
    due = scheduled_end(line, meeting) + AFTER_END
    tasks.add(session, TaskKind.GROUP_FEEDBACK, meeting.id, line.now(),
              delay_s=max(0.0, (due - line.now()).total_seconds()),
              dedupe_key=f"group_feedback:{meeting.id}:scheduled")


def after_end(session: Session, line: Line, meeting: GroupMeeting) -> None:
    """The meeting was ended: ask ``AFTER_END`` from now."""
    tasks.add(session, TaskKind.GROUP_FEEDBACK, meeting.id, line.now(),
              delay_s=AFTER_END.total_seconds(), dedupe_key=f"group_feedback:{meeting.id}:ended")


def _crisis_on(session: Session, call: Call) -> bool:
    if (call.priority > 0 or call.hotline_sid or call.stage in _CRISIS_STAGES
            or call.outcome in _CRISIS_OUTCOMES):
        return True
    return call.conversation_id is not None and session.scalar(select(Escalation.id).where(
        Escalation.conversation_id == call.conversation_id).limit(1)) is not None


def _excluded(session: Session, survivor: Survivor, calls: list[Call]) -> str | None:
    """Why this attendee is not asked (None: they may be)."""
    if survivor.opted_out:
        return "opted out"
    if any(_crisis_on(session, c) for c in calls):
        return "crisis on the call"
    since = min(c.created_at for c in calls)
    mine = select(Conversation.id).where(Conversation.survivor_id == survivor.id)
    if session.scalar(select(Escalation.id).where(
            Escalation.conversation_id.in_(mine), Escalation.created_at >= since)
            .limit(1)) is not None:
        return "crisis since the call began"
    if session.scalar(select(Conversation.id).where(
            Conversation.survivor_id == survivor.id, Conversation.channel == "sms",
            Conversation.status.in_((ConversationStatus.WAITING, ConversationStatus.ACTIVE)))
            .limit(1)) is not None:
        return "in a text conversation"
    return None


def _own_signup(session: Session, survivor_id: int, calls: list[Call]) -> GroupSignup | None:
    """The sign-up of this survivor that seated one of their calls (None: every call was
    seated by someone else's PIN, from another phone or under a faked caller ID)."""
    for call in calls:
        signup = session.get(GroupSignup, call.group_signup_id) if call.group_signup_id \
            else None
        if signup is not None and signup.survivor_id == survivor_id:
            return signup
    return None


def ask_attendees(session: Session, line: Line, meeting: GroupMeeting) -> int:
    """Ask every attendee who may be asked (once per meeting); returns how many were."""
    # Removal is by sign-up (the PIN that seated the removed call), never by number: a
    # faked caller ID removed must not cost the number's real owner her question.
    removed = set(session.scalars(select(Call.group_signup_id).join(
        GroupAction, GroupAction.target_call_id == Call.id).where(
        GroupAction.meeting_id == meeting.id, GroupAction.kind == GroupActionKind.REMOVE,
        Call.group_signup_id.is_not(None))))
    by_survivor: dict[int, list[Call]] = {}
    for call in session.scalars(select(Call).where(
            Call.group_meeting_id == meeting.id, Call.role == CallRole.SURVIVOR,
            Call.group_joined_at.is_not(None)).order_by(Call.id)):
        if call.conversation is not None:
            by_survivor.setdefault(call.conversation.survivor_id, []).append(call)
    asked = 0
    for survivor_id, calls in by_survivor.items():
        survivor = session.get(Survivor, survivor_id)
        if survivor is None:
            continue
        signup = _own_signup(session, survivor_id, calls)
        if signup is None:
            # Another phone (or a faked caller ID) keyed the PIN: the question names the
            # group, so it never goes to a number that did not sign up for it.
            log.info("group meeting %s: no feedback question to a participant (called "
                     "from a number other than the sign-up's)", meeting.id)
            continue
        reason = "removed" if signup.id in removed else _excluded(session, survivor, calls)
        if reason is not None:
            log.info("group meeting %s: no feedback question to a participant (%s)",
                     meeting.id, reason)
            continue
        if feedback.ask_group(session, line, survivor, meeting, signup.line_number,
                              survivor.lang):
            asked += 1
    return asked


def feedback_task(sessions: sessionmaker[Session], line: Line, meeting_id: int | None) -> None:
    """Worker entry: once the meeting is over (and ``AFTER_END`` has passed), ask."""
    with sessions.begin() as session:
        meeting = session.scalar(select(GroupMeeting).where(
            GroupMeeting.id == meeting_id).with_for_update())
        if meeting is None:
            return
        over = scheduled_end(line, meeting)
        if meeting.ended_at is not None:
            over = min(over, meeting.ended_at)
        due = over + AFTER_END
        if line.now() < due:
            raise tasks.Retry((due - line.now()).total_seconds(), "the group is not over")
        if meeting.started_at is None:  # the facilitator never came: no group to rate
            log.info("group meeting %s never started: no feedback question", meeting.id)
            return
        asked = ask_attendees(session, line, meeting)
        log.info("group meeting %s: feedback question to %s participant(s)", meeting.id, asked)
