"""Feedback: one optional question after a conversation or a group meeting ends, answered
by a digit 1-5 (and an optional word), recorded and thanked, never relayed to anyone.

Who is asked after a group, and when, is decided in :mod:`peerline.groups.feedback`;
:func:`ask_group` stores the row and queues the text.

Asked only after a conversation with a peer ended by ``#END`` (either side) or a quiet
close, never after a crisis escalation in it, ``STOP`` or ``#ERASE`` (those close it
another way and send nothing). The answer counts while nothing newer happened: within
``PEERLINE_FEEDBACK_WINDOW_S``, before the survivor starts another conversation, once.
A text that is not a lone digit (with at most one word after it) is an ordinary message.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import Conversation, Escalation, Feedback, GroupMeeting, Survivor
from peerline.text.texts import say

#: A digit 1-5, optionally one word after it (``4``, ``5 thanks``, ``3.``).
ANSWER = re.compile(r"^\s*([1-5])(?:[\s.,:;!-]+([^\W\d_][\w'-]{0,29}))?[\s.!]*$")
SCORES = (1, 2, 3, 4, 5)


def ask(session: Session, line: Line, conversation: Conversation) -> bool:
    """After a conversation ended: the feedback question, when it may be asked."""
    if conversation.channel != "sms" or conversation.volunteer_id is None:
        return False
    if not (conversation.closed_reason or "").startswith("ended_by_"):
        return False  # STOP (opted_out), #ERASE (erased) and the like: nothing is sent
    survivor: Survivor = conversation.survivor
    if survivor.opted_out:
        return False
    escalated = session.scalar(select(Escalation.id).where(
        Escalation.conversation_id == conversation.id).limit(1))
    if escalated is not None:
        return False
    if session.scalar(select(Feedback.id).where(
            Feedback.conversation_id == conversation.id)) is not None:
        return False
    session.add(Feedback(conversation_id=conversation.id, phone_hash=survivor.phone_hash,
                         asked_at=line.now()))
    outbox.text_survivor(session, line, survivor, conversation.survivor_line,
                         say("feedback_question", conversation.lang),
                         conversation_id=conversation.id)
    return True


def ask_group(session: Session, line: Line, survivor: Survivor, meeting: GroupMeeting,
              line_number: str, lang: str) -> bool:
    """After a group meeting the survivor attended: the question (once per meeting).

    The caller (:func:`peerline.groups.feedback.ask_attendees`) decided it may be asked."""
    if survivor.opted_out or session.scalar(select(Feedback.id).where(
            Feedback.group_meeting_id == meeting.id,
            Feedback.phone_hash == survivor.phone_hash)) is not None:
        return False
    session.add(Feedback(group_meeting_id=meeting.id, phone_hash=survivor.phone_hash,
                         asked_at=line.now()))
    outbox.text_survivor(session, line, survivor, line_number,
                         say("group_feedback_question", lang, topic=meeting.group.topic),
                         kind="group_feedback")
    return True


def pending(session: Session, line: Line, survivor: Survivor) -> Feedback | None:
    """The survivor's unanswered question, if it still counts (see the module doc)."""
    window = timedelta(seconds=line.setting("PEERLINE_FEEDBACK_WINDOW_S"))
    row = session.scalar(select(Feedback).where(
        Feedback.phone_hash == survivor.phone_hash).order_by(Feedback.id.desc()).limit(1))
    if row is None or row.answered_at is not None or row.asked_at < line.now() - window:
        return None
    later = (Conversation.id > row.conversation_id if row.conversation_id is not None
             else Conversation.created_at > row.asked_at)  # a group's: any newer story
    newer = session.scalar(select(Conversation.id).where(
        Conversation.survivor_id == survivor.id, later).limit(1))
    return row if newer is None else None


def parse(body: str) -> tuple[int, str | None] | None:
    """(score, word) from an answer, or None for anything else."""
    match = ANSWER.match(body)
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def record(line: Line, row: Feedback, score: int, words: str | None, lang: str) -> str:
    """Keep the answer (the word sealed); returns the thanks."""
    row.score, row.words, row.answered_at = score, words, line.now()
    return say("feedback_thanks", lang)


#: Feedback kinds on the dashboard: after a text conversation, after a group meeting.
KINDS = ("conversation", "group")


def _counts(asked: int, by_score: dict[int, int]) -> dict[str, object]:
    answered = sum(by_score.values())
    mean = (sum(s * c for s, c in by_score.items()) / answered) if answered else None
    return {"asked": asked, "answered": answered, "by_score": by_score, "mean": mean}


def summary(session: Session) -> dict[str, object]:
    """Counts only (no words): questions asked, answered and answers by score, in all and
    by kind (``kinds``: after a conversation, after a group)."""
    asked = dict.fromkeys(KINDS, 0)
    scores = {kind: dict.fromkeys(SCORES, 0) for kind in KINDS}
    group = Feedback.group_meeting_id.is_not(None)
    for is_group, score, count in session.execute(
            select(group, Feedback.score, func.count()).group_by(group, Feedback.score)):
        kind = "group" if is_group else "conversation"
        asked[kind] += int(count)
        if score is not None:
            scores[kind][int(score)] += int(count)
    overall = _counts(sum(asked.values()),
                      {s: sum(scores[k][s] for k in KINDS) for s in SCORES})
    overall["kinds"] = {kind: _counts(asked[kind], scores[kind]) for kind in KINDS}
    return overall
