"""Chaos runs on real processes: gunicorn web, ``flask --app wsgi worker`` workers,
PostgreSQL, a private redis-server, and the fake Twilio (in this process).

    .venv/bin/python bench/chaos/chaos.py redis    # Redis killed, restarted empty
    .venv/bin/python bench/chaos/chaos.py kill     # a worker SIGKILLed mid-send
    .venv/bin/python bench/chaos/chaos.py twilio   # Twilio answers 20% 429/500/time-outs

Six survivors are paired with three volunteers (through the line itself: offers, YES),
then each survivor texts a numbered stream while the fault happens. Every survivor text
must reach its volunteer exactly once, in order. Prints counts and recovery time; exits
non-zero when anything is lost, duplicated, out of order, refused, or late.
Loopback only; bounded in time (a few minutes) and requests (a few hundred).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import psutil
import requests
from sqlalchemy import create_engine, func, select, text

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from peerline import schema  # noqa: E402
from peerline.models import Base, Conversation, Message  # noqa: E402
from peerline.telephony.signature import sign  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

# The interpreter's own bin folder (``.venv/bin`` when run as the README says).
BIN = os.path.dirname(os.path.abspath(sys.executable))
# Its own database: the test suite wipes ``test`` whenever anyone runs it, which would
# wipe a chaos run in the middle. ``CHAOS_DATABASE_URL=…/test`` runs it there.
DB_URL = os.environ.get("CHAOS_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/peerline_chaos")
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "6390"))
# ``CHAOS_REDIS_URL`` (loopback only) uses a Redis that is already running, flushing its
# database first; no private redis-server is started (not for the ``redis`` scenario).
EXTERNAL_REDIS = os.environ.get("CHAOS_REDIS_URL", "")
REDIS_URL = EXTERNAL_REDIS or f"redis://127.0.0.1:{REDIS_PORT}/0"
if EXTERNAL_REDIS and not EXTERNAL_REDIS.startswith(("redis://127.0.0.1", "redis://localhost")):
    raise SystemExit("CHAOS_REDIS_URL must be on loopback")
LINES = ["+15550000001", "+15550000002", "+15550000003"]
VOLUNTEERS = ["+15550100001", "+15550100002", "+15550100003"]
SURVIVORS = [f"+155501990{i:02d}" for i in range(1, 7)]
TOKEN = "chaos-auth-token"
RUN_DIR = os.environ.get("CHAOS_RUN_DIR", "/tmp/peerline-chaos")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


class Line:
    """The processes under test and the phones that text them."""

    def __init__(self, fake: FakeTwilio, workers: int) -> None:
        self.fake = fake
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=DB_URL, REDIS_URL=REDIS_URL,
                        TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=TOKEN,
                        TWILIO_API_BASE_URL=fake.url, PEERLINE_GATEWAY="twilio",
                        PUBLIC_BASE_URL=self.base, PEERLINE_NUMBERS=",".join(LINES),
                        SECRET_KEY="chaos-secret-key-0123456789", TWILIO_TIMEOUT_S="2",
                        PEERLINE_ONCALL_NUMBER="", PYTHONUNBUFFERED="1",
                        PEERLINE_INSTANCE_DIR=f"{RUN_DIR}/instance")
        for name in ("TWILIO_REGION", "TWILIO_EDGE"):
            self.env.pop(name, None)
        self.engine = create_engine(DB_URL)
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.n_workers = workers
        self.session = requests.Session()

    # --- processes --------------------------------------------------------------------

    def redis_start(self) -> None:
        subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--pidfile", f"{RUN_DIR}/redis.pid", "--logfile",
                        f"{RUN_DIR}/redis.log"], check=True)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", REDIS_PORT), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def redis_kill(self) -> None:
        with open(f"{RUN_DIR}/redis.pid") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not psutil.pid_exists(pid):
                break
            time.sleep(0.05)
        os.unlink(f"{RUN_DIR}/redis.pid")

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(f"{RUN_DIR}/{log}.log", "ab")  # lives as long as the process
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def start_worker(self) -> subprocess.Popen:
        proc = self._spawn([f"{BIN}/flask", "--app", "wsgi", "worker"],
                           f"worker-{len(self.workers)}")
        self.workers.append(proc)
        return proc

    def start(self) -> None:
        os.makedirs(RUN_DIR, exist_ok=True)
        _ensure_database(DB_URL)
        if EXTERNAL_REDIS:
            import redis

            redis.Redis.from_url(EXTERNAL_REDIS).flushdb()
        else:
            self.redis_start()
        with self.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        schema.upgrade(self.engine)
        for i, phone in enumerate(VOLUNTEERS):
            subprocess.run([f"{BIN}/flask", "--app", "wsgi", "roster", "add", "--name",
                            f"V{i}", "--phone", phone, "--capacity", "2"], cwd=ROOT,
                           env=self.env, check=True, stdout=subprocess.DEVNULL)
        self._spawn([f"{BIN}/gunicorn", "--workers", "2", "--bind",
                     f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null", "wsgi:app"],
                    "web")
        for _ in range(self.n_workers):
            self.start_worker()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.session.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("web did not come up")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not EXTERNAL_REDIS and os.path.exists(f"{RUN_DIR}/redis.pid"):
            self.redis_kill()
        self.engine.dispose()

    # --- phones -----------------------------------------------------------------------

    def text(self, from_: str, body: str, to: str = LINES[0], sid: str | None = None) -> int:
        params = {"MessageSid": sid or "SM" + os.urandom(16).hex(), "AccountSid":
                  self.fake.account_sid, "From": from_, "To": to, "Body": body,
                  "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                  "ApiVersion": "2010-04-01"}
        url = self.base + "/sms/inbound"
        headers = {"X-Twilio-Signature": sign(url, params, TOKEN)}
        try:
            return self.session.post(url, data=params, headers=headers, timeout=10).status_code
        except requests.RequestException:
            return 0

    def active(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Conversation.__table__).where(
                Conversation.status == "active"))

    def pair_everyone(self, limit_s: float = 120) -> None:
        for volunteer in VOLUNTEERS:
            self.text(volunteer, "ON")
        for survivor in SURVIVORS:
            self.text(survivor, "hi, is someone there?")
        answered: set[str] = set()
        deadline = time.monotonic() + limit_s
        while self.active() < len(SURVIVORS):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.active()} conversations paired")
            for offer in self.fake.delivered():
                if "YES" in offer.body and offer.sid not in answered \
                        and offer.to in VOLUNTEERS:
                    answered.add(offer.sid)
                    self.text(offer.to, "YES", to=offer.from_)
            time.sleep(0.3)


def stream(line: Line, rounds: int, rate: float, on_round=None) -> tuple[dict, Counter]:
    """Each survivor texts ``rounds`` numbered messages; returns expected and codes."""
    expected: dict[str, list[str]] = {s: [] for s in SURVIVORS}
    codes: Counter = Counter()
    for i in range(rounds):
        if on_round is not None:
            on_round(i)
        for k, survivor in enumerate(SURVIVORS):
            body = f"chaos c{k} m{i:03d}"
            codes[line.text(survivor, body)] += 1
            expected[survivor].append(body)
            time.sleep(1.0 / rate)
    return expected, codes


def survivor_texts(line: Line) -> int:
    """Survivors' texts stored so far (bodies are sealed at rest: rows, not words)."""
    with line.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Message.__table__).where(
            Message.sender == "survivor", Message.kind == "text"))


