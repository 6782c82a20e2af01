"""Endings and notices nobody typed: run every few seconds by the sweeper.

Each step is a compare-and-set on the row it changes, so several sweepers running at
once never send a notice twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, Offer, OfferStatus, Volunteer
from peerline.people import roster
from peerline.privacy import purge
from peerline.text import conversations, offers, pairing
from peerline.text.texts import ONCALL_TEXTS, VOLUNTEER_TEXTS, say


def tick(session: Session, line: Line) -> dict[str, int]:
    """Do every time-based step that is due; returns counts for logs and tests."""
    return {
        "expired": expire_offers(session, line),
        "wait_notices": wait_notices(session, line),
        "nudged": nudge_silent(session, line),
        "requeued": requeue_silent(session, line),
        "idle_closed": close_idle(session, line),
        "pairing": backstop_pairing(session, line),
        "purge_scheduled": int(purge.schedule(session, line)),
    }


def expire_offers(session: Session, line: Line) -> int:
    """Backstop for the scheduled offer time-out. It never waits on a row lock.

    The lock order (ARCHITECTURE.md, "Row locks") is an offer before its volunteer, as
    a ``YES`` takes them (conversation, offer, volunteer). The due offers are locked
    with ``SKIP LOCKED``: one locked already is being accepted, passed or expired right
    now, and is left to that (or to its own time-out job, or the next sweep). Their
    volunteers are then locked with ``SKIP LOCKED`` too: a volunteer locked by a pairing
    pass, a ring round or a ``YES`` (which may go on to withdraw one of the offers held
    here) is left as well, with that volunteer's due offers still open until next time.
    """
    due = session.scalars(select(Offer).where(
        Offer.status == OfferStatus.PENDING, Offer.expires_at <= line.now())
        .order_by(Offer.id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)).all()
    if not due:
        return 0
    free = set(session.scalars(select(Volunteer.id).where(
        Volunteer.id.in_({offer.volunteer_id for offer in due}))
        .order_by(Volunteer.id).with_for_update(skip_locked=True)))
    due = [offer for offer in due if offer.volunteer_id in free]
    for offer in due:
        offers.expire(session, line, offer)
    return len(due)


def _cas(session: Session, conversation_id: int, condition: Any, **values: Any) -> bool:
    result = session.execute(update(Conversation).where(
        Conversation.id == conversation_id, condition).values(**values))
    return result.rowcount == 1


def wait_notices(session: Session, line: Line) -> int:
    """Waiting past the threshold: tell the survivor honestly, alert the on-call.

    The notice repeats every three thresholds while they still wait (5, 20, 35… min).
    """
    now = line.now()
    threshold = timedelta(seconds=line.setting("PEERLINE_WAIT_NOTICE_S"))
    due = or_(Conversation.wait_notice_at.is_(None),
              Conversation.wait_notice_at <= now - 3 * threshold)
    rows = session.scalars(select(Conversation).where(
        Conversation.status == ConversationStatus.WAITING,
        Conversation.queued_at <= now - threshold,
        due)).all()
    sent = 0
    for conversation in rows:
        if not _cas(session, conversation.id, due, wait_notice_at=now):
            continue
        lang = conversation.lang
        if roster.on_shift_count(session, lang) == 0:
            text = say("nobody_on_shift", lang, hours=conversations.hours_text(line, lang),
                       hotline=conversations.hotline_text(line, lang))
        else:
            text = say("still_waiting", lang, hotline=conversations.hotline_text(line, lang))
        outbox.text_survivor(session, line, conversation.survivor, conversation.survivor_line,
                             text, conversation_id=conversation.id)
        minutes = int((now - conversation.queued_at).total_seconds() // 60)
        conversations.alert_oncall(session, line, "waiting_long", conversation.id,
                                   ONCALL_TEXTS["waiting_long"].format(cid=conversation.id,
                                                                       minutes=minutes))
        sent += 1
    return sent


def _unanswered_since():  # noqa: ANN202
    """Live conversations whose survivor spoke last."""
    return and_(Conversation.status == ConversationStatus.ACTIVE,
                Conversation.last_survivor_at.is_not(None),
                or_(Conversation.last_volunteer_at.is_(None),
                    Conversation.last_volunteer_at < Conversation.last_survivor_at))


def nudge_silent(session: Session, line: Line) -> int:
    """A volunteer who has not answered for a while gets one nudge."""
    now = line.now()
    limit = now - timedelta(seconds=line.setting("PEERLINE_VOLUNTEER_NUDGE_S"))
    rows = session.scalars(select(Conversation).where(
        _unanswered_since(), Conversation.nudged_at.is_(None),
        Conversation.last_survivor_at <= limit,
        func.coalesce(Conversation.assigned_at, now) <= limit)).all()
    for conversation in rows:
        if _cas(session, conversation.id, Conversation.nudged_at.is_(None), nudged_at=now) \
                and conversation.volunteer is not None and conversation.volunteer_line:
            outbox.text_volunteer(session, line, conversation.volunteer,
                                  conversation.volunteer_line,
                                  VOLUNTEER_TEXTS["nudge"].format(cid=conversation.id),
                                  conversation_id=conversation.id)
    return len(rows)


def requeue_silent(session: Session, line: Line) -> int:
    """Still no answer after the nudge: the survivor goes back to the front of the line."""
    now = line.now()
    limit = now - timedelta(seconds=line.setting("PEERLINE_VOLUNTEER_REQUEUE_S"))
    rows = session.scalars(select(Conversation).where(
        _unanswered_since(), Conversation.nudged_at.is_not(None),
        Conversation.last_survivor_at <= limit,
        func.coalesce(Conversation.assigned_at, now) <= limit)
        .with_for_update(skip_locked=True)).all()
    for conversation in rows:
        conversations.requeue(session, line, conversation, reason="silent")
    return len(rows)


def close_idle(session: Session, line: Line) -> int:
    """Live conversations quiet for the idle time close with a kind word to both."""
    now = line.now()
    limit = now - timedelta(seconds=line.setting("PEERLINE_IDLE_CLOSE_S"))
    last = func.coalesce(Conversation.last_volunteer_at, Conversation.assigned_at)
    rows = session.scalars(select(Conversation).where(
        Conversation.status == ConversationStatus.ACTIVE,
        func.coalesce(Conversation.last_survivor_at, Conversation.assigned_at) <= limit,
        func.coalesce(last, Conversation.assigned_at) <= limit)
        .with_for_update(skip_locked=True)).all()
    closed = 0
    for conversation in rows:
        conversations.end(session, line, conversation, by="idle")
        closed += 1
    return closed


def backstop_pairing(session: Session, line: Line) -> int:
    """Ask for a pairing pass when someone waits without an open offer."""
    unoffered = session.scalar(select(exists().where(
        Conversation.status == ConversationStatus.WAITING,
        ~exists().where(Offer.conversation_id == Conversation.id,
                        Offer.status == OfferStatus.PENDING))))
    if unoffered and roster.on_shift_count(session) > 0:
        pairing.request_pairing(session, line)
        return 1
    return 0
