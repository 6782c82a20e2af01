"""Group sessions by conference call: the schedule, sign-ups, meetings and keypad actions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerline.models.base import Base
from peerline.models.people import Volunteer
from peerline.privacy.sealed import SealedText


class SignupStatus(StrEnum):
    """A survivor's place in one meeting; stored as the same strings."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


class GroupActionKind(StrEnum):
    """What the facilitator asked for by keypad (and a seat taken over); stored as the
    same strings."""

    MUTE_ALL = "mute_all"
    UNMUTE_ALL = "unmute_all"
    REMOVE = "remove"
    END = "end"
    #: Not a key: the same sign-up asks for a seat whose call showed no sign of life (its
    #: call-ended callback lost?); the task reads that call's status by REST first (live:
    #: refused), then ends it by REST in case it is there.
    TAKEOVER = "takeover"


class GroupSession(Base):
    """A scheduled group: one-off (``on_date``) or weekly (``weekday``, 0 = Monday).

    ``start`` is "HH:MM" in the line's time zone (``PEERLINE_TIMEZONE``); ``muted``: the
    participants join muted (the facilitator never is).
    """

    __tablename__ = "group_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(120))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    weekday: Mapped[int | None] = mapped_column(Integer)
    on_date: Mapped[date | None] = mapped_column(Date)
    start: Mapped[str] = mapped_column(String(5))
    minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    muted: Mapped[bool] = mapped_column(Boolean, default=True)
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    facilitator: Mapped[Volunteer] = relationship()


class GroupSignup(Base):
    """One survivor signed up for one meeting (a session on one local date).

    Known by the survivor's keyed hash (``phone_hash``); the session PIN is kept as a
    keyed hash (``pin_hash``, looked up when a caller keys it) and sealed (``pin_sealed``,
    so the reminder can repeat it). ``line_number``: the number they texted, the number
    they are told to call and hear from.
    """

    __tablename__ = "group_signups"
    __table_args__ = (
        UniqueConstraint("group_id", "occurs_on", "phone_hash", name="uq_group_signup_person"),
        UniqueConstraint("group_id", "occurs_on", "pin_hash", name="uq_group_signup_pin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id"), index=True)
    occurs_on: Mapped[date] = mapped_column(Date)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("survivors.id"))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    pin_hash: Mapped[str] = mapped_column(String(64))
    pin_sealed: Mapped[str] = mapped_column(SealedText)
    line_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=SignupStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    group: Mapped[GroupSession] = relationship()


class GroupMeeting(Base):
    """One meeting of a group (its conference), and its attendance counts.

    Counts, never identities: ``attended`` (participants who joined at least once),
    ``present`` and ``peak`` (at once), from Twilio's conference status callbacks.
    """

    __tablename__ = "group_meetings"
    __table_args__ = (UniqueConstraint("group_id", "occurs_on", name="uq_group_meeting"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id"), index=True)
    occurs_on: Mapped[date] = mapped_column(Date)
    conference_sid: Mapped[str | None] = mapped_column(String(64))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    attended: Mapped[int] = mapped_column(Integer, default=0)
    present: Mapped[int] = mapped_column(Integer, default=0)
    peak: Mapped[int] = mapped_column(Integer, default=0)
    last_speaker_sid: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    group: Mapped[GroupSession] = relationship()


class GroupAction(Base):
    """A facilitator's keypad action, carried out by REST on the conference (a task)."""

    __tablename__ = "group_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("group_meetings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)

    meeting: Mapped[GroupMeeting] = relationship()


class GroupPinFailures(Base):
    """Wrong session PINs from one caller, across calls (``phone_hash``: the keyed hash of
    their number, ``"withheld"`` hashed for every withheld caller together).

    ``failures`` counts wrong PINs each within the window of the one before
    (``last_failed_at``); reaching the limit sets ``locked_until``.
    """

    __tablename__ = "group_pin_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
