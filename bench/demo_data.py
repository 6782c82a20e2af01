"""The screenshots' background: a week of scheduled shifts (with gaps), four weeks of
history for the reports, and group sessions with past meetings.

Shifts and groups go through the domain (``shifts.add_shift``, ``admin.add_group``, as a
coordinator would); the history is written as rows, like ``tests/test_reports.py`` does,
from a seeded random stream so the pictures are the same every time.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select

from peerline.groups import admin
from peerline.models import Call, Conversation, Escalation, GroupMeeting, Offer, Survivor, Volunteer
from peerline.reports import measure
from peerline.scheduling import shifts

#: (volunteer's name, weekdays, start, end): weekly shifts. Nights from 03:00 to 09:00,
#: weekend mornings and Sunday evening stay empty: the gaps the week view marks.
WEEKLY = (("Priya Shah", ("mon", "tue", "wed", "thu", "fri"), "09:00", "13:00"),
          ("Jordan Lee", ("mon", "tue", "wed", "thu", "fri"), "13:00", "18:00"),
          ("Alex Moreno", ("mon", "wed", "fri"), "18:00", "23:00"),
          ("Sam Okafor", ("tue", "thu"), "18:00", "23:00"),
          ("Sam Okafor", ("sat",), "12:00", "18:00"),
          ("Marta Ruiz", ("mon", "tue", "wed", "thu", "fri", "sat"), "22:00", "03:00"),
          ("Alex Moreno", ("sat",), "18:00", "22:00"))
#: Contacts an hour by local hour of the day: quiet nights, busy evenings.
RATE = (0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.7,
        0.8, 0.8, 0.7, 0.8, 0.9, 1.0, 1.3, 1.6, 1.9, 2.1, 1.6, 0.9)


def _ids(session: Any) -> dict[str, int]:
    return {v.name: v.id for v in session.scalars(select(Volunteer))}


def seed_schedule(svc: Any, actor: str) -> None:
    """Weekly shifts for the demo roster, one one-off shift and one cancelled date."""
    line = svc.line
    with svc.sessions.begin() as session:
        ids = _ids(session)
        first = None
        for name, days, start, end in WEEKLY:
            for day in days:
                when = shifts.parse_when(line, day=day, on_date=None, start=start, end=end)
                shift = shifts.add_shift(session, line, actor, ids[name], when)
                first = first or shift
        today = shifts.today(line)
        sunday = today + timedelta(days=6 - today.weekday())
        when = shifts.parse_when(line, day=None, on_date=sunday.isoformat(),
                                 start="18:00", end="21:00")
        shifts.add_shift(session, line, actor, ids["Jordan Lee"], when)
        if first is not None:  # Priya's Monday, a fortnight from now, is off
            monday = today + timedelta(days=14 - today.weekday())
            shifts.cancel_date(session, line, actor, first.id, monday.isoformat())


def _poisson(rng: random.Random, mean: float) -> int:
    """A small Poisson draw (Knuth's method; means here are below 3)."""
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def seed_history(svc: Any, lines: tuple[str, ...], days: int = 27, seed: int = 7) -> int:
    """Closed texts and ended calls over the ``days`` local days before today: answered
    after a wait, a few abandoned, a few in crisis (acknowledged escalations). Returns
    how many contacts were written."""
    rng = random.Random(seed)
    line = svc.line
    when = measure.period(line, days=days + 1)
    serial = count(1)
    written = 0
    with svc.sessions.begin() as session:
        volunteers = sorted(_ids(session).values())
        for offset in range(days):
            day: date = when.first + timedelta(days=offset)
            for hour in range(24):
                local = datetime(day.year, day.month, day.day, hour, tzinfo=when.zone)
                for _ in range(_poisson(rng, RATE[hour] * (2.0 if day.weekday() >= 5 else 1.5))):
                    arrived = (local + timedelta(seconds=rng.randrange(3600))).astimezone(
                        measure.ZoneInfo("UTC")).replace(tzinfo=None)
                    crisis = rng.random() < 0.03
                    wait = rng.lognormvariate(4.3, 0.8) / (3 if crisis else 1)
                    handle = rng.uniform(12, 45) * 60
                    abandoned = rng.random() < 0.07 and not crisis
                    volunteer = rng.choice(volunteers)
                    n = next(serial)
                    if rng.random() < 0.25:
                        answered = None if abandoned else arrived + timedelta(seconds=wait)
                        ended = (answered + timedelta(seconds=handle) if answered
                                 else arrived + timedelta(seconds=wait / 2))
                        session.add(Call(
                            sid=f"CAhist{n:028d}", role="survivor", stage="ended",
                            outcome="abandoned" if abandoned else "answered",
                            line_number=lines[0], lang="en", priority=int(crisis),
                            created_at=arrived - timedelta(seconds=25), queued_at=arrived,
                            answered_at=answered, ended_at=ended,
                            volunteer_id=None if abandoned else volunteer))
                        conversation_id = None
                    else:
                        conversation_id = _text(session, n, arrived, wait, handle, abandoned,
                                                crisis, volunteer, lines[0])
                    if crisis:
                        session.add(Escalation(
                            conversation_id=conversation_id, source="detector",
                            category="suicidal_intent", created_at=arrived,
                            acknowledged_by="coordinator@peerline.local",
                            acknowledged_at=arrived + timedelta(minutes=6)))
                    written += 1
    return written


def _text(session: Any, n: int, arrived: datetime, wait: float, handle: float,
          abandoned: bool, crisis: bool, volunteer: int, line_number: str) -> int:
    """One closed text conversation (answered, or left before anyone answered)."""
    survivor = Survivor(phone_enc="demo", phone_hash=f"demo{n:08d}", lang="en",
                        created_at=arrived)
    session.add(survivor)
    session.flush()
    conversation = Conversation(survivor_id=survivor.id, channel="sms", status="closed",
                                lang="en", survivor_line=line_number, created_at=arrived,
                                queued_at=arrived, priority=int(crisis))
    session.add(conversation)
    session.flush()
    if abandoned:
        conversation.closed_at = arrived + timedelta(seconds=wait)
        conversation.closed_reason = "ended"
        return conversation.id
    answered = arrived + timedelta(seconds=wait)
    session.add(Offer(conversation_id=conversation.id, volunteer_id=volunteer,
                      line_number=line_number, status="accepted", created_at=arrived,
                      expires_at=answered, resolved_at=answered))
    conversation.volunteer_id, conversation.assigned_at = volunteer, answered
    conversation.closed_at = answered + timedelta(seconds=handle)
    conversation.closed_reason = "ended"
    return conversation.id


def seed_groups(svc: Any, actor: str, facilitators: tuple[str, str]) -> None:
    """Two weekly groups and one one-off, with attendance counts for past meetings."""
    line = svc.line
    today = shifts.today(line)
    with svc.sessions.begin() as session:
        weekly = admin.add_group(session, line, topic="Evenings after loss", lang="en",
                                 day=2, on_date=None, start="19:00", minutes=60,
                                 capacity=8, facilitator_phone=facilitators[0], actor=actor)
        spanish = admin.add_group(session, line, topic="Grupo de apoyo en español",
                                  lang="es", day=5, on_date=None, start="11:00", minutes=75,
                                  capacity=10, facilitator_phone=facilitators[1], actor=actor)
        admin.add_group(session, line, topic="Holidays when it's hard", lang="en", day=None,
                        on_date=today + timedelta(days=10), start="18:30", minutes=90,
                        capacity=12, facilitator_phone=facilitators[0], actor=actor)
        for group, weekday, counts in ((weekly, 2, ((6, 5), (7, 7), (5, 4))),
                                       (spanish, 5, ((8, 7), (6, 6), (9, 8)))):
            last = today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
            for weeks, (attended, peak) in enumerate(counts):
                occurs = last - timedelta(weeks=weeks)
                session.add(GroupMeeting(group_id=group.id, occurs_on=occurs,
                                         attended=attended, present=0, peak=peak,
                                         created_at=datetime.combine(occurs, datetime.min.time())))
