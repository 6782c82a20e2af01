"""Peer support's tables: a survivor's choice of peer, feedback after a conversation, and
applications to become a volunteer (issue 15). Words a person wrote are sealed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerline.models.base import Base
from peerline.privacy.sealed import SealedText


class PeerChoice(Base):
    """What kind of peer a survivor would like, kept against their keyed phone hash.

    ``tag``: one of the configured lived-experience tags (sealed: it says something about
    the survivor), or None for "no preference" (they skipped). ``asked_conversation_id``:
    the waiting conversation in which the question is open (a lone number answers it).
    """

    __tablename__ = "peer_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tag: Mapped[str | None] = mapped_column(SealedText)
    asked_at: Mapped[datetime | None] = mapped_column(DateTime)
    asked_conversation_id: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)


class Feedback(Base):
    """The one feedback question after a conversation or a group meeting ended, and its
    answer (1-5).

    Exactly one of ``conversation_id`` (a text conversation) and ``group_meeting_id`` (a
    group meeting the survivor attended; one question per person and meeting) is set.
    ``words``: the optional word after the digit, sealed. Nothing here is relayed.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("group_meeting_id", "phone_hash", name="uq_feedback_group_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"),
                                                        unique=True)
    group_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("group_meetings.id"))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    words: Mapped[str | None] = mapped_column(SealedText)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApplicationStatus(StrEnum):
    """Where an application to volunteer is; stored as the same strings."""

    ASKING = "asking"  # questions still being answered by text
    SUBMITTED = "submitted"  # waiting for a coordinator
    CONFIRMING = "confirming"  # approved, waiting for the applicant's phone to text the code
    APPROVED = "approved"  # and confirmed from the phone: an active volunteer
    DECLINED = "declined"
    CANCELLED = "cancelled"  # lapsed, opted out or erased before it was submitted


class ApplicationStep(StrEnum):
    """The question an application in progress is waiting on."""

    NAME = "name"
    LANGUAGES = "languages"
    AVAILABILITY = "availability"


class Application(Base):
    """An application to become a peer volunteer, started by texting ``VOLUNTEER``.

    The applicant is known by their survivor row (number encrypted there); their answers
    are sealed. Approval creates a roster volunteer (``volunteer_id``).
    """

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("survivors.id"), index=True)
    line_number: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(12), default=ApplicationStatus.ASKING)
    step: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(SealedText)
    languages: Mapped[str | None] = mapped_column(SealedText)
    availability: Mapped[str | None] = mapped_column(SealedText)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    volunteer_id: Mapped[int | None] = mapped_column(Integer)
