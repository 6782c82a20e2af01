"""Erlang C: the fewest volunteers on shift so that a share of contacts is answered fast.

Contacts arrive at random (Poisson) at ``per_hour`` an hour and each takes
``handle_minutes`` on average; ``agents`` conversations can run at once. The offered load
is ``A = per_hour × handle_minutes / 60`` erlangs. Erlang B is computed by its
recursion ``B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))`` (no factorials or powers, so
tiny and huge loads neither overflow nor underflow), and Erlang C from it:
``C = N·B / (N − A·(1 − B))``, the chance that a contact waits at all. Then

- service level (share answered within ``s`` seconds) = ``1 − C·e^(−(N − A)·s / h)``,
- mean wait = ``C·h / (N − A)`` (``h`` the handling time in seconds),
- occupancy = ``A / N``.

With ``N ≤ A`` the queue grows without bound: service level 0, mean wait infinite.

A texting volunteer holds up to ``capacity`` conversations at once, so for texts an
"agent" is a conversation slot and the volunteers needed are the slots divided by their
capacity, rounded up (an approximation: it assumes a volunteer's conversations go on
side by side as fast as one each; use ``capacity=1`` for calls).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: No line needs more volunteers an hour than this; past it the search stops.
MAX_AGENTS = 100_000


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability with ``agents`` servers and ``load`` erlangs offered."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """The chance that a contact has to wait (1.0 when ``agents <= load``)."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


@dataclass(frozen=True)
class Staffing:
    """How a number of volunteers would serve one hour's contacts."""

    volunteers: int
    service_level: float  # share answered within the target wait
    occupancy: float  # share of slots busy
    mean_wait_s: float  # average wait of all contacts (inf when overloaded)

    def to_json(self) -> dict[str, float | int | None]:
        """The JSON object of ``reports staffing --json`` (an endless wait is null)."""
        out = asdict(self)
        out["mean_wait_s"] = None if math.isinf(self.mean_wait_s) else self.mean_wait_s
        return out


def serve(agents: int, per_hour: float, handle_minutes: float, answer_within_s: float,
          capacity: int = 1) -> Staffing:
    """The figures for ``agents`` conversation slots (``capacity`` per volunteer)."""
    _check(per_hour, handle_minutes, answer_within_s, capacity)
    load = per_hour * handle_minutes / 60.0
    handle_s = handle_minutes * 60.0
    volunteers = math.ceil(agents / capacity)
    if agents <= load:
        return Staffing(volunteers, 0.0, 1.0 if agents else 0.0, math.inf)
    wait = erlang_c(agents, load)
    level = 1.0 - wait * math.exp(-(agents - load) * answer_within_s / handle_s)
    return Staffing(volunteers, level, load / agents, wait * handle_s / (agents - load))


def needed(per_hour: float, handle_minutes: float, answer_within_s: float, target: float,
           capacity: int = 1) -> Staffing:
    """The fewest volunteers for which a share ``target`` (0–1) is answered in time."""
    _check(per_hour, handle_minutes, answer_within_s, capacity)
    if not 0.0 < target < 1.0:
        raise ValueError("target must be a share between 0 and 1 (e.g. 0.8)")
    load = per_hour * handle_minutes / 60.0
    agents = max(1, math.floor(load) + 1)
    while agents <= MAX_AGENTS:
        figures = serve(agents, per_hour, handle_minutes, answer_within_s, capacity)
        if figures.service_level >= target:
            return figures
        agents += 1
    raise ValueError("no staffing up to the search limit meets that target")


def _check(per_hour: float, handle_minutes: float, answer_within_s: float,
           capacity: int) -> None:
    if per_hour < 0 or handle_minutes <= 0 or answer_within_s < 0 or capacity < 1:
        raise ValueError("per-hour must be ≥ 0, handle-minutes > 0, answer-within ≥ 0 "
                         "and capacity ≥ 1")


@dataclass(frozen=True)
class PriorityWaits:
    """Mean waits (s) when crisis contacts go first, without interrupting anyone."""

    crisis_s: float
    normal_s: float


def priority_waits(agents: int, per_hour: float, handle_minutes: float,
                   crisis_share: float) -> PriorityWaits:
    """Cobham's formula: mean waits of crisis and normal contacts when crisis contacts
    are offered first but never interrupt a conversation (non-preemptive priority), both
    with the same handling time.

    With ``W0 = C·h / N`` (``C`` Erlang C's chance of waiting), class k waits
    ``W0 / ((1 − σ_{k−1})(1 − σ_k))``, ``σ_k`` the occupancy of classes 1..k. So crisis
    over normal is ``1 − occupancy`` whatever ``N`` is (0.15 at 85%): a crisis that
    arrives with everyone busy still waits for the next volunteer to be freed. The mean
    over all contacts stays Erlang C's.
    """
    _check(per_hour, handle_minutes, 0, 1)
    if not 0.0 <= crisis_share <= 1.0:
        raise ValueError("crisis share must be between 0 and 1")
    load = per_hour * handle_minutes / 60.0
    if agents <= load:
        return PriorityWaits(math.inf, math.inf)
    w0 = erlang_c(agents, load) * handle_minutes * 60.0 / agents
    rho, rho_crisis = load / agents, crisis_share * load / agents
    return PriorityWaits(w0 / (1 - rho_crisis), w0 / ((1 - rho_crisis) * (1 - rho)))
