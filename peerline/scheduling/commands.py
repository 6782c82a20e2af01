"""Volunteers' shift commands by text: ``SHIFTS``, ``OK``/``CANT`` (to a reminder),
``OPEN``, ``TAKE n``, ``SWAP n``. Shift numbers are the slots' ids (see :mod:`claims`).

``OK`` and ``CANT`` answer the volunteer's soonest reminded shift still waiting for an
answer (``OK 12``/``CANT 12`` name one); ``CANT`` also gives up any upcoming shift of
theirs by number. ``CANT`` and ``SWAP n`` give a shift away, so they only ask: the
reply with the code (``YES CANT 12 4821``, ``YES SWAP 12 4821``) acts (:mod:`confirm`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import ShiftSlot, SlotStatus, Volunteer
from peerline.people import pins
from peerline.scheduling import claims, confirm, shifts, slots
from peerline.telephony.params import db_int_or_none
from peerline.text.texts import SCHEDULE_TEXTS

_COMMAND = re.compile(r"^(?:YES\s+)?(SHIFTS|OPEN|OK|OKAY|CANT|CAN'T|CAN’T|CANNOT|TAKE|SWAP)"
                      r"(?:\s*#?\s*([0-9]{1,12}))?(?:\s+([0-9]{4}))?$")
#: Words that need a shift number.
_NUMBERED = {"TAKE", "SWAP"}
#: Words that give a shift up (confirmed as ``CANT``).
_CANT = {"CANT", "CAN'T", "CAN’T", "CANNOT"}


def is_command(word: str) -> bool:
    """True when a command word (see ``intake.command_word``) is a shift command."""
    return _COMMAND.match(word) is not None


def _items(line: Line, rows: list[ShiftSlot]) -> str:
    return "; ".join(f"#{s.id} {shifts.slot_when(line, s)}" for s in rows)


def _answerable(session: Session, line: Line, volunteer: Volunteer,
                number: int | None) -> ShiftSlot | None:
    stmt = select(ShiftSlot).where(ShiftSlot.volunteer_id == volunteer.id,
                                   ShiftSlot.starts_at > line.now())
    if number is not None:
        stmt = stmt.where(ShiftSlot.id == number)
    else:
        stmt = stmt.where(ShiftSlot.reminded_at.is_not(None),
                          ShiftSlot.status == SlotStatus.SCHEDULED)
    return session.scalar(stmt.order_by(ShiftSlot.starts_at).limit(1).with_for_update())


def answer(session: Session, line: Line, volunteer: Volunteer, word: str) -> str:
    """The reply to a shift command (``is_command(word)`` is true)."""
    match = _COMMAND.match(word)
    assert match is not None
    verb, raw, given = match.group(1), match.group(2), match.group(3)
    number = db_int_or_none(raw) if raw else None
    if raw and number is None:
        return SCHEDULE_TEXTS["take_unknown" if verb == "TAKE" else "swap_unknown"].format(
            sid=raw)
    if verb in _NUMBERED and number is None:
        return SCHEDULE_TEXTS["bad_number"].format(word=verb)
    if verb == "SHIFTS":
        return next_shifts(session, line, volunteer)
    if verb == "OPEN":
        rows = claims.open_slots(session, line, volunteer)
        return SCHEDULE_TEXTS["open"].format(items=_items(line, rows)) if rows else \
            SCHEDULE_TEXTS["open_none"]
    if verb == "TAKE":
        assert number is not None
        return claims.take(session, line, volunteer, number)
    if verb == "SWAP":
        assert number is not None
        swappable = claims.swappable(session, line, volunteer, number)
        if isinstance(swappable, str):
            return swappable
        return _confirmed(session, line, volunteer, "SWAP", swappable, given, claims.swap)
    slot = _answerable(session, line, volunteer, number)
    if slot is None:
        return SCHEDULE_TEXTS["nothing_to_answer"]
    if verb in ("OK", "OKAY"):
        slot.status, slot.confirmed_at = SlotStatus.CONFIRMED, line.now()
        if slot.open_reason == "unconfirmed":  # confirmed after all: no longer offered
            slot.open_since = slot.open_reason = None
        return SCHEDULE_TEXTS["confirmed"].format(sid=slot.id,
                                                  when=shifts.slot_when(line, slot))
    assert verb in _CANT
    return _confirmed(session, line, volunteer, "CANT", slot, given, claims.give_up)


def _confirmed(session: Session, line: Line, volunteer: Volunteer, verb: str,
               slot: ShiftSlot, given: str | None,
               act: Callable[[Session, Line, Volunteer, ShiftSlot], None]
               ) -> str:
    """Ask for the code first; act only on the right one (the reply, or "" when the
    volunteer's phone is texted by the outbox)."""
    if given is None:
        return _ask(line, volunteer, verb, slot)
    refused = _code_refused(session, line, volunteer, verb, slot.id, given)
    if refused is not None:
        return refused
    act(session, line, volunteer, slot)
    return ""


def _code_refused(session: Session, line: Line, volunteer: Volunteer, verb: str,
                  slot_id: int, given: str) -> str | None:
    """None when ``given`` is the right code; else the reply (nothing changes).

    A code is four digits, so a faked From could try them all: each wrong code counts
    toward a lock on the volunteer's texted codes (``PEERLINE_PIN_MAX_FAILURES``, counted
    apart from voice PINs, which it never locks), and while locked no code is taken, not
    even the right one."""
    session.flush()
    session.scalar(select(Volunteer.id).where(Volunteer.id == volunteer.id).with_for_update())
    session.refresh(volunteer, ["code_failures", "code_failed_at", "code_locked_until"])
    if pins.code_locked(line, volunteer):
        return SCHEDULE_TEXTS["confirm_locked"]
    if confirm.check(line, verb, volunteer.id, slot_id, given):
        return None
    if pins.count_code_failure(session, line, volunteer, "code_locked") is pins.Outcome.LOCKED:
        return SCHEDULE_TEXTS["confirm_locked"]
    return SCHEDULE_TEXTS["confirm_wrong"].format(word=verb, sid=slot_id)


def _ask(line: Line, volunteer: Volunteer, verb: str, slot: ShiftSlot) -> str:
    """The question that comes back before a shift is given away (with its code)."""
    return SCHEDULE_TEXTS[f"{verb.lower()}_confirm"].format(
        sid=slot.id, when=shifts.slot_when(line, slot),
        code=confirm.code(line, verb, volunteer.id, slot.id))


def next_shifts(session: Session, line: Line, volunteer: Volunteer) -> str:
    """``SHIFTS``: the volunteer's shifts in the next two weeks (at most five)."""
    slots.ensure_ahead(session, line, line.now() + timedelta(days=slots.SHIFTS_DAYS))
    rows = list(session.scalars(select(ShiftSlot).where(
        ShiftSlot.volunteer_id == volunteer.id, ShiftSlot.ends_at > line.now())
        .order_by(ShiftSlot.starts_at).limit(5)))
    if not rows:
        return SCHEDULE_TEXTS["shifts_none"].format(days=slots.SHIFTS_DAYS)
    return SCHEDULE_TEXTS["shifts"].format(items=_items(line, rows))
