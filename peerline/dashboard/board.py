"""The live board: who waits, who talks, who is free, which voicemails wait.

Read-only and word-free: it never loads a message body, a transcript or a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, Conversation, Escalation, Voicemail, Volunteer
from peerline.text import pairing


@dataclass
class Waiting:
    """A survivor in the queue (a text conversation or a caller on hold)."""

    ref: str
    channel: str
    lang: str
    crisis: bool
    since: datetime
    wait_s: int


@dataclass
class Live:
    """A conversation or call in progress."""

    ref: str
    channel: str
    volunteer: str
    crisis: bool
    since: datetime
    minutes: int


@dataclass
class OnShift:
    """A volunteer on shift and how much room they have."""

    name: str
    languages: str
    live: int
    capacity: int
    since: datetime | None
    on_break: bool = False
    on_call: bool = False

    @property
    def free(self) -> int:
        """Conversations this volunteer can still take (none while on a break)."""
        return 0 if self.on_break else max(self.capacity - self.live, 0)


@dataclass
class WaitingVoicemail:
    """A voicemail waiting for a callback."""

    ref: str
    lang: str
    crisis: bool
    status: str
    since: datetime
    wait_s: int


@dataclass
class Board:
    """One snapshot of the line."""

    at: datetime
    waiting: list[Waiting] = field(default_factory=list)
    live: list[Live] = field(default_factory=list)
    on_shift: list[OnShift] = field(default_factory=list)
    voicemails: list[WaitingVoicemail] = field(default_factory=list)
    open_escalations: int = 0

    @property
    def free_capacity(self) -> int:
        """Room for more conversations among everyone on shift."""
        return sum(v.free for v in self.on_shift)


def _secs(now: datetime, then: datetime | None) -> int:
    return max(int((now - then).total_seconds()), 0) if then else 0


def snapshot(session: Session, line: Line) -> Board:
    """The board now: waiting (crisis first, then longest wait), live, on shift,
    voicemails waiting for a callback, and how many escalations are open."""
    now = line.now()
    board = Board(at=now)
    open_crisis = set(session.scalars(select(Escalation.conversation_id).where(
        Escalation.acknowledged_at.is_(None), Escalation.conversation_id.is_not(None))))
    for c in session.scalars(select(Conversation).where(Conversation.status == "waiting")):
        board.waiting.append(Waiting(f"C{c.id}", c.channel, c.lang,
                                     c.priority > 0 or c.id in open_crisis, c.queued_at,
                                     _secs(now, c.queued_at)))
    for call in session.scalars(select(Call).where(Call.role == "survivor",
                                                   Call.stage == "queued")):
        since = call.queued_at or call.created_at
        board.waiting.append(Waiting(f"V{call.id}", "voice", call.lang, call.priority > 0,
                                     since, _secs(now, since)))
    board.waiting.sort(key=lambda w: (not w.crisis, w.since))
    names = dict(session.execute(select(Volunteer.id, Volunteer.name)).tuples().all())
    for c in session.scalars(select(Conversation).where(Conversation.status == "active")
                             .order_by(Conversation.assigned_at)):
        since = c.assigned_at or c.created_at
        board.live.append(Live(f"C{c.id}", c.channel, names.get(c.volunteer_id or 0, "?"),
                               c.priority > 0 or c.id in open_crisis, since,
                               _secs(now, since) // 60))
    for call in session.scalars(select(Call).where(
            Call.role == "survivor", Call.stage.in_(("bridging", "bridged")))
            .order_by(Call.answered_at)):
        since = call.answered_at or call.created_at
        board.live.append(Live(f"V{call.id}", "voice", names.get(call.volunteer_id or 0, "?"),
                               call.priority > 0, since, _secs(now, since) // 60))
    for v in session.scalars(select(Volunteer).where(
            Volunteer.on_shift.is_(True), Volunteer.active.is_(True)).order_by(Volunteer.name)):
        live, _offers = pairing.load(session, v.id)
        board.on_shift.append(OnShift(v.name, v.languages, live, v.capacity,
                                      v.shift_started_at,
                                      on_break=bool(v.break_until and v.break_until > now),
                                      on_call=bool(v.on_call)))
    for vm in session.scalars(select(Voicemail).where(Voicemail.status.in_(("new", "calling")))
                              .order_by(Voicemail.priority.desc(), Voicemail.created_at)):
        board.voicemails.append(WaitingVoicemail(f"VM{vm.id}", vm.lang, vm.priority > 0,
                                                 vm.status, vm.created_at,
                                                 _secs(now, vm.created_at)))
    board.open_escalations = session.scalar(select(func.count()).select_from(Escalation)
                                            .where(Escalation.acknowledged_at.is_(None))) or 0
    return board
