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
    """Store ``pin`` as a password hash; a new PIN also lifts a lock and clears failures."""
    volunteer.pin_hash = generate_password_hash(_peppered(line, check_format(pin)))
    volunteer.pin_failures, volunteer.pin_failed_at, volunteer.pin_locked_until = 0, None, None


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


def count_failure(session: Session, line: Line, volunteer: Volunteer,
                  alert: str = "pin_locked") -> Outcome:
    """Count one failed proof of identity (a wrong PIN, a wrong shift code): ``WRONG``,
    or ``LOCKED`` when it was one too many (the on-call is sent ``ONCALL_TEXTS[alert]``).

    The caller holds the volunteer's row locked (``FOR UPDATE``)."""
    return _failed(session, line, volunteer, alert)


def _failed(session: Session, line: Line, volunteer: Volunteer,
            alert: str = "pin_locked") -> Outcome:
    now = line.now()
    window = timedelta(seconds=line.setting("PEERLINE_PIN_FAILURE_WINDOW_S"))
    last = volunteer.pin_failed_at
    failures = (volunteer.pin_failures or 0) if last is not None and now - last <= window else 0
    volunteer.pin_failures, volunteer.pin_failed_at = failures + 1, now
    if volunteer.pin_failures < line.setting("PEERLINE_PIN_MAX_FAILURES"):
        return Outcome.WRONG
    lock_s = line.setting("PEERLINE_PIN_LOCK_S")
    volunteer.pin_locked_until = now + timedelta(seconds=lock_s)
    volunteer.pin_failures, volunteer.pin_failed_at = 0, None
    log.warning("volunteer %s: locked after repeated wrong PINs or codes", volunteer.id)
    conversations.alert_oncall(
        session, line, f"pin_lock-{volunteer.id}", None,
        ONCALL_TEXTS[alert].format(vid=volunteer.id, name=volunteer.name[:40],
                                          minutes=max(1, round(lock_s / 60))))
    return Outcome.LOCKED
