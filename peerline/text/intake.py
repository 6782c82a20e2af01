"""What happens when a text arrives: store it once, decide the reply, queue the rest.

:func:`receive_sms` is what ``POST /sms/inbound`` calls; it runs inside the webhook's
single transaction, so the message, every state change and every follow-up task are
committed together (or not at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import remote_delete
from peerline.groups import texting as group_texts
from peerline.line import Line
from peerline.models import (
    Conversation,
    ConversationStatus,
    EscalationSource,
    Survivor,
    Volunteer,
)
from peerline.models.upsert import insert_message, insert_message_stamping
from peerline.peer import survivor_words
from peerline.people import breaks, oncall, roster, wellbeing
from peerline.people.lookup import survivor_for
from peerline.people.phones import InvalidNumber, normalise
from peerline.people.senders import Sender, identify
from peerline.privacy import erasure
from peerline.scheduling import commands as shift_commands
from peerline.text import conversations, escalation, offers
from peerline.text.texts import VOLUNTEER_TEXTS, say

#: Carrier opt-out words (as the whole message), and opt-in words.
OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN = {"START", "UNSTOP"}
HELP = {"HELP", "INFO", "AYUDA"}
MAX_BODY = 1600
#: How recent a previous text must be to join it with the next for crisis scanning.
JOIN_WINDOW = timedelta(minutes=10)
#: A peer's text on a line whose survivor quick-exited this recently was a reply to them.
ERASED_REPLY_WINDOW = timedelta(minutes=10)
#: What a volunteer may text on a line with no live conversation, as commands.
VOLUNTEER_WORDS = {"ON", "OFF", "STATUS", "YES", "PASS", "HELP", "INFO", "START", "UNSTOP",
                   "BACK"}  # and BREAK [minutes] (breaks.is_break)


class BadInput(ValueError):
    """A signed request the line cannot use; answered with a 4xx and this reason."""


class Duplicate(Exception):
    """This ``MessageSid`` is stored already (a redelivered webhook). Raised when the
    text is stored, so the caller's transaction rolls back whatever came before it and
    the caller answers as for a duplicate (``Reply(duplicate=True)``)."""


@dataclass
class Reply:
    """The immediate TwiML reply: texts sent back from the number that was texted."""

    texts: list[str] = field(default_factory=list)
    duplicate: bool = False
    crisis: bool = False  # the reply carries hotline information: always send it
    erased: bool = False  # a quick exit: spooled copies should be replayed (erased) now


def command_word(body: str) -> str:
    """The message as a command: trimmed, upper-case, trailing punctuation dropped."""
    return re.sub(r"[\s.!?,;:]+$", "", body.strip()).upper()


def receive_sms(session: Session, line: Line, *, sid: str, from_raw: str, to_raw: str,
                body: str, num_media: int = 0, spooled_at: datetime | None = None) -> Reply:
    """Handle one inbound text; the caller commits.

    ``spooled_at``: when a text replayed from the outage spool first reached the line.
    Raises :class:`Duplicate` for a ``MessageSid`` stored before (dedupe and insert are
    one ``INSERT ... ON CONFLICT DO NOTHING``): the caller rolls back and stores nothing.
    """
    if not sid or len(sid) > 64:
        raise BadInput("MessageSid is missing or malformed")
    try:
        sender = normalise(from_raw)
    except InvalidNumber:
        raise BadInput("From is not a phone number") from None
    try:
        line_number = normalise(to_raw)
    except InvalidNumber:
        raise BadInput("To is not a phone number") from None
    body = body.replace("\x00", "")
    who = identify(session, line, sender)
    if who.volunteer is not None:
        return _from_volunteer(session, line, who.volunteer, sid, line_number, body,
                               num_media, spooled_at)
    if oncall.is_oncall(line, sender):
        return _from_oncall(session, line, sender, sid, line_number, body, num_media)
    return _from_survivor(session, line, sender, sid, line_number, body, num_media,
                          spooled_at, who)


def _from_oncall(session: Session, line: Line, sender: str, sid: str, line_number: str,
                 body: str, num_media: int) -> Reply:
    """The on-call coordinator answering an alert: never a survivor conversation."""
    _store(session, line, sid=sid, sender="coordinator", sender_hash=line.vault.hash(sender),
           line_number=line_number, body=body, num_media=num_media, kind="command",
           conversation_id=None)
    word = command_word(body)
    if word in OPT_OUT:
        return Reply()
    return Reply([oncall.command(session, line, word)])


def _store(session: Session, line: Line, *, sid: str, sender: str, sender_hash: str,
           line_number: str, body: str | None, num_media: int, kind: str,
           conversation_id: int | None, stamp: Conversation | None = None) -> int:
    """Store the text unless its sid is stored already (then :class:`Duplicate`).

    ``stamp``: the survivor's conversation (``conversation_id``), whose
    ``last_survivor_at`` is set to now as well: on PostgreSQL in the same statement."""
    session.flush()  # the conversation and survivor rows it refers to
    now = line.now()
    values = {"sid": sid, "sender": sender, "sender_hash": sender_hash,
              "line_number": line_number, "body": body, "num_media": num_media, "kind": kind,
              "conversation_id": conversation_id, "created_at": now}
    connection = session.connection()
    if stamp is not None and connection.dialect.name == "postgresql":
        stored = connection.execute(insert_message_stamping(),
                                    {**values, "stamp_at": now}).scalar()
        conversations.stamped(session, stamp, now)
    else:
        if stamp is not None:
            conversations.stamp_survivor(session, stamp, now)
        stored = connection.execute(insert_message(), values).scalar()
    if stored is None:
        raise Duplicate("this MessageSid is stored already")
    return stored


# --- survivors -------------------------------------------------------------------------

def _previous_text(line: Line, last: tuple[str, datetime] | None) -> str | None:
    """The survivor's last words in the conversation, if recent enough to join."""
    if last is None or line.now() - last[1] > JOIN_WINDOW:
        return None
    return last[0]


