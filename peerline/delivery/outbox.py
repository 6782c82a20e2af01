"""Outbound texts: stored in the caller's transaction, delivered in order by a worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import gateway_hold, remote_delete, send_batch, tasks, text_rows
from peerline.delivery.tasks import TaskKind, TaskStatus
from peerline.delivery.text_rows import MAX_TEXT, Queued
from peerline.line import Line
from peerline.models import (
    DeliveryReport,
    OutboundMessage,
    OutboundStatus,
    Survivor,
    Task,
    Volunteer,
)
from peerline.models.upsert import insert_for
from peerline.people.lookup import is_opted_out, opted_out_among
from peerline.telephony.gateway import OPTED_OUT, GatewayError, already_sent

log = logging.getLogger(__name__)

#: How far each delivery status is along; a report never moves a message backwards.
STATUS_RANK = {"queued": 0, "accepted": 1, "scheduled": 1, "sending": 2, "sent": 3,
               "delivered": 5, "read": 6, "undelivered": 4, "failed": 4, "canceled": 4}
#: A text a quick exit stopped before it was sent (its words are gone).
ERASED = OutboundStatus.ERASED
#: A text still on its way: waiting for a worker, or being sent.
PENDING = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
FINAL = {"sent", "delivered", "read", "failed", "undelivered", "cancelled", "canceled",
         ERASED}


@dataclass
class Outgoing:
    """One text to queue: to whom (E.164), from which line number, what, and about what."""

    to_number: str
    from_number: str
    body: str
    kind: str = "system"
    conversation_id: int | None = None
    offer_id: int | None = None


@dataclass
class ToVolunteer:
    """One text to queue for a volunteer's phone (see :func:`text_volunteers`)."""

    volunteer: Volunteer
    from_number: str
    body: str
    kind: str = "system"
    conversation_id: int | None = None
    offer_id: int | None = None


def queue_texts(session: Session, line: Line,
                texts: Sequence[Outgoing]) -> list[Queued | None]:
    """Store texts to send and their delivery tasks (None for a recipient who opted out).

    However many: one look-up of who opted out, one INSERT of the texts, one of their
    tasks (with the caller's transaction), so a crisis broadcast costs what one text does.
    One text is one prebuilt statement (:mod:`peerline.delivery.text_rows`).
    """
    if len(texts) == 1:
        t = texts[0]
        return [text_rows.queue_one(
            session, line.now(), to_enc=line.vault.encrypt(t.to_number),
            to_hash=line.vault.hash(t.to_number), from_number=t.from_number, body=t.body,
            kind=t.kind, conversation_id=t.conversation_id, offer_id=t.offer_id)]
    hashes = [line.vault.hash(t.to_number) for t in texts]
    stopped = opted_out_among(session, hashes)
    now = line.now()
    messages: list[OutboundMessage | None] = [
        None if to_hash in stopped else OutboundMessage(
            to_enc=line.vault.encrypt(t.to_number), to_hash=to_hash,
            from_number=t.from_number, body=t.body[:MAX_TEXT], kind=t.kind,
            conversation_id=t.conversation_id, offer_id=t.offer_id,
            status=OutboundStatus.QUEUED, attempts=0, created_at=now)
        for t, to_hash in zip(texts, hashes, strict=True)]
    new = [m for m in messages if m is not None]
    if not new:
        return [None] * len(messages)
    session.add_all(new)
    session.flush()  # their ids, for the tasks
    for message in new:
        send_batch.note(session, message.kind,
                        tasks.add(session, TaskKind.SEND, message.id, now))
    return [None if m is None else Queued(m.id) for m in messages]


def queue_text(session: Session, line: Line, to_number: str, from_number: str, body: str, *,
               kind: str = "system", conversation_id: int | None = None,
               offer_id: int | None = None) -> Queued | None:
    """Store a text to send (and its delivery task); None if the recipient opted out."""
    return queue_texts(session, line, [Outgoing(to_number, from_number, body, kind,
                                                conversation_id, offer_id)])[0]


def text_volunteers(session: Session, line: Line,
                    texts: Sequence[ToVolunteer]) -> list[Queued | None]:
    """Queue texts to volunteers' phones, all at once (:func:`queue_texts`)."""
    if len(texts) == 1:
        return [text_volunteer(session, line, texts[0].volunteer, texts[0].from_number,
                               texts[0].body, kind=texts[0].kind,
                               conversation_id=texts[0].conversation_id,
                               offer_id=texts[0].offer_id)]
    return queue_texts(session, line, [
        Outgoing(line.vault.decrypt(t.volunteer.phone_enc), t.from_number, t.body, t.kind,
                 t.conversation_id, t.offer_id) for t in texts])


