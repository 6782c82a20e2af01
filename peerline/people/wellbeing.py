"""Volunteers' wellbeing: ``TALK`` reaches the on-call coordinator, and who had several
crises this week (the dashboard's wellbeing page and ``reports wellbeing``).

The cool-down and the caps themselves live in :mod:`peerline.people.cooldown` and
:mod:`peerline.people.caps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, Conversation, Offer, OfferStatus, Volunteer
from peerline.people import caps
from peerline.text.conversations import alert_oncall
from peerline.text.texts import WELLBEING_TEXTS


def talk(session: Session, line: Line, volunteer: Volunteer) -> str:
    """``TALK``: ask the on-call coordinator to reach this volunteer; returns the reply.

    The alert names the volunteer only (no conversation, no survivor detail); a repeat
    within ``PEERLINE_ONCALL_ALERT_GAP_S`` is not sent twice.
    """
    if not line.setting("PEERLINE_ONCALL_NUMBER"):
        return WELLBEING_TEXTS["talk_no_oncall"]
    text = WELLBEING_TEXTS["oncall_talk"].format(name=volunteer.name, vid=volunteer.id)
    if alert_oncall(session, line, f"volunteer_talk_{volunteer.id}", None, text):
        return WELLBEING_TEXTS["talk_sent"]
    return WELLBEING_TEXTS["talk_already"]


def status_note(session: Session, line: Line, volunteer: Volunteer) -> str:
    """What STATUS adds: a cool-down's minutes left, or a reached cap."""
    now = line.now()
    if volunteer.cooling_down(now):
        left = -(-int((volunteer.cooldown_until - now).total_seconds()) // 60)
        return WELLBEING_TEXTS["cooling"].format(minutes=left)
    if caps.capped(session, line, volunteer):
        count = caps.taken(session, volunteer, now)
        return WELLBEING_TEXTS["capped"].format(shift=count.shift, week=count.week)
    return ""


@dataclass(frozen=True)
class VolunteerWeek:
    """One volunteer's last seven days, for the coordinator."""

    volunteer_id: int
    name: str
    crises: int  # crisis conversations and calls they took
    taken: int  # all conversations and calls they took
    cap_per_week: int  # 0 = none
    cooling_down: bool
    several: bool  # crises >= PEERLINE_CRISES_FLAG


def crisis_week(session: Session, line: Line, now: datetime | None = None) -> list[VolunteerWeek]:
    """Active volunteers with any conversation in the last seven days, most crises first.

    A crisis conversation is one that became crisis priority (the detector, ``#CRISIS``
    or a crisis heard on a call), counted for each volunteer who took it.
    """
    now = now or line.now()
    since = now - caps.WEEK
    crisis_texts = dict(session.execute(
        select(Offer.volunteer_id, func.count(distinct(Offer.conversation_id)))
        .join(Conversation, Conversation.id == Offer.conversation_id)
        .where(Offer.status == OfferStatus.ACCEPTED, Offer.resolved_at >= since,
               Conversation.priority > 0).group_by(Offer.volunteer_id)).all())
    all_texts = dict(session.execute(
        select(Offer.volunteer_id, func.count(distinct(Offer.conversation_id)))
        .where(Offer.status == OfferStatus.ACCEPTED, Offer.resolved_at >= since)
        .group_by(Offer.volunteer_id)).all())
    crisis_calls = dict(session.execute(
        select(Call.volunteer_id, func.count()).where(
            Call.answered_at >= since, Call.priority > 0, Call.volunteer_id.is_not(None))
        .group_by(Call.volunteer_id)).all())
    all_calls = dict(session.execute(
        select(Call.volunteer_id, func.count()).where(
            Call.answered_at >= since, Call.volunteer_id.is_not(None))
        .group_by(Call.volunteer_id)).all())
    flag = max(1, int(line.setting("PEERLINE_CRISES_FLAG") or 1))
    rows = []
    for volunteer in session.scalars(select(Volunteer).where(Volunteer.active.is_(True))):
        total = all_texts.get(volunteer.id, 0) + all_calls.get(volunteer.id, 0)
        if not total and not volunteer.cooling_down(now):
            continue
        crises = crisis_texts.get(volunteer.id, 0) + crisis_calls.get(volunteer.id, 0)
        rows.append(VolunteerWeek(volunteer.id, volunteer.name, crises, total,
                                  caps.limits(line, volunteer)[1],
                                  volunteer.cooling_down(now), crises >= flag))
    rows.sort(key=lambda r: (-r.crises, -r.taken, r.name))
    return rows
