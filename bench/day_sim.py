"""A simulated day: the real intake and pairing code under a simulated clock, next to
Erlang C.

    .venv/bin/python bench/day_sim.py [--seed 1] [--handle-min 12] [--crisis-share 0.05]
        [--occupancy 0.85] [--steady-hours 60] [--plots bench/plots]

Two runs on an embedded SQLite database (the same code as on PostgreSQL; Redis is not
used: the simulation runs pairing itself instead of a worker):

- **day**: 24 hours of Poisson arrivals whose rate varies by hour (a crisis line's
  evening peak), exponential handling times (mean ``--handle-min``), a roster that puts
  ``ceil(A / occupancy)`` volunteers (capacity 1: one conversation each) on shift each
  hour, a share of crisis texts (``--crisis-share``). Per hour: arrivals, on shift,
  mean and p90 wait (offer accepted at once: the wait is queue time), Erlang C's mean
  wait for the same hour's rate and staffing.
- **steady**: ``--steady-hours`` at one rate and staffing (``--occupancy``), where Erlang
  C's assumptions (a stationary queue) hold: the mean wait of all contacts against
  Erlang C's (pairing is work-conserving, and with crisis first the mean over all
  contacts is that of first-come-first-served), and crisis against normal mean wait.

Every arrival is a text through ``intake.receive_sms`` (crisis detection included);
every pairing pass is ``pairing.pair`` and the volunteer answers YES at once
(``pairing.accept``); a conversation ends with ``conversations.end``. Writes
``day_waits.png`` and ``steady_waits.png`` to ``--plots``. Last line: the steady-state
mean wait over Erlang C's.
"""

from __future__ import annotations

import argparse
import heapq
import logging
import math
import os
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sqlalchemy import select  # noqa: E402

from peerline import schema  # noqa: E402
from peerline.app import create_app  # noqa: E402
from peerline.models import Conversation, Offer, OfferStatus, Volunteer  # noqa: E402
from peerline.people import roster  # noqa: E402
from peerline.staffing.erlang import serve  # noqa: E402
from peerline.text import conversations, intake, pairing  # noqa: E402

LINE = "+15550000001"
#: Arrivals an hour, by hour of day (a crisis line: quiet mornings, an evening peak).
DAY_RATES = [4, 3, 2, 2, 2, 3, 4, 6, 8, 9, 10, 10, 10, 10, 11, 12, 14, 16, 18, 20, 20, 18,
             12, 7]
CALM = ["hi, I had a rough night and I don't know who else to talk to",
        "hola, necesito hablar con alguien, no me siento bien hoy",
        "can someone text back, work has been a lot this week"]
CRISIS = "I want to end it all tonight, I have the pills right here"
START = datetime(2026, 12, 7, 0, 0, 0)


