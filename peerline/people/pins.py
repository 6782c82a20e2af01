"""Volunteers' PINs: their format, their hash, and the lock after repeated wrong tries.

Caller ID can be faked, so a call showing a volunteer's number proves nothing. Whatever a
phone call could reach of a survivor (a voicemail's words, a call back to them) needs the
volunteer's PIN keyed on that very call. PINs are 4 to 12 digits, stored only as a
password hash (werkzeug's scrypt) of the PIN keyed with the vault's hash key, so a
database dump alone cannot be tried against the few PINs there are. Wrong PINs are
counted on the volunteer's row, so every web process sees the same count:
``PEERLINE_PIN_MAX_FAILURES`` wrong PINs, each within ``PEERLINE_PIN_FAILURE_WINDOW_S``
of the one before, lock that volunteer's voice access for ``PEERLINE_PIN_LOCK_S`` (even
the right PIN is refused meanwhile) and text the on-call coordinator (no number, no
words).

Codes texted back (a CANT/SWAP confirmation, an application's code) are counted apart,
on the ``code_*`` columns, with the same settings: a text's ``From`` can be faked, so
wrong codes texted "from" a volunteer's number must lock only the codes, never that
volunteer's voice access (and wrong PINs on a call never lock the codes).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from peerline.line import Line
from peerline.models import Volunteer
from peerline.text import conversations
from peerline.text.texts import ONCALL_TEXTS

log = logging.getLogger(__name__)

MIN_DIGITS = 4
MAX_DIGITS = 12
_FORMAT = re.compile(rf"[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}")


class PinError(ValueError):
    """A PIN that cannot be used (not 4 to 12 digits)."""


class Outcome(StrEnum):
    """What a keyed PIN led to."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


def check_format(pin: str) -> str:
    """The PIN if it is 4 to 12 digits (0-9), else :class:`PinError`."""
    if not _FORMAT.fullmatch(pin or ""):
        raise PinError(f"a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits (0-9), nothing else")
    return pin


def _peppered(line: Line, pin: str) -> str:
    return line.vault.hash("pin:" + pin)


def set_pin(line: Line, volunteer: Volunteer, pin: str) -> None:
    """Store ``pin`` as a password hash; a new PIN also lifts both locks (voice PINs and
    texted codes) and clears their failures."""
    volunteer.pin_hash = generate_password_hash(_peppered(line, check_format(pin)))
    clear_locks(volunteer)


def clear_locks(volunteer: Volunteer) -> None:
    """Lift both locks and forget the failures (a new PIN, a re-approval)."""
    volunteer.pin_failures, volunteer.pin_failed_at, volunteer.pin_locked_until = 0, None, None
    volunteer.code_failures, volunteer.code_failed_at, volunteer.code_locked_until = 0, None, None


def matches(line: Line, pin_hash: str | None, keyed: str) -> bool:
    """True when ``keyed`` is the PIN stored as ``pin_hash`` (nothing counted: see verify)."""
    if not pin_hash or not _FORMAT.fullmatch(keyed or ""):
        return False
    return check_password_hash(pin_hash, _peppered(line, keyed))


def locked(line: Line, volunteer: Volunteer) -> bool:
    """True while the volunteer's voice access is locked after repeated wrong PINs."""
    until = volunteer.pin_locked_until
    return until is not None and until > line.now()


def verify(session: Session, line: Line, volunteer: Volunteer, keyed: str) -> Outcome:
    """Check a keyed PIN; a wrong one counts toward the lock.

    The caller holds the volunteer's row locked (``FOR UPDATE``) so that concurrent
    calls count every failure. While locked, even the right PIN gives ``LOCKED``.
    """
    if locked(line, volunteer):
        return Outcome.LOCKED
    if matches(line, volunteer.pin_hash, keyed):
        return Outcome.OK
    return _failed(session, line, volunteer)


def code_locked(line: Line, volunteer: Volunteer) -> bool:
    """True while codes texted back are refused after repeated wrong ones (voice access
    is not affected)."""
    until = volunteer.code_locked_until
    return until is not None and until > line.now()


def count_code_failure(session: Session, line: Line, volunteer: Volunteer,
                       alert: str) -> Outcome:
    """Count one wrong code texted back (a shift's CANT/SWAP code, an application's
    code): ``WRONG``, or ``LOCKED`` when it was one too many (the on-call is sent
    ``ONCALL_TEXTS[alert]``). Only the codes lock, never voice access.

    The caller holds the volunteer's row locked (``FOR UPDATE``)."""
    return _failed(session, line, volunteer, alert, _CODE)


#: The columns of each count: (failures, last failure, locked until).
_PIN = ("pin_failures", "pin_failed_at", "pin_locked_until")
_CODE = ("code_failures", "code_failed_at", "code_locked_until")


def _failed(session: Session, line: Line, volunteer: Volunteer,
            alert: str = "pin_locked", columns: tuple[str, str, str] = _PIN) -> Outcome:
    count_col, last_col, until_col = columns
    now = line.now()
    window = timedelta(seconds=line.setting("PEERLINE_PIN_FAILURE_WINDOW_S"))
    last = getattr(volunteer, last_col)
    recent = last is not None and now - last <= window
    failures = (getattr(volunteer, count_col) or 0) if recent else 0
    setattr(volunteer, count_col, failures + 1)
    setattr(volunteer, last_col, now)
    if failures + 1 < line.setting("PEERLINE_PIN_MAX_FAILURES"):
        return Outcome.WRONG
    lock_s = line.setting("PEERLINE_PIN_LOCK_S")
    setattr(volunteer, until_col, now + timedelta(seconds=lock_s))
    setattr(volunteer, count_col, 0)
    setattr(volunteer, last_col, None)
    log.warning("volunteer %s: %s locked after repeated wrong tries", volunteer.id,
                "voice access" if columns is _PIN else "texted codes")
    conversations.alert_oncall(
        session, line, f"{'pin' if columns is _PIN else 'code'}_lock-{volunteer.id}", None,
        ONCALL_TEXTS[alert].format(vid=volunteer.id, name=volunteer.name[:40],
                                          minutes=max(1, round(lock_s / 60))))
    return Outcome.LOCKED
