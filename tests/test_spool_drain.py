"""Draining the outage spool: many drainers at once lose nothing and store nothing twice;
bad data is parked in the dead letters instead of jamming the drain; an outage is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from peerline.app import create_app
from peerline.delivery import spool
from peerline.models import Message

from .helpers import LINE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEAD_DB = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1"
DEAD_REDIS = "redis://127.0.0.1:1/0"
#: Too big for the database's integer column: replaying it fails on its data.
POISON_MEDIA = "9" * 30


def survivor(i):
    return f"+155501{i % 50:05d}"


def form(i, **extra):
    params = {"MessageSid": f"SM{i:032d}", "From": survivor(i), "To": LINE,
              "Body": f"spooled text {i}", "NumMedia": "0"}
    params.update(extra)
    return params


def stored_sids(svc):
    with svc.sessions() as session:
        return session.scalars(select(Message.sid)).all()


def drainer_apps(settings, clock, n, **overrides):
    """``n`` apps, each with its own database engine and Redis connections."""
    return [create_app({**settings, **overrides}, clock=clock) for _ in range(n)]


def run_at_once(targets):
    """Run callables in threads started together; re-raise the first failure."""
    errors = []
    barrier = threading.Barrier(len(targets))

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.fixture
def file_dir(svc):
    """This host's spool folder, emptied after the test."""
    where = svc.config["INSTANCE_DIR"]
    yield where
    for name in os.listdir(where):
        if name.startswith("spool-sms"):
            os.unlink(os.path.join(where, name))


# --- Redis ------------------------------------------------------------------------------

@pytest.mark.parametrize("exclusive", [True, False], ids=["in-order", "claims-alone"])
def test_four_drainers_store_999_once_and_park_the_poisoned_one(
        svc, settings, clock, exclusive):
    redis = svc.redis()
    poison = 417
    for i in range(1000):
        extra = {"NumMedia": POISON_MEDIA} if i == poison else {}
        assert spool.keep(form(i, **extra), redis, svc.config["INSTANCE_DIR"], svc.line) == "redis"
    apps = drainer_apps(settings, clock, 4)
    kwargs = {} if exclusive else {"exclusive": False}

    def drainer(app):
        def drain():
            own = app.extensions["peerline"]
            while own.redis().llen(spool.REDIS_KEY):
                if not spool.drain_redis(own.sessions, own.line, own.redis(), **kwargs):
                    time.sleep(0.01)  # another drainer holds the spool
        return drain

    try:
        run_at_once([drainer(app) for app in apps])
    finally:
        for app in apps:
            app.extensions["peerline"].engine.dispose()

    sids = stored_sids(svc)
    assert len(sids) == 999
    assert set(sids) == {form(i)["MessageSid"] for i in range(1000) if i != poison}
    [parked] = redis.lrange(spool.DEAD_KEY, 0, -1)
    assert spool.decode(parked, svc.line)["MessageSid"] == form(poison)["MessageSid"]
    # dead letters hold words: they expire with the spool's time-to-live
    assert 0 < redis.ttl(spool.DEAD_KEY) <= spool.ttl_s(svc.line)
    assert redis.llen(spool.REDIS_KEY) == 0
    assert not redis.keys(spool.CLAIMED_PREFIX + "*")
    assert not redis.smembers(spool.DRAINERS_KEY)


def test_four_drainers_replay_one_survivors_texts_in_arrival_order(svc, settings, clock):
    redis = svc.redis()
    for i in range(60):
        spool.keep(form(i, From=survivor(0)), redis, svc.config["INSTANCE_DIR"], svc.line)
    apps = drainer_apps(settings, clock, 4)

    def drainer(app):
        def drain():
            own = app.extensions["peerline"]
            while own.redis().llen(spool.REDIS_KEY):
                if not spool.drain_redis(own.sessions, own.line, own.redis()):
                    time.sleep(0.01)
        return drain

    try:
        run_at_once([drainer(app) for app in apps])
    finally:
        for app in apps:
            app.extensions["peerline"].engine.dispose()
    with svc.sessions() as session:
        bodies = session.scalars(select(Message.body).order_by(Message.id)).all()
    assert bodies == [f"spooled text {i}" for i in range(60)]