def _from_survivor(session: Session, line: Line, sender: str, sid: str, line_number: str,
                   body: str, num_media: int, spooled_at: datetime | None = None,
                   who: Sender | None = None) -> Reply:
    word = command_word(body)
    lang_guess = escalation.guess_language(body) if body.strip() else "en"
    survivor, created = survivor_for(session, line, sender, lang_guess,
                                     known=who.survivor_known if who is not None else True)
    store = {"sid": sid, "sender": "survivor", "sender_hash": survivor.phone_hash,
             "line_number": line_number, "body": body, "num_media": num_media}
    if erasure.arrived_before_erasure(survivor, spooled_at):
        # Spooled during an outage, replayed after the quick exit: erased too.
        _store(session, line, kind="erased", conversation_id=None,
               **{**store, "body": None})
        remote_delete.forget(session, line, "message", sid, survivor.id)
        return Reply()
    conversation, last = ((None, None) if created else
                          conversations.open_with_last_words(session, survivor.id,
                                                             survivor.phone_hash))

    if word in OPT_OUT:
        _store(session, line, kind="optout",
               conversation_id=conversation.id if conversation else None, **store)
        conversations.survivor_opted_out(session, line, survivor)
        return Reply()  # the carrier confirms; the line sends nothing more
    if word in OPT_IN:
        _store(session, line, kind="command", conversation_id=None, **store)
        survivor.opted_out = False
        return Reply([say("start_survivor", survivor.lang)])
    exit_word = command_word(line.setting("PEERLINE_QUICK_EXIT_WORD") or "")
    if exit_word and word == exit_word:
        _store(session, line, kind="optout",
               conversation_id=conversation.id if conversation else None, **store)
        erasure.erase_survivor(session, line, survivor.id)
        return Reply(erased=True)  # nothing is sent: a phone in the wrong hands shows no reply
    if erasure.quick_exited(survivor):
        # A fresh start, as if START came first (why: erasure.quick_exited). Nothing from
        # before comes back: the erasure closed and emptied every conversation.
        survivor.opted_out = False
    if survivor.opted_out:
        _store(session, line, kind="text", conversation_id=None, **store)
        return Reply()  # opted out (STOP): nothing is sent until START

    reply = Reply()
    previous = _previous_text(line, last)
    detection = (escalation.scan(body, survivor.lang, previous, settings=line.settings)
                 if body.strip() else None)

    if word in HELP:
        _store(session, line, kind="command",
               conversation_id=conversation.id if conversation else None, **store)
        reply.texts.append(say("help_survivor", survivor.lang,
                               hotline=conversations.hotline_text(line, survivor.lang)))
        if conversation is not None and conversation.status == ConversationStatus.ACTIVE:
            conversations.relay_to_volunteer(session, line, conversation, body)
        return reply
    if word == "#END":
        _store(session, line, kind="command",
               conversation_id=conversation.id if conversation else None, **store)
        if conversation is not None:
            conversations.end(session, line, conversation, by="survivor")
        else:
            reply.texts.append(say("ended_survivor", survivor.lang))
        return reply
    if word == "#HELP":
        _store(session, line, kind="command",
               conversation_id=conversation.id if conversation else None, **store)
        reply.texts.append(say("help_survivor", survivor.lang,
                               hotline=conversations.hotline_text(line, survivor.lang)))
        return reply
    if group_texts.is_group_command(word):  # answered by the line, never relayed
        _store(session, line, kind="command",
               conversation_id=conversation.id if conversation else None, **store)
        return Reply([group_texts.command(session, line, survivor, word, line_number)])

    crisis = detection is not None and detection.crisis
    peer = survivor_words.before(session, line, survivor, conversation, line_number, word,
                                 body, crisis, fresh=created)
    if peer is not None:  # RESOURCES, PEER, SAME, VOLUNTEER and their answers: not relayed
        _store(session, line, kind=peer.kind,
               conversation_id=conversation.id if conversation else None, **store)
        return Reply(peer.texts)

    new = conversation is None
    if new:
        if survivor.lang != lang_guess:  # (an equal value would still make it dirty)
            survivor.lang = lang_guess
        conversation = conversations.start(session, line, survivor, line_number)
    assert conversation is not None
    relay_body = body
    if len(body) > MAX_BODY:
        relay_body = body[:MAX_BODY]
        reply.texts.append(say("too_long", survivor.lang))
    _store(session, line, kind="text", conversation_id=conversation.id,
           stamp=None if new else conversation,  # start() stamped a new one
           **{**store, "body": relay_body})

    hotline_first: list[str] = []
    if detection is not None and detection.crisis:
        reply.crisis = True
        hotline_first = escalation.hotline_reply(session, line, survivor, detection.category)
        first = detection.matches[0] if detection.matches else None
        escalation.escalate(session, line, conversation, source=EscalationSource.DETECTOR,
                            category=detection.category, matched=first.text if first else None)
    if num_media:
        reply.texts.append(say("media_not_relayed", survivor.lang))
    if not body.strip() and not num_media:
        reply.texts.append(say("empty", survivor.lang))
    if new:
        reply.texts.insert(0, say("welcome", survivor.lang))
        on_shift = (who.on_shift_in(session, conversation.lang) if who is not None
                    else roster.on_shift_count(session, conversation.lang))
        if on_shift == 0:
            hotline = "" if hotline_first else conversations.hotline_text(line, survivor.lang)
            reply.texts.append(say(
                "nobody_on_shift", survivor.lang, hotline=hotline,
                hours=conversations.hours_text(line, survivor.lang)))
            conversation.wait_notice_at = line.now()
            conversations.alert_nobody_on_shift(session, line, conversation)
        reply.texts += survivor_words.after_new(session, line, survivor, conversation, word,
                                                crisis)
    elif conversation.status == ConversationStatus.ACTIVE and relay_body.strip():
        if detection is not None and detection.watch and not detection.crisis:
            escalation.watch_note(session, line, conversation)  # before the words
        conversations.relay_to_volunteer(session, line, conversation, relay_body)
    reply.texts[:0] = hotline_first  # someone in danger reads the hotline first
    return reply


