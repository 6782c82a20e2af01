"""Logging that never lets a phone number through."""

from __future__ import annotations

import logging
import re

from flask.logging import default_handler

#: What looks like a phone number: E.164, NANP with separators, or 10+ bare digits.
PHONE_LIKE = re.compile(
    r"\+\d{7,15}\b|\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b|\b\d{10,15}\b")


_TRACEBACKS = logging.Formatter()


class RedactNumbers(logging.Filter):
    """Replaces phone-number-like text in every record with ``[number]``: the message,
    and a traceback or stack carrying one (folded into the message, redacted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format must not break logging
            return True
        redacted = PHONE_LIKE.sub("[number]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        for text, clear in ((_exception_text(record), "exc_info"),
                            (record.stack_info or "", "stack_info")):
            if text and PHONE_LIKE.search(text):
                record.msg = f"{record.msg}\n{PHONE_LIKE.sub('[number]', text)}"
                record.args = None
                setattr(record, clear, None)
                if clear == "exc_info":
                    record.exc_text = None
        return True


def _exception_text(record: logging.LogRecord) -> str:
    if record.exc_text:
        return record.exc_text
    if record.exc_info and record.exc_info[0] is not None:
        return _TRACEBACKS.formatException(record.exc_info)
    return ""


_FILTER = RedactNumbers()


def install_redaction() -> None:
    """Attach the redaction filter to the root logger and its handlers (idempotent)."""
    root = logging.getLogger()
    if _FILTER not in root.filters:
        root.addFilter(_FILTER)
    for handler in root.handlers:
        if getattr(handler, "peerline_raw", False):
            continue  # the test suite's own raw capture, which checks for numbers
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "rq.worker", "twilio"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    # A logger's filter never sees its children's records: where nothing configured the
    # root (gunicorn, the worker), they reach Flask's handler (``app.logger``: a 500's
    # traceback) or logging's last resort, which print them as they are.
    for handler in (default_handler, logging.lastResort):
        if handler is not None and _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