def test_an_outage_is_not_bad_data_the_entry_waits_first_in_line(svc, settings, clock):
    redis = svc.redis()
    for i in range(3):
        spool.keep(form(i), redis, svc.config["INSTANCE_DIR"], svc.line)
    before = redis.lrange(spool.REDIS_KEY, 0, -1)
    down = create_app({**settings, "DATABASE_URL": DEAD_DB}, clock=clock)
    downs = down.extensions["peerline"]
    with pytest.raises(Exception) as raised:
        spool.drain_redis(downs.sessions, downs.line, redis)
    assert spool.is_outage(raised.value)
    assert redis.lrange(spool.REDIS_KEY, 0, -1) == before  # nothing parked, same order
    assert redis.llen(spool.DEAD_KEY) == 0
    assert spool.drain_redis(svc.sessions, svc.line, redis) == 3


def test_bad_input_is_parked_not_dropped_and_draining_goes_on(svc, caplog):
    redis = svc.redis()
    where = svc.config["INSTANCE_DIR"]
    spool.keep(form(1, From="not a phone"), redis, where, svc.line)
    redis.rpush(spool.REDIS_KEY, b"\x00not an entry")
    spool.keep(form(2), redis, where, svc.line)
    caplog.set_level("WARNING", logger="peerline.delivery.spool")
    assert spool.drain_redis(svc.sessions, svc.line, redis) == 1
    assert stored_sids(svc) == [form(2)["MessageSid"]]
    assert redis.llen(spool.DEAD_KEY) == 2
    parked = [r for r in caplog.records if "parked" in r.getMessage()]
    assert len(parked) == 2  # one line each, naming the error type only
    assert all("555" not in r.getMessage() and "text 1" not in r.getMessage()
               for r in parked)


def test_a_drainer_killed_mid_replay_leaves_its_entry_to_be_reclaimed(svc):
    redis = svc.redis()
    for i in range(3):
        spool.keep(form(i), redis, svc.config["INSTANCE_DIR"], svc.line)
    held = spool.claim_redis(redis, "killed-drainer")  # claimed, then the process died
    assert spool.decode(held, svc.line)["MessageSid"] == form(0)["MessageSid"]
    # While its lease holds nobody else takes it (it may still be replaying).
    assert spool.drain_redis(svc.sessions, svc.line, redis) == 2
    assert form(0)["MessageSid"] not in stored_sids(svc)
    redis.delete(spool.LEASE_PREFIX + "killed-drainer")  # the lease ran out
    assert spool.drain_redis(svc.sessions, svc.line, redis) == 1
    assert sorted(stored_sids(svc)) == sorted(form(i)["MessageSid"] for i in range(3))
    assert not redis.keys(spool.CLAIMED_PREFIX + "*")


def test_operator_lists_and_re_drives_dead_letters(app, svc):
    redis = svc.redis()
    where = svc.config["INSTANCE_DIR"]
    spool.keep(form(7), redis, where, svc.line)
    # As if an older release had failed on it: parked, and fixed since.
    raw = spool.claim_redis(redis, "old-release")
    assert spool.park_redis(redis, "old-release", raw, "KeyError", svc.line.now().isoformat())
    spool.release_redis(redis, "old-release")
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["spool", "list"])
    assert listing.exit_code == 0, listing.output
    assert "1 dead letters" in listing.output and "KeyError" in listing.output
    assert form(7)["MessageSid"] in listing.output
    assert "555" not in listing.output and "spooled" not in listing.output
    assert runner.invoke(args=["spool", "retry"]).exit_code != 0  # which ones?
    retried = runner.invoke(args=["spool", "retry", spool.entry_id(raw)])
    assert retried.exit_code == 0, retried.output
    assert "replayed 1" in retried.output
    assert stored_sids(svc) == [form(7)["MessageSid"]]
    assert redis.llen(spool.DEAD_KEY) == 0 and not redis.hgetall(spool.DEAD_WHY_KEY)


# --- the file spool (Redis down too) -----------------------------------------------------

