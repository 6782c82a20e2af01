"""Quick exit (``#ERASE``): erase every word of every conversation a survivor ever had.

Picked by conversation, not by phone number, so both directions go: the survivor's
texts, what was relayed to their peers, the peers' own texts to them, offer previews,
alerts about them (to a peer or the on-call coordinator), escalation spans, voicemail
recordings and transcripts, and texts still waiting to be sent (they never go). Rows
stay for reports (counts, times, categories, statuses); only the words go. Twilio's
copies (messages, recordings, transcriptions) are deleted by worker tasks
(:mod:`peerline.remote_delete`). Spooled copies of texts that arrived before the erasure
are erased when the spool is replayed (:func:`arrived_before_erasure`).

What no one here can erase: the carrier's records, the survivor's and the volunteers'
own phones (their message history, notifications, screenshots), and anything Twilio
keeps after a deletion (its call logs with numbers and times; billing records).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from peerline.delivery import remote_delete
from peerline.delivery.outbox import ERASED, PENDING
from peerline.line import Line
from peerline.models import (
    Call,
    Conversation,
    Escalation,
    GroupSignup,
    Message,
    OutboundMessage,
    SignupStatus,
    Survivor,
    Voicemail,
    VoicemailStatus,
)
from peerline.peer import forget as peer_forget
from peerline.text import conversations

log = logging.getLogger(__name__)

@dataclass
class Erasure:
    """What one quick exit erased (counts only)."""

    conversations: int = 0
    messages: int = 0
    outbound: int = 0
    cancelled: int = 0
    escalations: int = 0
    voicemails: int = 0
    remote: int = 0  # provider records asked to be deleted


def _rows(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)


def erase_survivor(session: Session, line: Line, survivor_id: int) -> Erasure:
    """Quick exit: erase the survivor's words everywhere, opt them out, tell their peer.

    Runs in the caller's transaction (the webhook's). Nothing more is sent to the
    survivor until they text again (:func:`quick_exited`); a paired peer is told the
    person has left.
    """
    survivor = session.get(Survivor, survivor_id)
    if survivor is None:
        raise LookupError(f"survivor {survivor_id}")
    result = Erasure()
    conversation_ids = select(Conversation.id).where(Conversation.survivor_id == survivor.id)
    # Lock them first: a peer's reply arriving now waits, then finds the conversation
    # closed and erased (see text.intake._erased_since), never half-erased.
    session.scalars(conversation_ids.order_by(Conversation.id).with_for_update()).all()
    result.conversations = len(session.scalars(conversation_ids).all())
    calls = select(Call.id).where(or_(Call.from_hash == survivor.phone_hash,
                                      Call.conversation_id.in_(conversation_ids)))
    inbound = or_(Message.conversation_id.in_(conversation_ids),
                  Message.sender_hash == survivor.phone_hash)
    outbound = or_(OutboundMessage.conversation_id.in_(conversation_ids),
                   OutboundMessage.to_hash == survivor.phone_hash)
    voicemails = Voicemail.call_id.in_(calls)

    # The provider's copies: every message both ways, recordings, transcriptions.
    sids = [("message", sid) for sid in session.scalars(select(Message.sid).where(inbound))]
    sids += [("message", sid) for sid in session.scalars(
        select(OutboundMessage.sid).where(outbound, OutboundMessage.sid.is_not(None)))]
    for recording, transcription in session.execute(select(
            Voicemail.recording_sid, Voicemail.transcription_sid).where(voicemails)):
        sids += [("recording", recording), ("transcription", transcription)]
    for kind, sid in sids:
        if remote_delete.forget(session, line, kind, sid, survivor.id) is not None:
            result.remote += 1

    # Texts not sent yet never go; a send already in flight is deleted at Twilio after.
    result.cancelled = _rows(session, update(OutboundMessage).where(
        outbound, OutboundMessage.status.in_(PENDING)).values(status=ERASED))
    result.outbound = _rows(session, update(OutboundMessage).where(
        outbound, OutboundMessage.body.is_not(None)).values(body=None))
    result.messages = _rows(session, update(Message).where(
        inbound, Message.body.is_not(None)).values(body=None))
    result.escalations = _rows(session, update(Escalation).where(
        Escalation.conversation_id.in_(conversation_ids), Escalation.matched.is_not(None))
        .values(matched=None))
    result.voicemails = _rows(session, update(Voicemail).where(voicemails).values(
        transcript=None, recording_url=None))
    # Nobody calls back a phone that quick-exited (a callback being set up stops too).
    open_ = (VoicemailStatus.NEW, VoicemailStatus.CALLING)
    session.execute(update(Voicemail).where(voicemails, Voicemail.status.in_(open_))
                    .values(status=VoicemailStatus.ERASED))
    # Group sign-ups end too: no reminder reaches the phone (peerline.groups).
    session.execute(update(GroupSignup).where(
        GroupSignup.survivor_id == survivor.id, GroupSignup.status == SignupStatus.ACTIVE)
        .values(status=SignupStatus.CANCELLED, cancelled_at=line.now()))

    peer_forget.forget(session, survivor)  # choice of peer, feedback words, applications
    survivor.erased_at = line.now()
    stopped_at = survivor.opted_out_at if survivor.opted_out else None
    conversations.survivor_opted_out(session, line, survivor, reason="erased")
    # Opted out by the quick exit, not by the carrier: no ``opted_out_at`` (STOP sets
    # one), so the survivor's next text is a fresh start (:func:`quick_exited`). A STOP
    # (or the carrier's opt-out) from before stays: only START lifts it.
    survivor.opted_out_at = stopped_at
    session.flush()
    log.info("event=survivor_erased survivor=%s conversations=%s messages=%s outbound=%s "
             "cancelled=%s escalations=%s voicemails=%s remote=%s", survivor.id,
             result.conversations, result.messages, result.outbound, result.cancelled,
             result.escalations, result.voicemails, result.remote)
    return result


def arrived_before_erasure(survivor: Survivor, arrived_at: datetime | None) -> bool:
    """True for a text that reached the line (and was spooled) before the survivor's
    last quick exit: replayed now, it is stored without its words and deleted at Twilio."""
    return (arrived_at is not None and survivor.erased_at is not None
            and arrived_at <= survivor.erased_at)


def quick_exited(survivor: Survivor) -> bool:
    """True while the survivor is silent because of a quick exit (not STOP).

    Their next text that is not an opt-out word is a fresh start, as if they had texted
    ``START`` first: a faked text could make the line answer that phone, but a faked
    ``From`` can do that to any number that never used the line, so the quick exit adds
    no exposure, while silence could cost a life. STOP after it sets ``opted_out_at``
    and stays silent until ``START``.
    """
    return (survivor.opted_out and survivor.opted_out_at is None
            and survivor.erased_at is not None)
