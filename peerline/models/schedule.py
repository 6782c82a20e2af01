"""The shift schedule: recurring and one-off shifts, cancelled dates, and each shift's
occurrences ("slots") as the line runs them (reminders, confirmations, claims, on/off)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerline.models.base import Base


class Shift(Base):
    """A volunteer's shift in the line's local time: every week on ``weekday``
    (0 = Monday), or once on ``on_date``. ``end_time`` at or before ``start_time`` ends
    the next day (an overnight shift). A removed shift keeps its row (``removed_at``)."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    weekday: Mapped[int | None] = mapped_column(Integer)
    on_date: Mapped[date | None] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ShiftException(Base):
    """One local date on which a recurring shift does not happen."""

    __tablename__ = "shift_exceptions"
    __table_args__ = (UniqueConstraint("shift_id", "on_date", name="uq_shift_exception"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SlotStatus(StrEnum):
    """Where one occurrence of a shift stands with its volunteer."""

    SCHEDULED = "scheduled"  # held, not (yet) confirmed
    CONFIRMED = "confirmed"  # the holder answered OK (or took it with TAKE)
    GIVEN_UP = "given_up"    # the holder answered CANT: nobody holds it until a TAKE


class ShiftSlot(Base):
    """One occurrence of a shift, in UTC (naive), made a little ahead of time.

    ``volunteer_id`` is who holds it now (None once given up and not yet taken);
    ``open_since`` is set while it is offered to others (given up, unconfirmed, or SWAP);
    ``started_at``/``ended_at`` record the automatic on/off having run (compare-and-set).
    """

    __tablename__ = "shift_slots"
    __table_args__ = (UniqueConstraint("shift_id", "starts_at", name="uq_shift_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=SlotStatus.SCHEDULED.value)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    open_since: Mapped[datetime | None] = mapped_column(DateTime)
    open_reason: Mapped[str | None] = mapped_column(String(16))  # cant, unconfirmed, swap
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
