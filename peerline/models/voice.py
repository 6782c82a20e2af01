"""Voice-line tables: calls, the rings that offer them to volunteers, voicemails."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerline.models.base import Base
from peerline.models.people import Volunteer
from peerline.models.text import Conversation
from peerline.privacy.sealed import SealedText


class CallRole(StrEnum):
    """Whose call it is; stored as the same strings."""

    SURVIVOR = "survivor"  # the menu, the queue, a peer
    VOLUNTEER = "volunteer"  # the IVR, or a voicemail callback leg


class TransferStatus(StrEnum):
    """A warm transfer of a bridged call to the hotline; stored as the same strings."""

    REQUESTED = "requested"
    DIALING = "dialing"
    JOINED = "joined"
    FAILED = "failed"


class CallStage(StrEnum):
    """Where a call is (see ``Call``); stored as the same strings."""

    # a survivor's call
    MENU = "menu"
    QUEUED = "queued"
    BRIDGING = "bridging"  # a peer pressed 1
    BRIDGED = "bridged"  # both in the conference
    AFTER = "after"  # the peer left; the caller hears what is next
    CRISIS = "crisis"  # the hotline offered
    HOTLINE = "hotline"
    VOICEMAIL = "voicemail"
    ENDED = "ended"
    # a volunteer's call
    PIN = "pin"
    IVR = "ivr"
    LOCKED = "locked"
    PIN_FAILED = "pin_failed"
    CB_PIN = "cb_pin"  # a voicemail callback leg, before its PIN
    CALLBACK = "callback"
    # group sessions (peerline.groups)
    GROUP_PIN = "group_pin"  # a survivor keying their session PIN
    GROUP = "group"  # a survivor in the group's conference
    GROUP_STAR = "group_star"  # a participant out of the conference with * (seat kept)
    GROUP_WAIT = "group_wait"  # taking over its sign-up's silent seat: held out meanwhile
    FACILITATE = "facilitate"  # a volunteer leading a group


class CallOutcome(StrEnum):
    """How a call ended; stored as the same strings (a stage it ended in may stand)."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    VOICEMAIL = "voicemail"
    HOTLINE = "hotline"
    MENU = "menu"
    CRISIS = "crisis"
    IVR = "ivr"
    CALLBACK = "callback"


class RingStatus(StrEnum):
    """Where one volunteer's ring is (see ``Ring``); stored as the same strings.

    The last three are Twilio's own call statuses, stored as it reports them.
    """

    NEW = "new"
    DIALING = "dialing"
    RINGING = "ringing"
    WHISPER = "whisper"  # answered, hearing "press 1"
    ACCEPTED = "accepted"
    TAKEN = "taken"  # another peer won
    CANCELED = "canceled"  # the caller left
    DECLINED = "declined"  # answered, never pressed 1
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"


class VoicemailStatus(StrEnum):
    """Where a voicemail's callback is (see ``Voicemail``); stored as the same strings."""

    NEW = "new"
    CALLING = "calling"
    DONE = "done"
    NO_CALLBACK = "no_callback"
    ERASED = "erased"


#: A ring that won its call, as SQL.
ACCEPTED_WHERE = f"status = '{RingStatus.ACCEPTED}'"


class Call(Base):
    """One inbound call to the line, known by Twilio's ``CallSid``.

    ``role``: ``survivor`` (the menu → queue → peer flow) or ``volunteer`` (the IVR).
    ``stage`` of a survivor's call: ``menu`` → ``queued`` → ``bridging`` (a peer pressed
    1) → ``bridged`` (both in the conference) → ``after``; or ``crisis`` (hotline offered),
    ``hotline``, ``voicemail``; ``ended`` once Twilio reports the call over. A volunteer's:
    ``pin`` → ``ivr`` → ``ended`` (or ``locked`` / ``pin_failed``); ``pin_verified_at`` is
    set once the right PIN was keyed on this very call. The leg the line places to a peer
    to return a voicemail (``start_callback``) is kept as a ``volunteer`` call too, for its
    PIN: ``cb_pin`` → ``callback``. ``outcome`` is set when it ends: answered, abandoned,
    voicemail, hotline, menu, crisis, ivr, callback.
    """

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_queue", "stage", "priority", "queued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(12), default=CallRole.SURVIVOR)
    stage: Mapped[str] = mapped_column(String(12), default=CallStage.MENU)
    outcome: Mapped[str | None] = mapped_column(String(16))
    twilio_status: Mapped[str | None] = mapped_column(String(16))
    from_enc: Mapped[str | None] = mapped_column(Text)  # None when withheld
    from_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    line_number: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 1 = crisis heard
    tries: Mapped[int] = mapped_column(Integer, default=0)  # menu no-inputs / PIN misses
    leave_reason: Mapped[str | None] = mapped_column(String(16))
    transfer_status: Mapped[str | None] = mapped_column(String(12))  # a TransferStatus
    hotline_sid: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    wait_s: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    pin_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    group_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("group_meetings.id"))
    group_joined_at: Mapped[datetime | None] = mapped_column(DateTime)  # first join (counted)
    #: The sign-up whose session PIN seated this call (a removed caller's PIN stops working).
    group_signup_id: Mapped[int | None] = mapped_column(ForeignKey("group_signups.id"))
    #: The last sign of life of a seated group call (seated, a conference event, ``*``).
    group_seen_at: Mapped[datetime | None] = mapped_column(DateTime)

    conversation: Mapped[Conversation | None] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()


class Ring(Base):
    """One volunteer's phone rung for one waiting call (a round rings all at once).

    ``status``: new → dialing → ringing → whisper (answered, hearing "press 1") →
    accepted; or taken (another peer won), canceled (the caller left), declined
    (answered, never pressed 1), no-answer, busy, failed.
    """

    __tablename__ = "call_rings"
    __table_args__ = (
        Index("ix_call_rings_volunteer", "volunteer_id", "status"),
        # One bridge per call: at most one accepted ring, held by the database itself.
        Index("uq_call_rings_accepted_per_call", "call_id", unique=True,
              postgresql_where=text(ACCEPTED_WHERE), sqlite_where=text(ACCEPTED_WHERE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    line_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=RingStatus.NEW)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    call: Mapped[Call] = relationship()
    volunteer: Mapped[Volunteer] = relationship()


class Voicemail(Base):
    """A message left after the longest wait; also the callback task it becomes.

    ``status``: new (waiting for a callback) → calling (a peer is calling back) → done;
    ``no_callback`` for withheld numbers; ``erased`` after the caller's quick exit. The
    survivor's number stays on the call row; the recording URL and transcript are sealed.
    """

    __tablename__ = "voicemails"
    __table_args__ = (Index("ix_voicemails_open", "status", "priority", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), unique=True)
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(SealedText)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    transcript: Mapped[str | None] = mapped_column(SealedText)
    transcription_sid: Mapped[str | None] = mapped_column(String(64))
    transcript_status: Mapped[str | None] = mapped_column(String(16))
    crisis_category: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(12), default=VoicemailStatus.NEW)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    callback_sid: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)

    call: Mapped[Call] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()
