"""What happened, read from the database: one :class:`Contact` per text conversation or
queued call in a date range, and the crisis escalations.

Definitions (the README's Reports section says the same):

- A *contact* is a text conversation (``conversations.channel = 'sms'``, counted when it
  started) or a call that reached the queue (``calls.queued_at``; menu-only and hotline
  calls asked for no peer).
- *Answered*: a text when a volunteer first said ``YES`` to it (the first accepted
  offer; a hand-over later does not count again); a call when a volunteer pressed 1.
  The *wait* runs from arrival (a call: joining the queue) to that answer.
- *Abandoned*: a text conversation that closed before any volunteer answered (the line
  never closes a waiting conversation itself, so the survivor left: ``#END``, ``STOP``,
  ``#ERASE``); a call hung up while queued. A call that went to voicemail is neither
  answered nor abandoned.
- *Handling time*: from the answer to the close (texts) or the end of the call.
- *Uncovered*: a text that arrived with nobody on shift (the line said so and alerted
  the on-call coordinator, ``alerts.kind = 'nobody_on_shift'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import (
    Alert,
    Call,
    CallOutcome,
    CallRole,
    Conversation,
    ConversationStatus,
    Escalation,
    Offer,
    OfferStatus,
)

TEXT = "text"
CALL = "call"


@dataclass(frozen=True)
class Period:
    """A report's range: whole local days ``first`` to ``last``, as naive UTC bounds."""

    first: date
    last: date
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    zone: ZoneInfo

    @property
    def weeks(self) -> float:
        """How many weeks the range spans (each hour of the week occurs this often)."""
        return max((self.end - self.start).total_seconds() / (7 * 86400), 1 / 168)

    def local(self, moment: datetime) -> datetime:
        """A naive UTC moment in the line's time zone."""
        return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.zone)


def zone(line: Line) -> ZoneInfo:
    """The line's time zone (``PEERLINE_TIMEZONE``, checked at start)."""
    return ZoneInfo(line.setting("PEERLINE_TIMEZONE") or "UTC")


def period(line: Line, first: date | None = None, last: date | None = None,
           days: int = 28) -> Period:
    """Local days ``first``..``last`` (default: the ``days`` days up to today)."""
    tz = zone(line)
    today = line.now().replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).date()
    last = last or today
    first = first or last - timedelta(days=days - 1)
    if first > last:
        raise ValueError("the range starts after it ends")

    def utc(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(ZoneInfo("UTC")).replace(
            tzinfo=None)

    return Period(first, last, utc(first), utc(last + timedelta(days=1)), tz)


@dataclass(frozen=True)
class Contact:
    """One text conversation or queued call, as the reports see it."""

    channel: str  # TEXT | CALL
    arrived_at: datetime  # naive UTC
    answered_at: datetime | None
    ended_at: datetime | None
    abandoned: bool
    crisis: bool
    uncovered: bool

    @property
    def wait_s(self) -> float | None:
        """Seconds from arrival to a volunteer's answer (None: never answered)."""
        if self.answered_at is None:
            return None
        return max(0.0, (self.answered_at - self.arrived_at).total_seconds())

    @property
    def handle_s(self) -> float | None:
        """Seconds from the answer to the end (None: unanswered or still going)."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())


def contacts(session: Session, when: Period) -> list[Contact]:
    """Every contact that arrived in the period, oldest first."""
    first_yes = (select(Offer.conversation_id, func.min(Offer.resolved_at).label("at"))
                 .where(Offer.status == OfferStatus.ACCEPTED)
                 .group_by(Offer.conversation_id).subquery())
    uncovered = set(session.scalars(select(Alert.conversation_id).where(
        Alert.kind == "nobody_on_shift", Alert.created_at >= when.start)))
    found: list[Contact] = []
    rows = session.execute(
        select(Conversation.id, Conversation.created_at, Conversation.status,
               Conversation.closed_at, Conversation.priority, first_yes.c.at)
        .outerjoin(first_yes, first_yes.c.conversation_id == Conversation.id)
        .where(Conversation.channel == "sms", Conversation.created_at >= when.start,
               Conversation.created_at < when.end))
    for cid, created, status, closed, priority, answered in rows:
        closed_at = closed if status == ConversationStatus.CLOSED else None
        found.append(Contact(TEXT, created, answered, closed_at,
                             abandoned=closed_at is not None and answered is None,
                             crisis=priority > 0, uncovered=cid in uncovered))
    calls = session.execute(
        select(Call.queued_at, Call.answered_at, Call.ended_at, Call.outcome, Call.priority)
        .where(Call.role == CallRole.SURVIVOR, Call.queued_at.is_not(None),
               Call.queued_at >= when.start, Call.queued_at < when.end))
    for queued, answered, ended, outcome, priority in calls:
        found.append(Contact(CALL, queued, answered, ended,
                             abandoned=outcome == CallOutcome.ABANDONED,
                             crisis=priority > 0, uncovered=False))
    found.sort(key=lambda c: c.arrived_at)
    return found


def crisis_times(session: Session, when: Period) -> list[datetime]:
    """When each crisis escalation in the period was raised (naive UTC)."""
    return list(session.scalars(select(Escalation.created_at).where(
        Escalation.created_at >= when.start, Escalation.created_at < when.end)
        .order_by(Escalation.created_at)))
