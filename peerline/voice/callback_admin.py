"""Voicemails and callbacks as coordinators handle them (dashboard and CLI): what waits,
a callback assigned to a peer (the peer's phone rings; the PIN is keyed before the
voicemail plays), a voicemail marked done by hand. Each change is audited; nothing here
reads a survivor's number, a recording or a transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Voicemail, VoicemailStatus, Volunteer
from peerline.staff import audit
from peerline.voice import callbacks

#: Voicemails still to be returned: waiting, or a peer calling back now.
OPEN = (VoicemailStatus.NEW, VoicemailStatus.CALLING)
#: Longest note kept when a voicemail is marked done.
NOTE_MAX = 300


class CallbackError(ValueError):
    """A callback change that cannot be made (and why, in words for a coordinator)."""


@dataclass
class Row:
    """One voicemail on the page: no number, no words."""

    id: int
    lang: str
    crisis: bool
    status: str
    created_at: datetime
    wait_s: int
    duration_s: int | None
    volunteer: str
    attempts: int
    done_at: datetime | None


def _row(line: Line, vm: Voicemail, names: dict[int, str]) -> Row:
    end = vm.done_at or line.now()
    return Row(vm.id, vm.lang, vm.priority > 0, vm.status, vm.created_at,
               max(int((end - vm.created_at).total_seconds()), 0), vm.duration_s,
               names.get(vm.volunteer_id or 0, ""), vm.attempts, vm.done_at)


def listing(session: Session, line: Line, recent: int = 20) -> tuple[list[Row], list[Row]]:
    """Open voicemails (crisis first, then oldest) and the ``recent`` latest closed ones."""
    names = dict(session.execute(select(Volunteer.id, Volunteer.name)).tuples().all())
    waiting = session.scalars(select(Voicemail).where(Voicemail.status.in_(OPEN))
                              .order_by(Voicemail.priority.desc(), Voicemail.created_at,
                                        Voicemail.id))
    closed = session.scalars(select(Voicemail).where(Voicemail.status.not_in(OPEN))
                             .order_by(Voicemail.id.desc()).limit(recent))
    return [_row(line, vm, names) for vm in waiting], [_row(line, vm, names) for vm in closed]


def callers(session: Session) -> list[Volunteer]:
    """Active volunteers who could return a voicemail (they have a voice PIN), by name."""
    return list(session.scalars(select(Volunteer).where(
        Volunteer.active.is_(True), Volunteer.pin_hash.is_not(None))
        .order_by(Volunteer.name, Volunteer.id)))


def assign(session: Session, line: Line, actor: str, voicemail_id: int,
           volunteer_id: int) -> None:
    """Ring ``volunteer_id`` to return the voicemail (see
    :func:`peerline.voice.callbacks.assign_callback`: checked under the rows' locks);
    audited. :class:`CallbackError` says why not."""
    reason = callbacks.assign_callback(session, line, voicemail_id, volunteer_id)
    if reason is not None:
        raise CallbackError(reason)
    audit.record(session, line, actor, "callback.assign", f"voicemail #{voicemail_id}",
                 f"volunteer #{volunteer_id}")


def mark_done(session: Session, line: Line, actor: str, voicemail_id: int,
              note: str = "") -> None:
    """Close a waiting voicemail by hand (returned another way, or nothing to return);
    audited with the note. A voicemail a peer is calling back now is left alone."""
    closed = session.execute(update(Voicemail).where(
        Voicemail.id == voicemail_id, Voicemail.status == VoicemailStatus.NEW)
        .values(status=VoicemailStatus.DONE, done_at=line.now()))
    if closed.rowcount != 1:
        raise CallbackError(f"voicemail #{voicemail_id} is not waiting for a callback "
                            "(a peer may be calling back now)")
    audit.record(session, line, actor, "callback.done", f"voicemail #{voicemail_id}",
                 " ".join((note or "").split())[:NOTE_MAX])