# --- volunteers ------------------------------------------------------------------------

def _conversation_on_line(session: Session, volunteer: Volunteer, line_number: str,
                          survivor_first: bool = False) -> Conversation | None:
    """The volunteer's live conversation threaded on ``line_number`` (one at most).

    Texts on a number with no live conversation are commands, never relayed: a YES to an
    offer on a second line number must not reach the first survivor.
    ``survivor_first``: lock the survivor's row before the conversation's, the order the
    survivor's own texts take (a peer's ``#CRISIS`` writes the survivor's row; taken the
    other way round, it and the survivor's text at the same moment deadlocked).
    """
    where = (Conversation.volunteer_id == volunteer.id,
             Conversation.status == ConversationStatus.ACTIVE,
             Conversation.volunteer_line == line_number)
    if survivor_first:
        survivor_id = session.scalar(select(Conversation.survivor_id).where(*where).limit(1))
        if survivor_id is None:
            return None
        session.execute(select(Survivor.id).where(Survivor.id == survivor_id)
                        .with_for_update())
    # Locked: a survivor's quick exit (which locks their conversations) and this
    # volunteer's reply go one after the other, never interleaved.
    return session.scalar(select(Conversation).where(*where).limit(1).with_for_update())


def _erased_since(session: Session, line: Line, volunteer: Volunteer, line_number: str,
                  spooled_at: datetime | None, word: str) -> int | None:
    """The conversation a peer's text was for, if its survivor quick-exited since it was
    written: a spooled text's arrival, or for a live text the last few minutes (a reply
    typed while the survivor erased). Commands (``ON``, ``STATUS``...) are never taken."""
    if spooled_at is None:
        if word in VOLUNTEER_WORDS or breaks.is_break(word) or shift_commands.is_command(word):
            return None
        spooled_at = line.now() - ERASED_REPLY_WINDOW
    return session.scalar(select(Conversation.id).where(
        Conversation.volunteer_id == volunteer.id, Conversation.volunteer_line == line_number,
        Conversation.closed_reason == "erased", Conversation.closed_at >= spooled_at)
        .order_by(Conversation.id.desc()).limit(1))


