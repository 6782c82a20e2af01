"""Retention: message bodies are kept only so long (a quick exit is :mod:`peerline.erasure`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import (
    Application,
    ApplicationStatus,
    Escalation,
    Feedback,
    LocalMessage,
    Message,
    OutboundMessage,
    Voicemail,
)
from peerline.peer import applications, forget

PURGE_EVERY_S = 3600


def purge_expired(session: Session, line: Line) -> int:
    """Blank message bodies, voicemails and escalation spans past the retention period.

    Rows stay (counts, times, statuses for reports); only the words go. Texts still
    waiting to be sent are never blanked. Applications abandoned half-way (still asking,
    untouched for the retention period and lapsed) are deleted outright.
    """
    cutoff = line.now() - timedelta(days=line.setting("PEERLINE_RETENTION_DAYS"))
    purged = session.execute(update(Message).where(
        Message.created_at < cutoff, Message.body.is_not(None)).values(body=None)).rowcount
    purged += session.execute(update(OutboundMessage).where(
        OutboundMessage.created_at < cutoff, OutboundMessage.body.is_not(None),
        OutboundMessage.status.not_in(outbox.PENDING)).values(body=None)).rowcount
    session.execute(update(Escalation).where(
        Escalation.created_at < cutoff, Escalation.matched.is_not(None)).values(matched=None))
    session.execute(update(LocalMessage).where(
        LocalMessage.created_at < cutoff, LocalMessage.kind == "sms").values(body=""))
    # Peer support: the word after a feedback digit; decided applications' answers.
    session.execute(update(Feedback).where(
        Feedback.asked_at < cutoff, Feedback.words.is_not(None)).values(words=None))
    # An approval the phone never confirmed, lapsed for the retention period: cancelled,
    # its inactive roster row (name, sealed number) deleted, its words blanked below.
    stale = ((Application.status == ApplicationStatus.CONFIRMING)
             & (Application.decided_at < cutoff - applications.CONFIRM_WINDOW))
    forget.drop_pending_volunteers(session, stale)
    session.execute(update(Application).where(stale).values(
        status=ApplicationStatus.CANCELLED, step=None))
    session.execute(update(Application).where(
        Application.updated_at < cutoff,
        Application.status.not_in((ApplicationStatus.ASKING, ApplicationStatus.SUBMITTED,
                                    ApplicationStatus.CONFIRMING)),
        Application.name.is_not(None)).values(name=None, languages=None, availability=None))
    lapsed = line.now() - timedelta(seconds=line.setting("PEERLINE_APPLICATION_WINDOW_S"))
    session.execute(delete(Application).where(
        Application.status == ApplicationStatus.ASKING,
        Application.updated_at < min(cutoff, lapsed)))
    purged += session.execute(update(Voicemail).where(
        Voicemail.created_at < cutoff,
        (Voicemail.transcript.is_not(None)) | (Voicemail.recording_url.is_not(None)))
        .values(transcript=None, recording_url=None)).rowcount
    return purged


def schedule(session: Session, line: Line) -> bool:
    """Keep one purge task scheduled (the sweeper calls this every pass)."""
    return tasks.add(session, TaskKind.PURGE, None, line.now(), delay_s=PURGE_EVERY_S,
                     dedupe_key="purge") is not None


def purge_task(sessions: sessionmaker[Session], line: Line, _ref: int | None) -> None:
    """Worker entry: one retention pass."""
    with sessions.begin() as session:
        purge_expired(session, line)

