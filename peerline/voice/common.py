"""What every part of a survivor's call shares: timings, errors, row locks, URLs, caller ID.

Atomicity: rows are locked call first, ring second, volunteer third (``FOR UPDATE``;
SQLite serialises writers).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Call, CallRole, RingStatus

#: Ring states in which a volunteer's phone is (about to be) ringing for a call.
LIVE_RINGS = (RingStatus.NEW, RingStatus.DIALING, RingStatus.RINGING, RingStatus.WHISPER)
#: Twilio call statuses that mean the call is over.
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}
#: How long a volunteer's phone rings (Twilio ``timeout``).
RING_TIMEOUT_S = 25
#: Pause between ring rounds for the same caller, and the retry while nobody is free.
RING_GAP_S = 5
RING_RETRY_S = 15
#: Longest stretch of hold silence between two position messages.
HOLD_SLICE_S = 20
#: Grace before the max-wait backstop pulls a caller out of the queue by REST.
DEADLINE_GRACE_S = 20
MENU_TRIES = 2

#: Words (or keys) at the menu and on hold: the hotline, English, Spanish.
HOTLINE_WORDS = {"hotline", "ayuda", "crisis", "988", "nine", "nueve", "9"}
ENGLISH_WORDS = {"english", "inglés", "ingles", "one", "1"}
SPANISH_WORDS = {"español", "espanol", "spanish", "dos", "two", "2"}


def _words(speech: str) -> set[str]:
    return set(re.findall(r"[a-záéíóúñü0-9]+", speech.lower()))


def menu_word(digits: str, speech: str) -> str | None:
    """What a key or a few words at the menu mean: ``hotline``, ``en``, ``es`` or None."""
    key = digits.strip()[:1]
    if key == "9":
        return "hotline"
    if key in ("1", "2"):
        return "en" if key == "1" else "es"
    words = _words(speech)
    if words & HOTLINE_WORDS or "hotline" in speech.lower().replace(" ", ""):
        return "hotline"
    if words & SPANISH_WORDS:
        return "es"
    if words & ENGLISH_WORDS:
        return "en"
    return None


class BadInput(ValueError):
    """A signed request the voice line cannot use; answered with a 4xx and this reason."""


class UnknownCall(LookupError):
    """A webhook about a call that is not (or no longer) ours; answered kindly in TwiML."""


def url(line: Line, path: str) -> str:
    """An absolute URL for REST-placed calls (``PUBLIC_BASE_URL``), else the path."""
    return line.callback_url(path) or path


def lock(session: Session, model: Any, ident: int) -> Any:
    """``model`` row ``ident``, locked for this transaction (fresh from the database)."""
    stmt = select(model).where(model.id == ident).with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def get_call(session: Session, call_id: int, sid: str, role: str = CallRole.SURVIVOR) -> Call:
    """The call a webhook is about, locked; its ``CallSid`` must match."""
    call = lock(session, Call, call_id)
    if call is None or call.role != role or call.sid != sid:
        raise UnknownCall(f"call {call_id}")
    return call


def caller_id(line: Line, call: Call) -> str:
    """The line number a call's outbound legs show: the one the survivor called."""
    return call.line_number if call.line_number in line.numbers else line.numbers[0]


def elapsed(line: Line, since: Any) -> int:
    """Whole seconds since ``since`` (0 when unset)."""
    return int((line.now() - since).total_seconds()) if since else 0
