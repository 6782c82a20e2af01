"""Conversations: starting, relaying, ending, re-queueing, and the alerts around them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import (
    Alert,
    Conversation,
    ConversationStatus,
    Message,
    Survivor,
    Volunteer,
)
from peerline.models.attach import attached, columns, unflushed
from peerline.models.upsert import insert_conversation_and_task
from peerline.peer import feedback
from peerline.people import cooldown
from peerline.text import offers, pairing
from peerline.text.texts import ONCALL_TEXTS, VOLUNTEER_TEXTS, say

log = logging.getLogger(__name__)

OPEN = (ConversationStatus.WAITING, ConversationStatus.ACTIVE)


def open_conversation(session: Session, survivor_id: int) -> Conversation | None:
    """The survivor's waiting or live conversation, if any."""
    return session.scalar(select(Conversation).where(
        Conversation.survivor_id == survivor_id, Conversation.status.in_(OPEN))
        .options(joinedload(Conversation.volunteer))  # a relay needs the peer
        .order_by(Conversation.id.desc()).limit(1))


def open_with_last_words(session: Session, survivor_id: int, sender_hash: str
                         ) -> tuple[Conversation | None, tuple[str, datetime] | None]:
    """:func:`open_conversation` and, in the same statement, the last stored words (body
    and time) ``sender_hash`` texted in it, if any (what the crisis scan joins a text to).

    A prebuilt Core statement (the ORM query with its joined peer was a sixth of a live
    text's Python); the conversation and its peer become the session's ORM objects
    (:func:`peerline.models.attach.attached`: the ones it holds already, if any).
    """
    session.flush()  # as a query would (autoflush)
    row = session.connection().execute(_open_with_last_words(), {
        "survivor_id": survivor_id, "sender_hash": sender_hash}).mappings().first()
    if row is None:
        return None, None
    conversation = attached(session, Conversation,
                            {name: row[f"c_{name}"] for name in columns(Conversation)})
    if "volunteer" not in inspect(conversation).dict:  # a relay needs the peer: loaded now
        volunteer = (None if row["v_id"] is None else attached(
            session, Volunteer, {name: row[f"v_{name}"] for name in PEER_COLUMNS},
            some=PEER_COLUMNS))
        set_committed_value(conversation, "volunteer", volunteer)
    last = (row["last_body"], row["last_at"]) if row["last_body"] is not None else None
    return conversation, last


#: What a live text reads of the peer (a relay, an alert: the sealed number and its
#: hash); the peer's other columns load on first use (``attached(..., some=...)``), e.g.
#: when the conversation ends. Each column read costs the driver's description of it.
PEER_COLUMNS = ("id", "phone_enc", "phone_hash")


@cache
def _open_with_last_words() -> Any:
    """The statement of :func:`open_with_last_words` (``:survivor_id``, ``:sender_hash``)."""
    conv, vol, msg = (Conversation.__table__, Volunteer.__table__, Message.__table__)
    sender_hash = bindparam("sender_hash", type_=msg.c.sender_hash.type)

    def last(column: Any) -> Any:  # one level deep, so it correlates to the conversation
        return (select(column).where(msg.c.conversation_id == conv.c.id,
                                     msg.c.sender_hash == sender_hash,
                                     msg.c.body.is_not(None))
                .order_by(msg.c.id.desc()).limit(1).scalar_subquery())

    return (select(*[conv.c[name].label(f"c_{name}") for name in columns(Conversation)],
                   *[vol.c[name].label(f"v_{name}") for name in PEER_COLUMNS],
                   last(msg.c.body).label("last_body"),
                   last(msg.c.created_at).label("last_at"))
            .select_from(conv.outerjoin(vol, vol.c.id == conv.c.volunteer_id))
            .where(conv.c.survivor_id == bindparam("survivor_id"),
                   conv.c.status.in_(OPEN))
            .order_by(conv.c.id.desc()).limit(1))


def start(session: Session, line: Line, survivor: Survivor, line_number: str,
          channel: str = "sms") -> Conversation:
    """Queue a new conversation for a survivor and ask for pairing.

    One prebuilt ``INSERT ... RETURNING id`` (not a unit-of-work flush); the conversation
    is then the session's tracked object (:func:`peerline.models.attach.attached`), so
    later changes to it are written as usual. A second open conversation for the
    survivor is refused by the database (``IntegrityError``), as before.
    """
    now = line.now()
    row = {name: None for name in columns(Conversation)}
    row.update(survivor_id=survivor.id, channel=channel, status=ConversationStatus.WAITING,
               priority=0, front=False, lang=survivor.lang, survivor_line=line_number,
               created_at=now, queued_at=now, last_survivor_at=now)
    del row["id"]
    session.flush()  # what is pending goes first, as in one flush (the survivor row)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The conversation and the pairing request in one round trip (run by
        # ``tasks.add`` unless this transaction asked for pairing already).
        def both(task: dict[str, Any]) -> int | None:
            ids = connection.execute(insert_conversation_and_task(), {
                **{f"c_{name}": value for name, value in row.items()},
                **{f"t_{name}": value for name, value in task.items()}}).one()
            row["id"] = ids.conversation_id
            return ids.task_id  # type: ignore[no-any-return]

        pairing.request_pairing(session, line, insert=both)
    if "id" not in row:
        row["id"] = connection.execute(_insert_conversation(), row).scalar_one()
        pairing.request_pairing(session, line)  # (asked already on PostgreSQL: no-op)
    conversation = attached(session, Conversation, row)
    started_here(session).add(conversation.id)
    log.info("event=conversation_started conversation=%s channel=%s lang=%s",
             conversation.id, channel, conversation.lang)
    return conversation