def tally(line: Line, expected: dict[str, list[str]], stored_before: int = 0
          ) -> dict[str, int]:
    """Counts of the stream's texts; ``stored_before``: survivors' texts stored before
    it (the first texts that paired them), not counted as the stream's."""
    wanted = {b for bodies in expected.values() for b in bodies}
    delivered = [m.body for m in line.fake.delivered() if m.body in wanted]
    counts = Counter(delivered)
    stored = survivor_texts(line) - stored_before
    out_of_order = 0
    for bodies in expected.values():
        got = [b for b in delivered if b in set(bodies)]
        firsts = list(dict.fromkeys(got))
        if firsts != [b for b in bodies if b in counts]:
            out_of_order += 1
    return {"sent": len(wanted), "stored": stored, "delivered": len(counts),
            "duplicated": sum(n - 1 for n in counts.values() if n > 1),
            "lost": len(wanted - set(counts)), "out_of_order": out_of_order}


def wait_all(line: Line, expected: dict[str, list[str]], limit_s: float) -> float | None:
    start = time.monotonic()
    wanted = {b for bodies in expected.values() for b in bodies}
    while time.monotonic() - start < limit_s:
        got = {m.body for m in line.fake.delivered() if m.body in wanted}
        if got == wanted:
            return time.monotonic() - start
        time.sleep(0.25)
    return None


# --- scenarios ----------------------------------------------------------------------------

