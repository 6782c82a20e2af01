"""The webhook from outside: gunicorn as the Procfile runs it, next to a bare route.

    .venv/bin/python bench/load_bench.py [--requests 2000] [--concurrency 16] [--rounds 3]
        [--configs sync:2,sync:4,gthread:2x4] [--mode first|live] [--naive]

For each worker configuration (``class:workers`` or ``gthread:WORKERSxTHREADS``) this
starts two gunicorns with the project's ``gunicorn.conf.py`` on loopback: the line
(``wsgi:app``, the Twilio gateway settings of a deployment, DATABASE_URL / REDIS_URL,
no RQ worker) and a bare Flask route returning constant TwiML (``bench/bare_wsgi.py``).
``--naive`` starts a third, the naive webhook of issue 14 (``bench/naive_wsgi.py``:
signature, one row, one RQ job, constant TwiML), the floor the line is held to.
A small asyncio load generator (wrk is not installed) sends ``--requests`` pre-signed
unique texts over ``--concurrency`` connections (one request per connection,
``Connection: close``, as Twilio does) to each, round after round (bare, naive, line);
every answer must be 2xx. Per configuration it prints req/s, p50/p99 and the line/bare
ratio (median of the rounds), with ``--naive`` also naive/bare and line/naive; the last
line is the best configuration's line/bare ratio. The schema is dropped and rebuilt:
never point it at a line's real database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote_plus

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import naive_wsgi  # noqa: E402
from rq import Queue  # noqa: E402
from webhook_bench import BODIES, CALM, LINE, line_app, live_survivors, on_shift, pct  # noqa: E402

from peerline.telephony.signature import sign  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-auth-token-not-real"
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def line_env(port: int) -> dict[str, str]:
    """A deployment's settings on loopback (the Twilio gateway; nothing is sent)."""
    env = dict(os.environ)
    env.update({"PEERLINE_GATEWAY": "twilio", "TWILIO_AUTH_TOKEN": TOKEN,
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
                "SECRET_KEY": "bench-secret-key-long-enough-for-the-line-0123456789",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "PEERLINE_NUMBERS": "+15550000001,+15550000002,+15550000003"})
    return env


def start(app: str, port: int, config: str, env: dict[str, str]) -> subprocess.Popen:
    """gunicorn with the project's config, as the Procfile runs it."""
    kind, _, size = config.partition(":")
    workers, _, threads = size.partition("x")
    cmd = [GUNICORN, "-c", os.path.join(ROOT, "gunicorn.conf.py"), "--bind",
           f"127.0.0.1:{port}", "--workers", workers, "--worker-class", kind,
           "--pythonpath", os.path.join(ROOT, "bench"), "--log-level", "warning"]
    if threads:
        cmd += ["--threads", threads]
    proc = subprocess.Popen([*cmd, app], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # the arbiter listens before its workers have loaded the app
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 "):
                    time.sleep(2.0)  # and the other workers theirs
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"gunicorn did not start on port {port}")