@cache
def _insert_conversation() -> Any:
    """``INSERT INTO conversations (every column but id) ... RETURNING id``, built once."""
    table = Conversation.__table__
    return insert(table).returning(table.c.id)


def stamp_survivor(session: Session, conversation: Conversation, at: datetime) -> None:
    """``conversation.last_survivor_at = at``, written at once by one prebuilt ``UPDATE``
    (a live text's only change to its conversation: no unit-of-work flush for it).

    The ``UPDATE`` holds the conversation's row lock until the transaction ends (it
    waits for anyone holding it, e.g. the peer's ``#CRISIS``), so it is noted in
    :func:`locked_here`: what is read of it after this is not from before the wait."""
    session.connection().execute(_stamp_survivor(), {"conversation_id": conversation.id, "at": at})
    stamped(session, conversation, at)


def stamped(session: Session, conversation: Conversation, at: datetime) -> None:
    """Note that ``last_survivor_at = at`` was written (by :func:`stamp_survivor`, or in
    the statement that stored the text, ``models.upsert.insert_message_stamping``): the
    attribute is set as committed and the row counts as locked by this transaction."""
    set_committed_value(conversation, "last_survivor_at", at)
    locked_here(session).add(conversation.id)


@cache
def _stamp_survivor() -> Any:
    table = Conversation.__table__
    return (update(table).where(table.c.id == bindparam("conversation_id"))
            .values(last_survivor_at=bindparam("at", type_=table.c.last_survivor_at.type)))


def locked_here(session: Session) -> set[int]:
    """Ids of the conversations whose rows this transaction has locked by writing them
    (:func:`stamp_survivor`): another transaction changing them waits for this one."""
    seen = session.info.get("locked_conversations")
    if seen is None or seen[0] is not session.get_transaction():
        seen = session.info["locked_conversations"] = (session.get_transaction(), set())
    return seen[1]


def started_here(session: Session) -> set[int]:
    """Ids of the conversations this transaction started (nobody else can see them yet:
    they need no lock, and have no escalation or offer of their own)."""
    seen = session.info.get("started_conversations")
    if seen is None or seen[0] is not session.get_transaction():
        seen = session.info["started_conversations"] = (session.get_transaction(), set())
    return seen[1]


def hotline_text(line: Line, lang: str, abuse: bool = False) -> str:
    """The configured hotline message in ``lang`` (domestic-violence one for abuse)."""
    suffix = "ES" if lang == "es" else "EN"
    key = f"PEERLINE_DV_TEXT_{suffix}" if abuse else f"PEERLINE_HOTLINE_TEXT_{suffix}"
    return line.setting(key)


def hours_text(line: Line, lang: str) -> str:
    """When the line is usually staffed."""
    return line.setting("PEERLINE_HOURS_ES" if lang == "es" else "PEERLINE_HOURS")


def alert_oncall(session: Session, line: Line, kind: str, conversation_id: int | None,
                 text: str, paced: bool = True) -> bool:
    """Text the on-call coordinator (if configured); paced alerts repeat at most so often."""
    number = line.setting("PEERLINE_ONCALL_NUMBER")
    now = line.now()
    gap = timedelta(seconds=line.setting("PEERLINE_ONCALL_ALERT_GAP_S"))
    if paced and alerted_since(session, kind, now - gap):
        return False
    note_alert(session, kind, conversation_id, now)
    if number:
        outbox.queue_text(session, line, number, line.numbers[0], text, kind="alert",
                          conversation_id=conversation_id)
    return True


def alerted_since(session: Session, kind: str, since: datetime) -> bool:
    """Whether an alert of ``kind`` was recorded after ``since`` (a prebuilt Core read)."""
    if unflushed(session, Alert):
        session.flush()  # as a query's autoflush would
    return session.connection().execute(_alert_since(), {"kind": kind, "since": since}
                                        ).first() is not None


def note_alert(session: Session, kind: str, conversation_id: int | None,
               at: datetime) -> None:
    """Record an alert (what paces the next): one prebuilt ``INSERT``, no ORM object."""
    session.connection().execute(_insert_alert(), {
        "kind": kind, "conversation_id": conversation_id, "created_at": at})