def scenario_redis(line: Line, rounds: int) -> dict:
    if EXTERNAL_REDIS:
        raise SystemExit("the redis scenario kills Redis: run it without CHAOS_REDIS_URL")
    events: dict[str, float] = {}

    def fault(i: int) -> None:
        if i == rounds // 3:
            line.redis_kill()
            events["killed"] = time.monotonic()
        if i == 2 * rounds // 3:
            line.redis_start()  # empty: no queue, no scheduled job, no worker keys
            events["restarted"] = time.monotonic()

    expected, codes = stream(line, rounds, rate=20, on_round=fault)
    waited = wait_all(line, expected, limit_s=90)
    recovery = None if waited is None else time.monotonic() - events["restarted"]
    return {"expected": expected, "codes": codes, "recovery_s": recovery, "limit_s": 60,
            "redis_down_s": events["restarted"] - events["killed"]}


def _worker_pid_for_port(line: Line, port: int) -> int | None:
    pids = {w.pid for w in line.workers if w.poll() is None}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.pid in pids:
            return conn.pid
    for pid in pids:  # net_connections may not report pids without privileges
        try:
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.laddr and conn.laddr.port == port:
                    return pid
        except psutil.Error:
            continue
    return None


def scenario_kill(line: Line, rounds: int) -> dict:
    line.fake.configure(slow_s=3.0)  # sends take 3 s: a kill lands mid-send
    result: dict = {}

    def killer() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "killed_pid" not in result:
            for port, message in list(line.fake.in_flight.items()):
                pid = _worker_pid_for_port(line, port)
                if pid is not None and message is not None:
                    os.kill(pid, signal.SIGKILL)
                    result.update(killed_pid=pid, killed_at=time.monotonic(),
                                  in_flight_sid=message.sid, in_flight_body=message.body)
                    line.fake.configure(slow_s=0.05)
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    expected, codes = stream(line, rounds, rate=20)
    thread.join()
    if "killed_pid" not in result:
        raise RuntimeError("no send was caught in flight")
    # The in-flight text: accepted by Twilio, unheard by the dead worker. When does the
    # database learn it was sent (picked up elsewhere, found by already_sent)?
    pickup = None
    deadline = result["killed_at"] + 90
    while time.monotonic() < deadline:
        with line.engine.connect() as conn:
            status = conn.scalar(text("SELECT status FROM outbound_messages WHERE sid = :sid"),
                                 {"sid": result["in_flight_sid"]})
        if status is not None:
            pickup = time.monotonic() - result["killed_at"]
            break
        time.sleep(0.25)
    wait_all(line, expected, limit_s=max(10.0, deadline - time.monotonic()))
    return {"expected": expected, "codes": codes, "recovery_s": pickup, "limit_s": 45,
            "killed_pid": result["killed_pid"]}


def scenario_twilio(line: Line, rounds: int) -> dict:
    line.fake.configure(fault_rate=0.2, faults=("429", "500", "hang", "accept_500"),
                        hang_s=3.0, fault_lists=True)
    start = time.monotonic()
    expected, codes = stream(line, rounds, rate=20)
    waited = wait_all(line, expected, limit_s=120)
    return {"expected": expected, "codes": codes,
            "recovery_s": None if waited is None else time.monotonic() - start,
            "limit_s": 180, "faults": line.fake.faults_seen()}


SCENARIOS = {"redis": scenario_redis, "kill": scenario_kill, "twilio": scenario_twilio}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--rounds", type=int, default=15, help="texts per survivor")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    # One token signs webhooks and authenticates REST calls, as with real Twilio.
    fake = FakeTwilio(auth_token=TOKEN, seed=args.seed).start()
    line = Line(fake, args.workers)
    try:
        line.start()
        line.pair_everyone()
        paired_by = survivor_texts(line)  # the first texts: not the stream's
        outcome = SCENARIOS[args.scenario](line, args.rounds)
        counts = tally(line, outcome["expected"], paired_by)
    finally:
        line.stop()
        fake.stop()
    recovery = outcome["recovery_s"]
    refused = sum(n for code, n in outcome["codes"].items() if not 200 <= code < 300)
    print(f"scenario={args.scenario} rounds={args.rounds} workers={args.workers} "
          f"seed={args.seed}")
    print("counts: " + " ".join(f"{k}={v}" for k, v in counts.items()) +
          f" webhook_non_2xx={refused}")
    extra = {k: v for k, v in outcome.items()
             if k not in ("expected", "codes", "recovery_s", "limit_s")}
    if extra:
        print("details: " + " ".join(f"{k}={v}" for k, v in extra.items()))
    shown = "never" if recovery is None else f"{recovery:.1f}s"
    print(f"recovery: {shown} (limit {outcome['limit_s']}s)")
    ok = (counts["lost"] == 0 and counts["duplicated"] == 0 and counts["out_of_order"] == 0
          and refused == 0 and counts["stored"] == counts["sent"]
          and recovery is not None and recovery <= outcome["limit_s"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
