"""A spool entry: an inbound text's parameters sealed with the line's vault, and when it
arrived; how long it is kept, and a short name for it that names nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from peerline.line import Line

FIELDS = ("MessageSid", "From", "To", "Body", "NumMedia")

#: The field of a replayed entry that carries when the text first arrived.
SPOOLED_AT = "SpooledAt"


def ttl_s(line: Line) -> int:
    """How long a spooled text is kept: ``PEERLINE_SPOOL_TTL_S``, at most the retention."""
    retention = int(line.setting("PEERLINE_RETENTION_DAYS")) * 86400
    return max(60, min(int(line.setting("PEERLINE_SPOOL_TTL_S")), retention))


def encode(form: dict[str, str], line: Line) -> str:
    """One spool entry: the text's parameters sealed, and the time it arrived."""
    params = json.dumps({k: form.get(k, "") for k in FIELDS})
    return json.dumps({"v": 2, "at": line.now().isoformat(),
                       "sealed": line.vault.encrypt(params)})


def expired(data: dict[str, Any], line: Line) -> bool:
    """True when a sealed entry is older than the spool's time-to-live."""
    arrived = datetime.fromisoformat(data["at"])
    return line.now() - arrived > timedelta(seconds=ttl_s(line))


def decode(raw: str | bytes, line: Line) -> dict[str, str] | None:
    """The parameters of an entry (with ``SpooledAt``), or None when it has expired;
    raises ``ValueError`` on a damaged entry.

    An entry written before entries were sealed (plain parameters) is read as it is.
    """
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a spooled entry is not a set of parameters")
    if data.get("v") != 2:
        return data
    if expired(data, line):
        return None
    params = json.loads(line.vault.decrypt(data["sealed"]))
    params[SPOOLED_AT] = data["at"]
    return params


def spooled_at(entry: dict[str, str]) -> datetime | None:
    """When a decoded entry first reached the line (None for an old plain entry)."""
    value = entry.get(SPOOLED_AT)
    return datetime.fromisoformat(value) if value else None


def entry_id(raw: bytes | str) -> str:
    """A short stable name for an entry (its digest): safe to show, names nothing."""
    data = raw.encode() if isinstance(raw, str) else raw
    return hashlib.sha256(data).hexdigest()[:12]
