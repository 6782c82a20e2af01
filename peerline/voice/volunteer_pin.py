"""A volunteer's PIN on one call: keying it, and the one test for anything that reveals a
survivor's words or reaches a survivor. Caller ID can be faked, so only a PIN keyed on
the very call that asks counts; wrong PINs count toward a lock on the volunteer
(:mod:`peerline.people.pins`)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, CallStage, Volunteer
from peerline.people import pins
from peerline.voice import scripts

log = logging.getLogger(__name__)

#: Wrong (or empty) PINs on one call before it ends.
PIN_TRIES = 3


def lock_volunteer(session: Session, volunteer_id: int | None) -> Volunteer | None:
    """The volunteer row, locked for update and read afresh (None for no id)."""
    if volunteer_id is None:
        return None
    return session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                          .with_for_update().execution_options(populate_existing=True))


def pin_verified(line: Line, call: Call, volunteer: Volunteer | None) -> bool:
    """True when the right PIN was keyed on this call and voice access is not locked.

    The one test for anything that reveals a survivor's words or reaches a survivor.
    """
    return (call.pin_verified_at is not None and volunteer is not None
            and call.volunteer_id == volunteer.id and bool(volunteer.pin_hash)
            and volunteer.active and not pins.locked(line, volunteer))


def key_pin(session: Session, line: Line, call: Call, digits: str, action: str,
            prompt: str) -> str | None:
    """Check the PIN keyed on ``call``: None when right, else what to answer."""
    volunteer = lock_volunteer(session, call.volunteer_id)
    if volunteer is None or not volunteer.active:
        call.stage = CallStage.PIN_FAILED
        return scripts.volunteer_told("goodbye")
    keyed = digits.strip()
    outcome = pins.verify(session, line, volunteer, keyed) if keyed else None
    if outcome is pins.Outcome.OK:
        call.pin_verified_at = line.now()
        return None
    if outcome is pins.Outcome.LOCKED:
        call.stage = CallStage.LOCKED
        return scripts.volunteer_told("voice_locked")
    call.tries += 1  # a wrong PIN, or nothing keyed
    if call.tries >= PIN_TRIES:
        call.stage = CallStage.PIN_FAILED
        log.warning("volunteer %s: call ended after %s PIN tries", volunteer.id, call.tries)
        return scripts.volunteer_told("pin_failed")
    return scripts.pin(action, prompt, wrong=outcome is not None)
