"""Replaying one spool entry as the webhook would, and telling an outage (try again
later) from bad data (park the entry in the dead letters)."""

from __future__ import annotations

import logging

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox
from peerline.delivery.spool.entry import decode, spooled_at
from peerline.line import Line
from peerline.people.phones import normalise
from peerline.telephony.params import db_int_or_none
from peerline.text import intake

log = logging.getLogger(__name__)

#: Replays of one entry that lose a race on a unique key (a new survivor's first texts
#: replayed at once) before the entry counts as bad data.
INTEGRITY_TRIES = 3


def replay_one(sessions: sessionmaker[Session], line: Line, entry: dict[str, str]) -> None:
    """Process one spooled text as the webhook would; its reply goes out by the gateway.

    Raises what went wrong: :class:`intake.BadInput` or a database error. A lost race on
    a unique key is run again (the retry finds the text stored and stores nothing twice).
    """
    raw_media = str(entry.get("NumMedia") or "")
    num_media = db_int_or_none(raw_media)
    if raw_media and num_media is None:
        raise intake.BadInput("NumMedia is not a count")  # the webhook's 400: bad data
    for attempt in range(1, INTEGRITY_TRIES + 1):
        try:
            with sessions.begin() as session:
                reply = intake.receive_sms(
                    session, line, sid=entry.get("MessageSid", ""),
                    from_raw=entry.get("From", ""), to_raw=entry.get("To", ""),
                    body=entry.get("Body", ""), num_media=num_media or 0,
                    spooled_at=spooled_at(entry))
                if not reply.duplicate and reply.texts:
                    sender = normalise(entry["From"])
                    to = normalise(entry["To"])
                    for text in reply.texts:
                        outbox.queue_text(session, line, sender, to, text, kind="system")
            return
        except intake.Duplicate:
            return  # stored before (nothing of this replay was kept)
        except sa_exc.IntegrityError:
            if attempt == INTEGRITY_TRIES:
                raise


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (try again later).

    Anything else raised while replaying one entry is about that entry's data.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                            sa_exc.DisconnectionError, sa_exc.TimeoutError,
                            ConnectionError, TimeoutError))


def try_replay(sessions: sessionmaker[Session], line: Line, raw: bytes | str) -> str | None:
    """Replay one raw entry: None when it is stored (now or before), else why it is bad
    data (an exception's type name: no numbers, no words). Raises on an outage."""
    try:
        entry = decode(raw, line)
        if entry is not None:  # an expired entry is dropped unreplayed
            replay_one(sessions, line, entry)
    except Exception as exc:  # noqa: BLE001 - sorted into outage / bad data
        if is_outage(exc):
            raise
        return type(exc).__name__
    return None


def log_parked(reason: str) -> None:
    """One log line for a parked entry (its reason only: no numbers, no words)."""
    log.warning("parked a spool entry that cannot be replayed (%s) in the dead letters; "
                "see 'flask --app wsgi spool list'", reason)
