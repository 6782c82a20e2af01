"""Where nothing configured logging (gunicorn, the worker), records from the line's own
loggers and tracebacks still reach stderr without a phone number."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging
from flask import Flask
from peerline.logs import install_redaction

install_redaction()
logging.getLogger("peerline.delivery.outbox").warning("send 1 failed (%s)", "to +15550199111")
try:
    raise ValueError("bad number +15550199112")
except ValueError:
    logging.getLogger("peerline.voice.views").exception("voice webhook conflict")
app = Flask("peerline.app")
try:
    raise KeyError("+15550199113")
except KeyError:
    app.logger.exception("Exception on /sms/inbound [POST]")
"""


def test_unconfigured_logging_redacts_messages_and_tracebacks():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "send 1 failed" in out and "voice webhook conflict" in out, out
    assert "ValueError" in out and "/sms/inbound" in out, out  # the traceback is kept
    assert "+1555019911" not in out and out.count("[number]") >= 3, out
