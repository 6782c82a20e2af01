"""A gateway that records instead of sending: the simulator's and the tests' network."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from peerline.models import LocalMessage
from peerline.privacy.vault import PhoneVault
from peerline.telephony.gateway import NOT_FOUND, GatewayError


class LocalGateway:
    """Stores every text and call in ``local_messages`` (numbers encrypted)."""

    def __init__(self, session_factory: sessionmaker[Session], vault: PhoneVault,
                 now: Callable[[], datetime]) -> None:
        self._sessions = session_factory
        self._vault = vault
        self._now = now

    def _record(self, kind: str, prefix: str, to: str, from_: str, body: str) -> str:
        sid = prefix + uuid.uuid4().hex
        with self._sessions.begin() as session:
            session.add(LocalMessage(sid=sid, kind=kind, to_enc=self._vault.encrypt(to),
                                     to_hash=self._vault.hash(to), from_number=from_,
                                     body=body, created_at=self._now()))
        return sid

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None) -> str:
        """Record a text as sent."""
        return self._record("sms", "SM", to, from_, body)

    def find_sent_all(self, to: str, from_: str, body: str, since: datetime) -> list[str]:
        """Sids of every identical recorded text since ``since``, newest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(LocalMessage.sid, LocalMessage.body).where(
                    LocalMessage.to_hash == self._vault.hash(to),
                    LocalMessage.from_number == from_,
                    LocalMessage.created_at >= since, LocalMessage.kind == "sms")
                .order_by(LocalMessage.id.desc())).all()
        # Bodies are sealed (encrypted differently each time): compared once read.
        return [sid for sid, text in rows if text == body]

    def create_call(self, to: str, from_: str, url: str, status_callback: str | None = None,
                    timeout: int = 30) -> str:
        """Record a call as placed (the simulator can answer it)."""
        return self._record("call", "CA", to, from_, url)

    def delete_message(self, sid: str) -> None:
        """Delete the record of a text (inbound texts were never recorded: nothing to do)."""
        with self._sessions.begin() as session:
            session.execute(delete(LocalMessage).where(LocalMessage.sid == sid,
                                                       LocalMessage.kind == "sms"))

    def delete_recording(self, sid: str) -> None:
        """Recordings live at the simulator's caller, not here: nothing to delete."""

    def delete_transcription(self, sid: str) -> None:
        """Transcriptions are not kept by the local gateway: nothing to delete."""

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None,
                    status: str | None = None) -> None:
        """Record a call update (redirect or hang-up)."""
        with self._sessions.begin() as session:
            session.add(LocalMessage(sid="UP" + uuid.uuid4().hex, kind="update", to_enc="",
                                     to_hash=sid, from_number="",
                                     body=status or url or twiml or "",
                                     created_at=self._now()))

    def set_call_status(self, sid: str, status: str) -> None:
        """Play the provider's side: a call's status as REST will report it (the simulator
        and tests; a ``status`` row, the call sid in ``to_hash``)."""
        with self._sessions.begin() as session:
            session.add(LocalMessage(sid="ST" + uuid.uuid4().hex, kind="status", to_enc="",
                                     to_hash=sid, from_number="", body=status,
                                     created_at=self._now()))

    def call_status(self, sid: str) -> str:
        """The status last set by :meth:`set_call_status`; 404 for any other call (what
        Twilio answers for a sid it does not know)."""
        with self._sessions() as session:
            status = session.scalar(select(LocalMessage.body).where(
                LocalMessage.kind == "status", LocalMessage.to_hash == sid)
                .order_by(LocalMessage.id.desc()).limit(1))
        if status is None:
            raise GatewayError("no such call", status=404, code=NOT_FOUND)
        return status

    def update_participant(self, conference_sid: str, call_sid: str, *, muted: bool) -> None:
        """Record a participant update (``mute:CA…`` or ``unmute:CA…``)."""
        self._conference(conference_sid, f"{'mute' if muted else 'unmute'}:{call_sid}")

    def end_conference(self, conference_sid: str) -> None:
        """Record the end of a conference."""
        self._conference(conference_sid, "end")

    def _conference(self, conference_sid: str, body: str) -> None:
        with self._sessions.begin() as session:
            session.add(LocalMessage(sid="UP" + uuid.uuid4().hex, kind="update", to_enc="",
                                     to_hash=conference_sid, from_number="", body=body,
                                     created_at=self._now()))
