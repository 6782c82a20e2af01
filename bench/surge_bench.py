"""A surge: 2,000 first texts from distinct survivors within 60 s, 20 volunteers on shift.

    .venv/bin/python bench/surge_bench.py [--texts 2000] [--seconds 60] [--volunteers 20]
        [--crisis-share 0.05] [--config sync:2] [--offer-timeout 60]

The line runs as the Procfile runs it: gunicorn (``wsgi:app``, the project's
``gunicorn.conf.py``) and one worker (``flask --app wsgi worker``), the Twilio gateway on
the suite's fake Twilio, PostgreSQL and Redis from DATABASE_URL / REDIS_URL. The texts
are sent at an even pace over ``--seconds`` (each signed, a new survivor each, a share of
crisis texts), up to 64 at once. Then it waits until the outbox is drained (no pending
task is due and the RQ queue is empty) and checks: every answer 2xx, every text stored
once (one message and one conversation per sid and survivor), and offers in order:
within each priority no conversation is left without an offer while a later one is
offered after it was stored (its webhook's answer, which comes after its commit). One
passed over while its own webhook was still storing it (stamped on arrival, committed
after a later survivor's offer: seconds on an overloaded box) is counted apart: no
pairing pass can see a row before it is committed. Prints the webhook p50/p99 and the
time to drain last, and exits 1 if any conversation was offered out of order.
``--offer-timeout`` shorter than the run (say 15) makes offers time out during the
surge, so the volunteers freed by time-outs are paired again while texts still arrive:
the case that once offered survivors out of order. The schema is dropped and rebuilt:
never point it at a line's real database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load_bench import _one, free_port, request_bytes, start, stop  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import text  # noqa: E402
from webhook_bench import pct  # noqa: E402

from peerline import schema  # noqa: E402
from peerline.app import create_app  # noqa: E402
from peerline.extensions import QUEUE_NAME  # noqa: E402
from peerline.models import Base  # noqa: E402
from peerline.people import roster  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = "+15550000001"
CALM = ["hi, I had a really rough night and I don't know who else to talk to about it",
        "hola, necesito hablar con alguien, no me siento bien hoy",
        "can someone text back, this week has been a lot"]
CRISIS = "I want to end it all tonight, I have the pills right here"


async def paced(port: int, payloads: list[bytes], seconds: float
                ) -> tuple[list[float], list[int], dict[int, float]]:
    """Send each payload at its slot of an even pace; (latencies, statuses, the wall-clock
    time each payload's answer came back, by index)."""
    gate = asyncio.Semaphore(64)
    start_at = time.perf_counter()
    times: list[float] = []
    statuses: list[int] = []
    answered: dict[int, float] = {}

    async def one(i: int, payload: bytes) -> None:
        await asyncio.sleep(max(0.0, start_at + i * seconds / len(payloads)
                                - time.perf_counter()))
        async with gate:
            took, status = await _one(port, payload)
        answered[i] = time.time()
        times.append(took)
        statuses.append(status)

    await asyncio.gather(*[one(i, p) for i, p in enumerate(payloads)])
    return times, statuses, answered


def out_of_order(rows: list[tuple], answered: dict[int, float]) -> tuple[int, int]:
    """(conversations never offered although a later one of their priority was offered
    after they were stored; those where the later offer came while they were still being
    stored). ``rows``: (sid index, priority, queued_at, first offer time or None), in
    queue order; a webhook answers after its commit, so its answer time bounds when the
    conversation became visible to a pairing pass."""
    strict = racing = 0
    for n, (index, priority, _queued, offered_at) in enumerate(rows):
        if offered_at is not None:
            continue
        stored = datetime.fromtimestamp(answered.get(index, 0.0), UTC).replace(tzinfo=None)
        later = [r[3] for r in rows[n + 1:] if r[1] == priority and r[3] is not None]
        if any(at > stored for at in later):
            strict += 1
        elif later:
            racing += 1
    return strict, racing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--volunteers", type=int, default=20)
    parser.add_argument("--crisis-share", type=float, default=0.05)
    parser.add_argument("--config", default="sync:2")
    parser.add_argument("--offer-timeout", type=int, default=60,
                        help="PEERLINE_OFFER_TIMEOUT_S for the line (seconds)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="peerline-surge-")
    port = free_port()
    with FakeTwilio() as fake:
        env = {**os.environ, "PEERLINE_GATEWAY": "twilio",
               "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_ACCOUNT_SID": fake.account_sid,
               "TWILIO_API_BASE_URL": fake.url, "PEERLINE_INSTANCE_DIR": tmp,
               "SECRET_KEY": "bench-secret-key-long-enough-for-the-line-0123456789",
               "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
               "PEERLINE_NUMBERS": "+15550000001,+15550000002,+15550000003",
               "PEERLINE_OFFER_TIMEOUT_S": str(args.offer_timeout)}
        app = create_app({k: env[k] for k in env if k.startswith(("PEERLINE", "TWILIO",
                                                                    "SECRET", "PUBLIC"))})
        svc = app.extensions["peerline"]
        with svc.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        schema.upgrade(svc.engine)
        svc.redis().flushdb()
        with svc.sessions.begin() as session:
            for i in range(args.volunteers):
                volunteer = roster.add_volunteer(session, svc.line, f"Peer {i}",
                                                 f"+1555888{i:04d}", "en,es", capacity=3)
                volunteer.on_shift, volunteer.shift_started_at = True, svc.line.now()
        crisis_every = round(1 / args.crisis_share) if args.crisis_share else 0
        payloads = []
        for i in range(args.texts):
            crisis = crisis_every and i % crisis_every == crisis_every - 1
            body = CRISIS if crisis else CALM[i % len(CALM)]
            payloads.append(request_bytes(port, {"MessageSid": f"SM{i:032d}",
                                                 "From": f"+1559{i:07d}", "To": LINE,
                                                 "Body": body, "NumMedia": "0"},
                                          token=fake.auth_token))
        log = open(os.path.join(tmp, "worker.log"), "w")  # noqa: SIM115
        worker = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "flask"),
                                   "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        web = start("wsgi:app", port, args.config, env)
        try:
            began = time.perf_counter()
            times, statuses, answered = asyncio.run(paced(port, payloads, args.seconds))
            sent = time.perf_counter()
            redis = Redis.from_url(env["REDIS_URL"])
            while True:
                with svc.engine.connect() as conn:
                    due = conn.execute(text("SELECT count(*) FROM tasks WHERE status='pending' "
                                            "AND not_before <= now() at time zone 'utc'")).scalar()
                if not due and redis.llen(f"rq:queue:{QUEUE_NAME}") == 0:
                    break
                if time.perf_counter() - sent > 600:
                    raise SystemExit(f"not drained after 10 minutes ({due} tasks due)")
                time.sleep(0.05)
            drained = time.perf_counter()
        finally:
            stop(web)
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:  # never leave one behind on this Redis db
                worker.kill()
                worker.wait()
            log.close()
        with svc.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*), count(DISTINCT sid) FROM messages")).one()
            convs = conn.execute(text("SELECT count(*), count(DISTINCT survivor_id) "
                                      "FROM conversations")).one()
            rows = conn.execute(text(
                "SELECT CAST(substr(m.sid, 3) AS integer), c.priority, c.queued_at, "
                "(SELECT min(o.created_at) FROM offers o WHERE o.conversation_id = c.id) "
                "FROM conversations c JOIN messages m ON m.conversation_id = c.id "
                "AND m.sender = 'survivor' "
                "ORDER BY c.priority DESC, c.queued_at, c.id")).all()
        bad = [s for s in statuses if not 200 <= s < 300]
        wrong, racing = out_of_order([tuple(r) for r in rows], answered)
        print(f"surge: {args.texts} first texts in {sent - began:.1f} s "
              f"({args.config}, {args.volunteers} volunteers on shift, 1 worker, "
              f"offer time-out {args.offer_timeout} s)")
        print(f"answers not 2xx: {len(bad)}; messages stored {stored[0]} "
              f"(distinct sids {stored[1]}); conversations {convs[0]} (survivors {convs[1]})")
        print(f"conversations offered: {sum(1 for r in rows if r[3])}; offer texts accepted "
              f"by the fake Twilio: {len(fake.messages)}")
        print(f"offered out of priority/arrival order: {wrong} (expected 0); passed over "
              f"while their own webhook was still storing them: {racing}")
        print(f"webhook p50 {pct(times, 0.5) * 1000:.1f} ms, p99 {pct(times, 0.99) * 1000:.1f} "
              f"ms; drained {drained - sent:.1f} s after the last text "
              f"({drained - began:.1f} s from the first)")
        if wrong or bad:
            raise SystemExit(f"FAILED: {wrong} conversation(s) offered out of order, "
                             f"{len(bad)} answer(s) not 2xx")


if __name__ == "__main__":
    main()
