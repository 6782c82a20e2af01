"""Wrong session PINs counted per caller across calls, so hanging up and calling again
does not reset a guesser's tries.

Kept by the caller's keyed hash (never the number). A withheld caller has no key: they
keep the per-call limit only, because one shared count would let a single guesser lock
every withheld caller (often the ones hiding from someone) out of groups. A 6-digit PIN
with three tries a call still needs tens of thousands of calls to hit.
``PEERLINE_GROUP_PIN_MAX_FAILURES`` wrong PINs, each within
``PEERLINE_GROUP_PIN_WINDOW_S`` of the one before, lock joining a group from that caller
for ``PEERLINE_GROUP_PIN_LOCK_S``. Silence (no digits) counts only toward the call's own
tries; a right PIN does not wipe the count.

Caller ID can be faked, so the lock must cost a guesser and never the number's real owner:
while a number is locked, a call from it may still join with the PIN of the sign-up made
from that number (what a faker showing it does not know), never with another (even one
right for another sign-up: it counts as wrong, with no hint that it exists), and one
wrong PIN ends the call (:func:`peerline.groups.calls.check_pin`). A guesser behind a
locked number so gets one guess a call, at one PIN; the owner is never shut out. The
on-call coordinator is told when a lock starts (paced; never the number).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, GroupPinFailures
from peerline.models.upsert import insert_for
from peerline.text import conversations
from peerline.text.texts import ONCALL_TEXTS

log = logging.getLogger(__name__)


def caller_key(line: Line, call: Call) -> str | None:
    """The key a caller's failures are counted under (a keyed hash, never the number);
    None for a withheld caller, who is not counted across calls."""
    if not call.from_hash:
        return None
    return line.vault.hash("group-pin-caller:" + call.from_hash)


def locked(session: Session, line: Line, call: Call) -> bool:
    """True while this caller may not join a group by PIN."""
    key = caller_key(line, call)
    if key is None:
        return False
    row = session.scalar(select(GroupPinFailures).where(GroupPinFailures.phone_hash == key))
    return row is not None and row.locked_until is not None and row.locked_until > line.now()


def failed(session: Session, line: Line, call: Call) -> bool:
    """Count one wrong PIN from this caller; True when it locks them (or they were)."""
    key = caller_key(line, call)
    if key is None:
        return False
    table = GroupPinFailures.__table__
    session.execute(insert_for(session)(table).values(phone_hash=key, failures=0)
                    .on_conflict_do_nothing(index_elements=["phone_hash"]))
    row = session.scalar(select(GroupPinFailures).where(
        GroupPinFailures.phone_hash == key).with_for_update())
    now = line.now()
    window = timedelta(seconds=line.setting("PEERLINE_GROUP_PIN_WINDOW_S"))
    if row.locked_until is not None and row.locked_until > now:
        return True
    if row.last_failed_at is None or now - row.last_failed_at > window:
        row.failures = 0
    row.failures += 1
    row.last_failed_at = now
    if row.failures >= line.setting("PEERLINE_GROUP_PIN_MAX_FAILURES"):
        lock_s = line.setting("PEERLINE_GROUP_PIN_LOCK_S")
        row.locked_until = now + timedelta(seconds=lock_s)
        row.failures = 0
        log.warning("call %s: group PINs locked for this caller after repeated wrong PINs",
                    call.id)
        conversations.alert_oncall(session, line, "group_pin_lock", None,
                                   ONCALL_TEXTS["group_pin_locked"].format(
                                       cid=call.id, minutes=max(1, round(lock_s / 60))))
        return True
    return False