@cache
def _alert_since() -> Any:
    table = Alert.__table__
    return select(table.c.id).where(
        table.c.kind == bindparam("kind", type_=table.c.kind.type),
        table.c.created_at > bindparam("since", type_=table.c.created_at.type)).limit(1)


@cache
def _insert_alert() -> Any:
    return insert(Alert.__table__)


def alert_nobody_on_shift(session: Session, line: Line, conversation: Conversation) -> None:
    """Tell the on-call coordinator someone waits with nobody on shift."""
    alert_oncall(session, line, "nobody_on_shift", conversation.id,
                 ONCALL_TEXTS["nobody_on_shift"].format(cid=conversation.id))


def relay_to_volunteer(session: Session, line: Line, conversation: Conversation,
                       body: str) -> None:
    """Pass a survivor's words to their peer, from the conversation's line number."""
    volunteer = conversation.volunteer
    if volunteer is None or conversation.volunteer_line is None:
        return
    outbox.text_volunteer(session, line, volunteer, conversation.volunteer_line, body,
                          kind="relay", conversation_id=conversation.id)


def relay_to_survivor(session: Session, line: Line, conversation: Conversation,
                      body: str) -> None:
    """Pass a peer's words to the survivor, from the number the survivor texted."""
    outbox.text_survivor(session, line, conversation.survivor, conversation.survivor_line,
                         body, kind="relay", conversation_id=conversation.id)


def _close(session: Session, line: Line, conversation: Conversation, reason: str) -> bool:
    if conversation.status == ConversationStatus.CLOSED:
        return False
    volunteer = conversation.volunteer
    conversation.status, conversation.closed_at = ConversationStatus.CLOSED, line.now()
    conversation.closed_reason = reason
    log.info("event=conversation_closed conversation=%s reason=%s", conversation.id, reason)
    offers.withdraw_offers(session, line, conversation.id)
    if volunteer is not None:
        volunteer.last_freed_at = line.now()
        cooldown.after_conversation(session, line, conversation, volunteer)
        pairing.request_pairing(session, line)
    return True


def end(session: Session, line: Line, conversation: Conversation, by: str) -> None:
    """``#END`` from either side (or a close nobody typed): both sides are told."""
    if not _close(session, line, conversation, f"ended_by_{by}"):
        return
    volunteer = conversation.volunteer
    if by == "survivor" or by == "idle":
        key = "ended_survivor" if by == "survivor" else "idle_survivor"
        outbox.text_survivor(session, line, conversation.survivor, conversation.survivor_line,
                             say(key, conversation.lang), conversation_id=conversation.id)
    if volunteer is not None and conversation.volunteer_line:
        key = {"survivor": "ended_by_survivor", "idle": "idle_closed"}.get(by, "ended")
        outbox.text_volunteer(session, line, volunteer, conversation.volunteer_line,
                              VOLUNTEER_TEXTS[key].format(cid=conversation.id),
                              conversation_id=conversation.id)
    if by == "volunteer":
        outbox.text_survivor(session, line, conversation.survivor, conversation.survivor_line,
                             say("ended_survivor", conversation.lang),
                             conversation_id=conversation.id)
    feedback.ask(session, line, conversation)  # only when it may be asked (peer support)


def survivor_opted_out(session: Session, line: Line, survivor: Survivor,
                       reason: str = "opted_out") -> None:
    """STOP (or a quick exit, ``reason='erased'``): nothing more is sent; the open
    conversation closes and a peer is told."""
    survivor.opted_out, survivor.opted_out_at = True, line.now()
    conversation = open_conversation(session, survivor.id)
    if conversation is None:
        return
    volunteer = conversation.volunteer
    if _close(session, line, conversation, reason) and volunteer is not None \
            and conversation.volunteer_line:
        outbox.text_volunteer(session, line, volunteer, conversation.volunteer_line,
                              VOLUNTEER_TEXTS["survivor_left"].format(cid=conversation.id),
                              conversation_id=conversation.id)


def requeue(session: Session, line: Line, conversation: Conversation, reason: str) -> None:
    """Put a live conversation back at the front of the line (its history goes along)."""
    volunteer = conversation.volunteer
    log.info("event=conversation_requeued conversation=%s reason=%s", conversation.id, reason)
    conversation.status, conversation.front = ConversationStatus.WAITING, True
    conversation.volunteer_id = None
    conversation.volunteer_line = None
    conversation.handover_requested_at = None
    conversation.nudged_at = None
    conversation.queued_at = line.now()
    if volunteer is not None:
        volunteer.last_freed_at = line.now()
    outbox.text_survivor(session, line, conversation.survivor, conversation.survivor_line,
                         say("volunteer_left_survivor", conversation.lang),
                         conversation_id=conversation.id)
    pairing.request_pairing(session, line)
    if reason == "silent" and volunteer is not None:
        number = pairing.free_line(line, set()) or line.numbers[0]
        outbox.text_volunteer(session, line, volunteer, number,
                              VOLUNTEER_TEXTS["requeued"].format(cid=conversation.id))
