"""Scheduling groups (CLI and dashboard): add, list, remove. Plain values in and out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from peerline.groups.schedule import DAYS, ScheduleError, parse_start
from peerline.line import Line
from peerline.models import GroupSession, GroupSignup, SignupStatus
from peerline.people import roster
from peerline.people.phones import InvalidNumber
from peerline.staff import audit

LANGS = ("en", "es")
MAX_MINUTES = 240
MAX_CAPACITY = 50


@dataclass
class GroupRow:
    """A group as the CLI and the dashboard show it (no numbers)."""

    id: int
    topic: str
    lang: str
    when: str
    start: str
    minutes: int
    capacity: int
    muted: bool
    facilitator: str


def add_group(session: Session, line: Line, *, topic: str, lang: str, day: int | None,
              on_date: date | None, start: str, minutes: int, capacity: int,
              facilitator_phone: str, muted: bool = True, actor: str) -> GroupSession:
    """Schedule a group (audited as ``actor``); :class:`ScheduleError` for anything
    unusable."""
    topic = " ".join(topic.split())
    if not topic or len(topic) > 120:
        raise ScheduleError("--topic is 1 to 120 characters")
    if lang not in LANGS:
        raise ScheduleError("--lang is en or es")
    if (day is None) == (on_date is None):
        raise ScheduleError("give exactly one of --day or --date")
    if not 5 <= minutes <= MAX_MINUTES:
        raise ScheduleError(f"--minutes is 5 to {MAX_MINUTES}")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ScheduleError(f"--capacity is 1 to {MAX_CAPACITY}")
    try:
        facilitator = roster.find_by_phone(session, line, facilitator_phone)
    except (InvalidNumber, roster.RosterError):
        raise ScheduleError("--facilitator must be the phone of a volunteer on the roster") \
            from None
    if not facilitator.active:
        raise ScheduleError("the facilitator is not an active volunteer")
    group = GroupSession(topic=topic, lang=lang, weekday=day, on_date=on_date,
                         start=parse_start(start), minutes=minutes, capacity=capacity,
                         muted=muted, facilitator_id=facilitator.id, active=True,
                         created_at=line.now())
    session.add(group)
    session.flush()
    when = on_date.isoformat() if on_date else f"every {DAYS[day or 0]}"
    audit.record(session, line, actor, "group.add", f"group #{group.id}",
                 f"{topic[:80]}; {lang}; {when} {group.start}; {minutes} min; "
                 f"capacity {capacity}; facilitator #{facilitator.id}")
    return group


def list_groups(session: Session) -> list[GroupRow]:
    """Scheduled (active) groups, by id."""
    rows = []
    for g in session.scalars(select(GroupSession).where(GroupSession.active.is_(True))
                             .order_by(GroupSession.id)):
        when = g.on_date.isoformat() if g.on_date else f"every {DAYS[g.weekday or 0]}"
        rows.append(GroupRow(g.id, g.topic, g.lang, when, g.start, g.minutes, g.capacity,
                             g.muted, g.facilitator.name))
    return rows


def remove_group(session: Session, line: Line, group_id: int, *, actor: str) -> int:
    """Unschedule a group (audited); its sign-ups are cancelled (no reminder goes out).

    Returns how many sign-ups were cancelled. :class:`ScheduleError` for an unknown id.
    """
    group = session.get(GroupSession, group_id, with_for_update=True)
    if group is None or not group.active:
        raise ScheduleError(f"no scheduled group #{group_id}")
    group.active = False
    result = session.execute(update(GroupSignup).where(
        GroupSignup.group_id == group_id, GroupSignup.status == SignupStatus.ACTIVE)
        .values(status=SignupStatus.CANCELLED, cancelled_at=line.now()))
    cancelled = int(result.rowcount or 0)
    audit.record(session, line, actor, "group.remove", f"group #{group_id}",
                 f"{cancelled} sign-up(s) cancelled")
    return cancelled
