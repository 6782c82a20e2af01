"""The real ``twilio`` client behind the Gateway interface."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from peerline.telephony.gateway import PERMANENT_ERRORS, GatewayError

# The twilio client logs query parameters (numbers) at INFO: keep it quiet.
_quiet = logging.getLogger("peerline.twilio_http")
_quiet.setLevel(logging.WARNING)

#: How far back (before the text was queued) ``find_sent_all`` looks, for clock skew.
FIND_SKEW = timedelta(minutes=2)
#: At most this many of a recipient's recent messages are read by ``find_sent_all``.
FIND_LIMIT = 200
#: Connections kept open to Twilio: at least the threads that send side by side (a
#: broadcast's, :mod:`peerline.delivery.send_together`). The twilio client keeps
#: ``cpu_count + 4`` for https (6 on two cores), so a broadcast to more opened new TLS
#: connections to Twilio each time and dropped them after.
POOL_SIZE = 16


class _HttpClient(TwilioHttpClient):
    """Keeps each thread's last response so a 429's ``Retry-After`` can be honoured."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    @property
    def last(self) -> Any:
        """The last response this thread received (None after a network error)."""
        return getattr(self._local, "last", None)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """Send one request, remembering its response for this thread."""
        self._local.last = None
        response = super().request(*args, **kwargs)
        self._local.last = response
        return response


def _retry_after(http: _HttpClient) -> float | None:
    last = http.last
    headers = getattr(last, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_permanent(status: int | None, code: int | None) -> bool:
    """True for Twilio errors a retry cannot fix (bad number, opted out, bad request)."""
    if code in PERMANENT_ERRORS:
        return True
    # A 400 carrying a real Twilio error code (21xxx…) is a request Twilio refuses.
    return status == 400 and code is not None and code >= 10000


class TwilioGateway:
    """Sends through Twilio's REST API (or whatever ``api_base_url`` points at)."""

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str = "",
                 timeout: float = 10.0, pool_size: int = POOL_SIZE) -> None:
        self._http = _HttpClient(timeout=timeout, logger=_quiet)
        session = self._http.session
        assert session is not None  # pool_connections: one keep-alive session
        for prefix in ("https://", "http://"):
            session.mount(prefix, HTTPAdapter(pool_connections=4, pool_maxsize=pool_size))
        self.client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except TwilioRestException as exc:
            raise GatewayError(f"twilio error {exc.status}/{exc.code}", code=exc.code,
                               status=exc.status,
                               permanent=is_permanent(exc.status, exc.code),
                               retry_after=_retry_after(self._http)) from None
        except requests.RequestException as exc:
            raise GatewayError(f"twilio unreachable: {type(exc).__name__}") from None
        except TwilioException as exc:
            # e.g. "Unable to fetch page" for a list answered 429/5xx: transient.
            last = self._http.last
            status = getattr(last, "status_code", None)
            raise GatewayError(f"twilio error {status}: {type(exc).__name__}", status=status,
                               retry_after=_retry_after(self._http)) from None

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None) -> str:
        """Send one text from a line number."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        return self._call(self.client.messages.create, **kwargs).sid

    def _recent(self, to: str, from_: str, since: datetime) -> Iterator[Any]:
        """Messages to ``to`` from ``from_``, newest first, back to ``since``.

        No ``DateSent`` filter: a message Twilio accepted but has not sent yet has no
        date_sent, and it is exactly the one a resend must not duplicate.
        """
        cutoff = _aware(since) - FIND_SKEW
        stream = self.client.messages.stream(to=to, from_=from_, limit=FIND_LIMIT,
                                             page_size=50)
        for message in stream:
            created = message.date_created
            if created is not None and _aware(created) < cutoff:
                return
            yield message

    def find_sent_all(self, to: str, from_: str, body: str, since: datetime) -> list[str]:
        """Sids of every identical text Twilio accepted since ``since``, newest first."""
        found = self._call(lambda: list(self._recent(to, from_, since)))
        return [m.sid for m in found
                if (m.body or "") == body and m.status not in ("failed", "canceled")]

    def create_call(self, to: str, from_: str, url: str, status_callback: str | None = None,
                    timeout: int = 30) -> str:
        """Place a call; Twilio fetches TwiML from ``url`` when it is answered."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "url": url, "timeout": timeout}
        if status_callback:
            kwargs["status_callback"] = status_callback
            kwargs["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
        return self._call(self.client.calls.create, **kwargs).sid

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None,
                    status: str | None = None) -> None:
        """Redirect or end a live call."""
        kwargs: dict[str, Any] = {}
        if url:
            kwargs["url"] = url
        if twiml:
            kwargs["twiml"] = twiml
        if status:
            kwargs["status"] = status
        self._call(self.client.calls(sid).update, **kwargs)

    def call_status(self, sid: str) -> str:
        """A call's status (``Calls/<sid>`` fetched; 404 for a call Twilio does not know)."""
        return str(self._call(self.client.calls(sid).fetch).status)

    def update_participant(self, conference_sid: str, call_sid: str, *, muted: bool) -> None:
        """Mute or unmute one conference participant (Participants resource)."""
        self._call(self.client.conferences(conference_sid).participants(call_sid).update,
                   muted=muted)

    def end_conference(self, conference_sid: str) -> None:
        """End a conference (``Status=completed``)."""
        self._call(self.client.conferences(conference_sid).update, status="completed")

    def delete_message(self, sid: str) -> None:
        """Delete a message record and its body (Twilio refuses while delivering: 20009)."""
        self._call(self.client.messages(sid).delete)

    def delete_recording(self, sid: str) -> None:
        """Delete a call recording."""
        self._call(self.client.recordings(sid).delete)

    def delete_transcription(self, sid: str) -> None:
        """Delete a recording's transcription (it holds the transcript's words)."""
        self._call(self.client.transcriptions(sid).delete)
