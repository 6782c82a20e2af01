"""Crisis escalation: hotline in the reply, queue jump, alerts, and the Escalation record."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from peerline.crisis import SEVERITY, detect
from peerline.crisis import guess_language as crisis_language
from peerline.delivery.outbox import text_volunteer
from peerline.line import Line
from peerline.models import (
    Conversation,
    ConversationStatus,
    Escalation,
    EscalationSource,
    Survivor,
)
from peerline.models.attach import attached, columns, unflushed, write_now
from peerline.text import pairing
from peerline.text.conversations import (
    alert_oncall,
    alerted_since,
    hotline_text,
    locked_here,
    note_alert,
    started_here,
)
from peerline.text.texts import ONCALL_TEXTS, VOLUNTEER_TEXTS

log = logging.getLogger(__name__)

CATEGORY_NAMES = {"suicidal_intent": "suicidal intent", "self_harm": "self-harm",
                  "means": "means/method", "imminent_danger": "imminent danger",
                  "harm_to_others": "harm to others", "manual": "flagged by peer"}


def scan(text: str, lang: str, previous: str | None = None, *,
         settings: Mapping[str, Any]) -> Any:
    """Run the crisis detector (pure, no I/O) on a survivor's words, configured from the
    app's settings (``PEERLINE_CRISIS_MODEL``, ``PEERLINE_LEXICON_DIR``), not the
    environment."""
    return detect(text, lang_hint=lang, previous=previous,
                  model=settings["PEERLINE_CRISIS_MODEL"],
                  lexicon_dir=settings["PEERLINE_LEXICON_DIR"] or "")


def guess_language(text: str) -> str:
    """The language of a first message ("en" or "es")."""
    return crisis_language(text)


def hotline_reply(session: Session, line: Line, survivor: Survivor, category: str | None,
                  force: bool = False) -> list[str]:
    """Hotline texts for a survivor in crisis, unless they had them very recently."""
    now = line.now()
    window = timedelta(seconds=line.setting("PEERLINE_HOTLINE_REPEAT_S"))
    if not force and survivor.last_hotline_at and now - survivor.last_hotline_at < window:
        return []
    write_now(session, survivor, {"last_hotline_at": now})
    texts = [hotline_text(line, survivor.lang)]
    if category == "imminent_danger":
        texts.append(hotline_text(line, survivor.lang, abuse=True))
    return texts


def _more_severe(first: str | None, second: str | None) -> str | None:
    """The more severe of two categories (the detector's order; others rank last)."""
    order = {name: rank for rank, name in enumerate(SEVERITY)}
    if first is None:
        return second
    if second is None:
        return first
    return second if order.get(second, len(order)) < order.get(first, len(order)) else first


def _open_record(session: Session, conversation: Conversation) -> Escalation | None:
    """The conversation's unacknowledged escalation, if any (the conversation is locked
    first, so two crisis texts at once cannot both start one). A conversation this
    transaction started has none, and no one else sees it yet: no round trip."""
    if conversation.id in started_here(session):
        return None
    if unflushed(session, Escalation):
        session.flush()  # the read below is Core: no autoflush of its own
    connection = session.connection()
    if conversation.id not in locked_here(session):  # a survivor's text has, by its stamp
        connection.execute(_lock_conversation(), {"id": conversation.id})
    row = connection.execute(_open_escalation(), {"id": conversation.id}).mappings().first()
    return None if row is None else attached(session, Escalation, row)


@cache
def _lock_conversation() -> Any:
    """``SELECT id FROM conversations WHERE id = :id FOR UPDATE`` (Core, built once)."""
    table = Conversation.__table__
    return select(table.c.id).where(table.c.id == bindparam("id")).with_for_update()


@cache
def _open_escalation() -> Any:
    """The conversation's latest unacknowledged escalation, every column (``:id``)."""
    table = Escalation.__table__
    return (select(table).where(table.c.conversation_id == bindparam("id"),
                                table.c.acknowledged_at.is_(None))
            .order_by(table.c.id.desc()).limit(1))


def _new_record(session: Session, values: dict[str, Any]) -> Escalation:
    """Insert an escalation by one prebuilt ``INSERT ... RETURNING id`` (no unit-of-work
    flush); the row becomes the session's tracked object, so later changes are written."""
    row = {name: None for name in columns(Escalation)}
    row.update(values)
    del row["id"]
    row["id"] = session.connection().execute(_insert_escalation(), row).scalar_one()
    return attached(session, Escalation, row)


@cache
def _insert_escalation() -> Any:
    table = Escalation.__table__
    return insert(table).returning(table.c.id)


def escalate(session: Session, line: Line, conversation: Conversation, *, source: str,
             category: str | None, matched: str | None) -> Escalation:
    """Make the conversation crisis priority, alert who must know, keep a record.

    While the conversation has an open (unacknowledged) escalation, a new crisis updates
    it (count, last seen, categories) rather than adding another; alerts are paced
    (``PEERLINE_VOLUNTEER_ALERT_GAP_S`` for the paired peer, ``PEERLINE_ONCALL_ALERT_GAP_S``
    for the on-call coordinator), except that a category not seen before alerts at once.
    The survivor's words are relayed as always: only the alerts are paced.
    """
    now = line.now()
    record = _open_record(session, conversation)
    fresh = record is None
    changes: dict[str, Any] = {}  # to the record: written together, at the end
    if record is None:
        record = _new_record(session, {
            "conversation_id": conversation.id, "source": source, "category": category,
            "matched": (matched or "")[:200] or None, "alerted": "", "created_at": now,
            "seen_count": 1, "last_seen_at": now, "categories": category or None})
        news = True
    else:
        changes.update(seen_count=record.seen_count + 1, last_seen_at=now)
        seen = [c for c in (record.categories or "").split(",") if c]
        news = bool(category) and category not in seen
        if news:
            changes.update(categories=",".join([*seen, category or ""])[:200],
                           category=_more_severe(record.category, category))
    label = CATEGORY_NAMES.get(category or "", category)
    alerted: list[str] = [a for a in record.alerted.split(", ") if a]
    if conversation.priority != 1:
        write_now(session, conversation, {"priority": 1})
    if conversation.status == ConversationStatus.WAITING:
        pairing.request_pairing(session, line)
        alerted.append("on-shift volunteers (broadcast offer)")
    elif conversation.status == ConversationStatus.ACTIVE and conversation.volunteer is not None \
            and source != EscalationSource.VOLUNTEER and conversation.volunteer_line:
        gap = timedelta(seconds=line.setting("PEERLINE_VOLUNTEER_ALERT_GAP_S"))
        last = record.volunteer_alerted_at
        if news or record.alerted_volunteer_id != conversation.volunteer_id \
                or last is None or now - last >= gap:
            alert = "crisis_alert" if line.setting("PEERLINE_ONCALL_NUMBER") else \
                "crisis_alert_no_oncall"  # never promise a coordinator who isn't there
            text_volunteer(session, line, conversation.volunteer, conversation.volunteer_line,
                           VOLUNTEER_TEXTS[alert].format(cid=conversation.id, category=label),
                           kind="alert", conversation_id=conversation.id)
            changes.update(volunteer_alerted_at=now,
                           alerted_volunteer_id=conversation.volunteer_id)
            alerted.append("paired volunteer")
    if alert_oncall(session, line, f"crisis-{conversation.id}", conversation.id,
                    ONCALL_TEXTS["crisis"].format(cid=conversation.id, source=source,
                                                  eid=record.id, category=label),
                    paced=not news):
        if line.setting("PEERLINE_ONCALL_NUMBER"):
            alerted.append("on-call coordinator")
    changes["alerted"] = ", ".join(dict.fromkeys(alerted))[:200]
    write_now(session, record, changes)  # one UPDATE, no flush of the record
    if fresh:
        log.warning("event=crisis_escalated conversation=%s escalation=%s source=%s "
                    "category=%s", conversation.id, record.id, source, category)
    else:
        log.info("event=crisis_repeated conversation=%s escalation=%s source=%s category=%s "
                 "seen=%s", conversation.id, record.id, source, category, record.seen_count)
    return record


def watch_note(session: Session, line: Line, conversation: Conversation) -> bool:
    """The classifier is uneasy but it is not a crisis: a quiet note to the paired peer
    (never to the survivor, no escalation), at most once per
    ``PEERLINE_VOLUNTEER_ALERT_GAP_S`` a conversation. True when the note goes."""
    if conversation.volunteer is None or not conversation.volunteer_line:
        return False
    kind, now = f"watch-{conversation.id}", line.now()
    gap = timedelta(seconds=line.setting("PEERLINE_VOLUNTEER_ALERT_GAP_S"))
    if alerted_since(session, kind, now - gap):
        return False
    note_alert(session, kind, conversation.id, now)
    text_volunteer(session, line, conversation.volunteer, conversation.volunteer_line,
                   VOLUNTEER_TEXTS["watch_note"].format(cid=conversation.id),
                   kind="alert", conversation_id=conversation.id)
    return True


def acknowledge(session: Session, line: Line, escalation_id: int, by: str) -> bool:
    """Record who acknowledged an escalation (once); False if unknown or already done."""
    record = session.get(Escalation, escalation_id)
    if record is None or record.acknowledged_at is not None or not by.strip():
        return False
    record.acknowledged_by, record.acknowledged_at = by.strip()[:120], line.now()
    log.info("event=escalation_acknowledged escalation=%s", record.id)
    return True
