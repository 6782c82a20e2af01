"""Who may get a new offer or ring now: the one rule pairing and ring rounds share.

A volunteer gets no new offer (text) or ring (call) while on a ``BREAK``, during the
cool-down after a crisis conversation (``PEERLINE_COOLDOWN_S``), or once they reached
their cap of conversations this shift (``PEERLINE_CAP_PER_SHIFT``) or in the last seven
days (``PEERLINE_CAP_PER_WEEK``); a volunteer's own ``cap_per_shift``/``cap_per_week``
overrides the line's setting, and 0 means no cap. Before all that, the volunteer must be
reachable (:func:`reachable`): active, on shift, not on a voice call, not opted out of
texts (``STOP``, theirs or the carrier's). Pairing and ring rounds ask this again under the
volunteer's row lock, so a call answered or a ``STOP`` committed after the ranking is seen.

Caps count conversations *taken*: accepted text offers and answered calls, plus the
volunteer's open offers (an offer out now may become one more). Crisis conversations
still reach a capped volunteer (a survivor in crisis outranks a volume limit, and they
have the hotline in hand already); a break or a cool-down holds for crises too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, literal, select, union_all
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
    return taken_among(session, [volunteer], now)[volunteer.id]


def taken_among(session: Session, volunteers: Iterable[Volunteer],
                now: datetime) -> dict[int, Taken]:
    """:func:`taken` for each of ``volunteers``, in one statement however many."""
    people = {v.id: v for v in volunteers}
    if not people:
        return {}
    week_start = now - WEEK
    shift_start = {vid: v.shift_started_at if v.on_shift else None for vid, v in people.items()}
    since = min([week_start, *(s for s in shift_start.values() if s is not None)])
    ids = sorted(people)
    rows = session.execute(union_all(
        select(Offer.volunteer_id, Offer.resolved_at, literal(0).label("open")).where(
            Offer.volunteer_id.in_(ids), Offer.status == OfferStatus.ACCEPTED,
            Offer.resolved_at >= since),
        select(Call.volunteer_id, Call.answered_at, literal(0)).where(
            Call.volunteer_id.in_(ids), Call.answered_at >= since),
        select(Offer.volunteer_id, literal(None, DateTime), literal(1)).where(
            Offer.volunteer_id.in_(ids), Offer.status == OfferStatus.PENDING)))
    shift = dict.fromkeys(ids, 0)
    week = dict.fromkeys(ids, 0)
    for vid, at, is_open in rows:
        start = shift_start[vid]
        if is_open:
            week[vid] += 1
            shift[vid] += 1 if start is not None else 0
            continue
        week[vid] += 1 if at >= week_start else 0
        shift[vid] += 1 if start is not None and at >= start else 0
    return {vid: Taken(shift=shift[vid], week=week[vid]) for vid in ids}


def limits(line: Line, volunteer: Volunteer) -> tuple[int, int]:
    """(per shift, per week) caps for this volunteer; 0 = none."""
    shift = volunteer.cap_per_shift
    week = volunteer.cap_per_week
    return (line.setting("PEERLINE_CAP_PER_SHIFT") if shift is None else shift,
            line.setting("PEERLINE_CAP_PER_WEEK") if week is None else week)


def capped(session: Session, line: Line, volunteer: Volunteer) -> bool:
    """True when the volunteer reached a cap (this shift or the last seven days)."""
    return volunteer.id in capped_among(session, line, [volunteer])


def capped_among(session: Session, line: Line, volunteers: Iterable[Volunteer]) -> set[int]:
    """Ids of those of ``volunteers`` who reached a cap (one statement however many)."""
    people = list(volunteers)
    capped_ones = [v for v in people if any(limits(line, v))]
    counts = taken_among(session, capped_ones, line.now())
    out = set()
    for volunteer in capped_ones:
        per_shift, per_week = limits(line, volunteer)
        count = counts[volunteer.id]
        if (per_shift and count.shift >= per_shift) or (per_week and count.week >= per_week):
            out.add(volunteer.id)
    return out


def reachable(volunteer: Volunteer) -> bool:
    """Active, on shift, not on a voice call and not opted out (``STOP``): a new offer,
    ring or dial may reach them. Read from a locked row, this holds until the commit."""
    return bool(volunteer.active and volunteer.on_shift and not volunteer.on_call
                and not volunteer.opted_out)


def may_offer(session: Session, line: Line, volunteer: Volunteer, crisis: bool) -> bool:
    """The one rule: may a new offer or ring reach ``volunteer`` now?

    Reachable (:func:`reachable`), not on a break, not cooling down after a crisis, and
    under both caps (caps are waived for crisis conversations; see the module doc).
    """
    return volunteer.id in may_offer_among(session, line, [volunteer], crisis)


def may_offer_among(session: Session, line: Line, volunteers: Iterable[Volunteer],
                    crisis: bool) -> set[int]:
    """Ids of those of ``volunteers`` :func:`may_offer` allows (one statement at most)."""
    now = line.now()
    free = [v for v in volunteers
            if reachable(v) and not (v.on_break(now) or v.cooling_down(now))]
    if crisis:
        return {v.id for v in free}
    return {v.id for v in free} - capped_among(session, line, free)


def set_limits(volunteer: Volunteer, per_shift: int | None, per_week: int | None) -> None:
    """A volunteer's own caps (None: the line's settings; 0: no cap)."""
    for value in (per_shift, per_week):
        if value is not None and value < 0:
            raise ValueError("a cap is 0 (none) or more")
    volunteer.cap_per_shift, volunteer.cap_per_week = per_shift, per_week
