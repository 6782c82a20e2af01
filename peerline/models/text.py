"""The text line's tables: conversations, the texts that arrived, offers, escalations, alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerline.models.base import Base
from peerline.models.people import Survivor, Volunteer
from peerline.privacy.sealed import SealedText


class ConversationStatus(StrEnum):
    """Where a conversation is; stored as the same strings."""

    WAITING = "waiting"  # queued, maybe with a pending offer
    ACTIVE = "active"  # paired with a volunteer
    CLOSED = "closed"
    CALL = "call"  # a voice call's conversation (its call row holds the stage)


class OfferStatus(StrEnum):
    """What became of an offer to one volunteer; stored as the same strings."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    PASSED = "passed"
    EXPIRED = "expired"
    FAILED = "failed"  # the offer text could not be delivered
    WITHDRAWN = "withdrawn"  # another volunteer took it, or the survivor left


class EscalationSource(StrEnum):
    """Who raised a crisis escalation; stored as the same strings."""

    DETECTOR = "detector"
    VOLUNTEER = "volunteer"
    VOICE = "voice"


#: The statuses of a conversation that is still open (waiting or live), as SQL.
OPEN_WHERE = f"status IN ('{ConversationStatus.WAITING}', '{ConversationStatus.ACTIVE}')"


class Conversation(Base):
    """One text (or call) conversation between a survivor and, once paired, a volunteer.

    ``status``: ``waiting`` (queued, maybe with a pending offer), ``active`` (paired) or
    ``closed``. Queue order: ``priority`` (1 = crisis) desc, ``front`` (re-queued) desc,
    ``queued_at`` asc.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_queue", "status", "priority", "front", "queued_at"),
        Index("ix_conversations_survivor", "survivor_id", "status"),
        Index("ix_conversations_volunteer", "volunteer_id", "status"),
        # One waiting or live conversation per survivor, held by the database itself.
        Index("uq_conversations_open_per_survivor", "survivor_id", unique=True,
              postgresql_where=text(OPEN_WHERE), sqlite_where=text(OPEN_WHERE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("survivors.id"))
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    status: Mapped[str] = mapped_column(String(12), default=ConversationStatus.WAITING)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    front: Mapped[bool] = mapped_column(Boolean, default=False)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    survivor_line: Mapped[str] = mapped_column(String(20))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    volunteer_line: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    queued_at: Mapped[datetime] = mapped_column(DateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(40))
    last_survivor_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_volunteer_at: Mapped[datetime | None] = mapped_column(DateTime)
    nudged_at: Mapped[datetime | None] = mapped_column(DateTime)
    wait_notice_at: Mapped[datetime | None] = mapped_column(DateTime)
    handover_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Peer support: offers prefer a tag-matched peer until match_until (then anyone);
    # same_peer_id: the last peer, asked for again with SAME (offered first if free).
    match_until: Mapped[datetime | None] = mapped_column(DateTime)
    same_peer_id: Mapped[int | None] = mapped_column(Integer)

    survivor: Mapped[Survivor] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()


class Message(Base):
    """A text that arrived at the line (from a survivor or a volunteer).

    ``sid`` is Twilio's ``MessageSid``: unique, so a redelivered webhook stores nothing.
    ``body`` is sealed (encrypted at rest) and purged after the retention period or by a
    quick exit; the row stays.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), index=True
    )
    sender: Mapped[str] = mapped_column(String(12))  # survivor | volunteer
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    line_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(SealedText)
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | command | optout
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Offer(Base):
    """A conversation offered to one volunteer: pending → accepted/passed/expired/…"""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_open", "conversation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    line_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=OfferStatus.PENDING)
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    conversation: Mapped[Conversation] = relationship()
    volunteer: Mapped[Volunteer] = relationship()


class Escalation(Base):
    """A crisis caught by the detector or flagged by hand, kept for the dashboard.

    While it is open (not acknowledged), later crisis texts of the same conversation
    update it (``seen_count``, ``last_seen_at``, ``categories``) instead of adding rows.
    ``volunteer_alerted_at``/``alerted_volunteer_id`` pace the paired peer's alerts.
    """

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # an EscalationSource
    category: Mapped[str | None] = mapped_column(String(32))
    matched: Mapped[str | None] = mapped_column(SealedText)  # the words, up to 200
    alerted: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    seen_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    categories: Mapped[str | None] = mapped_column(String(200))  # comma-separated
    volunteer_alerted_at: Mapped[datetime | None] = mapped_column(DateTime)
    alerted_volunteer_id: Mapped[int | None] = mapped_column(Integer)


class Alert(Base):
    """A record of an alert to the on-call coordinator (to pace repeats)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
