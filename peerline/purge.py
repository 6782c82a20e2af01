"""Retention and erasure: message bodies are kept only so long, or erased on request."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from . import tasks
from .line import Line
from .models import Escalation, LocalMessage, Message, OutboundMessage, Survivor
from .models_voice import Call, Voicemail

PURGE_EVERY_S = 3600


def purge_expired(session: Session, line: Line) -> int:
    """Blank message bodies, voicemails and escalation spans past the retention period.

    Rows stay (counts, times, statuses for reports); only the words go. Texts still
    waiting to be sent are never blanked.
    """
    cutoff = line.now() - timedelta(days=line.setting("PEERLINE_RETENTION_DAYS"))
    purged = session.execute(update(Message).where(
        Message.created_at < cutoff, Message.body.is_not(None)).values(body=None)).rowcount
    purged += session.execute(update(OutboundMessage).where(
        OutboundMessage.created_at < cutoff, OutboundMessage.body.is_not(None),
        OutboundMessage.status.not_in(("queued", "sending"))).values(body=None)).rowcount
    session.execute(update(Escalation).where(
        Escalation.created_at < cutoff, Escalation.matched.is_not(None)).values(matched=None))
    session.execute(update(LocalMessage).where(
        LocalMessage.created_at < cutoff, LocalMessage.kind == "sms").values(body=""))
    purged += session.execute(update(Voicemail).where(
        Voicemail.created_at < cutoff,
        (Voicemail.transcript.is_not(None)) | (Voicemail.recording_url.is_not(None)))
        .values(transcript=None, recording_url=None)).rowcount
    return purged


def schedule(session: Session, line: Line) -> bool:
    """Keep one purge task scheduled (the sweeper calls this every pass)."""
    return tasks.add(session, "purge", None, line.now(), delay_s=PURGE_EVERY_S,
                     dedupe_key="purge") is not None


@tasks.handler("purge")
def purge_task(sessions: sessionmaker[Session], line: Line, _ref: int | None) -> None:
    """Worker entry: one retention pass."""
    with sessions.begin() as session:
        purge_expired(session, line)


def erase_survivor(session: Session, line: Line, survivor: Survivor) -> None:
    """Quick exit: erase every word to and from this survivor now, and send nothing more."""
    session.execute(update(Message).where(Message.sender_hash == survivor.phone_hash)
                    .values(body=None))
    session.execute(update(OutboundMessage).where(
        OutboundMessage.to_hash == survivor.phone_hash,
        OutboundMessage.status.in_(("queued", "sending"))).values(status="cancelled"))
    session.execute(update(OutboundMessage).where(
        OutboundMessage.to_hash == survivor.phone_hash).values(body=None))
    session.execute(update(LocalMessage).where(LocalMessage.to_hash == survivor.phone_hash)
                    .values(body=""))
    calls = select(Call.id).where(Call.from_hash == survivor.phone_hash)
    session.execute(update(Voicemail).where(Voicemail.call_id.in_(calls))
                    .values(transcript=None, recording_url=None))
    conversation_ids = select(Message.conversation_id).where(
        Message.sender_hash == survivor.phone_hash)
    session.execute(update(Escalation).where(Escalation.conversation_id.in_(conversation_ids))
                    .values(matched=None))
