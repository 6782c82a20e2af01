"""``SAME``: a returning survivor asks for the peer they talked with last time.

That volunteer gets the offer first when they are on shift and free (see
:mod:`peerline.peer.matching`); otherwise pairing goes on as usual. The reply is the same
whoever it was and whether or not they are free: it never names them or their number.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, Survivor
from peerline.text import pairing
from peerline.text.texts import say

WORDS = {"SAME", "MISMO", "MISMA"}


def last_peer(session: Session, survivor: Survivor) -> int | None:
    """The volunteer of the survivor's last closed conversation (none before a quick exit)."""
    stmt = select(Conversation.volunteer_id).where(
        Conversation.survivor_id == survivor.id, Conversation.volunteer_id.is_not(None),
        Conversation.status == ConversationStatus.CLOSED)
    if survivor.erased_at is not None:
        stmt = stmt.where(Conversation.created_at > survivor.erased_at)
    return session.scalar(stmt.order_by(Conversation.id.desc()).limit(1))


def ask_same(session: Session, line: Line, survivor: Survivor,
             conversation: Conversation) -> str:
    """Mark a waiting conversation for the last peer; returns the reply (names no one)."""
    peer = last_peer(session, survivor)
    if peer is None:
        return say("same_none", survivor.lang)
    conversation.same_peer_id = peer
    pairing.request_pairing(session, line)
    return say("same_peer", survivor.lang)
