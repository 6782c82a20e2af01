"""Webhook speed as a ratio against a bare Flask route, in the same process.

    .venv/bin/python bench/webhook_bench.py [N] [--mode first|live] [--repeat 3]
        [--volunteers 5] [--profile FILE]

``first``: N signed inbound texts from distinct survivors, each a new conversation (the
heaviest path: dedupe, store, crisis scan, pairing task, welcome reply), with volunteers
on shift. ``live``: N texts from survivors already paired with a volunteer (stored,
scanned, relayed to the peer through the outbox). Each round runs the bare route (a Flask
route returning constant TwiML, through the same test client) and the line one after the
other; the ratio is taken per round and the median printed last, with per-request p50 /
p99 and SQL statements per request. Uses DATABASE_URL / REDIS_URL when set (the schema
is dropped and rebuilt: never point it at a line's real database), else embedded
defaults in a temp folder. ``--profile FILE`` runs one more round under pyinstrument and
writes its text report.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask import Flask  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from sqlalchemy import event  # noqa: E402

from peerline import schema  # noqa: E402
from peerline.app import create_app  # noqa: E402
from peerline.crisis import detect  # noqa: E402
from peerline.models import Base, Conversation, ConversationStatus  # noqa: E402
from peerline.people import roster  # noqa: E402
from peerline.people.lookup import get_or_create_survivor  # noqa: E402
from peerline.telephony.signature import sign  # noqa: E402

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>hi</Message></Response>'
BASE = "https://bench.local"
LINE = "+15550000001"
BODIES = [
    "hi, I had a really rough night and I don't know who else to talk to about it",
    "this week at work has been killing me and I can't sleep, can someone text back",
    "I want to end it all tonight, I have the pills right here",
    "hola, necesito hablar con alguien, no me siento bien hoy",
]
CALM = [
    "thanks for listening, it helps to write it down somewhere",
    "we argued again tonight and I just left the house for a walk",
    "I'm not sure what to say next, I keep going back over it",
]


def bare_app() -> Flask:
    """A Flask app whose one route answers constant TwiML."""
    app = Flask("bare")

    @app.post("/sms/inbound")
    def inbound() -> tuple[str, int, dict[str, str]]:
        return TWIML, 200, {"Content-Type": "text/xml"}

    return app


def line_app(tmp: str) -> Flask:
    """The real app on a freshly migrated schema."""
    app = create_app({"PEERLINE_INSTANCE_DIR": tmp, "PUBLIC_BASE_URL": BASE,
                      "TWILIO_AUTH_TOKEN": "bench", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                      "PEERLINE_GATEWAY": "local",
                      "PEERLINE_NUMBERS": "+15550000001,+15550000002,+15550000003"})
    svc = app.extensions["peerline"]
    with svc.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    schema.upgrade(svc.engine)
    svc.redis().flushdb()
    return app


def on_shift(app: Flask, count: int) -> list[Any]:
    """``count`` volunteers on shift (capacity 3, English and Spanish)."""
    svc = app.extensions["peerline"]
    people = []
    with svc.sessions.begin() as session:
        for i in range(count):
            volunteer = roster.add_volunteer(session, svc.line, f"Peer {i}", f"+1555888{i:04d}",
                                             "en,es", capacity=3)
            volunteer.on_shift, volunteer.shift_started_at = True, svc.line.now()
            people.append(volunteer)
    return people


def live_survivors(app: Flask, count: int, volunteers: list[Any]) -> list[str]:
    """``count`` survivors each in an active conversation with one of ``volunteers``."""
    svc = app.extensions["peerline"]
    numbers = []
    with svc.sessions.begin() as session:
        for i in range(count):
            number = f"+1555777{i:04d}"
            survivor = get_or_create_survivor(session, svc.line, number, "en")
            now = svc.line.now()
            volunteer = volunteers[i % len(volunteers)]
            session.add(Conversation(
                survivor_id=survivor.id, channel="sms", status=ConversationStatus.ACTIVE,
                priority=0, front=False, lang="en", survivor_line=LINE,
                volunteer_id=volunteer.id, volunteer_line=svc.line.numbers[i % 3],
                created_at=now, queued_at=now, assigned_at=now, last_survivor_at=now))
            numbers.append(number)
    return numbers


def signed(params: dict[str, str]) -> tuple[dict[str, str], str]:
    """Params with the signature Twilio would send."""
    return signed_with(BASE, "bench", params)


def signed_with(base: str, token: str, params: dict[str, str]) -> tuple[dict[str, str], str]:
    """Params with the signature Twilio would send to ``base``/sms/inbound."""
    return params, sign(base + "/sms/inbound", params, token)


class Counter:
    """Counts SQL statements sent by an engine."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.last: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.last = [*self.last[-40:], " ".join(statement.split())[:150]]


CPU = {"s": 0.0}  # this process's CPU seconds in timed()


