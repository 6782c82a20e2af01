"""Who may get a new offer or ring now: the one rule pairing and ring rounds share.

A volunteer gets no new offer (text) or ring (call) while on a ``BREAK``, during the
cool-down after a crisis conversation (``PEERLINE_COOLDOWN_S``), or once they reached
their cap of conversations this shift (``PEERLINE_CAP_PER_SHIFT``) or in the last seven
days (``PEERLINE_CAP_PER_WEEK``); a volunteer's own ``cap_per_shift``/``cap_per_week``
overrides the line's setting, and 0 means no cap.

Caps count conversations *taken*: accepted text offers and answered calls, plus the
volunteer's open offers (an offer out now may become one more). Crisis conversations
still reach a capped volunteer (a survivor in crisis outranks a volume limit, and they
have the hotline in hand already); a break or a cool-down holds for crises too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, Offer, OfferStatus, Volunteer

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Taken:
    """Conversations a volunteer took this shift and in the last seven days."""

    shift: int
    week: int


def taken(session: Session, volunteer: Volunteer, now: datetime) -> Taken:
    """Count conversations taken (accepted offers, answered calls) and open offers."""
    shift_start = volunteer.shift_started_at if volunteer.on_shift else None
    week_start = now - WEEK
    counts = []
    for since in (shift_start, week_start):
        if since is None:
            counts.append(0)
            continue
        texts = session.scalar(select(func.count()).where(
            Offer.volunteer_id == volunteer.id, Offer.status == OfferStatus.ACCEPTED,
            Offer.resolved_at >= since)) or 0
        calls = session.scalar(select(func.count()).where(
            Call.volunteer_id == volunteer.id, Call.answered_at >= since)) or 0
        counts.append(texts + calls)
    pending = session.scalar(select(func.count()).where(
        Offer.volunteer_id == volunteer.id, Offer.status == OfferStatus.PENDING)) or 0
    return Taken(shift=counts[0] + (pending if shift_start else 0), week=counts[1] + pending)


def limits(line: Line, volunteer: Volunteer) -> tuple[int, int]:
    """(per shift, per week) caps for this volunteer; 0 = none."""
    shift = volunteer.cap_per_shift
    week = volunteer.cap_per_week
    return (line.setting("PEERLINE_CAP_PER_SHIFT") if shift is None else shift,
            line.setting("PEERLINE_CAP_PER_WEEK") if week is None else week)


def capped(session: Session, line: Line, volunteer: Volunteer) -> bool:
    """True when the volunteer reached a cap (this shift or the last seven days)."""
    per_shift, per_week = limits(line, volunteer)
    if not per_shift and not per_week:
        return False
    count = taken(session, volunteer, line.now())
    return bool((per_shift and count.shift >= per_shift) or
                (per_week and count.week >= per_week))


def may_offer(session: Session, line: Line, volunteer: Volunteer, crisis: bool) -> bool:
    """The one rule: may a new offer or ring reach ``volunteer`` now?

    Not on a break, not cooling down after a crisis, and under both caps (caps are
    waived for crisis conversations; see the module doc).
    """
    now = line.now()
    if volunteer.on_break(now) or volunteer.cooling_down(now):
        return False
    return crisis or not capped(session, line, volunteer)


def set_limits(volunteer: Volunteer, per_shift: int | None, per_week: int | None) -> None:
    """A volunteer's own caps (None: the line's settings; 0: no cap)."""
    for value in (per_shift, per_week):
        if value is not None and value < 0:
            raise ValueError("a cap is 0 (none) or more")
    volunteer.cap_per_shift, volunteer.cap_per_week = per_shift, per_week