def text_volunteer(session: Session, line: Line, volunteer: Volunteer, from_number: str,
                   body: str, *, kind: str = "system", conversation_id: int | None = None,
                   offer_id: int | None = None) -> Queued | None:
    """Queue a text to a volunteer's phone: their sealed number and its hash are stored
    as the roster holds them (no decryption and sealing again)."""
    return text_rows.queue_one(session, line.now(), to_enc=volunteer.phone_enc,
                               to_hash=volunteer.phone_hash, from_number=from_number,
                               body=body, kind=kind, conversation_id=conversation_id,
                               offer_id=offer_id)


def text_survivor(session: Session, line: Line, survivor: Survivor, from_number: str,
                  body: str, **kwargs: object) -> Queued | None:
    """Queue a text to a survivor's phone."""
    return queue_text(session, line, line.vault.decrypt(survivor.phone_enc), from_number,
                      body, **kwargs)  # type: ignore[arg-type]


#: Longest wait between tries of one text: later texts to that person queue behind it.
MAX_SEND_BACKOFF_S = 10.0
#: Tries within one job before the text goes back to the outbox with a delay.
INLINE_TRIES = 4
#: Longest pause a job sleeps between its own tries (longer waits go back to the outbox).
INLINE_MAX_WAIT_S = 2.0


