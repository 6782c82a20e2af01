"""Offers after they were made: a volunteer's YES or PASS, the time-out, withdrawal,
a text that could not be delivered. Offers are made by :mod:`peerline.text.pairing`
(the pairing pass); each step here that frees room asks it for the next pass.

Atomicity: a conversation is taken with a compare-and-set (``status='waiting' AND
volunteer_id IS NULL``) and rows are locked conversation first, then offer, then
volunteer (``FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``), so two
volunteers never hold one conversation and no volunteer goes over capacity, with any
number of workers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, tasks
from peerline.line import Line
from peerline.models import (
    Conversation,
    ConversationStatus,
    Message,
    Offer,
    OfferStatus,
    OutboundMessage,
    Volunteer,
)
from peerline.text import pairing
from peerline.text.texts import VOLUNTEER_TEXTS, say

log = logging.getLogger(__name__)


def open_offers_for(session: Session, volunteer_id: int) -> list[Offer]:
    """A volunteer's open offers, crisis first, then oldest."""
    return list(session.scalars(
        select(Offer).join(Conversation, Conversation.id == Offer.conversation_id)
        .where(Offer.volunteer_id == volunteer_id, Offer.status == pairing.OPEN_OFFER)
        .order_by(Conversation.priority.desc(), Offer.id.asc())))


def pick_offer(session: Session, volunteer_id: int, texted_line: str) -> Offer | None:
    """The offer a volunteer's YES/PASS is about: the one on the number texted, else the first."""
    offers = open_offers_for(session, volunteer_id)
    for offer in offers:
        if offer.line_number == texted_line:
            return offer
    return offers[0] if offers else None


def recently_taken(session: Session, line: Line, volunteer_id: int) -> bool:
    """True when one of the volunteer's offers went to another peer in the last minutes."""
    since = line.now() - timedelta(minutes=10)
    return session.scalar(select(func.count()).where(
        Offer.volunteer_id == volunteer_id, Offer.status == OfferStatus.WITHDRAWN,
        Offer.resolved_at >= since)) > 0


def _history(session: Session, conversation: Conversation, limit: int = 6) -> list[Message]:
    rows = session.scalars(select(Message).where(
        Message.conversation_id == conversation.id, Message.body.is_not(None),
        Message.kind == "text").order_by(Message.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def accept(session: Session, line: Line, volunteer: Volunteer, offer: Offer) -> str:
    """A volunteer's YES; returns the reply to text them. Atomic (see module doc)."""
    conversation = pairing.lock_row(session, Conversation, offer.conversation_id)
    offer = pairing.lock_row(session, Offer, offer.id)
    if conversation is None or offer is None or offer.status != pairing.OPEN_OFFER:
        return VOLUNTEER_TEXTS["no_offer"]
    locked = pairing.lock_row(session, Volunteer, volunteer.id)
    active, _ = pairing.load(session, volunteer.id)
    if locked is None or active >= pairing.effective_capacity(line, locked):
        offer.status, offer.resolved_at = OfferStatus.WITHDRAWN, line.now()
        pairing.request_pairing(session, line)
        return VOLUNTEER_TEXTS["taken"]
    used = {n for n in session.scalars(select(Conversation.volunteer_line).where(
        Conversation.volunteer_id == volunteer.id,
        Conversation.status == ConversationStatus.ACTIVE)) if n}
    number = offer.line_number if offer.line_number not in used else pairing.free_line(line, used)
    taken = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id,
               Conversation.status == ConversationStatus.WAITING,
               Conversation.volunteer_id.is_(None))
        .values(status=ConversationStatus.ACTIVE, volunteer_id=volunteer.id, volunteer_line=number,
                assigned_at=line.now(), nudged_at=None, front=False))
    now = line.now()
    if taken.rowcount != 1 or number is None:
        offer.status, offer.resolved_at = OfferStatus.WITHDRAWN, now
        return VOLUNTEER_TEXTS["taken"]
    session.refresh(conversation)
    offer.status, offer.resolved_at = OfferStatus.ACCEPTED, now
    log.info("event=offer_accepted conversation=%s offer=%s volunteer=%s",
             conversation.id, offer.id, volunteer.id)
    locked.missed_offers = 0
    _withdraw_others(session, line, conversation.id, except_offer=offer.id)
    outbox.text_survivor(session, line, conversation.survivor,
                         conversation.survivor_line,
                         say("connected_survivor", conversation.lang),
                         kind="system", conversation_id=conversation.id)
    history = _history(session, conversation)
    lang = pairing.LANG_NAMES.get(conversation.lang, conversation.lang)
    handed_over = session.scalar(select(func.count()).where(
        Offer.conversation_id == conversation.id, Offer.status == OfferStatus.ACCEPTED,
        Offer.id != offer.id)) > 0
    if handed_over:
        lines = "\n".join(("them: " if m.sender == "survivor" else "peer: ") + (m.body or "")
                          for m in history)
        greeting = VOLUNTEER_TEXTS["accepted_history"].format(cid=conversation.id, lang=lang,
                                                              history=lines)
    else:
        greeting = VOLUNTEER_TEXTS["accepted"].format(cid=conversation.id, lang=lang)
    outbox.text_volunteer(session, line, locked, number, greeting, kind="system",
                          conversation_id=conversation.id)
    if not handed_over:
        for message in history:
            outbox.text_volunteer(session, line, locked, number, message.body or "",
                                  kind="relay", conversation_id=conversation.id)
    return ""


