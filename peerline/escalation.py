"""Crisis escalation: hotline in the reply, queue jump, alerts, and the Escalation record."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from . import pairing
from .conversations import alert_oncall, hotline_text
from .copy import ONCALL_TEXTS, VOLUNTEER_TEXTS
from .line import Line
from .models import Conversation, Escalation, Survivor
from .outbox import text_volunteer

log = logging.getLogger(__name__)

CATEGORY_NAMES = {"suicidal_intent": "suicidal intent", "self_harm": "self-harm",
                  "means": "means/method", "imminent_danger": "imminent danger",
                  "harm_to_others": "harm to others", "manual": "flagged by peer"}


def scan(text: str, lang: str, previous: str | None = None, *, model: str = "1") -> Any:
    """Run the crisis detector (pure, no I/O) on a survivor's words; ``model`` is the
    ``PEERLINE_CRISIS_MODEL`` setting (``0`` leaves the classifier out)."""
    from .crisis import detect

    return detect(text, lang_hint=lang, previous=previous, model=model)


def guess_language(text: str) -> str:
    """The language of a first message ("en" or "es")."""
    from .crisis import guess_language as guess

    return guess(text)


def hotline_reply(session: Session, line: Line, survivor: Survivor, category: str | None,
                  force: bool = False) -> list[str]:
    """Hotline texts for a survivor in crisis, unless they had them very recently."""
    now = line.now()
    window = timedelta(seconds=line.setting("PEERLINE_HOTLINE_REPEAT_S"))
    if not force and survivor.last_hotline_at and now - survivor.last_hotline_at < window:
        return []
    survivor.last_hotline_at = now
    texts = [hotline_text(line, survivor.lang)]
    if category == "imminent_danger":
        texts.append(hotline_text(line, survivor.lang, abuse=True))
    return texts


def escalate(session: Session, line: Line, conversation: Conversation, *, source: str,
             category: str | None, matched: str | None) -> Escalation:
    """Make the conversation crisis priority, alert who must know, keep a record."""
    record = Escalation(conversation_id=conversation.id, source=source, category=category,
                        matched=(matched or "")[:200] or None, alerted="",
                        created_at=line.now())
    session.add(record)
    session.flush()
    alerted: list[str] = []
    conversation.priority = 1
    if conversation.status == "waiting":
        pairing.request_pairing(session, line)
        alerted.append("on-shift volunteers (broadcast offer)")
    elif conversation.status == "active" and conversation.volunteer is not None \
            and source != "volunteer" and conversation.volunteer_line:
        text_volunteer(session, line, conversation.volunteer, conversation.volunteer_line,
                       VOLUNTEER_TEXTS["crisis_alert"].format(
                           cid=conversation.id,
                           category=CATEGORY_NAMES.get(category or "", category)),
                       kind="alert", conversation_id=conversation.id)
        alerted.append("paired volunteer")
    if alert_oncall(session, line, f"crisis-{conversation.id}", conversation.id,
                    ONCALL_TEXTS["crisis"].format(
                        cid=conversation.id, source=source, eid=record.id,
                        category=CATEGORY_NAMES.get(category or "", category))):
        if line.setting("PEERLINE_ONCALL_NUMBER"):
            alerted.append("on-call coordinator")
    record.alerted = ", ".join(alerted)
    log.warning("event=crisis_escalated conversation=%s escalation=%s source=%s category=%s",
                conversation.id, record.id, source, category)
    return record


def acknowledge(session: Session, line: Line, escalation_id: int, by: str) -> bool:
    """Record who acknowledged an escalation (once); False if unknown or already done."""
    record = session.get(Escalation, escalation_id)
    if record is None or record.acknowledged_at is not None or not by.strip():
        return False
    record.acknowledged_by, record.acknowledged_at = by.strip()[:120], line.now()
    log.info("event=escalation_acknowledged escalation=%s", record.id)
    return True
