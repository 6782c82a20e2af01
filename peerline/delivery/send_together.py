"""A broadcast's texts sent together: claimed in one transaction, sent to Twilio side by
side, their outcomes recorded in one transaction.

Each text still has its own send task and its own row, and each keeps every guarantee
of a send (:func:`peerline.delivery.outbox.deliver`), only checked for all of them at
once:

- **Claimed once** (one transaction): the gateway hold is checked; each task is leased
  and each text marked ``sending`` by a compare-and-set on its row (``UPDATE ... WHERE
  status = 'queued' AND attempts = 0``), both naming this worker, so no other job sends
  it and the sweeper can hand it on if this worker dies.
- **In order per person**: a text is taken here only when it is the oldest text owed to
  its recipient (no earlier one still on its way), and only one text per recipient.
- **Never twice**: only texts never tried before come this way (``attempts = 0``).
  Anything else (a retry, which must first ask Twilio whether an earlier try got
  through; a text behind another to the same person; a recipient who opted out; a held
  gateway) goes the ordinary way, :func:`send_batch.run_batch`, after these.
- **Recorded once** (one transaction): each accepted text ``sent`` with its sid and
  delivery report; a permanent refusal recorded for that recipient alone (an
  undeliverable offer moves on, in a savepoint of its own); a transient failure puts the
  text back (``queued``; an unclear one keeps ``attempts`` so its retry asks Twilio
  first) and its task retries after the back-off; refused credentials hold the line.

A worker killed between the claim and the record leaves the texts ``sending`` and the
tasks leased under its name: the sweeper hands them on when its heartbeat stops (or the
lease ends), and their next try asks Twilio first, so the ones it accepted are recorded
and only the others are sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import gateway_hold, outbox, remote_delete, send_batch, tasks
from peerline.delivery.tasks import TaskKind, TaskStatus
from peerline.line import Line
from peerline.models import DeliveryReport, OutboundMessage, OutboundStatus, Task
from peerline.models.upsert import insert_for
from peerline.people.lookup import opted_out_among
from peerline.telephony.gateway import GatewayError

log = logging.getLogger(__name__)

#: Threads that hand a broadcast's texts to the gateway side by side. They make HTTP
#: requests only (no database connection), so a broadcast to ten or more goes out in one
#: wave, not two (8 threads sent ten in two, the 9th and 10th after the first finished).
THREADS = 16


@dataclass
class Claimed:
    """A text this worker holds (its task's lease and the text's ``sending`` mark)."""

    task_id: int
    message_id: int
    to: str
    to_hash: str
    from_number: str
    body: str


def send(sessions: sessionmaker[Session], line: Line, task_ids: list[int],
         handlers: Mapping[str, tasks.Handler]) -> list[str]:
    """Send the texts of ``task_ids`` together; the rest the ordinary way. Outcomes."""
    claimed, rest = claim_all(sessions, line, task_ids)
    outcomes = record_all(sessions, line, claimed, send_all(line, claimed)) if claimed else []
    if rest:
        outcomes += send_batch.run_batch(sessions, line, rest, handlers)
    return outcomes


def send_safely(sessions: sessionmaker[Session], line: Line, task_ids: list[int],
                handlers: Mapping[str, tasks.Handler]) -> list[str]:
    """:func:`send`, for a job that already did its own work: a failure (the database
    went away) is logged, and the texts are left to their leases and the sweeper."""
    try:
        return send(sessions, line, task_ids, handlers)
    except Exception:  # noqa: BLE001 - every text is still in the outbox
        log.exception("sending %d texts together failed; left for the sweeper", len(task_ids))
        return []


def claim_all(sessions: sessionmaker[Session], line: Line,
              task_ids: list[int]) -> tuple[list[Claimed], list[int]]:
    """Claim, in one transaction, every text of ``task_ids`` that may go this way;
    returns them and the task ids left for the ordinary path."""
    with sessions.begin() as session:
        now = line.now()
        if gateway_hold.wait_s(session, now) is not None:
            return [], list(task_ids)  # held: each task waits out the hold on its own
        rows = session.execute(
            select(Task.id, OutboundMessage.id, OutboundMessage.to_hash)
            .join(OutboundMessage, OutboundMessage.id == Task.ref_id)
            .where(Task.id.in_(task_ids), Task.kind == TaskKind.SEND, *tasks.free(now),
                   OutboundMessage.status == OutboundStatus.QUEUED,
                   OutboundMessage.attempts == 0)
            .order_by(OutboundMessage.id)).all()
        hashes = {to_hash for _, _, to_hash in rows}
        stopped = opted_out_among(session, list(hashes)) if hashes else set()
        oldest = dict(session.execute(
            select(OutboundMessage.to_hash, func.min(OutboundMessage.id))
            .where(OutboundMessage.to_hash.in_(hashes),
                   OutboundMessage.status.in_(outbox.PENDING),
                   exists().where(Task.kind == TaskKind.SEND,
                                  Task.ref_id == OutboundMessage.id,
                                  Task.status == TaskStatus.PENDING))
            .group_by(OutboundMessage.to_hash)).all()) if hashes else {}
        # task id -> message id: only the oldest text owed to each person (so one each)
        chosen = {task_id: message_id for task_id, message_id, to_hash in rows
                  if to_hash not in stopped and oldest.get(to_hash) == message_id}
        leased = _lease_tasks(session, line, list(chosen), now)
        messages = _mark_sending(session, line, [chosen[t] for t in leased], now)
        by_message = {message.id: message for message in messages}
        claimed = [Claimed(task_id, chosen[task_id], line.vault.decrypt(m.to_enc), m.to_hash,
                           m.from_number, m.body or "")
                   for task_id in sorted(leased, key=chosen.__getitem__)
                   if (m := by_message.get(chosen[task_id]))]
        lost = [t for t in leased if chosen[t] not in by_message]
        if lost:  # the text changed since the read: hand its task back untouched
            session.execute(update(Task).where(Task.id.in_(lost)).values(
                locked_until=None, locked_by=None, attempts=Task.attempts - 1))
    mine = {c.task_id for c in claimed}
    return claimed, [t for t in task_ids if t not in mine]


def _lease_tasks(session: Session, line: Line, task_ids: list[int],
                 now: datetime) -> list[int]:
    """Lease the tasks still free (compare-and-set, one statement); the ids leased."""
    if not task_ids:
        return []
    return list(session.scalars(
        update(Task).where(Task.id.in_(task_ids), *tasks.free(now))
        .values(tasks.leased(now, line.setting("PEERLINE_LEASE_S"), line.owner))
        .returning(Task.id)))


def _mark_sending(session: Session, line: Line, message_ids: list[int],
                  now: datetime) -> list[OutboundMessage]:
    """Mark the texts ``sending`` if still untried and queued (compare-and-set)."""
    if not message_ids:
        return []
    lease = timedelta(seconds=line.setting("PEERLINE_LEASE_S"))
    return list(session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(message_ids),
               OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.attempts == 0)
        .values(status=OutboundStatus.SENDING, attempts=1, locked_until=now + lease,
                locked_by=line.owner)
        .returning(OutboundMessage)
        .execution_options(synchronize_session=False)))


Outcome = str | Exception


def send_all(line: Line, claimed: list[Claimed]) -> list[Outcome]:
    """Hand each text to the gateway, side by side; a sid or the error, in order."""
    callback = line.callback_url("/sms/status")

    def one(text: Claimed) -> Outcome:
        try:
            return line.gateway.send_sms(text.to, text.from_number, text.body,
                                         status_callback=callback)
        except Exception as exc:  # noqa: BLE001 - recorded below, per text
            return exc

    if len(claimed) == 1:
        return [one(claimed[0])]
    return list(send_batch.pool(THREADS).map(one, claimed))


def record_all(sessions: sessionmaker[Session], line: Line, claimed: list[Claimed],
               outcomes: list[Outcome]) -> list[str]:
    """Record every outcome in one transaction; each task's result (as :func:`tasks.run`)."""
    results: list[str] = []
    with sessions.begin() as session:
        now = line.now()
        rows = {m.id: m for m in session.scalars(
            select(OutboundMessage).where(OutboundMessage.id.in_([c.message_id for c in claimed]))
            .order_by(OutboundMessage.id).with_for_update()
            .execution_options(populate_existing=True))}
        sent = [(c, rows[c.message_id], o) for c, o in zip(claimed, outcomes, strict=True)
                if isinstance(o, str) and c.message_id in rows]
        reports = _reports(session, line, [sid for _, _, sid in sent]) if sent else {}
        done: list[int] = []
        for text, outcome in zip(claimed, outcomes, strict=True):
            message = rows.get(text.message_id)
            if message is None:  # deleted meanwhile (a purge): nothing left to record
                done.append(text.task_id)
                results.append("gone")
                continue
            message.locked_until = None
            if isinstance(outcome, str):
                _sent(session, line, message, outcome, reports[outcome])
                done.append(text.task_id)
                results.append("done")
            elif isinstance(outcome, GatewayError) and outcome.permanent \
                    and _failed_for_good(session, line, message, outcome.code):
                done.append(text.task_id)
                results.append("done")
            else:
                results.append(_put_back(session, line, text, message, outcome))
        if sent:
            gateway_hold.lift(session, line)
            _kick_next(session, line, [(m.to_hash, m.id) for _, m, _ in sent])
        if done:
            session.execute(update(Task).where(Task.id.in_(done)).values(
                status=TaskStatus.DONE, done_at=now, locked_until=None, locked_by=None))
    return results