class SimClock:
    """The line's clock, moved by the simulation."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Result:
    """Waits (seconds) by arrival hour, for normal and crisis contacts."""

    normal: dict[int, list[float]] = field(default_factory=dict)
    crisis: dict[int, list[float]] = field(default_factory=dict)

    def add(self, hour: int, wait: float, crisis: bool) -> None:
        (self.crisis if crisis else self.normal).setdefault(hour, []).append(wait)

    def all(self, hour: int | None = None) -> list[float]:
        hours = [hour] if hour is not None else sorted(set(self.normal) | set(self.crisis))
        return [w for h in hours for w in self.normal.get(h, []) + self.crisis.get(h, [])]


class Simulation:
    """Arrivals, pairing passes and endings on one event heap."""

    def __init__(self, seed: int, handle_min: float, crisis_share: float) -> None:
        self.rng = random.Random(seed)
        self.handle_s = handle_min * 60
        self.crisis_share = crisis_share
        self.clock = SimClock()
        # In memory-backed storage when there is some: thousands of commits, no fsyncs.
        tmp = tempfile.mkdtemp(prefix="peerline-day-",
                               dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(tmp, "day.db"),
                               "PEERLINE_INSTANCE_DIR": tmp, "PEERLINE_GATEWAY": "local",
                               "REDIS_URL": "redis://127.0.0.1:1/0",
                               "PEERLINE_NUMBERS": LINE}, clock=self.clock)
        self.svc = self.app.extensions["peerline"]
        self.svc.kicker.kick = lambda *_a, **_k: True  # no worker: pairing runs here
        schema.upgrade(self.svc.engine)
        self.events: list[tuple[datetime, int, str, Any]] = []
        self.seq = 0
        self.result = Result()
        self.volunteers: list[int] = []
        self.crisis_ids: set[int] = set()

    def at(self, when: datetime, kind: str, ref: Any = None) -> None:
        """Schedule an event."""
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, ref))

    def staff(self, count: int) -> None:
        """Exactly ``count`` volunteers on shift (added to the roster as needed). Those
        going off finish their live conversations; they take no new ones."""
        with self.svc.sessions.begin() as session:
            while len(self.volunteers) < count:
                i = len(self.volunteers)
                volunteer = roster.add_volunteer(session, self.svc.line, f"Peer {i}",
                                                 f"+1555888{i:04d}", "en,es", capacity=1)
                self.volunteers.append(volunteer.id)
            for i, vid in enumerate(self.volunteers):
                volunteer = session.get(Volunteer, vid)
                on = i < count
                if on and not volunteer.on_shift:
                    volunteer.on_shift, volunteer.shift_started_at = True, self.clock.now
                elif not on:
                    volunteer.on_shift = False

    def arrive(self, n: int, crisis: bool) -> None:
        """One first text from a new survivor."""
        body = CRISIS if crisis else CALM[n % len(CALM)]
        with self.svc.sessions.begin() as session:
            intake.receive_sms(session, self.svc.line, sid=f"SM{n:032d}",
                               from_raw=f"+1556{n:07d}", to_raw=LINE, body=body)

    def pair(self) -> None:
        """Pairing passes until no offer is made; each offer is accepted at once (for a
        crisis broadcast, by the best-placed volunteer; the others are withdrawn)."""
        line = self.svc.line
        while True:
            with self.svc.sessions.begin() as session:
                if not pairing.pair(session, line):
                    return
            with self.svc.sessions.begin() as session:
                offers = session.scalars(select(Offer).where(
                    Offer.status == OfferStatus.PENDING).order_by(Offer.id)).all()
                for offer in offers:
                    if offer.status != OfferStatus.PENDING:
                        continue  # withdrawn by a broadcast's accept
                    conversation = session.get(Conversation, offer.conversation_id)
                    pairing.accept(session, line, offer.volunteer, offer)
                    session.refresh(conversation)
                    if conversation.volunteer_id != offer.volunteer_id:
                        continue
                    wait = (conversation.assigned_at - conversation.queued_at).total_seconds()
                    hour = int((conversation.queued_at - START).total_seconds() // 3600)
                    self.result.add(hour, wait, conversation.priority > 0)
                    self.at(self.clock.now + timedelta(
                        seconds=self.rng.expovariate(1 / self.handle_s)), "end",
                        conversation.id)

    def end(self, conversation_id: int) -> None:
        """The volunteer ends the conversation."""
        with self.svc.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            conversations.end(session, self.svc.line, conversation, by="volunteer")

    def run(self, rates: list[float], staffing: list[int]) -> Result:
        """Hours of Poisson arrivals at ``rates`` with ``staffing`` on shift."""
        n = 0
        for hour, rate in enumerate(rates):
            self.at(START + timedelta(hours=hour), "staff", staffing[hour])
            t = 0.0
            while rate > 0:
                t += self.rng.expovariate(rate / 3600)
                if t >= 3600:
                    break
                n += 1
                self.at(START + timedelta(hours=hour, seconds=t), "arrive",
                        (n, self.rng.random() < self.crisis_share))
        while self.events:
            when, _, kind, ref = heapq.heappop(self.events)
            self.clock.now = when
            if kind == "staff":
                self.staff(ref)
            elif kind == "arrive":
                self.arrive(*ref)
            elif kind == "end":
                self.end(ref)
            self.pair()
        return self.result


def agents_for(rate: float, handle_min: float, occupancy: float) -> int:
    """Volunteers (capacity 1) for an hour at ``occupancy`` (at least one)."""
    return max(1, math.ceil(rate * handle_min / 60 / occupancy))


def erlang_wait(rate: float, agents: int, handle_min: float) -> float:
    """Erlang C's mean wait in seconds."""
    return serve(agents, rate, handle_min, 60).mean_wait_s


