"""Logging that never lets a phone number through."""

from __future__ import annotations

import logging
import re

#: What looks like a phone number: E.164, NANP with separators, or 10+ bare digits.
PHONE_LIKE = re.compile(
    r"\+\d{7,15}\b|\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b|\b\d{10,15}\b")


class RedactNumbers(logging.Filter):
    """Replaces phone-number-like text in every record with ``[number]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format must not break logging
            return True
        redacted = PHONE_LIKE.sub("[number]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


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
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
