"""The real ``twilio`` client behind the Gateway interface."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .gateway import PERMANENT_ERRORS, GatewayError

# The twilio client logs query parameters (numbers) at INFO: keep it quiet.
_quiet = logging.getLogger("peerline.twilio_http")
_quiet.setLevel(logging.WARNING)


class _HttpClient(TwilioHttpClient):
    """Keeps the last response so a 429's ``Retry-After`` can be honoured."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.last = None
        response = super().request(*args, **kwargs)
        self.last = response
        return response


def _retry_after(http: _HttpClient) -> float | None:
    last = getattr(http, "last", None)
    value = (getattr(last, "headers", None) or {}).get("Retry-After") if last else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class TwilioGateway:
    """Sends through Twilio's REST API (or whatever ``api_base_url`` points at)."""

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str = "",
                 timeout: float = 10.0) -> None:
        self._http = _HttpClient(timeout=timeout, logger=_quiet)
        self.client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_ERRORS or (
                exc.status in (400, 404) and exc.code is not None
            )
            raise GatewayError(f"twilio error {exc.status}/{exc.code}", code=exc.code,
                               status=exc.status, permanent=permanent,
                               retry_after=_retry_after(self._http)) from None
        except requests.RequestException as exc:
            raise GatewayError(f"twilio unreachable: {type(exc).__name__}") from None

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None) -> str:
        """Send one text from a line number."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        return self._call(self.client.messages.create, **kwargs).sid

    def find_sent(self, to: str, from_: str, body: str, since: datetime) -> str | None:
        """Look in Twilio's message list for an identical text sent since ``since``."""
        day = since - timedelta(days=1)
        found = self._call(self.client.messages.list, to=to, from_=from_,
                           date_sent_after=day, limit=50)
        for message in found:
            if (message.body or "") == body and message.status not in ("failed", "canceled"):
                return message.sid
        return None

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