def send_backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: doubling from 0.25 s, capped, never before Retry-After."""
    delay = min(0.25 * 2 ** max(attempts - 1, 0), MAX_SEND_BACKOFF_S)
    return max(delay, retry_after or 0.0)


#: How many earlier texts one job may send on the way to its own.
MAX_DRAIN = 50


def deliver(sessions: sessionmaker[Session], line: Line, message_id: int | None) -> None:
    """Send one queued text, after every earlier text to the same person; never twice.

    Texts to one person leave in order. Rather than wait for the earlier ones' own jobs
    (which may sit behind a retry delay, or in a Redis that just restarted), this job
    sends them first, oldest first; each send is claimed with a compare-and-set, so two
    jobs never send the same text.
    """
    for drained in range(MAX_DRAIN):
        # One transaction reads the text and the oldest one before it, and claims that.
        with sessions.begin() as session:
            if drained == 0:
                held_s = gateway_hold.wait_s(session, line.now())
                if held_s is not None:  # Twilio refused the credentials: never hammer it
                    raise tasks.Retry(held_s, gateway_hold.HELD)
            message = session.get(OutboundMessage, message_id)
            if message is None or message.status not in PENDING:
                return None
            # The oldest text to this person still on its way (one whose task gave up
            # for good cannot hold the rest back forever).
            head = session.scalar(select(OutboundMessage.id).where(
                OutboundMessage.to_hash == message.to_hash, OutboundMessage.id <= message.id,
                OutboundMessage.status.in_(PENDING),
                exists().where(Task.kind == TaskKind.SEND, Task.ref_id == OutboundMessage.id,
                               Task.status == TaskStatus.PENDING))
                .order_by(OutboundMessage.id).limit(1))
            target = head if head is not None else message_id
            claimed = _claim(session, line, target, waiting=target != message_id)
        if claimed is not None:
            _send_claimed(sessions, line, claimed)
        if target == message_id:
            return None
    raise tasks.Retry(0.5, "more earlier texts to send first")


@dataclass
class _Claimed:
    """A text this job holds the lease of, with what its send needs."""

    message_id: int
    to: str
    from_number: str
    body: str
    created: datetime
    tries_before: int
    to_hash: str
    check_first: bool


def _claim(session: Session, line: Line, message_id: int, waiting: bool) -> _Claimed | None:
    """Claim one text in the caller's transaction (compare-and-set); None when it is no
    longer to be sent. Raises :class:`tasks.Retry` when it must wait."""
    now = line.now()
    lease = line.setting("PEERLINE_LEASE_S")
    message = session.get(OutboundMessage, message_id)
    if message is None or message.status not in PENDING:
        return None
    if is_opted_out(session, message.to_hash):
        message.status = OutboundStatus.CANCELLED
        return None
    if (message.status == OutboundStatus.SENDING and message.locked_until
            and message.locked_until > now):
        if waiting:  # another job is sending the earlier text right now
            raise tasks.Retry(1.0, "waiting for an earlier text to the same person")
        raise tasks.Retry((message.locked_until - now).total_seconds() + 0.5, "in flight")
    check_first = message.attempts > 0
    claimed = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message.id,
               OutboundMessage.status == message.status,
               OutboundMessage.attempts == message.attempts)
        .values(status=OutboundStatus.SENDING, attempts=OutboundMessage.attempts + 1,
                locked_until=now + timedelta(seconds=lease), locked_by=line.owner))
    if claimed.rowcount != 1:
        raise tasks.Retry(1.0, "claimed elsewhere")
    return _Claimed(message_id, line.vault.decrypt(message.to_enc), message.from_number,
                    message.body or "", message.created_at, message.attempts,
                    message.to_hash, check_first)


def _send_claimed(sessions: sessionmaker[Session], line: Line, claim: _Claimed) -> None:
    """Send a claimed text and record the outcome (raises :class:`tasks.Retry` to wait)."""
    message_id, to, from_number, body = (claim.message_id, claim.to, claim.from_number,
                                         claim.body)
    created, tries_before, to_hash = claim.created, claim.tries_before, claim.to_hash
    check_first = claim.check_first
    lease = line.setting("PEERLINE_LEASE_S")
    taken: set[str] | None = None
    sid: str | None = None
    started = time.monotonic()
    for attempt in range(1, INLINE_TRIES + 1):
        try:
            if check_first:
                # An earlier try may have reached Twilio unheard: never send twice.
                if taken is None:
                    taken = _taken(sessions, message_id, to_hash, from_number, body)
                sid = already_sent(line.gateway, to, from_number, body,
                                   created - timedelta(seconds=5), taken)
            if sid is None:
                sid = line.gateway.send_sms(to, from_number, body,
                                            status_callback=line.callback_url("/sms/status"))
            break
        except GatewayError as exc:
            if exc.permanent:
                with sessions.begin() as session:
                    message = session.get(OutboundMessage, message_id)
                    assert message is not None
                    message.locked_until = None
                    fail_for_good(session, line, message, exc.code)
                return None
            if exc.refused:
                # Wrong or revoked credentials: a configuration error. Hold the text (and
                # every other) instead of retrying; nothing was accepted by this try.
                with sessions.begin() as session:
                    message = session.get(OutboundMessage, message_id)
                    assert message is not None
                    message.locked_until = None
                    message.status = OutboundStatus.QUEUED
                    message.error_code = exc.code
                    if not check_first:
                        message.attempts = 0
                    hold_s = gateway_hold.refused(session, line, exc.status, exc.code)
                raise tasks.Retry(hold_s, gateway_hold.HELD) from None
            # A 429 is a clear "no": nothing was accepted. Anything else may have been.
            unclear = exc.status != 429
            check_first = check_first or unclear
            wait = send_backoff(tries_before + attempt, exc.retry_after)
            spent = time.monotonic() - started
            if attempt < INLINE_TRIES and wait <= INLINE_MAX_WAIT_S \
                    and spent + wait < lease / 3:
                time.sleep(min(wait, INLINE_MAX_WAIT_S))
                continue
            with sessions.begin() as session:
                message = session.get(OutboundMessage, message_id)
                assert message is not None
                message.locked_until = None
                if message.status == ERASED:
                    return None  # a quick exit came meanwhile: never send it
                message.status = OutboundStatus.QUEUED
                message.error_code = exc.code
                if not check_first:
                    message.attempts = 0  # only clear refusals so far: no look-up needed
            log.warning("send %s failed (%s); retrying", message_id, exc)
            raise tasks.Retry(wait, str(exc)) from None
    with sessions.begin() as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        erased = message.status == ERASED
        message.sid, message.status, message.sent_at = sid, OutboundStatus.SENT, line.now()
        message.locked_until = None
        gateway_hold.lift(session, line)
        if erased:  # a quick exit came while it was in flight: delete it at Twilio too
            remote_delete.forget(session, line, "message", sid)
        report = _report_for(session, line, sid)
        if report.status != "sent":
            apply_status(session, line, message, report.status, report.error_code)
        _kick_next(session, line, message)
    return None


def release(session: Session, owners: set[str], now: datetime) -> list[tuple[int, datetime]]:
    """End dead workers' leases on texts they were sending; their send tasks are due now.

    The next try asks Twilio first whether the text was accepted (``attempts`` > 0), so
    a text the dead worker got through is recorded, not sent again. Returns (task id,
    not_before) of the send tasks to enqueue.
    """
    if not owners:
        return []
    ids = list(session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.locked_by.in_(owners), OutboundMessage.status == OutboundStatus.SENDING,
        OutboundMessage.locked_until >= now)))
    if not ids:
        return []
    session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids))
                    .values(locked_until=None))
    free = or_(Task.locked_until.is_(None), Task.locked_until < now,
               Task.locked_by.in_(owners))
    due = [tid for tid, in session.execute(select(Task.id).where(
        Task.kind == TaskKind.SEND, Task.ref_id.in_(ids), Task.status == TaskStatus.PENDING, free))]
    if due:
        session.execute(update(Task).where(Task.id.in_(due)).values(
            not_before=now, locked_until=None, locked_by=None))
    return [(tid, now) for tid in due]
#: How many of a person's latest texts from one line number a resend check compares.
TAKEN_LOOKBACK = 200


def _taken(sessions: sessionmaker[Session], message_id: int, to_hash: str,
           from_number: str, body: str) -> set[str]:
    """Sids of identical texts to this person already recorded on other rows.

    Bodies are sealed (encrypted differently each time), so they are compared once read;
    the lookback matches how far back the provider's message list is searched.
    """
    with sessions() as session:
        rows = session.execute(select(OutboundMessage.sid, OutboundMessage.body).where(
            OutboundMessage.to_hash == to_hash, OutboundMessage.from_number == from_number,
            OutboundMessage.sid.is_not(None), OutboundMessage.id != message_id)
            .order_by(OutboundMessage.id.desc()).limit(TAKEN_LOOKBACK)).all()
    return {sid for sid, text in rows if text == body}


def _report_for(session: Session, line: Line, sid: str) -> DeliveryReport:
    """The sid's delivery report, created as ``sent`` if no callback came first.

    Inserting it here (``INSERT ... ON CONFLICT DO NOTHING``, one statement) serialises
    with ``record_status``: a callback racing this transaction either committed first
    (the insert does nothing and its report is read here) or waits for this commit and
    then finds the message by its sid, so a report is never missed.
    """
    values = {"sid": sid, "status": "sent", "error_code": None, "updated_at": line.now()}
    made = session.execute(insert_for(session)(DeliveryReport).values(**values)
                           .on_conflict_do_nothing(index_elements=["sid"])
                           .returning(DeliveryReport.sid)).scalar()
    if made is not None:
        return DeliveryReport(**values)  # this transaction's row (one statement, no read)
    found = session.scalar(select(DeliveryReport).where(DeliveryReport.sid == sid)
                           .execution_options(populate_existing=True))
    assert found is not None
    return found


def _kick_next(session: Session, line: Line, message: OutboundMessage) -> None:
    """Run the next text waiting for this recipient now, not after its retry delay."""
    waiting = session.scalar(select(Task).join(
        OutboundMessage, OutboundMessage.id == Task.ref_id).where(
        Task.kind == TaskKind.SEND, Task.status == TaskStatus.PENDING,
        OutboundMessage.to_hash == message.to_hash, OutboundMessage.id > message.id,
        OutboundMessage.status == OutboundStatus.QUEUED).order_by(OutboundMessage.id).limit(1))
    now = line.now()
    if waiting is not None and waiting.not_before > now:
        waiting.not_before = waiting.enqueued_at = now
        session.info.setdefault("new_tasks", []).append(waiting)


def fail_for_good(session: Session, line: Line, message: OutboundMessage, code: int | None) -> None:
    """Record a permanent failure; an opted-out recipient is marked so."""
    message.status, message.error_code = OutboundStatus.FAILED, code
    if code == OPTED_OUT:
        # The carrier's STOP: stamped, so it is never taken for a quick exit (which a
        # survivor's next text lifts, see privacy.erasure.quick_exited).
        session.execute(update(Survivor).where(Survivor.phone_hash == message.to_hash)
                        .values(opted_out=True, opted_out_at=line.now()))
        session.execute(update(Volunteer).where(Volunteer.phone_hash == message.to_hash)
                        .values(opted_out=True))
    hook = line.text_failed.get(message.kind)
    if hook is not None:  # e.g. an undeliverable offer moves on (see peerline.handlers)
        hook(session, line, message)


def apply_status(session: Session, line: Line, message: OutboundMessage, status: str,
                 error_code: int | None) -> None:
    """Move a text to a reported delivery status (never backwards); a failure is final."""
    if STATUS_RANK.get(status, 0) <= STATUS_RANK.get(message.status, 0):
        return
    if status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
        fail_for_good(session, line, message, error_code)
        message.status = status
    else:
        message.status = status


def record_status(session: Session, line: Line, sid: str, status: str,
                  error_code: int | None) -> None:
    """Store a delivery report (``/sms/status``); it never moves a message backwards."""
    status = status.lower()
    report = session.get(DeliveryReport, sid)
    if report is None:
        session.add(DeliveryReport(sid=sid, status=status, error_code=error_code,
                                   updated_at=line.now()))
    elif STATUS_RANK.get(status, 0) > STATUS_RANK.get(report.status, 0):
        report.status, report.error_code, report.updated_at = status, error_code, line.now()
    message = session.scalar(select(OutboundMessage).where(OutboundMessage.sid == sid))
    if message is not None:
        apply_status(session, line, message, status, error_code)