def _reports(session: Session, line: Line, sids: list[str]) -> dict[str, DeliveryReport]:
    """Each sid's delivery report, created as ``sent`` unless a callback came first (as
    :func:`outbox._report_for`, for all of them in one statement, or two)."""
    values = [{"sid": sid, "status": "sent", "error_code": None, "updated_at": line.now()}
              for sid in sids]
    made = set(session.scalars(insert_for(session)(DeliveryReport).values(values)
                               .on_conflict_do_nothing(index_elements=["sid"])
                               .returning(DeliveryReport.sid)))
    found = {v["sid"]: DeliveryReport(**v) for v in values if v["sid"] in made}
    earlier = [sid for sid in sids if sid not in made]
    if earlier:
        found.update((r.sid, r) for r in session.scalars(
            select(DeliveryReport).where(DeliveryReport.sid.in_(earlier))
            .execution_options(populate_existing=True)))
    return found


def _sent(session: Session, line: Line, message: OutboundMessage, sid: str,
          report: DeliveryReport) -> None:
    erased = message.status == outbox.ERASED
    message.sid, message.status, message.sent_at = sid, OutboundStatus.SENT, line.now()
    if erased:  # a quick exit came while it was in flight: delete it at Twilio too
        remote_delete.forget(session, line, "message", sid)
    if report.status != "sent":
        outbox.apply_status(session, line, message, report.status, report.error_code)


