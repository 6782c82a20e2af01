"""Giving a shift away takes two texts: ``CANT 12`` (or ``SWAP 12``) asks, and only
``YES CANT 12 4821`` acts.

Caller ID can be faked, so a text from a volunteer's number may not be theirs. The
question goes back to that number, the real phone, with a four-digit code the faker
never sees. The code is a keyed hash of the action, the volunteer, the shift and a
15-minute window (nothing is stored): it is good in the window it was given and the
next one.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from peerline.line import Line

#: Length of one code window; a code is good for this long at least, twice at most.
WINDOW_S = 900


_EPOCH = datetime(1970, 1, 1)


def _window(at: datetime) -> int:
    """The window number of a naive UTC time (whatever the machine's time zone)."""
    return int((at - _EPOCH).total_seconds()) // WINDOW_S


def code(line: Line, verb: str, volunteer_id: int, slot_id: int,
         window: int | None = None) -> str:
    """The four-digit code for ``verb`` (``CANT`` or ``SWAP``) on this shift, now."""
    window = _window(line.now()) if window is None else window
    digest = line.vault.hash(f"shift-confirm:{verb}:{volunteer_id}:{slot_id}:{window}")
    return f"{int(digest[:12], 16) % 10000:04d}"


def check(line: Line, verb: str, volunteer_id: int, slot_id: int, given: str) -> bool:
    """True when ``given`` is the code of this window or the one before."""
    now = _window(line.now())
    return any(hmac.compare_digest(code(line, verb, volunteer_id, slot_id, w), given)
               for w in (now, now - 1))
