"""A simulated day: the real intake and pairing code under a simulated clock, next to
Erlang C (mean wait) and Cobham (crisis and normal waits under crisis-first order).

    .venv/bin/python bench/day_sim.py [--days 4] [--reps 4] [--steady-hours 30] [--warm-hours 4]
        [--ideal-hours 200000] [--ideal-reps 40] [--jobs 2] [--seed 1] [--handle-min 12]
        [--crisis-share 0.05] [--occupancy 0.85] [--plots bench/plots]

Each run is an embedded SQLite database (in /dev/shm, ``synchronous=OFF``: the same code
as on PostgreSQL; Redis is not used). The clock jumps from event to event (an arrival,
an end, a shift change); after each, the pairing jobs the line asked for (the ``pair``
tasks the real code queued) run through the real task runner (``tasks.run`` →
``pairing.pair_task``), exactly as a worker would run them, and every offer made is
accepted at once (``offers.accept``: the wait is queue time). Every arrival is a first
text through ``intake.receive_sms`` (crisis detection included); a conversation ends
with ``conversations.end``; shifts start with ``roster.go_on_shift`` and end as the
schedule ends them (the volunteer finishes their conversations, takes no new ones).
Volunteers have capacity 1; the wellbeing caps and the crisis cool-down are off (Erlang
C's volunteers take the next contact whenever they are free).

- **day** (``--days`` independent days): Poisson arrivals whose rate varies by hour (a
  crisis line's evening peak), exponential handling times (mean ``--handle-min``),
  ``ceil(A / occupancy)`` volunteers on shift each hour, ``--crisis-share`` crisis
  texts. Per hour: mean and p90 wait over the days next to Erlang C's for that hour's
  rate and staffing (which assumes each hour is in steady state: it is not, queues
  carry over).
- **steady** (``--reps`` independent replications of ``--steady-hours``): 10 volunteers
  at ``--occupancy``. The mean wait over Erlang C's with a 95% interval over the
  replications; crisis and normal mean waits next to Cobham's formula. Each replication
  is also run through an ideal queue (a few lines of Python: work-conserving,
  non-preemptive, crisis first then arrival) on the same arrivals and handling times:
  the real code must give every contact the same wait, which checks work conservation
  and order contact by contact (a tight check that sampling noise cannot blur).
- **ideal** (``--ideal-hours`` of the ideal queue alone, in ``--ideal-reps``): its mean
  wait over Erlang C's, with a narrow interval: with the contact-by-contact match above,
  this is the real code's long-run mean wait over Erlang C's.

After each event the simulation also checks work conservation itself: nobody waits while
a volunteer on shift is free. Writes ``day_waits.png`` and ``steady_waits.png`` to
``--plots``. Last line: the steady-state mean wait over Erlang C's, with its interval.
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
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from peerline import schema  # noqa: E402
from peerline.app import create_app  # noqa: E402
from peerline.delivery import tasks  # noqa: E402
from peerline.delivery.tasks import TaskKind, TaskStatus  # noqa: E402
from peerline.handlers import HANDLERS  # noqa: E402
from peerline.models import Conversation, Offer, OfferStatus, Task, Volunteer  # noqa: E402
from peerline.people import roster  # noqa: E402
from peerline.staffing.erlang import erlang_c, priority_waits, serve  # noqa: E402
from peerline.text import conversations, intake, offers  # noqa: E402

LINE = "+15550000001"
#: Arrivals an hour, by hour of day (a crisis line: quiet mornings, an evening peak).
DAY_RATES = [4, 3, 2, 2, 2, 3, 4, 6, 8, 9, 10, 10, 10, 10, 11, 12, 14, 16, 18, 20, 20, 18,
             12, 7]
CALM = ["hi, I had a rough night and I don't know who else to talk to",
        "hola, necesito hablar con alguien, no me siento bien hoy",
        "can someone text back, work has been a lot this week"]
CRISIS = "I want to end it all tonight, I have the pills right here"
START = datetime(2026, 12, 7, 0, 0, 0)
STEADY_AGENTS = 10
#: Task kinds a worker would run that decide who is offered what (the rest, texts to
#: send and offer time-outs, are not under test: every offer is accepted at once).
PAIRING_TASKS = (TaskKind.PAIR, TaskKind.MATCH_WAIT_OVER)


@dataclass(frozen=True)
class Contact:
    """A first text: seconds after the start, and whether it is a crisis text."""

    t: float
    crisis: bool


def arrivals(rng: random.Random, rates: list[float], crisis_share: float) -> list[Contact]:
    """Poisson arrivals at ``rates[h]`` an hour in hour ``h``."""
    out = []
    for hour, rate in enumerate(rates):
        t = 0.0
        while rate > 0:
            t += rng.expovariate(rate / 3600)
            if t >= 3600:
                break
            out.append(Contact(hour * 3600 + t, rng.random() < crisis_share))
    return out


def streams(seed: int) -> tuple[random.Random, random.Random]:
    """Independent random streams for arrivals and handling times of one run."""
    return random.Random(f"arrivals-{seed}"), random.Random(f"handling-{seed}")


def ideal_waits(contacts: list[Contact], agents: int, handling: Callable[[], float]) -> list[float]:
    """Waits (s) of each contact in an ideal line: ``agents`` servers, work-conserving,
    non-preemptive, crisis first then by arrival; the n-th conversation to start takes
    the n-th handling time from ``handling`` (as in :class:`Simulation`)."""
    waits = [0.0] * len(contacts)
    ends: list[float] = []
    queue: list[tuple[int, float, int]] = []
    free = agents

    def start(now: float) -> None:
        nonlocal free
        while free and queue:
            _, t, i = heapq.heappop(queue)
            waits[i] = now - t
            free -= 1
            heapq.heappush(ends, now + handling())

    for i, contact in enumerate(contacts):
        while ends and ends[0] <= contact.t:
            now = heapq.heappop(ends)
            free += 1
            start(now)
        heapq.heappush(queue, (0 if contact.crisis else 1, contact.t, i))
        start(contact.t)
    while queue:
        now = heapq.heappop(ends)
        free += 1
        start(now)
    return waits


def what_if_waits(contacts: list[Contact], agents: int, handling: Callable[[], float],
                  reserve: int = 0, extra: bool = False) -> list[float]:
    """Waits in a line that is *not* the real one, for the crisis-wait decision (README):
    ``reserve`` volunteers kept free for crisis contacts (a normal contact starts only
    while more than ``reserve`` are free), or with ``extra`` a crisis that finds nobody
    free goes at once to a volunteer in one conversation, as a second one (handling
    times unchanged: the optimistic case)."""
    waits = [0.0] * len(contacts)
    ends: list[tuple[float, int]] = []
    queue: list[tuple[int, float, int]] = []
    live = [0] * agents
    free, single = set(range(agents)), set()

    def start(now: float) -> None:
        while queue:
            crisis = queue[0][0] == 0
            if crisis and free:
                v = free.pop()
            elif crisis and extra and single:
                v = single.pop()
            elif not crisis and len(free) > reserve:
                v = free.pop()
            else:
                return
            _, t, i = heapq.heappop(queue)
            waits[i] = now - t
            live[v] += 1
            if live[v] == 1:
                single.add(v)
            heapq.heappush(ends, (now + handling(), v))

    for i, contact in enumerate(contacts):
        while ends and ends[0][0] <= contact.t:
            now, v = heapq.heappop(ends)
            live[v] -= 1
            (free if live[v] == 0 else single).add(v)
            if live[v] == 0:
                single.discard(v)
            start(now)
        heapq.heappush(queue, (0 if contact.crisis else 1, contact.t, i))
        start(contact.t)
    return waits


def one_what_if(seed: int, handle_min: float, crisis_share: float, rate: float, hours: int,
                warm: int, reserve: int, extra: bool) -> tuple[float, float, int, int]:
    """(crisis sum, normal sum, crisis contacts, normal contacts) after ``warm`` hours."""
    arrival_rng, handling = streams(20_000 + seed)
    contacts = arrivals(arrival_rng, [rate] * hours, crisis_share)
    waits = what_if_waits(contacts, STEADY_AGENTS,
                          lambda: handling.expovariate(1 / (handle_min * 60)), reserve, extra)
    kept = [(c, w) for c, w in zip(contacts, waits, strict=True) if c.t >= warm * 3600]
    crisis = [w for c, w in kept if c.crisis]
    normal = [w for c, w in kept if not c.crisis]
    return sum(crisis), sum(normal), len(crisis), len(normal)


def what_if(args: argparse.Namespace, pool: ProcessPoolExecutor) -> None:
    """Crisis and normal waits of the ways to reach crisis ≤ 10% of normal (not the line's
    code: the ideal queue, changed)."""
    rate = args.occupancy * STEADY_AGENTS * 60 / args.handle_min
    at = theory(rate, STEADY_AGENTS, args.handle_min, args.crisis_share)
    k, hours = args.ideal_reps, args.ideal_hours // args.ideal_reps
    print(f"what if ({k} replications x {hours - args.warm_hours} h, 10 volunteers at "
          f"{args.occupancy:.0%}; Erlang C {at.mean:.1f} s, Cobham crisis {at.crisis:.1f} s, "
          f"normal {at.normal:.1f} s):")
    print("variant                    crisis s  normal s  all s   crisis/normal")
    for name, reserve, extra in [("crisis first (the line)", 0, False),
                                 ("1 volunteer held back", 1, False),
                                 ("2 volunteers held back", 2, False),
                                 ("crisis as a 2nd conversation", 0, True)]:
        out = list(pool.map(one_what_if, range(k), [args.handle_min] * k,
                            [args.crisis_share] * k, [rate] * k, [hours] * k,
                            [args.warm_hours] * k, [reserve] * k, [extra] * k))
        crisis, normal = sum(o[0] for o in out) / sum(o[2] for o in out), \
            sum(o[1] for o in out) / sum(o[3] for o in out)
        rel, half = ratio_interval([o[0] / o[2] for o in out], [o[1] / o[3] for o in out])
        share = sum(o[2] for o in out) / sum(o[2] + o[3] for o in out)
        print(f"{name:27s}  {crisis:7.1f}  {normal:8.1f}  "
              f"{share * crisis + (1 - share) * normal:5.1f}   {rel:.3f} ± {half:.3f}")


@dataclass
class Run:
    """One run's contacts and waits (s, by contact), and what the checks found."""

    contacts: list[Contact]
    waits: list[float]
    idle_while_waiting: int = 0  # events after which someone waited with a volunteer free
    pair_jobs: int = 0
    seconds: float = 0.0
    ideal: list[float] = field(default_factory=list)

    def window(self, start_h: float, end_h: float, crisis: bool | None = None) -> list[float]:
        """Waits of the contacts arriving in ``[start_h, end_h)`` hours (one class)."""
        return [w for c, w in zip(self.contacts, self.waits, strict=True)
                if start_h * 3600 <= c.t < end_h * 3600 and (crisis is None or c.crisis == crisis)]