WRITER = f"""
import json, sys
from redis import Redis
from peerline.app import create_app
from peerline.delivery import spool
where, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = create_app(json.loads(sys.argv[4])).extensions["peerline"].line  # the same keys
dead = Redis.from_url("{DEAD_REDIS}", socket_connect_timeout=0.2)
for i in range(first, first + count):
    spool.keep({{"MessageSid": f"SM{{i:032d}}", "From": f"+155501{{i % 50:05d}}",
                "To": "{LINE}", "Body": f"spooled text {{i}}", "NumMedia": "0"}}, dead, where,
               line)
"""

HOLDER = """
import fcntl, sys, time
from peerline.delivery import spool
path = spool.claim_file(sys.argv[1])
handle = open(path)
fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
print(path, flush=True)
time.sleep(120)
"""


def _python(code, *args):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


def test_file_spool_drainers_in_several_processes_lose_nothing_and_park_bad_lines(
        svc, settings, clock, file_dir):
    dead = create_app({**settings, "REDIS_URL": DEAD_REDIS}, clock=clock)
    dead_redis = dead.extensions["peerline"].redis()
    for i in range(100):
        extra = {"NumMedia": POISON_MEDIA} if i == 50 else {}
        assert spool.keep(form(i, **extra), dead_redis, file_dir, svc.line) == "file"
    # Another process keeps spooling while four drainers work.
    writer = _python(WRITER, file_dir, 100, 200,
                     json.dumps({k: v for k, v in settings.items() if k != "TESTING"}))
    apps = drainer_apps(settings, clock, 4)

    def drainer(app):
        def drain():
            own = app.extensions["peerline"]
            while True:
                done = writer.poll() is not None
                if spool.drain_file(own.sessions, own.line, file_dir):
                    continue
                if done and not spool.has_leftovers(file_dir):
                    return
                time.sleep(0.01)  # nothing free to take just now
        return drain

    try:
        run_at_once([drainer(app) for app in apps])
    finally:
        writer.wait(timeout=60)
        for app in (*apps, dead):
            app.extensions["peerline"].engine.dispose()
    assert writer.returncode == 0
    sids = stored_sids(svc)
    assert len(sids) == 299
    assert set(sids) == {form(i)["MessageSid"] for i in range(300) if i != 50}
    with open(spool.dead_path(file_dir), encoding="utf-8") as handle:
        [parked] = handle.read().splitlines()
    assert spool.decode(parked, svc.line)["MessageSid"] == form(50)["MessageSid"]
    assert not spool.claimed_files(file_dir)


def test_a_file_drainer_killed_mid_replay_is_taken_over(svc, settings, clock, file_dir):
    dead = create_app({**settings, "REDIS_URL": DEAD_REDIS}, clock=clock)
    dead_redis = dead.extensions["peerline"].redis()
    for i in range(3):
        spool.keep(form(i), dead_redis, file_dir, svc.line)
    holder = _python(HOLDER, file_dir)  # claims the file and "replays" it for a while
    try:
        claimed = holder.stdout.readline().strip()
        assert claimed in spool.claimed_files(file_dir)
        spool.keep(form(3), dead_redis, file_dir, svc.line)  # arrives meanwhile: a fresh file
        assert spool.drain_file(svc.sessions, svc.line, file_dir) == 1
        assert os.path.exists(claimed)  # a live drainer's file is left to it
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        holder.stdout.close()
        dead.extensions["peerline"].engine.dispose()
    assert spool.drain_file(svc.sessions, svc.line, file_dir) == 3  # its lock died with it
    assert sorted(stored_sids(svc)) == sorted(form(i)["MessageSid"] for i in range(4))
    assert not spool.has_leftovers(file_dir)


def test_a_file_spool_left_before_a_restart_is_replayed(svc, settings, clock, file_dir):
    dead = create_app({**settings, "REDIS_URL": DEAD_REDIS}, clock=clock)
    spool.keep(form(1), dead.extensions["peerline"].redis(), file_dir, svc.line)
    dead.extensions["peerline"].engine.dispose()
    spool._pending.clear()  # the process that spooled it is gone
    from peerline.delivery.sweeper import sweep

    assert sweep(svc)["unspooled"] == 1
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1
