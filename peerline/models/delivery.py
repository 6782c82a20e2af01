"""Delivery tables: outbound texts, tasks (the outbox), delivery reports, the gateway hold
and what the local gateway 'sent'."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerline.models.base import Base
from peerline.privacy.sealed import SealedText


class OutboundStatus(StrEnum):
    """Where an outbound text is; stored as the same strings.

    After ``sent``, Twilio's own delivery statuses are stored as it reports them (the
    members below name the ones the line acts on).
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"  # the line gave it up before sending
    ERASED = "erased"  # a quick exit stopped it before it was sent


class OutboundMessage(Base):
    """A text the line sends through the Gateway; it is its own outbox entry.

    ``status``: queued → sending → sent → delivered, or failed / undelivered /
    cancelled. A row stays pending until the gateway accepted it.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_recipient", "to_hash", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), index=True
    )
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    kind: Mapped[str] = mapped_column(String(16), default="system")
    to_enc: Mapped[str] = mapped_column(Text)
    to_hash: Mapped[str] = mapped_column(String(64))
    from_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(SealedText)
    status: Mapped[str] = mapped_column(String(16), default=OutboundStatus.QUEUED)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class Task(Base):
    """Follow-up work kept in the database until it is done (the outbox).

    A job in Redis is only a hint to run a task now; the sweeper re-enqueues any
    pending task that is due and not leased, so nothing lives only in Redis.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_due", "status", "not_before"),
        UniqueConstraint("dedupe_key", name="uq_tasks_dedupe"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    not_before: Mapped[datetime] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    #: Whose lease it is (a worker's heartbeat name): a dead owner's lease ends early.
    locked_by: Mapped[str | None] = mapped_column(String(64), index=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)


class DeliveryReport(Base):
    """The latest delivery status Twilio reported for a MessageSid (never goes back)."""

    __tablename__ = "delivery_reports"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class GatewayHold(Base):
    """Twilio refused the line's credentials (HTTP 401/403): texts wait, nothing is lost.

    At most one row (``id`` 1). While ``until`` is ahead no text is sent; after it, one
    send probes Twilio again. A send that succeeds deletes the row and resumes every
    held text; a worker that starts (perhaps with fixed settings) probes at once.
    """

    __tablename__ = "gateway_holds"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    http_status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(DateTime)
    last_refused_at: Mapped[datetime] = mapped_column(DateTime)
    until: Mapped[datetime] = mapped_column(DateTime)
    refusals: Mapped[int] = mapped_column(Integer, default=1)


class LocalMessage(Base):
    """What the local gateway 'sent': the simulator's and the tests' phone network."""

    __tablename__ = "local_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="sms")  # sms | call | update
    to_enc: Mapped[str] = mapped_column(Text)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    from_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(SealedText)
    created_at: Mapped[datetime] = mapped_column(DateTime)
