"""A WSGI middleware that refuses request bodies over a limit before anything reads them.

Twilio's webhooks are a few KiB. A body with a declared ``Content-Length`` over the
limit is answered 413 at once, unread. A chunked body (no length; gunicorn passes it
on with ``wsgi.input_terminated``) is read at most one byte past the limit: over it is a
413; within it, it is handed on as an ordinary body of known length. So no route, signed
or not, ever makes a worker hold more than the limit.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge

_READ = 8192


class BodyLimit:
    """Wraps a WSGI app: bodies over ``limit`` bytes get 413 before the app sees them."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Check the body, then call the app."""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # werkzeug treats a malformed length as none
            if length > self.limit:
                return RequestEntityTooLarge()(environ, start_response)
            return self.app(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return self.app(environ, start_response)  # werkzeug reads no body at all
        body = self._read(environ["wsgi.input"])
        if body is None:
            return RequestEntityTooLarge()(environ, start_response)
        environ = dict(environ, CONTENT_LENGTH=str(len(body)))
        environ["wsgi.input"] = io.BytesIO(body)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _read(self, stream: Any) -> bytes | None:
        """The whole body, or None as soon as it passes the limit."""
        parts: list[bytes] = []
        size = 0
        while True:
            part = stream.read(min(_READ, self.limit + 1 - size))
            if not part:
                return b"".join(parts)
            parts.append(part)
            size += len(part)
            if size > self.limit:
                return None