def p90(values: list[float]) -> float:
    """90th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0


def mean(values: list[float]) -> float:
    """Mean, 0 for none."""
    return statistics.fmean(values) if values else 0.0


def day(args: argparse.Namespace) -> None:
    """The 24-hour run, its table and plot."""
    staffing = [agents_for(r, args.handle_min, args.occupancy) for r in DAY_RATES]
    result = Simulation(args.seed, args.handle_min, args.crisis_share).run(DAY_RATES, staffing)
    print(f"day: {len(result.all())} contacts, handling {args.handle_min} min, crisis share "
          f"{args.crisis_share:.0%}, staffing ceil(A / {args.occupancy})")
    print("hour  rate  on shift  contacts  mean wait s  p90 s   Erlang C mean s")
    sim, erl = [], []
    for hour, rate in enumerate(DAY_RATES):
        waits = result.all(hour)
        sim.append(mean(waits))
        erl.append(erlang_wait(rate, staffing[hour], args.handle_min))
        print(f"{hour:4d}  {rate:4d}  {staffing[hour]:8d}  {len(waits):8d}  {sim[-1]:11.1f}  "
              f"{p90(waits):6.1f}  {erl[-1]:15.1f}")
    normal = [w for ws in result.normal.values() for w in ws]
    crisis = [w for ws in result.crisis.values() for w in ws]
    print(f"day: mean wait {mean(normal + crisis):.1f} s; normal {mean(normal):.1f} s, "
          f"crisis {mean(crisis):.1f} s ({len(crisis)} crisis contacts)")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    hours = list(range(24))
    top.plot(hours, sim, "o-", label="simulated mean wait")
    top.plot(hours, [p90(result.all(h)) for h in hours], "^:", label="simulated p90 wait")
    top.plot(hours, erl, "s--", label="Erlang C mean wait")
    top.set_ylabel("wait (s)")
    top.legend()
    bottom.bar(hours, staffing, color="tab:green", alpha=0.6, label="volunteers on shift")
    bottom.plot(hours, DAY_RATES, "k.-", label="arrivals / hour")
    bottom.set_xlabel("hour of day")
    bottom.legend()
    fig.suptitle(f"A simulated day (handling {args.handle_min} min, occupancy target "
                 f"{args.occupancy:.0%})")
    fig.savefig(os.path.join(args.plots, "day_waits.png"), dpi=90)


def steady(args: argparse.Namespace) -> float:
    """The stationary run; returns simulated / Erlang C mean wait."""
    agents = 10
    rate = args.occupancy * agents * 60 / args.handle_min
    hours = args.steady_hours
    result = Simulation(args.seed + 1, args.handle_min, args.crisis_share).run(
        [rate] * hours, [agents] * hours)
    warm = 2  # the first hours start from an empty queue
    waits = [w for h in range(warm, hours) for w in result.all(h)]
    normal = [w for h in range(warm, hours) for w in result.normal.get(h, [])]
    crisis = [w for h in range(warm, hours) for w in result.crisis.get(h, [])]
    expected = erlang_wait(rate, agents, args.handle_min)
    batches = [mean(result.all(h)) for h in range(warm, hours)]
    half = 1.96 * statistics.stdev(batches) / math.sqrt(len(batches)) if len(batches) > 1 else 0
    print(f"steady: {agents} volunteers, {rate:.1f} arrivals/h, handling {args.handle_min} "
          f"min, occupancy {rate * args.handle_min / 60 / agents:.0%}, {hours - warm} hours "
          f"after {warm} warm-up, {len(waits)} contacts")
    print(f"steady: mean wait {mean(waits):.1f} s (±{half:.1f} s, 95% over hourly batches), "
          f"Erlang C {expected:.1f} s; p90 {p90(waits):.1f} s")
    print(f"steady: normal mean {mean(normal):.1f} s, crisis mean {mean(crisis):.1f} s "
          f"({len(crisis)} crisis): crisis/normal {mean(crisis) / max(mean(normal), 1e-9):.3f}")
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(range(warm, hours), batches, ".-", label="simulated mean wait, per hour")
    ax.axhline(expected, color="tab:red", ls="--", label="Erlang C mean wait")
    ax.axhline(mean(waits), color="tab:blue", ls=":", label="simulated mean wait, overall")
    ax.set_xlabel("hour")
    ax.set_ylabel("wait (s)")
    ax.legend()
    fig.suptitle(f"Steady state: {agents} volunteers at {args.occupancy:.0%} occupancy")
    fig.savefig(os.path.join(args.plots, "steady_waits.png"), dpi=90)
    return mean(waits) / expected


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--handle-min", type=float, default=12.0)
    parser.add_argument("--crisis-share", type=float, default=0.05)
    parser.add_argument("--occupancy", type=float, default=0.85)
    parser.add_argument("--steady-hours", type=int, default=60)
    parser.add_argument("--plots", default=os.path.join(os.path.dirname(__file__), "plots"))
    parser.add_argument("--skip-day", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the line's event log lines, thousands of them
    os.makedirs(args.plots, exist_ok=True)
    if not args.skip_day:
        day(args)
    ratio = steady(args)
    print(f"steady-state mean wait / Erlang C: {ratio:.3f}")


if __name__ == "__main__":
    main()