class SimClock:
    """The line's clock, moved by the simulation."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Simulation:
    """Arrivals, pairing jobs, accepts, endings and shift changes on one event heap."""

    def __init__(self, seed: int, handle_min: float) -> None:
        self.arrival_rng, self.handling_rng = streams(seed)
        self.handle_s = handle_min * 60
        self.clock = SimClock()
        tmp = tempfile.mkdtemp(prefix="peerline-day-",
                               dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(tmp, "day.db"),
                               "PEERLINE_INSTANCE_DIR": tmp, "PEERLINE_GATEWAY": "local",
                               "REDIS_URL": "redis://127.0.0.1:1/0",
                               "PEERLINE_NUMBERS": LINE,
                               # Erlang C's volunteers take the next contact whenever
                               # free: no wellbeing caps or crisis cool-down here.
                               "PEERLINE_CAP_PER_SHIFT": 0, "PEERLINE_CAP_PER_WEEK": 0,
                               "PEERLINE_COOLDOWN_S": 0}, clock=self.clock)
        self.svc = self.app.extensions["peerline"]
        self.svc.engine.dispose()
        event.listen(self.svc.engine, "connect", _no_sync)  # a scratch database: no fsync
        self.svc.kicker.kick = self._kicked  # no Redis, no worker: the jobs run here
        schema.upgrade(self.svc.engine)
        self.kicked: list[int] = []
        self.events: list[tuple[datetime, int, str, Any]] = []
        self.seq = 0
        self.volunteers: list[int] = []
        self.on_shift = 0  # volunteers 0 .. on_shift - 1 are on shift
        self.live: dict[int, int] = {}  # volunteer id → live conversations
        self.index: dict[datetime, int] = {}  # queued_at → contact index
        self.waiting = 0

    def _kicked(self, task_list: list[tuple[int, datetime]], force: bool = False,
                together: list[int] | None = None) -> bool:
        """The kicker after each commit: remember the tasks a worker would be sent."""
        self.kicked.extend(task_id for task_id, _ in task_list)
        self.kicked.extend(together or [])
        return True

    def at(self, when: datetime, kind: str, ref: Any = None) -> None:
        """Schedule an event."""
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, ref))

    def staff(self, count: int) -> None:
        """Exactly ``count`` volunteers on shift (added to the roster as needed). Those
        going off finish their live conversations and take no new ones (as the
        schedule ends a shift: ``scheduling.auto.end``)."""
        line = self.svc.line
        with self.svc.sessions.begin() as session:
            while len(self.volunteers) < count:
                i = len(self.volunteers)
                volunteer = roster.add_volunteer(session, line, f"Peer {i}",
                                                 f"+1555888{i:04d}", "en,es", capacity=1)
                session.flush()
                self.volunteers.append(volunteer.id)
                self.live[volunteer.id] = 0
            for i, vid in enumerate(self.volunteers):
                volunteer = session.get(Volunteer, vid)
                if i < count and not volunteer.on_shift:
                    roster.go_on_shift(session, line, volunteer, by_schedule=True)
                elif i >= count and volunteer.on_shift:
                    if self.live[vid]:
                        volunteer.on_shift, volunteer.shift_started_at = False, None
                    else:
                        roster.go_off_shift(session, line, volunteer, by_schedule=True)
        self.on_shift = count

    def arrive(self, n: int, crisis: bool) -> None:
        """One first text from a new survivor."""
        body = CRISIS if crisis else CALM[n % len(CALM)]
        self.index[self.clock.now] = n
        self.waiting += 1
        with self.svc.sessions.begin() as session:
            intake.receive_sms(session, self.svc.line, sid=f"SM{n:032d}",
                               from_raw=f"+1556{n:07d}", to_raw=LINE, body=body)

    def work(self, run: Run) -> None:
        """Run the pairing jobs asked for, accept the offers made; until none is left."""
        line, sessions = self.svc.line, self.svc.sessions
        while self.kicked:
            ids, self.kicked = self.kicked, []
            with sessions.begin() as session:
                due = session.scalars(select(Task.id).where(
                    Task.id.in_(ids), Task.kind.in_(PAIRING_TASKS),
                    Task.status == TaskStatus.PENDING).order_by(Task.id)).all()
            for task_id in due:
                tasks.run(sessions, line, task_id, HANDLERS)
                run.pair_jobs += 1
            with sessions.begin() as session:
                pending = session.scalars(select(Offer).where(
                    Offer.status == OfferStatus.PENDING).order_by(Offer.id)).all()
                for offer in pending:
                    if offer.status != OfferStatus.PENDING:
                        continue  # withdrawn by a broadcast's accept
                    conversation = session.get(Conversation, offer.conversation_id)
                    offers.accept(session, line, offer.volunteer, offer)
                    session.refresh(conversation)
                    if conversation.volunteer_id != offer.volunteer_id:
                        continue
                    n = self.index[conversation.queued_at]
                    run.waits[n] = (conversation.assigned_at
                                    - conversation.queued_at).total_seconds()
                    self.waiting -= 1
                    self.live[offer.volunteer_id] += 1
                    self.at(self.clock.now + timedelta(seconds=self.handling_rng.expovariate(
                        1 / self.handle_s)), "end", (conversation.id, offer.volunteer_id))
        if self.waiting and any(self.live[v] == 0 for v in self.volunteers[:self.on_shift]):
            run.idle_while_waiting += 1

    def end(self, conversation_id: int, volunteer_id: int) -> None:
        """The volunteer ends the conversation."""
        with self.svc.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            conversations.end(session, self.svc.line, conversation, by="volunteer")
        self.live[volunteer_id] -= 1

    def run(self, rates: list[float], staffing: list[int], crisis_share: float) -> Run:
        """Hours of Poisson arrivals at ``rates`` with ``staffing`` on shift."""
        began = time.monotonic()
        contacts = arrivals(self.arrival_rng, rates, crisis_share)
        run = Run(contacts, [math.nan] * len(contacts))
        for hour, count in enumerate(staffing):
            self.at(START + timedelta(hours=hour), "staff", count)
        for n, contact in enumerate(contacts):
            self.at(START + timedelta(seconds=contact.t), "arrive", (n, contact.crisis))
        while self.events:
            when, _, kind, ref = heapq.heappop(self.events)
            self.clock.now = when
            if kind == "staff":
                self.staff(ref)
            elif kind == "arrive":
                self.arrive(*ref)
            elif kind == "end":
                self.end(*ref)
            self.work(run)
        run.seconds = time.monotonic() - began
        return run


def _no_sync(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def agents_for(rate: float, handle_min: float, occupancy: float) -> int:
    """Volunteers (capacity 1) for an hour at ``occupancy`` (at least one)."""
    return max(1, math.ceil(rate * handle_min / 60 / occupancy))


@dataclass(frozen=True)
class Theory:
    """Erlang C's mean wait of all contacts, its p90, and Cobham's crisis and normal mean
    waits (non-preemptive priority, crisis first, same handling times), in seconds."""

    mean: float
    p90: float
    crisis: float
    normal: float


def theory(rate: float, agents: int, handle_min: float, crisis_share: float) -> Theory:
    """Erlang C and Cobham (:func:`peerline.staffing.erlang.priority_waits`: crisis /
    normal is ``1 − occupancy`` whatever the staffing) for ``rate`` contacts an hour on
    ``agents`` volunteers."""
    load = rate * handle_min / 60
    if agents <= load:
        return Theory(math.inf, math.inf, math.inf, math.inf)
    handle_s = handle_min * 60
    c = erlang_c(agents, load)
    p90 = handle_s / (agents - load) * math.log(c / 0.1) if c > 0.1 else 0.0
    split = priority_waits(agents, rate, handle_min, crisis_share)
    return Theory(serve(agents, rate, handle_min, 60).mean_wait_s, p90, split.crisis_s,
                  split.normal_s)


def p90(values: list[float]) -> float:
    """90th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0


