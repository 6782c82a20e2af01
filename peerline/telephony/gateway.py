"""The one interface every outbound text and call goes through."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

#: Twilio error codes that will never succeed on retry.
PERMANENT_ERRORS = {21211, 21212, 21214, 21217, 21219, 21401, 21407, 21408, 21421,
                    21602, 21606, 21608, 21610, 21612, 21614, 21617, 21659, 30004, 30005,
                    30006, 30007}
#: Twilio's "recipient has opted out" error.
OPTED_OUT = 21610
#: Twilio's "the requested resource was not found" error (with HTTP 404).
NOT_FOUND = 20404
#: A call's statuses (Twilio's ``Call.status``) while it is still up: queued, ringing or
#: connected. ``completed``, ``busy``, ``failed``, ``no-answer`` and ``canceled`` are over.
LIVE_CALL_STATUSES = frozenset({"queued", "ringing", "in-progress"})
#: A call's statuses once it is over. Any other (unparsed, new) is neither: fail closed.
OVER_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
#: HTTP statuses meaning Twilio refused the line's own credentials (a configuration error).
CREDENTIALS_REFUSED = {401, 403}


class GatewayError(Exception):
    """A send failed. ``permanent`` ones are never retried."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None,
                 permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.permanent = permanent
        self.retry_after = retry_after

    @property
    def refused(self) -> bool:
        """True when the line's credentials were refused (401/403): retrying cannot help."""
        return self.status in CREDENTIALS_REFUSED


class Gateway(Protocol):
    """Sends texts and places calls; ``TwilioGateway`` and ``LocalGateway`` implement it."""

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None) -> str:
        """Send one text; return its MessageSid. Raise :class:`GatewayError` on failure."""
        ...

    def find_sent_all(self, to: str, from_: str, body: str, since: datetime) -> list[str]:
        """Sids of every identical text accepted since ``since``, newest first."""
        ...

    def create_call(self, to: str, from_: str, url: str, status_callback: str | None = None,
                    timeout: int = 30) -> str:
        """Place a call that fetches its TwiML from ``url``; return its CallSid."""
        ...

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None,
                    status: str | None = None) -> None:
        """Redirect a live call to new TwiML, or end it (``status='completed'``)."""
        ...

    def call_status(self, sid: str) -> str:
        """A call's status now (``in-progress``, ``completed``…), read by REST.

        Raise :class:`GatewayError`: status 404 when the provider knows no such call.
        """
        ...

    def update_participant(self, conference_sid: str, call_sid: str, *, muted: bool) -> None:
        """Mute or unmute one participant of a live conference."""
        ...

    def end_conference(self, conference_sid: str) -> None:
        """End a live conference (every participant leaves it)."""
        ...

    def delete_message(self, sid: str) -> None:
        """Delete a message record (and its body) at the provider.

        Raise :class:`GatewayError`: status 404 when there is no such record, code
        20009 while the message is still being delivered.
        """
        ...

    def delete_recording(self, sid: str) -> None:
        """Delete a call recording at the provider (404 when there is none)."""
        ...

    def delete_transcription(self, sid: str) -> None:
        """Delete a recording's transcription at the provider (404 when there is none)."""
        ...


def already_sent(gateway: Gateway, to: str, from_: str, body: str, since: datetime,
                 taken: Collection[str]) -> str | None:
    """The sid of an accepted copy of this text that no other outbox row has claimed.

    Two identical texts to one person ("ok", "ok") are both real: a copy whose sid is
    already recorded on another row is not this row's. A gateway that cannot list at all
    (404/405/501: an API without the message list) counts as "not sent": a rare
    duplicate is better than a text that is never sent.
    """
    try:
        found = gateway.find_sent_all(to, from_, body, since)
    except GatewayError as exc:
        if exc.status in (404, 405, 501):
            return None
        raise
    for sid in reversed(found):
        if sid not in taken:
            return sid
    return None
