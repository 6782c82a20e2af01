"""``make run`` (``flask --app wsgi dev``): a port from the environment, and a stop that
leaves nothing behind: Ctrl-C ends the web server, the worker and the embedded Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Settings that would point the dev run away from its embedded default.
OUTSIDE = ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL",
           "PEERLINE_GATEWAY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PEERLINE_NUMBERS",
           "PEERLINE_ONCALL_NUMBER", "FLASK_RUN_HOST")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _embedded_redis(instance: str) -> list[psutil.Process]:
    """The redis-server processes keeping their data in ``instance`` (their working dir)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if "redis-server" not in (proc.info["name"] or ""):
            continue
        try:
            if os.path.samefile(proc.cwd(), instance):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def _wait_for(check, what: str, limit: float = 90.0):  # noqa: ANN001, ANN202
    """Poll ``check`` until it answers truthy (a wait limit, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=["ctrl-c", "sigterm"])
def test_the_dev_run_listens_on_flask_run_port_and_stops_everything(signum):
    instance = tempfile.mkdtemp(prefix="peerline-dev-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env.update(PEERLINE_INSTANCE_DIR=instance, FLASK_RUN_PORT=str(port))
    # Its own session, so the signal reaches the whole group, as Ctrl-C in a terminal does.
    dev = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "dev"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        _wait_for(lambda: _healthy(port) or dev.poll() is not None, "the web server")
        assert dev.poll() is None, dev.stdout.read().decode() if dev.stdout else ""
        redis = _wait_for(lambda: _embedded_redis(instance), "the embedded Redis")
        worker = _wait_for(lambda: psutil.Process(dev.pid).children(recursive=True),
                           "the worker")
        os.killpg(dev.pid, signum)
        dev.wait(timeout=90)
        output = dev.stdout.read().decode() if dev.stdout else ""
        _, alive = psutil.wait_procs(redis + worker, timeout=30)
        assert alive == [], output
        assert "peerline stopped" in output
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        for proc in _embedded_redis(instance):
            proc.kill()
        shutil.rmtree(instance, ignore_errors=True)