def mean(values: Iterable[float]) -> float:
    """Mean, 0 for none."""
    values = list(values)
    return statistics.fmean(values) if values else 0.0


#: Student's t, 97.5% quantile, by degrees of freedom (beyond 30: 1.96).
T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
        10: 2.23, 11: 2.20, 12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 19: 2.09, 24: 2.06,
        29: 2.05, 39: 2.02}


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% interval (independent replications)."""
    if len(values) < 2:
        return mean(values), math.inf
    df = len(values) - 1
    t = T975.get(df) or next((T975[k] for k in sorted(T975) if k >= df), 1.96)
    return mean(values), t * statistics.stdev(values) / math.sqrt(len(values))


def ratio_interval(num: list[float], den: list[float]) -> tuple[float, float]:
    """Ratio of means sum(num)/sum(den) over replications, with a 95% half-width (delta
    method: the interval of the per-replication residuals num − r·den)."""
    r = sum(num) / sum(den)
    _, half = interval([a - r * b for a, b in zip(num, den, strict=True)])
    return r, half / mean(den)


def one_day(seed: int, handle_min: float, crisis_share: float, occupancy: float) -> Run:
    """One simulated day (in a worker process)."""
    logging.disable(logging.WARNING)
    staffing = [agents_for(r, handle_min, occupancy) for r in DAY_RATES]
    return Simulation(seed, handle_min).run(DAY_RATES, staffing, crisis_share)


def one_steady(seed: int, handle_min: float, crisis_share: float, rate: float,
               hours: int) -> Run:
    """One steady-state replication, and the ideal queue on the same random numbers."""
    logging.disable(logging.WARNING)
    run = Simulation(seed, handle_min).run([rate] * hours, [STEADY_AGENTS] * hours,
                                           crisis_share)
    _, handling = streams(seed)
    run.ideal = ideal_waits(run.contacts, STEADY_AGENTS,
                            lambda: handling.expovariate(1 / (handle_min * 60)))
    return run


def one_ideal(seed: int, handle_min: float, crisis_share: float, rate: float,
              hours: int, warm: int) -> tuple[float, float, float, int, int]:
    """The ideal queue alone: (sum of waits, crisis sum, normal sum, contacts, crisis
    contacts) after ``warm`` hours."""
    arrival_rng, handling = streams(10_000 + seed)
    contacts = arrivals(arrival_rng, [rate] * hours, crisis_share)
    waits = ideal_waits(contacts, STEADY_AGENTS,
                        lambda: handling.expovariate(1 / (handle_min * 60)))
    kept = [(c, w) for c, w in zip(contacts, waits, strict=True) if c.t >= warm * 3600]
    crisis = [w for c, w in kept if c.crisis]
    return (sum(w for _, w in kept), sum(crisis), sum(w for c, w in kept if not c.crisis),
            len(kept), len(crisis))


def day(args: argparse.Namespace, pool: ProcessPoolExecutor) -> None:
    """``--days`` days: the hourly table and plot."""
    staffing = [agents_for(r, args.handle_min, args.occupancy) for r in DAY_RATES]
    n = args.days
    runs = list(pool.map(one_day, [args.seed + i for i in range(n)], [args.handle_min] * n,
                         [args.crisis_share] * n, [args.occupancy] * n))
    contacts = sum(len(r.contacts) for r in runs)
    print(f"day: {args.days} days, {contacts} contacts, handling {args.handle_min} min, "
          f"crisis share {args.crisis_share:.0%}, staffing ceil(A / {args.occupancy}), "
          f"{sum(r.seconds for r in runs):.0f} s simulating "
          f"({1000 * sum(r.seconds for r in runs) / contacts:.1f} ms a contact)")
    print("hour  rate  on shift  contacts  mean wait s  p90 s  Erlang C mean s  p90 s")
    sim, sim90, erl, erl90 = [], [], [], []
    for hour, rate in enumerate(DAY_RATES):
        waits = [w for r in runs for w in r.window(hour, hour + 1)]
        sim.append(mean(waits))
        sim90.append(p90(waits))
        at = theory(rate, staffing[hour], args.handle_min, args.crisis_share)
        erl.append(at.mean)
        erl90.append(at.p90)
        print(f"{hour:4d}  {rate:4d}  {staffing[hour]:8d}  {len(waits):8d}  {sim[-1]:11.1f}  "
              f"{sim90[-1]:5.1f}  {erl[-1]:15.1f}  {erl90[-1]:5.1f}")
    normal = [w for r in runs for w in r.window(0, 24, crisis=False)]
    crisis = [w for r in runs for w in r.window(0, 24, crisis=True)]
    idle = sum(r.idle_while_waiting for r in runs)
    print(f"day: mean wait {mean(normal + crisis):.1f} s; normal {mean(normal):.1f} s, "
          f"crisis {mean(crisis):.1f} s ({len(crisis)} crisis contacts); someone waited "
          f"with a volunteer free after {idle} events")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    hours = list(range(24))
    top.plot(hours, sim, "o-", color="tab:blue", label="simulated mean wait")
    top.plot(hours, erl, "s--", color="tab:red", label="Erlang C mean wait")
    top.plot(hours, sim90, "^:", color="tab:blue", label="simulated p90 wait")
    top.plot(hours, erl90, "v:", color="tab:red", label="Erlang C p90 wait")
    top.set_ylabel("wait (s)")
    top.legend(fontsize=8)
    bottom.bar(hours, staffing, color="tab:green", alpha=0.6, label="volunteers on shift")
    bottom.plot(hours, DAY_RATES, "k.-", label="arrivals / hour")
    bottom.set_xlabel("hour of day")
    bottom.legend(fontsize=8)
    fig.suptitle(f"A simulated day, mean of {args.days} days ({contacts} contacts; handling "
                 f"{args.handle_min:g} min, staffing for {args.occupancy:.0%} occupancy)")
    fig.tight_layout()
    fig.savefig(os.path.join(args.plots, "day_waits.png"), dpi=90)
    plt.close(fig)


@dataclass
class Steady:
    """Steady-state results (ratios with 95% half-widths)."""

    ratio: float  # the real code's runs alone
    half: float
    combined: float  # with the ideal queue as a control variate
    combined_half: float


def steady(args: argparse.Namespace, pool: ProcessPoolExecutor) -> Steady:
    """``--reps`` replications of the real code, and the long ideal-queue runs."""
    agents, hours, warm = STEADY_AGENTS, args.steady_hours, args.warm_hours
    rate = args.occupancy * agents * 60 / args.handle_min
    at = theory(rate, agents, args.handle_min, args.crisis_share)
    seeds = [args.seed + 1000 + i for i in range(args.reps)]
    runs = list(pool.map(one_steady, seeds, [args.handle_min] * args.reps,
                         [args.crisis_share] * args.reps, [rate] * args.reps,
                         [hours] * args.reps))
    kept = [r.window(warm, hours) for r in runs]
    crisis = [r.window(warm, hours, crisis=True) for r in runs]
    normal = [r.window(warm, hours, crisis=False) for r in runs]
    contacts = sum(len(k) for k in kept)
    seconds = sum(r.seconds for r in runs)
    print(f"steady: {agents} volunteers, {rate:.1f} arrivals/h, handling {args.handle_min:g} "
          f"min, occupancy {rate * args.handle_min / 60 / agents:.0%}, crisis share "
          f"{args.crisis_share:.0%}; {args.reps} replications x {hours - warm} h after "
          f"{warm} h warm-up, {contacts} contacts; {seconds:.0f} s simulating "
          f"({1000 * seconds / sum(len(r.contacts) for r in runs):.1f} ms a contact)")
    ratio, half = ratio_interval([sum(k) for k in kept], [len(k) * at.mean for k in kept])
    print(f"steady: mean wait {mean(w for k in kept for w in k):.1f} s, Erlang C "
          f"{at.mean:.1f} s: {ratio:.3f} ± {half:.3f} (95%, over replications); p90 "
          f"{p90([w for k in kept for w in k]):.1f} s, Erlang C {at.p90:.1f} s")
    cr, ch = ratio_interval([sum(k) for k in crisis], [len(k) * at.crisis for k in crisis])
    nr, nh = ratio_interval([sum(k) for k in normal], [len(k) * at.normal for k in normal])
    rel, relh = ratio_interval([sum(k) / max(len(k), 1) for k in crisis],
                               [sum(k) / max(len(k), 1) for k in normal])
    print(f"steady: crisis mean {mean(w for k in crisis for w in k):.1f} s "
          f"({sum(map(len, crisis))} contacts), Cobham {at.crisis:.1f} s: {cr:.3f} ± {ch:.3f}; "
          f"normal mean {mean(w for k in normal for w in k):.1f} s, Cobham {at.normal:.1f} s: "
          f"{nr:.3f} ± {nh:.3f}")
    print(f"steady: crisis / normal {rel:.3f} ± {relh:.3f}; Cobham {at.crisis / at.normal:.3f} "
          f"(= 1 - occupancy)")
    gaps = [abs(a - b) for r in runs for a, b in zip(r.waits, r.ideal, strict=True)]
    unpaired = sum(math.isnan(w) for r in runs for w in r.waits)
    idle = sum(r.idle_while_waiting for r in runs)
    print(f"steady: the ideal queue on the same random numbers: largest difference in one "
          f"contact's wait {max(gaps):.6f} s over {len(gaps)} contacts; {unpaired} never "
          f"paired; someone waited with a volunteer free after {idle} events; "
          f"{sum(r.pair_jobs for r in runs)} pairing jobs")
    k = args.ideal_reps
    ideal = list(pool.map(one_ideal, range(k), [args.handle_min] * k,
                          [args.crisis_share] * k, [rate] * k,
                          [args.ideal_hours // k] * k, [warm] * k))
    ir, ih = ratio_interval([i[0] for i in ideal], [i[3] * at.mean for i in ideal])
    icr, ich = ratio_interval([i[1] for i in ideal], [i[4] * at.crisis for i in ideal])
    inr, inh = ratio_interval([i[2] for i in ideal], [(i[3] - i[4]) * at.normal for i in ideal])
    print(f"ideal: {k} replications x {args.ideal_hours // k - warm} h, "
          f"{sum(i[3] for i in ideal)} contacts: mean wait / Erlang C {ir:.4f} ± {ih:.4f}; "
          f"crisis / Cobham {icr:.3f} ± {ich:.3f}, normal / Cobham {inr:.4f} ± {inh:.4f}")
    # The ideal queue as a control variate: the real code's long-run ratio is the ideal
    # queue's plus what the real code added on the same random numbers (0 when every
    # contact's wait matched).
    same = [[w for c, w in zip(r.contacts, r.ideal, strict=True)
             if warm * 3600 <= c.t < hours * 3600] for r in runs]
    dr, dh = ratio_interval([sum(k) - sum(s) for k, s in zip(kept, same, strict=True)],
                            [len(k) * at.mean for k in kept])
    combined, combined_half = ir + dr, math.hypot(ih, dh)
    print(f"steady: real code - ideal queue on the same random numbers: {dr:+.4f} ± {dh:.4f} "
          f"of Erlang C; so the real code's long-run mean wait / Erlang C: "
          f"{combined:.4f} ± {combined_half:.4f}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2),
                                      gridspec_kw={"width_ratios": [3, 2]})
    per_rep = [mean(k) for k in kept]
    left.plot(range(1, len(runs) + 1), per_rep, "o", label="real code, one replication")
    left.axhline(at.mean, color="tab:red", ls="--", label="Erlang C mean wait")
    left.axhspan(ratio * at.mean - half * at.mean, ratio * at.mean + half * at.mean,
                 color="tab:blue", alpha=0.2, label="real code, all: 95% interval")
    left.set_xlabel(f"replication ({hours - warm} h each)")
    left.set_ylabel("mean wait (s)")
    left.legend(fontsize=8)
    labels = ["all", "normal", "crisis"]
    measured = [ratio * at.mean, nr * at.normal, cr * at.crisis]
    errors = [half * at.mean, nh * at.normal, ch * at.crisis]
    xs = range(len(labels))
    right.bar([x - 0.2 for x in xs], measured, 0.4, yerr=errors, capsize=4,
              label="real code (95%)")
    right.bar([x + 0.2 for x in xs], [at.mean, at.normal, at.crisis], 0.4,
              color="tab:red", alpha=0.7, label="Erlang C / Cobham")
    right.set_xticks(list(xs), labels)
    right.set_ylabel("mean wait (s)")
    right.legend(fontsize=8)
    fig.suptitle(f"Steady state: {agents} volunteers at {args.occupancy:.0%} occupancy, "
                 f"{contacts} contacts in {args.reps} replications")
    fig.tight_layout()
    fig.savefig(os.path.join(args.plots, "steady_waits.png"), dpi=90)
    plt.close(fig)
    return Steady(ratio, half, combined, combined_half)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--handle-min", type=float, default=12.0)
    parser.add_argument("--crisis-share", type=float, default=0.05)
    parser.add_argument("--occupancy", type=float, default=0.85)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--steady-hours", type=int, default=30)
    parser.add_argument("--warm-hours", type=int, default=4)
    parser.add_argument("--ideal-hours", type=int, default=200_000)
    parser.add_argument("--ideal-reps", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--plots", default=os.path.join(os.path.dirname(__file__), "plots"))
    parser.add_argument("--skip-day", action="store_true")
    parser.add_argument("--what-if", action="store_true",
                        help="only the ideal-queue variants that would cut crisis waits")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the line's event log lines, thousands of them
    os.makedirs(args.plots, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        if args.what_if:
            what_if(args, pool)
            return
        if not args.skip_day:
            day(args, pool)
        result = steady(args, pool)
    print(f"steady-state mean wait / Erlang C: {result.combined:.3f} ± "
          f"{result.combined_half:.3f} (the real code's runs alone: {result.ratio:.3f} ± "
          f"{result.half:.3f})")


if __name__ == "__main__":
    main()
