"""Offer latency: a survivor's webhook to the offer handed to the gateway.

    .venv/bin/python bench/offer_bench.py [--runs 500] [--crisis-runs 100]
        [--crisis-volunteers 10[,20,...]] [--workers 1]

An idle volunteer on shift and a running worker (``flask --app wsgi worker``, a process
of its own, as the Procfile runs it), the Twilio gateway pointed at the fake Twilio of
the test suite (``tests/fake_twilio.py``, which stamps each accepted message with the
wall clock). Each run posts one signed first text to ``/sms/inbound`` (the app in this
process, Flask's test client) and waits for the offer to reach the fake Twilio; the
latency is the fake's acceptance time minus the moment the webhook was called. Between
runs the offer and the conversation are closed in the database, so the volunteer is idle
again. The crisis runs have ten volunteers on shift (or each of ``--crisis-volunteers``)
and time the last of the broadcast offers. A baseline figure of the same run: the
webhook's own time. Prints p50 / p99 for both, the crisis broadcast last. The schema is
dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text  # noqa: E402
from webhook_bench import pct, signed_with  # noqa: E402

from peerline import schema  # noqa: E402
from peerline.app import create_app  # noqa: E402
from peerline.models import Base  # noqa: E402
from peerline.people import roster  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = "https://bench.local"
LINE = "+15550000001"
CALM = "hi, I had a really rough night and I don't know who else to talk to about it"
CRISIS = "I want to end it all tonight, I have the pills right here"


def settings(fake: FakeTwilio, tmp: str) -> dict[str, str]:
    """A deployment's settings with the gateway on the fake Twilio."""
    return {"PEERLINE_GATEWAY": "twilio", "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_ACCOUNT_SID": fake.account_sid, "TWILIO_API_BASE_URL": fake.url,
            "SECRET_KEY": "bench-secret-key-long-enough-for-the-line-0123456789",
            "PUBLIC_BASE_URL": BASE, "PEERLINE_INSTANCE_DIR": tmp,
            "PEERLINE_NUMBERS": "+15550000001,+15550000002,+15550000003",
            # Each run's offers are withdrawn by ``reset``, but their time-out jobs stay
            # scheduled: with the default 60 s, a run longer than a minute had the one
            # worker running them (ten a crisis run) ahead of the runs' pairing jobs.
            "PEERLINE_OFFER_TIMEOUT_S": "3600",
            "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}


def reset(svc: Any) -> None:
    """Close every conversation and offer, so the volunteers are idle again."""
    with svc.engine.begin() as conn:
        conn.execute(text("UPDATE offers SET status='withdrawn' WHERE status='pending'"))
        conn.execute(text("UPDATE conversations SET status='closed', closed_reason='bench' "
                          "WHERE status IN ('waiting', 'active')"))


def wait_for(fake: FakeTwilio, count: int, timeout: float = 10.0) -> None:
    """Until the fake has accepted ``count`` messages."""
    deadline = time.monotonic() + timeout
    while len(fake.messages) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {len(fake.messages)} of {count} offers arrived")
        time.sleep(0.0005)


def run(runs: int, volunteers: int, body: str, label: str, fake: FakeTwilio,
        client: Any, svc: Any, group: int = 0) -> tuple[list[float], list[float]]:  # noqa: PLR0913
    """(latencies to the last offer, webhook times) in seconds, over ``runs`` runs;
    ``group`` keeps each run's volunteers, survivors and sids apart."""
    with svc.sessions.begin() as session:
        session.execute(text("UPDATE volunteers SET on_shift = false"))
        for i in range(volunteers):
            number = f"+1555{(7 + group) % 10:d}8{i:05d}"
            volunteer = roster.add_volunteer(session, svc.line, f"{label} {i}", number, "en,es",
                                             capacity=3)
            volunteer.on_shift, volunteer.shift_started_at = True, svc.line.now()
    latencies, webhook = [], []
    for i in range(runs + 5):
        reset(svc)
        before = len(fake.messages)
        params, signature = signed_with(BASE, svc.config["TWILIO_AUTH_TOKEN"], {
            "MessageSid": f"SM{label[0]}{group}{i:030d}", "From": f"+1558{group:d}{i:06d}",
            "To": LINE, "Body": body, "NumMedia": "0"})
        start = time.time()
        response = client.post("/sms/inbound", data=params,
                               headers={"X-Twilio-Signature": signature})
        answered = time.time()
        assert response.status_code == 200, response.status_code
        # The first runs warm the worker up (imports, lexicons: seconds on a busy box).
        wait_for(fake, before + volunteers, timeout=10.0 if i >= 5 else 60.0)
        if i >= 5:  # the first few warm the worker up
            latencies.append(max(m.created for m in fake.messages[before:]) - start)
            webhook.append(answered - start)
    return latencies, webhook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--crisis-runs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--crisis-volunteers", default="10",
                        help="volunteers on shift for the crisis runs; a list runs each")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="peerline-offer-")
    logging.disable(logging.WARNING)  # event lines (crisis escalations) on the terminal
    with FakeTwilio() as fake:
        config = settings(fake, tmp)
        app = create_app(dict(config))
        svc = app.extensions["peerline"]
        with svc.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        schema.upgrade(svc.engine)
        svc.redis().flushdb()
        env = {**os.environ, **config}
        log = open(os.path.join(tmp, "worker.log"), "w")  # noqa: SIM115
        workers = [subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "flask"),
                                     "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
                   for _ in range(args.workers)]
        try:
            time.sleep(3)  # the worker's app and lexicons load
            client = app.test_client()
            lat, hook = run(args.runs, 1, CALM, "normal", fake, client, svc)
            print(f"{args.workers} worker(s); offer, idle volunteer, {args.runs} runs: "
                  f"p50 {pct(lat, 0.5) * 1000:.1f} ms, "
                  f"p99 {pct(lat, 0.99) * 1000:.1f} ms (webhook alone p50 "
                  f"{pct(hook, 0.5) * 1000:.1f} ms, p99 {pct(hook, 0.99) * 1000:.1f} ms)")
            for k, size in enumerate(int(n) for n in args.crisis_volunteers.split(",")):
                clat, chook = run(args.crisis_runs, size, CRISIS, "crisis", fake, client, svc,
                                  group=k + 1)
                print(f"crisis broadcast to {size}, {args.crisis_runs} runs, last offer: p50 "
                      f"{pct(clat, 0.5) * 1000:.1f} ms, p99 {pct(clat, 0.99) * 1000:.1f} ms "
                      f"(webhook alone p50 {pct(chook, 0.5) * 1000:.1f} ms)")
            print(f"offer p99 {pct(lat, 0.99) * 1000:.1f} ms; crisis broadcast p99 "
                  f"{pct(clat, 0.99) * 1000:.1f} ms")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:  # never leave one behind: the next run's
                    worker.kill()  # schema and fake Twilio would not be its own
                    worker.wait()
            log.close()


if __name__ == "__main__":
    main()