def stop(proc: subprocess.Popen) -> None:
    """Stop one gunicorn we started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def request_bytes(port: int, params: dict[str, str], token: str = TOKEN) -> bytes:
    """One signed POST /sms/inbound, ready to write."""
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items())
    signature = sign(f"http://127.0.0.1:{port}/sms/inbound", params, token)
    return (f"POST /sms/inbound HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


async def _one(port: int, payload: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return time.perf_counter() - start, status


async def _drive(port: int, payloads: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    queue = list(reversed(payloads))
    times: list[float] = []
    bad: list[int] = []

    async def client() -> None:
        while queue:
            took, status = await _one(port, queue.pop())
            times.append(took)
            if not 200 <= status < 300:
                bad.append(status)

    start = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    elapsed = time.perf_counter() - start
    if bad:
        raise SystemExit(f"{len(bad)} answers were not 2xx (e.g. {bad[0]})")
    return elapsed, times


def drive(port: int, payloads: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Send every payload; (seconds, per-request latencies)."""
    return asyncio.run(_drive(port, payloads, concurrency))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", default="sync:2,sync:4,gthread:2x4")
    parser.add_argument("--mode", choices=("first", "live"), default="first")
    parser.add_argument("--naive", action="store_true",
                        help="also the naive webhook of issue 14 (bench/naive_wsgi.py)")
    args = parser.parse_args()
    bare_port, line_port = free_port(), free_port()
    env = line_env(line_port)
    os.environ.update({k: env[k] for k in ("SECRET_KEY",)})
    app = line_app(tempfile.mkdtemp(prefix="peerline-load-"))
    volunteers = on_shift(app, 5)
    live = live_survivors(app, 200, volunteers) if args.mode == "live" else []
    seq = iter(range(10**9))

    def payloads(port: int, count: int) -> list[bytes]:
        out = []
        for _ in range(count):
            i = next(seq)
            sender, body = ((f"+1557{i:07d}", BODIES[i % len(BODIES)]) if args.mode == "first"
                            else (live[i % len(live)], CALM[i % len(CALM)]))
            out.append(request_bytes(port, {"MessageSid": f"SM{i:032d}", "From": sender,
                                            "To": LINE, "Body": body, "NumMedia": "0"}))
        return out

    if args.naive:
        naive_wsgi.texts.drop(app.extensions["peerline"].engine, checkfirst=True)
        naive_wsgi.create_table(app.extensions["peerline"].engine)
    app.extensions["peerline"].engine.dispose()
    ports = {"bare": bare_port, "line": line_port}
    if args.naive:
        ports["naive"] = free_port()
    names = [n for n in ("bare", "naive", "line") if n in ports]
    apps = {"bare": "bare_wsgi:app", "naive": "naive_wsgi:from_environment()", "line": "wsgi:app"}
    results = []
    for config in args.configs.split(","):
        procs = {}
        try:
            for name in names:
                procs[name] = start(apps[name], ports[name], config,
                                    {**env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[name]}"})
            for name in names:  # warm up
                drive(ports[name], payloads(ports[name], 200), args.concurrency)
            secs: dict[str, list[float]] = {n: [] for n in names}
            lat: dict[str, list[float]] = {n: [] for n in names}
            for _ in range(args.rounds):
                for name in names:
                    took, times = drive(ports[name], payloads(ports[name], args.requests),
                                        args.concurrency)
                    secs[name].append(took)
                    lat[name] += times
                rates = "  ".join(f"{n} {args.requests / secs[n][-1]:6.0f} req/s" for n in names)
                print(f"  {config:12s} {rates}  ratio {secs['bare'][-1] / secs['line'][-1]:.3f}",
                      flush=True)
        finally:
            for proc in reversed(procs.values()):
                stop(proc)
        ratio = statistics.median(b / s for b, s in zip(secs["bare"], secs["line"], strict=True))
        results.append((ratio, config))
        if args.naive:
            for name in names:
                print(f"{config:12s} {name:5s} {args.requests / statistics.median(secs[name]):6.0f}"
                      f" req/s (median)  p50 {pct(lat[name], 0.5) * 1000:.1f} ms  p99 "
                      f"{pct(lat[name], 0.99) * 1000:.1f} ms", flush=True)
            for top, under in (("naive", "bare"), ("line", "naive")):
                value = statistics.median(b / s for b, s in zip(secs[under], secs[top],
                                                                  strict=True))
                print(f"{config:12s} mode={args.mode} ratio {top}/{under} {value:.3f}", flush=True)
        print(f"{config:12s} mode={args.mode} ratio {ratio:.3f}  line p50 "
              f"{pct(lat['line'], 0.5) * 1000:.1f} ms  p99 {pct(lat['line'], 0.99) * 1000:.1f} ms",
              flush=True)
    if args.naive:
        Queue(naive_wsgi.QUEUE, connection=app.extensions["peerline"].redis()).empty()
    best = max(results)
    print(f"best: {best[1]}  ratio (line / bare, median of {args.rounds}): {best[0]:.3f}")


if __name__ == "__main__":
    main()
