"""SQLAlchemy 2.0 typed models: the line's whole state lives here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .sealed import SealedText


class Base(DeclarativeBase):
    """Declarative base for every table."""


class Volunteer(Base):
    """A trained peer on the roster, known by their (encrypted) phone."""

    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    languages: Mapped[str] = mapped_column(String(40), default="en")
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)  # in a voice call now
    shift_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_freed_at: Mapped[datetime | None] = mapped_column(DateTime)
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    def speaks(self, lang: str) -> bool:
        """True when ``lang`` is among this volunteer's languages."""
        return lang in self.language_list

    @property
    def language_list(self) -> list[str]:
        """Languages as a list of codes."""
        return [code.strip() for code in self.languages.split(",") if code.strip()]


class Survivor(Base):
    """Anyone who reaches the line and is not on the roster."""

    __tablename__ = "survivors"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_hotline_at: Mapped[datetime | None] = mapped_column(DateTime)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)  # last quick exit
    created_at: Mapped[datetime] = mapped_column(DateTime)


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("survivors.id"))
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    status: Mapped[str] = mapped_column(String(12), default="waiting")
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
    status: Mapped[str] = mapped_column(String(16), default="queued")
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class Offer(Base):
    """A conversation offered to one volunteer: pending → accepted/passed/expired/…"""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_open", "conversation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    line_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    conversation: Mapped[Conversation] = relationship()
    volunteer: Mapped[Volunteer] = relationship()


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


class Escalation(Base):
    """A crisis caught by the detector or flagged by hand, kept for the dashboard."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # detector | volunteer | voice
    category: Mapped[str | None] = mapped_column(String(32))
    matched: Mapped[str | None] = mapped_column(SealedText)  # the words, up to 200
    alerted: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)


class Alert(Base):
    """A record of an alert to the on-call coordinator (to pace repeats)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


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


# Tables of later capabilities live in their own modules; import them so that
# ``Base.metadata`` (and Alembic) sees every table.
from . import models_privacy as _models_privacy  # noqa: E402,F401
from . import models_voice as _models_voice  # noqa: E402,F401