def timed(client: Any, requests: list[tuple[dict[str, str], str]]) -> list[float]:
    """Per-request seconds, each response checked 2xx (CPU seconds add up in ``CPU``)."""
    out = []
    cpu = time.process_time()
    for params, signature in requests:
        start = time.perf_counter()
        response = client.post("/sms/inbound", data=params,
                               headers={"X-Twilio-Signature": signature})
        out.append(time.perf_counter() - start)
        assert 200 <= response.status_code < 300, response.status_code
    CPU["s"] += time.process_time() - cpu
    return out


def calls_per_request(client: Any, requests: list[tuple[dict[str, str], str]]) -> float:
    """Python function calls (and C calls) per request, counted by ``sys.setprofile``:
    a measure of the process's work that the load of a shared box does not move."""
    seen = [0]

    def count(_frame: Any, event: str, _arg: Any) -> None:
        if event in ("call", "c_call"):
            seen[0] += 1

    sys.setprofile(count)
    try:
        timed(client, requests)
    finally:
        sys.setprofile(None)
    return seen[0] / len(requests)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=400)
    parser.add_argument("--mode", choices=("first", "live"), default="first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--volunteers", type=int, default=5)
    parser.add_argument("--profile", default="")
    parser.add_argument("--show-sql", action="store_true", help="the last request's SQL")
    args = parser.parse_args()
    n = args.n
    app = line_app(tempfile.mkdtemp(prefix="peerline-bench-"))
    svc = app.extensions["peerline"]
    volunteers = on_shift(app, args.volunteers)
    live = live_survivors(app, 50, volunteers) if args.mode == "live" else []
    detect("warm up the lexicons")  # once per process (wsgi.py does this too)
    logging.disable(logging.WARNING)  # event lines (crisis escalations) on the terminal
    counter = Counter(svc.engine)
    seq = iter(range(10**9))

    def batch() -> list[tuple[dict[str, str], str]]:
        out = []
        for _ in range(n):
            i = next(seq)
            if args.mode == "first":
                sender, body = f"+1556{i:07d}", BODIES[i % len(BODIES)]
            else:
                sender, body = live[i % len(live)], CALM[i % len(CALM)]
            out.append(signed({"MessageSid": f"SM{i:032d}", "From": sender, "To": LINE,
                               "Body": body, "NumMedia": "0"}))
        return out

    bare = bare_app().test_client()
    client = app.test_client()
    timed(client, batch()[: max(10, n // 20)])  # warm the pool and caches
    ratios, cpu_ratios, line_times, statements = [], [], [], []
    cpu_ms: list[tuple[float, float]] = []  # (bare, line) CPU ms per request, per round
    for _ in range(args.repeat):
        requests = batch()
        CPU["s"] = 0.0
        bare_s = sum(timed(bare, requests))
        bare_cpu, CPU["s"] = CPU["s"], 0.0
        before = counter.count
        times = timed(client, requests)
        cpu_ratios.append(bare_cpu / CPU["s"])
        cpu_ms.append((bare_cpu * 1000 / n, CPU["s"] * 1000 / n))
        statements.append((counter.count - before) / n)
        line_times += times
        ratios.append(bare_s / sum(times))
        print(f"round: bare {n / bare_s:7.0f} req/s, line {n / sum(times):6.0f} req/s, "
              f"ratio {ratios[-1]:.3f} (CPU of this process {cpu_ratios[-1]:.3f}), "
              f"{statements[-1]:.1f} SQL statements/request")
    calls = (calls_per_request(bare, batch()[: max(10, n // 4)]),
             calls_per_request(client, batch()[: max(10, n // 4)]))
    if args.show_sql:
        counter.last = []
        timed(client, batch()[:1])
        print("\n".join(counter.last))
    if args.profile:
        profiler = Profiler(interval=0.0005)
        requests = batch()
        profiler.start()
        timed(client, requests)
        profiler.stop()
        with open(args.profile, "w") as fh:
            fh.write(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"database={svc.engine.url.get_backend_name()} mode={args.mode} requests={n} "
          f"x {args.repeat} rounds, {args.volunteers} volunteers on shift")
    print(f"line p50 {pct(line_times, 0.5) * 1000:.2f} ms, p99 {pct(line_times, 0.99) * 1000:.2f} "
          f"ms; {statistics.mean(statements):.1f} SQL statements/request")
    print(f"CPU per request in this process, median: bare "
          f"{statistics.median(b for b, _ in cpu_ms):.3f} ms, line "
          f"{statistics.median(li for _, li in cpu_ms):.3f} ms")
    print(f"Python calls per request (sys.setprofile, load-independent): bare "
          f"{calls[0]:.0f}, line {calls[1]:.0f}")
    print(f"CPU ratio of this process (bare CPU / webhook CPU), median: "
          f"{statistics.median(cpu_ratios):.3f}")
    print(f"ratio (webhook / bare), median of {args.repeat}: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
