"""Survivors' peer-support words, for :mod:`peerline.text.intake` (two small hooks).

:func:`before` runs before an ordinary text is stored and relayed: ``RESOURCES`` /
``RECURSOS`` (answered in any state, never relayed to a peer, never opening a
conversation), ``VOLUNTEER <code>`` confirming an approved application (in any state,
never relayed), and, outside a live conversation, ``PEER``, ``SAME``, ``VOLUNTEER``, the
answer to the peer question, a feedback digit and application answers. Inside a live
conversation every other word is relayed as usual ("same" is an ordinary reply there).
A text with crisis words is never taken by any of these: it goes the crisis way.
:func:`after_new` adds to the first reply of a new conversation: the optional peer
question (once per survivor), or the ``SAME`` note when that was the first text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, Survivor
from peerline.peer import applications, choice, continuity, feedback, resources
from peerline.text.texts import say

PEER_WORDS = {"PEER", "PAR"}


@dataclass
class Answer:
    """The immediate reply, and the kind the incoming text is stored as."""

    texts: list[str] = field(default_factory=list)
    kind: str = "command"


def before(session: Session, line: Line, survivor: Survivor,
           conversation: Conversation | None, line_number: str, word: str, body: str,
           crisis: bool, fresh: bool = False) -> Answer | None:
    """The answer to a peer-support word, or None: the text goes the ordinary way.

    ``fresh``: this transaction inserted the survivor's row, so no application refers
    to it yet (their lookups are skipped; choices and feedback are keyed by the phone
    hash, which may have history, and are still read)."""
    if crisis:
        if not fresh:
            applications.cancel(session, line, survivor)
        return None
    if resources.is_resources(word):
        return Answer([resources.reply(line, word, survivor.lang)])
    given = applications.confirmation_code(word)
    if given is not None:  # VOLUNTEER 4821: in any state, never relayed (the code is theirs)
        text = applications.confirm(session, line, survivor, given)
        if text is not None:
            return Answer([text])
    if conversation is not None and conversation.status != ConversationStatus.WAITING:
        return None  # live: relayed as usual
    if word in PEER_WORDS:
        return Answer([choice.ask(session, line, survivor, conversation)])
    question = choice.pending(session, line, survivor, conversation)
    if question is not None:
        text = choice.answer(session, line, survivor, question, conversation, word)
        if text is not None:
            return Answer([text], kind="choice")
    if conversation is not None:
        if word in continuity.WORDS:
            return Answer([continuity.ask_same(session, line, survivor, conversation)])
        if word in applications.WORDS:
            return Answer([say("volunteer_later", survivor.lang)])
        return None
    if word in applications.WORDS:
        return Answer([applications.start(session, line, survivor, line_number)])
    parsed = feedback.parse(body)  # pure: only a possible answer looks for a question
    pending = feedback.pending(session, line, survivor) if parsed is not None else None
    if pending is not None and parsed is not None:
        return Answer([feedback.record(line, pending, *parsed, survivor.lang)],
                      kind="feedback")
    application = None if fresh else applications.asking(session, line, survivor)
    if application is not None and word not in continuity.WORDS:
        return Answer([applications.answer(line, application, body)], kind="application")
    return None


def after_new(session: Session, line: Line, survivor: Survivor, conversation: Conversation,
              word: str, crisis: bool) -> list[str]:
    """What follows the welcome of a new conversation (nothing in a crisis but SAME)."""
    if word in continuity.WORDS:
        return [continuity.ask_same(session, line, survivor, conversation)]
    if crisis:
        return []
    if choice.carry_to(session, line, survivor, conversation):
        return []
    if choice.should_ask(session, line, survivor):
        return [choice.ask(session, line, survivor, conversation)]
    return []
