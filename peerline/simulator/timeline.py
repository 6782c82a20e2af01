"""What a simulated phone's messages app shows: threads by line number, oldest first.

A phone's history is derived, never kept twice: texts it sent are the ``messages`` rows
with its hash; texts the worker delivered are the local gateway's ``local_messages``;
immediate TwiML replies come from the simulator's Redis list (see :mod:`.webhook`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select

from peerline.models import ConversationStatus
from peerline.people.phones import masked
from peerline.text.texts import ONCALL_TEXTS, VOLUNTEER_TEXTS

from ..extensions import Services
from ..models import Conversation, LocalMessage, Message, Volunteer
from .webhook import load_replies

log = logging.getLogger(__name__)

#: Most recent texts read per phone and source.
HISTORY_LIMIT = 300
#: How crisis alerts begin (to the paired peer, to the on-call coordinator): the page
#: marks those bubbles so they stand apart from every other text.
CRISIS_ALERT_OPENINGS = tuple(template.split("{", 1)[0] for template in (
    VOLUNTEER_TEXTS["crisis_alert"], VOLUNTEER_TEXTS["crisis_alert_no_oncall"],
    ONCALL_TEXTS["crisis"]))


@dataclass
class Item:
    """One bubble: ``out`` was sent by this phone, ``in`` was received by it."""

    direction: str
    body: str
    at: str
    source: str  # sent | reply | delivered | call
    media: int = 0
    kind: str = "text"  # text | command | optout (sent); text | crisis | call (received)


@dataclass
class Thread:
    """Every text between this phone and one line number."""

    line: str
    items: list[Item] = field(default_factory=list)


@dataclass
class _Sent:
    sid: str
    line: str
    body: str
    media: int
    kind: str
    at: datetime
    mark: int | None
    replies: list[str]


def _iso(at: datetime | str) -> str:
    text = at if isinstance(at, str) else at.isoformat()
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _comes_before(delivered: LocalMessage, sent: _Sent) -> bool:
    """Did the gateway text arrive before this phone's text? Exact when the send kept a
    watermark (the newest ``local_messages`` id then), else by time (ties: sent first)."""
    if sent.mark is not None:
        return delivered.id <= sent.mark
    return delivered.created_at < sent.at


def _sent_items(sent: _Sent) -> list[Item]:
    items = [Item("out", sent.body, _iso(sent.at), "sent", sent.media, sent.kind)]
    items.extend(Item("in", text, _iso(sent.at), "reply") for text in sent.replies)
    return items


def _delivered_item(row: LocalMessage) -> Item:
    if row.kind == "call":
        return Item("in", "Incoming call from the line (answer it in the call simulator)",
                    _iso(row.created_at), "call", kind="call")
    kind = "crisis" if (row.body or "").startswith(CRISIS_ALERT_OPENINGS) else "text"
    return Item("in", row.body, _iso(row.created_at), "delivered", kind=kind)


def phone_threads(svc: Services, number: str) -> list[Thread]:
    """The phone's threads, most recently active first, each oldest text first."""
    vault = svc.line.vault
    phone_hash = vault.hash(number)
    try:
        replies = load_replies(svc.redis(), phone_hash)
    except RedisError as exc:
        log.warning("simulator could not read TwiML replies from Redis (%s)",
                    type(exc).__name__)
        replies = {}
    with svc.sessions() as session:
        sent_rows = session.execute(
            select(Message.sid, Message.line_number, Message.body, Message.num_media,
                   Message.kind, Message.created_at)
            .where(Message.sender_hash == phone_hash)
            .order_by(Message.id.desc()).limit(HISTORY_LIMIT)).all()
        delivered = list(session.scalars(
            select(LocalMessage)
            .where(LocalMessage.to_hash == phone_hash, LocalMessage.kind.in_(("sms", "call")))
            .order_by(LocalMessage.id.desc()).limit(HISTORY_LIMIT)))
    delivered.reverse()
    sent: list[_Sent] = []
    for row in reversed(sent_rows):
        entry = replies.get(row.sid) or {}
        mark = entry.get("mark")
        texts = entry.get("texts")
        sent.append(_Sent(sid=row.sid, line=row.line_number,
                          body=row.body if row.body is not None else "(text purged)",
                          media=row.num_media or 0, kind=row.kind, at=row.created_at,
                          mark=mark if isinstance(mark, int) else None,
                          replies=[t for t in texts if isinstance(t, str)]
                          if isinstance(texts, list) else []))

    # Merge the two time lines, then group by line number; threads are listed by their
    # latest activity, most recent first, as a phone's messages app lists them.
    threads: dict[str, Thread] = {}
    i = 0
    for text in sent:
        while i < len(delivered) and _comes_before(delivered[i], text):
            _add(threads, delivered[i].from_number, [_delivered_item(delivered[i])])
            i += 1
        _add(threads, text.line, _sent_items(text))
    for row in delivered[i:]:
        _add(threads, row.from_number, [_delivered_item(row)])
    return list(reversed(threads.values()))


def _add(threads: dict[str, Thread], line_number: str, items: list[Item]) -> None:
    """Append to a thread and move it to the end (the most recently active)."""
    thread = threads.pop(line_number, None) or Thread(line_number)
    thread.items.extend(items)
    threads[line_number] = thread


def phone_view(svc: Services, number: str, volunteers: dict[str, dict[str, Any]]) -> dict:
    """The JSON the page renders for one phone: who it is and its threads."""
    who = volunteers.get(number)
    oncall = svc.config.get("PEERLINE_ONCALL_NUMBER") or ""
    role = "volunteer" if who else ("oncall" if number == oncall else "survivor")
    return {
        "number": number,
        "role": role,
        "name": who["name"] if who else ("On-call coordinator" if role == "oncall" else ""),
        "threads": [{"line": t.line, "items": [asdict(item) for item in t.items]}
                    for t in phone_threads(svc, number)],
    }


def roster(svc: Services) -> list[dict[str, Any]]:
    """Rostered volunteers with their numbers (dev simulator only), shift and load."""
    vault = svc.line.vault
    with svc.sessions() as session:
        live = dict(session.execute(
            select(Conversation.volunteer_id, func.count(Conversation.id))
            .where(Conversation.status == ConversationStatus.ACTIVE,
                   Conversation.volunteer_id.is_not(None))
            .group_by(Conversation.volunteer_id)).tuples().all())
        people = list(session.scalars(select(Volunteer).order_by(Volunteer.name,
                                                                 Volunteer.id)))
    result = []
    for v in people:
        number = vault.decrypt(v.phone_enc)
        result.append({"name": v.name, "number": number, "masked": masked(number),
                       "languages": v.language_list, "capacity": v.capacity,
                       "on_shift": bool(v.on_shift), "active": bool(v.active),
                       "live": int(live.get(v.id, 0))})
    return result