def _withdraw_others(session: Session, line: Line, conversation_id: int,
                     except_offer: int | None, text_key: str = "taken") -> None:
    """Withdraw open offers of a conversation; each volunteer offered it is told."""
    others = session.scalars(select(Offer).where(
        Offer.conversation_id == conversation_id, Offer.status == pairing.OPEN_OFFER,
        Offer.id != (except_offer or -1))).all()
    for other in others:
        other.status, other.resolved_at = OfferStatus.WITHDRAWN, line.now()
        outbox.text_volunteer(session, line, other.volunteer, other.line_number,
                              VOLUNTEER_TEXTS[text_key], kind="system")
    if others:
        pairing.request_pairing(session, line)


def withdraw_offers(session: Session, line: Line, conversation_id: int) -> None:
    """Withdraw every open offer of a conversation that closed (left, ended, opted out)."""
    _withdraw_others(session, line, conversation_id, except_offer=None,
                     text_key="offer_closed")


def decline(session: Session, line: Line, offer: Offer, status: str = OfferStatus.PASSED) -> bool:
    """PASS, time-out or failed delivery: close the offer and offer the next candidate."""
    result = session.execute(update(Offer).where(Offer.id == offer.id,
                                                 Offer.status == pairing.OPEN_OFFER)
                             .values(status=status, resolved_at=line.now()))
    if result.rowcount != 1:
        return False
    pairing.request_pairing(session, line)
    return True


def expire_task(sessions: sessionmaker[Session], line: Line, offer_id: int | None) -> None:
    """Worker entry: the offer's time-out came; expire it if still open."""
    with sessions.begin() as session:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.status != pairing.OPEN_OFFER:
            return None
        if offer.expires_at > line.now():
            raise tasks.Retry((offer.expires_at - line.now()).total_seconds(), "not yet")
        expire(session, line, offer)
    return None


#: Offers in a row a volunteer may let expire before no more are sent to them.
MISSED_OFFERS_LIMIT = 3


def expire(session: Session, line: Line, offer: Offer) -> None:
    """Expire an open offer; after repeated misses no more offers go to that volunteer.

    Their live conversations go on untouched (they may simply be busy in them); only new
    offers stop, until they text ``ON`` again.
    """
    if not decline(session, line, offer, status=OfferStatus.EXPIRED):
        return
    # Locked and re-read: two expiries of one volunteer's offers at once (an RQ job and
    # the sweeper's backstop) would otherwise both write the count they read (a lost miss).
    volunteer = pairing.lock_row(session, Volunteer, offer.volunteer_id)
    volunteer.missed_offers = (volunteer.missed_offers or 0) + 1
    if volunteer.missed_offers >= MISSED_OFFERS_LIMIT and volunteer.on_shift:
        volunteer.on_shift, volunteer.shift_started_at = False, None
        withdraw_all(session, line, volunteer.id)
        outbox.text_volunteer(session, line, volunteer, offer.line_number,
                              VOLUNTEER_TEXTS["auto_off"].format(n=volunteer.missed_offers))
    elif not offer.broadcast:
        outbox.text_volunteer(session, line, volunteer, offer.line_number,
                              VOLUNTEER_TEXTS["expired"])


def withdraw_all(session: Session, line: Line, volunteer_id: int) -> None:
    """Withdraw a volunteer's open offers (off shift), each conversation offered again.

    Taken with ``SKIP LOCKED``: the caller holds the volunteer's row, and a ``YES`` to
    one of these offers holds that offer and then waits for the volunteer (offer before
    volunteer, ARCHITECTURE.md "Row locks"), so waiting here would deadlock. An offer
    locked now is being answered (accepted, passed) or expired, and is left to that."""
    for offer in session.scalars(select(Offer).where(
            Offer.volunteer_id == volunteer_id, Offer.status == pairing.OPEN_OFFER)
            .order_by(Offer.id).with_for_update(skip_locked=True)):
        decline(session, line, offer, status=OfferStatus.WITHDRAWN)


def offer_text_failed(session: Session, line: Line, message: OutboundMessage) -> None:
    """A text carrying an offer could not be delivered: move to the next volunteer."""
    if message.offer_id is not None:
        offer = session.get(Offer, message.offer_id)
        if offer is not None:
            decline(session, line, offer, status=OfferStatus.FAILED)