def _failed_for_good(session: Session, line: Line, message: OutboundMessage,
                     code: int | None) -> bool:
    """This recipient's text can never go (its offer moves on); in a savepoint, so a
    failing hook cannot undo the other recipients' outcomes. False if it went wrong (the
    text is then retried: its retry asks Twilio first, and is refused again)."""
    try:
        with session.begin_nested():
            outbox.fail_for_good(session, line, message, code)
    except Exception:  # noqa: BLE001 - put back and retried by the caller
        log.exception("recording text %s as failed went wrong; it will be retried", message.id)
        session.refresh(message)
        message.locked_until = None
        return False
    return True


def _put_back(session: Session, line: Line, text: Claimed, message: OutboundMessage,
              error: Exception) -> str:
    """A send that did not go: the text waits again, its task retries later."""
    task = session.get(Task, text.task_id)
    assert task is not None
    task.locked_until = task.locked_by = None
    if message.status == outbox.ERASED:  # a quick exit came meanwhile: never send it
        task.status, task.done_at = TaskStatus.DONE, line.now()
        return "done"
    message.status = OutboundStatus.QUEUED
    gateway = error if isinstance(error, GatewayError) else None
    message.error_code = gateway.code if gateway else None
    if gateway is not None and gateway.refused:
        # Wrong or revoked credentials: nothing was accepted; hold every text.
        message.attempts = 0
        delay, reason = gateway_hold.refused(session, line, gateway.status,
                                             gateway.code), gateway_hold.HELD
    else:
        if gateway is not None and gateway.status == 429:
            message.attempts = 0  # a clear "no": its retry need not ask Twilio first
        # Anything else may have been accepted: attempts stays 1, so the retry asks first.
        delay = outbox.send_backoff(1, gateway.retry_after if gateway else None)
        reason = str(error)[:300] or type(error).__name__
        log.warning("send %s failed (%s); retrying", text.message_id, type(error).__name__)
    task.last_error = reason
    task.not_before = task.enqueued_at = line.now() + timedelta(seconds=delay)
    session.info.setdefault("new_tasks", []).append(task)
    return "retry"


def _kick_next(session: Session, line: Line, sent: list[tuple[str, int]]) -> None:
    """The next text waiting for each of these recipients runs now, not after its delay
    (:func:`outbox._kick_next`, for all of them in one statement)."""
    after = dict(sent)
    now = line.now()
    seen: set[str] = set()
    for task, to_hash, message_id in session.execute(
            select(Task, OutboundMessage.to_hash, OutboundMessage.id)
            .join(OutboundMessage, OutboundMessage.id == Task.ref_id)
            .where(Task.kind == TaskKind.SEND, Task.status == TaskStatus.PENDING,
                   OutboundMessage.to_hash.in_(after),
                   OutboundMessage.status == OutboundStatus.QUEUED)
            .order_by(OutboundMessage.id)).all():
        if to_hash in seen or message_id <= after[to_hash]:
            continue
        seen.add(to_hash)
        if task.not_before > now:
            task.not_before = task.enqueued_at = now
            session.info.setdefault("new_tasks", []).append(task)