def _from_volunteer(session: Session, line: Line, volunteer: Volunteer, sid: str,
                    line_number: str, body: str, num_media: int,
                    spooled_at: datetime | None = None) -> Reply:
    word = command_word(body)
    conversation = _conversation_on_line(session, volunteer, line_number,
                                         survivor_first=word.startswith("#"))
    store = {"sid": sid, "sender": "volunteer", "sender_hash": volunteer.phone_hash,
             "line_number": line_number, "body": body, "num_media": num_media}
    erased = None if conversation else _erased_since(session, line, volunteer, line_number,
                                                      spooled_at, word)
    if erased is not None:
        # Spooled during an outage for a survivor who has quick-exited since: erased too.
        _store(session, line, kind="erased", conversation_id=erased, **{**store, "body": None})
        remote_delete.forget(session, line, "message", sid)
        return Reply()
    if word in OPT_OUT:
        _store(session, line, kind="optout", conversation_id=None, **store)
        roster.go_off_shift(session, line, volunteer, force=True)
        volunteer.opted_out = True
        return Reply()
    if word in OPT_IN:
        _store(session, line, kind="command", conversation_id=None, **store)
        volunteer.opted_out = False
        return Reply([VOLUNTEER_TEXTS["help"]])

    if conversation is not None:
        if word.startswith("#"):
            _store(session, line, kind="command", conversation_id=conversation.id, **store)
            return Reply([_conversation_command(session, line, volunteer, conversation, word)])
        conversation.last_volunteer_at = line.now()
        conversation.nudged_at = None
        conversation.handover_requested_at = None
        _store(session, line, kind="text", conversation_id=conversation.id,
               **{**store, "body": body[:MAX_BODY]})
        texts = []
        if num_media:
            texts.append(VOLUNTEER_TEXTS["media"])
        if body.strip():
            conversations.relay_to_survivor(session, line, conversation, body[:MAX_BODY])
        return Reply(texts)

    _store(session, line, kind="command", conversation_id=None, **store)
    if num_media and not body.strip():
        return Reply([VOLUNTEER_TEXTS["media"]])
    return Reply([_volunteer_command(session, line, volunteer, line_number, word)])


def _volunteer_command(session: Session, line: Line, volunteer: Volunteer,
                       line_number: str, word: str) -> str:
    if word == "ON":
        return roster.go_on_shift(session, line, volunteer)
    if word == "OFF":
        return roster.go_off_shift(session, line, volunteer)
    if word == "STATUS":
        return roster.status_text(session, line, volunteer)
    if breaks.is_break(word):
        return breaks.take_break(session, line, volunteer, word)
    if word == "BACK":
        return breaks.come_back(session, line, volunteer)
    if shift_commands.is_command(word):  # SHIFTS, OK, CANT, OPEN, TAKE n, SWAP n
        return shift_commands.answer(session, line, volunteer, word)
    if word == "TALK":
        return wellbeing.talk(session, line, volunteer)
    if word in ("YES", "Y", "SI", "SÍ", "ACCEPT"):
        offer = offers.pick_offer(session, volunteer.id, line_number)
        if offer is None:
            if offers.recently_taken(session, line, volunteer.id):
                return VOLUNTEER_TEXTS["offer_gone"]
            return VOLUNTEER_TEXTS["no_offer"]
        return offers.accept(session, line, volunteer, offer)
    if word in ("PASS", "NO", "N"):
        offer = offers.pick_offer(session, volunteer.id, line_number)
        if offer is None or not offers.decline(session, line, offer):
            return VOLUNTEER_TEXTS["no_offer"]
        return VOLUNTEER_TEXTS["passed"]
    if word in HELP or word == "#HELP":
        return VOLUNTEER_TEXTS["help"]
    if word in ("#END", "#CRISIS"):
        return VOLUNTEER_TEXTS["not_in_conversation"]
    return VOLUNTEER_TEXTS["unknown"]


def _conversation_command(session: Session, line: Line, volunteer: Volunteer,
                          conversation: Conversation, word: str) -> str:
    if word == "#END":
        conversations.end(session, line, conversation, by="volunteer")
        return ""
    if word == "#CRISIS":
        survivor: Survivor = conversation.survivor
        escalation.escalate(session, line, conversation, source=EscalationSource.VOLUNTEER,
                            category="manual", matched=None)
        for text in escalation.hotline_reply(session, line, survivor, None):
            conversations.relay_to_survivor(session, line, conversation, text)
        key = "crisis_flagged" if line.setting("PEERLINE_ONCALL_NUMBER") else \
            "crisis_flagged_no_oncall"
        return VOLUNTEER_TEXTS[key].format(cid=conversation.id)
    return VOLUNTEER_TEXTS["help"]
