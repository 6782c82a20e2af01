"""Webhook speed as a ratio against a bare Flask route, in the same process.

    .venv/bin/python bench/webhook_bench.py [N]

Runs N signed inbound texts (distinct survivors, so each is a new conversation: the
heaviest path — store, crisis scan, pairing task, welcome reply) through the real app
with Flask's test client, and N requests to a bare Flask route returning constant TwiML.
Uses DATABASE_URL / REDIS_URL when set, else the embedded defaults in a temp folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask import Flask  # noqa: E402

from peerline import schema
from peerline.app import create_app  # noqa: E402
from peerline.models import Base  # noqa: E402
from peerline.telephony.signature import sign  # noqa: E402

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>hi</Message></Response>'
BODIES = [
    "hi, I had a really rough night and I don't know who else to talk to about it",
    "this week at work has been killing me and I can't sleep, can someone text back",
    "I want to end it all tonight, I have the pills right here",
    "hola, necesito hablar con alguien, no me siento bien hoy",
]


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/sms/inbound")
    def inbound():
        return TWIML, 200, {"Content-Type": "text/xml"}

    return app


def run(n: int) -> None:
    tmp = tempfile.mkdtemp(prefix="peerline-bench-")
    app = create_app({"PEERLINE_INSTANCE_DIR": tmp, "PUBLIC_BASE_URL": "https://bench.local",
                      "TWILIO_AUTH_TOKEN": "bench", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                      "PEERLINE_GATEWAY": "local"})
    svc = app.extensions["peerline"]
    with svc.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    schema.upgrade(svc.engine)
    requests = []
    for i in range(n):
        params = {"MessageSid": f"SM{i:032d}", "From": f"+1555{i:07d}", "To": "+15550000001",
                  "Body": BODIES[i % len(BODIES)], "NumMedia": "0"}
        requests.append((params, sign("https://bench.local/sms/inbound", params, "bench")))

    from peerline.crisis import detect

    detect("warm up the lexicons")  # loaded once per process (wsgi.py does this too)
    bare = bare_app().test_client()
    start = time.perf_counter()
    for params, _ in requests:
        bare.post("/sms/inbound", data=params)
    bare_s = time.perf_counter() - start

    client = app.test_client()
    start = time.perf_counter()
    for params, signature in requests:
        response = client.post("/sms/inbound", data=params,
                               headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
    line_s = time.perf_counter() - start

    db = svc.engine.url.get_backend_name()
    print(f"database={db} requests={n}")
    print(f"bare Flask route:  {n / bare_s:8.0f} req/s  ({bare_s / n * 1000:.2f} ms each)")
    print(f"/sms/inbound:      {n / line_s:8.0f} req/s  ({line_s / n * 1000:.2f} ms each)")
    print(f"ratio (webhook / bare): {bare_s / line_s:.3f}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
