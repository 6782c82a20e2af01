"""TwiML responses."""

from __future__ import annotations

from flask import Response
from twilio.twiml.messaging_response import MessagingResponse


def messages(texts: list[str]) -> Response:
    """A ``<Response>`` with one ``<Message>`` per non-empty text."""
    response = MessagingResponse()
    for text in texts:
        if text:
            response.message(text)
    return xml(str(response))


def xml(body: str, status: int = 200) -> Response:
    """An XML response."""
    return Response(body, status=status, mimetype="text/xml")
