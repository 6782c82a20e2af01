"""Deleting a survivor's records at the telephony provider after a quick exit.

Twilio keeps every message (with its body), every recording and every transcription
until they are deleted through its REST API. A quick exit asks for each of them to be
deleted: one ``remote_deletions`` row and one outbox task per record, holding only the
provider's sid. Twilio refuses to delete a message it is still delivering (error 20009;
it waits up to an hour for the carrier's receipt), so a refusal is retried later a few
times; what still cannot be deleted is marked ``failed`` with the reason and logged
(ids and error codes only, never a number or a word).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import DeletionStatus, RemoteDeletion
from peerline.telephony.gateway import GatewayError

log = logging.getLogger(__name__)

KINDS = ("message", "recording", "transcription")
#: Twilio's "cannot delete this resource before it is complete".
STILL_IN_PROGRESS = 20009
#: Waits before each retry; Twilio may hold a message an hour for the delivery receipt.
RETRY_DELAYS_S = (60, 300, 900, 3600, 3 * 3600, 12 * 3600)
MAX_TRIES = len(RETRY_DELAYS_S) + 1


def forget(session: Session, line: Line, kind: str, sid: str | None,
           survivor_id: int | None = None) -> RemoteDeletion | None:
    """Ask (in the caller's transaction) for the provider's record ``sid`` to be deleted.

    Returns the new row, or None when there is no sid or it was already asked for.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    if not sid:
        return None
    sid = sid[:64]
    if session.scalar(select(RemoteDeletion.id).where(RemoteDeletion.kind == kind,
                                                      RemoteDeletion.sid == sid)) is not None:
        return None
    now = line.now()
    row = RemoteDeletion(survivor_id=survivor_id, kind=kind, sid=sid,
                        status=DeletionStatus.PENDING,
                         attempts=0, next_try_at=now, created_at=now)
    try:
        with session.begin_nested():  # a concurrent erasure may ask for the same sid
            session.add(row)
    except IntegrityError:
        return None
    tasks.add(session, TaskKind.REMOTE_DELETE, row.id, now)
    return row


def _delete(line: Line, kind: str, sid: str) -> None:
    gateway = line.gateway
    if kind == "message":
        gateway.delete_message(sid)
    elif kind == "recording":
        gateway.delete_recording(sid)
    else:
        gateway.delete_transcription(sid)


def _reason(exc: GatewayError) -> str:
    if exc.code == STILL_IN_PROGRESS:
        return f"{STILL_IN_PROGRESS} still being delivered"
    if exc.status is None:
        return "provider unreachable"
    return f"error {exc.status}/{exc.code or '-'}"


def _try(line: Line, kind: str, sid: str) -> GatewayError | None:
    """Ask the provider to delete one record; the error if it would not."""
    try:
        _delete(line, kind, sid)
    except GatewayError as exc:
        return exc
    return None


def record_outcome(row: RemoteDeletion, error: GatewayError | None, line: Line) -> float | None:
    """Note how a try went; returns seconds until the next try, or None when settled.

    A record the provider does not have (404) counts as deleted (``gone``).
    """
    now = line.now()
    row.attempts += 1
    if error is None:
        row.status, row.done_at, row.last_error = DeletionStatus.DELETED, now, None
        return None
    if error.status == 404 or error.code == 20404:
        row.status, row.done_at, row.last_error = DeletionStatus.GONE, now, None
        return None
    row.last_error = _reason(error)
    if row.attempts >= MAX_TRIES:
        row.status, row.done_at = DeletionStatus.FAILED, now
        log.warning("event=remote_delete_failed deletion=%s kind=%s survivor=%s tries=%s "
                    "reason=%s", row.id, row.kind, row.survivor_id, row.attempts,
                    row.last_error)
        return None
    delay = float(RETRY_DELAYS_S[row.attempts - 1])
    if error.retry_after:
        delay = max(delay, error.retry_after)
    row.next_try_at = now + timedelta(seconds=delay)
    log.info("event=remote_delete_later deletion=%s kind=%s tries=%s reason=%s",
             row.id, row.kind, row.attempts, row.last_error)
    return delay


def remote_delete_task(sessions: sessionmaker[Session], line: Line,
                       deletion_id: int | None) -> None:
    """Worker entry: delete one record at the provider (ids and sids only).

    The provider is called outside any database transaction.
    """
    with sessions() as session:
        row = session.get(RemoteDeletion, deletion_id)
        if row is None or row.status != DeletionStatus.PENDING:
            return None
        if row.next_try_at > line.now():
            raise tasks.Retry((row.next_try_at - line.now()).total_seconds(), "not yet")
        kind, sid = row.kind, row.sid
    error = _try(line, kind, sid)
    with sessions.begin() as session:
        row = session.get(RemoteDeletion, deletion_id)
        if row is None or row.status != DeletionStatus.PENDING:
            return None
        delay = record_outcome(row, error, line)
    if delay is not None:
        raise tasks.Retry(delay, "the provider cannot delete it yet")
    return None
