"""The audit log: who changed what, and when (roster, users, acknowledgements)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import AuditEntry

#: The actor recorded for changes made with the ``flask`` CLI.
CLI_ACTOR = "cli"


def record(session: Session, line: Line, actor: str, action: str, target: str,
           detail: str = "") -> AuditEntry:
    """Add one audit row in the caller's transaction (never a number or a message)."""
    entry = AuditEntry(at=line.now(), actor=actor[:254], action=action[:40],
                       target=target[:80], detail=detail[:500])
    session.add(entry)
    return entry


def recent(session: Session, limit: int = 200) -> list[AuditEntry]:
    """The newest audit rows first."""
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                .limit(limit)))
