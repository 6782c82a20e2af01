"""Roster changes made by coordinators (dashboard or CLI): add, edit, deactivate, export,
each one written to the audit log. Builds on :mod:`peerline.roster`."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Application, ApplicationStatus, Volunteer
from peerline.people import pins, roster
from peerline.people.phones import InvalidNumber, normalise
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
        capacity: int | None, pin: str | None = None) -> Volunteer:
    """Put a volunteer on the roster; audited (without the number or the PIN).

    An approval still waiting for this phone's confirmation (or sent back by its code
    lock) is closed as approved: the coordinator typed the number and vouches for it, as
    for any roster add. A former volunteer's row with this phone is retired, not reused
    (:func:`peerline.people.roster.add_volunteer`); the audit log says which."""
    try:
        kept = session.scalar(select(Volunteer.id).where(
            Volunteer.phone_hash == line.vault.hash(normalise(phone)),
            Volunteer.active.is_(False)))
    except InvalidNumber:
        kept = None  # add_volunteer says why
    volunteer = roster.add_volunteer(session, line, name, phone, languages, capacity, pin=pin,
                                     take_over=True)
    if kept is not None and kept != volunteer.id:
        audit.record(session, line, actor, "volunteer.retire_phone", f"volunteer #{kept}",
                     f"its phone now belongs to volunteer #{volunteer.id}")
    audit.record(session, line, actor, "volunteer.add", f"volunteer #{volunteer.id}",
                 f"name={volunteer.name} languages={volunteer.languages} "
                 f"capacity={volunteer.capacity}" + (" pin=set" if pin else ""))
    for row in session.scalars(select(Application).where(
            Application.volunteer_id == volunteer.id,
            Application.status.in_((ApplicationStatus.CONFIRMING,
                                    ApplicationStatus.SUBMITTED))).with_for_update()):
        row.status, row.updated_at = ApplicationStatus.APPROVED, line.now()
        audit.record(session, line, actor, "application.approve", f"application #{row.id}",
                     f"volunteer #{volunteer.id} added to the roster directly")
    return volunteer


def active(session: Session, volunteer_id: int) -> Volunteer:
    """The active volunteer with this id, locked for a change; :class:`RosterError` if none."""
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                               .with_for_update())
    if volunteer is None or not volunteer.active:
        raise RosterError(f"no active volunteer #{volunteer_id}")
    return volunteer


def set_pin(session: Session, line: Line, actor: str, volunteer_id: int, pin: str) -> Volunteer:
    """Give a volunteer a new voice PIN (stored hashed; lifts a PIN lock). Audited: who
    and when, never the PIN."""
    volunteer = active(session, volunteer_id)
    try:
        pins.set_pin(line, volunteer, pin)
    except pins.PinError as exc:
        raise RosterError(str(exc)) from None
    audit.record(session, line, actor, "volunteer.set_pin", f"volunteer #{volunteer.id}")
    return volunteer


def edit(session: Session, line: Line, actor: str, volunteer_id: int, *, name: str,
         languages: str, capacity: int, phone: str = "") -> Volunteer:
    """Change a volunteer's name, languages, capacity or (when ``phone`` is not blank)
    phone; audited with what changed (a new phone as "phone changed", no digits)."""
    volunteer = active(session, volunteer_id)
    number = _new_number(session, line, volunteer, phone)
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
    if number is not None:
        volunteer.phone_enc, volunteer.phone_hash = (line.vault.encrypt(number),
                                                     line.vault.hash(number))
        changes.append("phone changed")
    if changes:
        audit.record(session, line, actor, "volunteer.edit", f"volunteer #{volunteer.id}",
                     "; ".join(changes))
    return volunteer


def _new_number(session: Session, line: Line, volunteer: Volunteer, phone: str) -> str | None:
    """The volunteer's new number (E.164), or None when blank or the same as now."""
    if not phone.strip():
        return None
    try:
        number = normalise(phone)
    except InvalidNumber as exc:
        raise RosterError(str(exc)) from None
    phone_hash = line.vault.hash(number)
    if phone_hash == volunteer.phone_hash:
        return None
    if number in line.numbers:
        raise RosterError("that is one of the line's own numbers")
    if session.scalar(select(Volunteer.id).where(Volunteer.phone_hash == phone_hash)):
        raise RosterError("a volunteer with that phone is already on the roster")
    return number


def deactivate(session: Session, line: Line, actor: str, volunteer_id: int) -> Volunteer:
    """Take a volunteer off the roster: off shift (live conversations handed over to
    the queue), no more offers; audited. The row stays for history."""
    volunteer = active(session, volunteer_id)
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


def pin_state(line: Line, volunteer: Volunteer) -> str:
    """``PIN``, ``no PIN`` or ``PIN locked`` (never the PIN)."""
    if not volunteer.pin_hash:
        return "no PIN"
    return "PIN locked" if pins.locked(line, volunteer) else "PIN"


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
