"""Privacy tables: what a quick exit asked Twilio to delete, and how that went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerline.models.base import Base


class DeletionStatus(StrEnum):
    """How a deletion asked of the provider went; stored as the same strings."""

    PENDING = "pending"
    DELETED = "deleted"
    GONE = "gone"  # the provider had no such record
    FAILED = "failed"  # after the last try


class RemoteDeletion(Base):
    """A record at the telephony provider (a message, recording or transcription) that a
    quick exit asked to delete. It holds only the provider's sid, never words or numbers.

    ``status``: pending → deleted (or ``gone``: the provider had no such record), or
    ``failed`` after the last try, with ``last_error`` saying why (e.g. ``20009 still
    being delivered``). Coordinators see failures in the logs (ids and codes only).
    """

    __tablename__ = "remote_deletions"
    __table_args__ = (
        UniqueConstraint("kind", "sid", name="uq_remote_deletions_sid"),
        Index("ix_remote_deletions_due", "survivor_id", "status", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int | None] = mapped_column(ForeignKey("survivors.id"))
    kind: Mapped[str] = mapped_column(String(16))  # message | recording | transcription
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=DeletionStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
