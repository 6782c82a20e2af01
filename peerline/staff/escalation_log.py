"""The escalation log as coordinators read it (dashboard and CLI): filters, and an
acknowledgement with a note, written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline import days
from peerline.line import Line
from peerline.models import AuditEntry, Escalation
from peerline.staff import audit
from peerline.text import escalation

#: The states a list can ask for.
STATUSES = ("open", "acknowledged", "all")
#: Longest note kept with an acknowledgement.
NOTE_MAX = 300


class FilterError(ValueError):
    """A filter that cannot be read (a bad date, an unknown category or state)."""


@dataclass(frozen=True)
class Filters:
    """Which escalations to list. Dates are whole days in UTC, both ends included."""

    status: str = "open"
    category: str = ""
    since: date | None = None
    until: date | None = None


def parse_day(raw: str | None) -> date | None:
    """``2026-12-04`` as a date; empty means no limit."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return days.parse_day(raw)
    except ValueError as exc:
        raise FilterError(str(exc)) from None


def filters(status: str | None = "open", category: str | None = "",
            since: str | None = "", until: str | None = "") -> Filters:
    """Filters from what a person typed; a bad one raises :class:`FilterError`."""
    status = (status or "open").strip().lower()
    if status not in STATUSES:
        raise FilterError(f"status must be one of {', '.join(STATUSES)}")
    category = (category or "").strip()
    if category and category not in escalation.CATEGORY_NAMES:
        raise FilterError(f"category must be one of {', '.join(escalation.CATEGORY_NAMES)}")
    first, last = parse_day(since), parse_day(until)
    if first and last and first > last:
        raise FilterError("the first day is after the last")
    return Filters(status, category, first, last)


def listing(session: Session, wanted: Filters, limit: int = 200) -> list[Escalation]:
    """Escalations matching ``wanted``, newest first."""
    stmt = select(Escalation).order_by(Escalation.id.desc()).limit(limit)
    if wanted.status == "open":
        stmt = stmt.where(Escalation.acknowledged_at.is_(None))
    elif wanted.status == "acknowledged":
        stmt = stmt.where(Escalation.acknowledged_at.is_not(None))
    if wanted.category:
        stmt = stmt.where(Escalation.category == wanted.category)
    if wanted.since:
        stmt = stmt.where(Escalation.created_at >= datetime.combine(wanted.since, time.min))
    if wanted.until:
        stmt = stmt.where(Escalation.created_at < datetime.combine(
            wanted.until + timedelta(days=1), time.min))
    return list(session.scalars(stmt))


def acknowledge(session: Session, line: Line, actor: str, escalation_id: int,
                note: str = "", by: str | None = None) -> bool:
    """Acknowledge an open escalation once, with an optional note; audited as ``actor``
    (``by``, the person named as acknowledging it, defaults to the actor). False if it is
    unknown or was already acknowledged (and then nothing is recorded)."""
    if not escalation.acknowledge(session, line, escalation_id, by or actor):
        return False
    audit.record(session, line, actor, "escalation.ack", f"escalation #{escalation_id}",
                 " ".join((note or "").split())[:NOTE_MAX])
    return True


def notes(session: Session, escalation_ids: list[int]) -> dict[int, str]:
    """The note written with each of these escalations' acknowledgement (the audit row)."""
    targets = {f"escalation #{i}": i for i in escalation_ids}
    if not targets:
        return {}
    rows = session.execute(select(AuditEntry.target, AuditEntry.detail).where(
        AuditEntry.action == "escalation.ack", AuditEntry.target.in_(list(targets))))
    return {targets[target]: detail for target, detail in rows if detail}
