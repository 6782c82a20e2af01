"""Roster changes made by coordinators (dashboard or CLI): add, edit, deactivate, export,
each one written to the audit log. Builds on :mod:`peerline.roster`."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Volunteer
from peerline.people import roster
from peerline.people.roster import RosterError
from peerline.staff import audit


def mask(number: str) -> str:
    """A number shown without revealing it: only the last 4 digits (``•••• 0001``)."""
    return "•••• " + number[-4:] if number else ""


def masked_phone(line: Line, volunteer: Volunteer) -> str:
    """The volunteer's phone, masked."""
    return mask(line.vault.decrypt(volunteer.phone_enc))


def active_volunteers(session: Session) -> list[Volunteer]:
    """Active volunteers, by name."""
    return list(session.scalars(select(Volunteer).where(Volunteer.active.is_(True))
                                .order_by(Volunteer.name, Volunteer.id)))


def add(session: Session, line: Line, actor: str, name: str, phone: str, languages: str,
        capacity: int | None) -> Volunteer:
    """Put a volunteer on the roster; audited (without the number)."""
    volunteer = roster.add_volunteer(session, line, name, phone, languages, capacity)
    audit.record(session, line, actor, "volunteer.add", f"volunteer #{volunteer.id}",
                 f"name={volunteer.name} languages={volunteer.languages} "
                 f"capacity={volunteer.capacity}")
    return volunteer


def edit(session: Session, line: Line, actor: str, volunteer_id: int, *, name: str,
         languages: str, capacity: int) -> Volunteer:
    """Change a volunteer's name, languages or capacity; audited with what changed."""
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                               .with_for_update())
    if volunteer is None:
        raise RosterError("no such volunteer")
    if not name.strip():
        raise RosterError("a name is needed")
    if not 1 <= capacity <= 10:
        raise RosterError("capacity must be between 1 and 10")
    new = {"name": name.strip()[:120], "languages": roster.parse_languages(languages),
           "capacity": capacity}
    changes = [f"{key}: {getattr(volunteer, key)} → {value}" for key, value in new.items()
               if getattr(volunteer, key) != value]
    for key, value in new.items():
        setattr(volunteer, key, value)
    if changes:
        audit.record(session, line, actor, "volunteer.edit", f"volunteer #{volunteer.id}",
                     "; ".join(changes))
    return volunteer


def deactivate(session: Session, line: Line, actor: str, volunteer_id: int) -> Volunteer:
    """Take a volunteer off the roster: off shift (live conversations handed over to
    the queue), no more offers; audited. The row stays for history."""
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                               .with_for_update())
    if volunteer is None or not volunteer.active:
        raise RosterError("no such active volunteer")
    roster.go_off_shift(session, line, volunteer, force=True)
    volunteer.active = False
    audit.record(session, line, actor, "volunteer.deactivate", f"volunteer #{volunteer.id}",
                 f"name={volunteer.name}")
    return volunteer


def reveal_phone(session: Session, line: Line, actor: str, volunteer_id: int) -> str:
    """A volunteer's full number, for a deliberate request; the request is audited."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None or not volunteer.active:
        raise RosterError("no such active volunteer")
    audit.record(session, line, actor, "volunteer.reveal_phone", f"volunteer #{volunteer.id}")
    return line.vault.decrypt(volunteer.phone_enc)


def export_csv(session: Session, line: Line) -> str:
    """The active roster as CSV (name, masked phone, languages, capacity, on shift)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "phone", "languages", "capacity", "on_shift"])
    for v in active_volunteers(session):
        writer.writerow([v.id, _cell(v.name), masked_phone(line, v), v.languages,
                         v.capacity, "yes" if v.on_shift else "no"])
    return out.getvalue()


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (``=cmd|…``, ``+``, ``@``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
