"""Feedback: one optional question after a conversation ends, answered by a digit 1-5
(and an optional word), recorded and thanked, never relayed to anyone.

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
from peerline.models import Conversation, Escalation, Feedback, Survivor
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


def pending(session: Session, line: Line, survivor: Survivor) -> Feedback | None:
    """The survivor's unanswered question, if it still counts (see the module doc)."""
    window = timedelta(seconds=line.setting("PEERLINE_FEEDBACK_WINDOW_S"))
    row = session.scalar(select(Feedback).where(
        Feedback.phone_hash == survivor.phone_hash).order_by(Feedback.id.desc()).limit(1))
    if row is None or row.answered_at is not None or row.asked_at < line.now() - window:
        return None
    newer = session.scalar(select(Conversation.id).where(
        Conversation.survivor_id == survivor.id,
        Conversation.id > row.conversation_id).limit(1))
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


def summary(session: Session) -> dict[str, object]:
    """Counts only: questions asked, answered, and answers by score (no words)."""
    by_score = dict.fromkeys(SCORES, 0)
    for score, count in session.execute(select(Feedback.score, func.count()).where(
            Feedback.score.is_not(None)).group_by(Feedback.score)):
        by_score[int(score)] = int(count)
    asked = session.scalar(select(func.count()).select_from(Feedback)) or 0
    answered = sum(by_score.values())
    mean = (sum(s * c for s, c in by_score.items()) / answered) if answered else None
    return {"asked": asked, "answered": answered, "by_score": by_score, "mean": mean}
