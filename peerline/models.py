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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .sealed import SealedText

#: The statuses of a conversation that is still open (waiting or live), as SQL.
OPEN_WHERE = "status IN ('waiting', 'active')"


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
    pin_hash: Mapped[str | None] = mapped_column(String(200))  # werkzeug scrypt hash
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_failed_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last wrong PIN
    pin_locked_until: Mapped[datetime | None] = mapped_column(DateTime)
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
        # One waiting or live conversation per survivor, held by the database itself.
        Index("uq_conversations_open_per_survivor", "survivor_id", unique=True,
              postgresql_where=text(OPEN_WHERE), sqlite_where=text(OPEN_WHERE)),
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
    locked_by: Mapped[str | None] = mapped_column(String(64))
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
    source: Mapped[str] = mapped_column(String(16))  # detector | volunteer | voice
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


# Tables of later capabilities live in their own modules; import them so that
# ``Base.metadata`` (and Alembic) sees every table.
from . import models_dashboard as _models_dashboard  # noqa: E402,F401
from . import models_privacy as _models_privacy  # noqa: E402,F401
from . import models_voice as _models_voice  # noqa: E402,F401
