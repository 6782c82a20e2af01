"""Erlang C against published table values and edge cases, and the `reports staffing`
command's contract."""

from __future__ import annotations

import json
import math

import pytest

from peerline.staffing.erlang import erlang_b, erlang_c, needed, priority_waits, serve


@pytest.mark.parametrize(("agents", "load", "expected"), [
    (10, 10.0, 0.2146),  # Erlang B tables: 10 servers, 10 erlangs
    (5, 2.0, 0.0367),
    (1, 1.0, 0.5),
])
def test_erlang_b_matches_the_tables(agents, load, expected):
    assert erlang_b(agents, load) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(("agents", "load", "expected"), [
    (11, 10.0, 0.6821),  # Erlang C tables: 11 agents, 10 erlangs
    (2, 1.0, 1 / 3),  # M/M/2 at one erlang: P(wait) = 1/3
    (1, 0.5, 0.5),  # M/M/1: P(wait) = utilisation
])
def test_erlang_c_matches_the_tables(agents, load, expected):
    assert erlang_c(agents, load) == pytest.approx(expected, abs=5e-5)


def test_the_classic_call_centre_example():
    """200 calls an hour, 3 minutes each, 80% within 20 s: 13 agents fall just short
    (79.6%), 14 make it."""
    assert serve(13, 200, 3, 20).service_level == pytest.approx(0.7956, abs=5e-4)
    figures = needed(200, 3, 20, 0.8)
    assert figures.volunteers == 14
    assert figures.service_level >= 0.8
    assert figures.occupancy == pytest.approx(10 / 14)


def test_crisis_first_waits_by_hand_for_one_volunteer():
    """M/M/1 at 50% with a fifth of contacts in crisis (1 min each): the mean residual
    handling time is 0.5 × 60 s = 30 s; crisis waits 30 / 0.9, normal 30 / (0.9 × 0.5)."""
    waits = priority_waits(1, 30, 1, 0.2)
    assert waits.crisis_s == pytest.approx(100 / 3)
    assert waits.normal_s == pytest.approx(200 / 3)


@pytest.mark.parametrize(("agents", "per_hour"), [(10, 42.5), (3, 12.75), (40, 170.0)])
def test_crisis_first_keeps_the_mean_and_cuts_crisis_waits_to_one_minus_occupancy(
        agents, per_hour):
    """Giving crisis contacts the front of the line moves waiting time, it does not remove
    it: the mean of all contacts is Erlang C's, and crisis / normal = 1 − occupancy."""
    waits = priority_waits(agents, per_hour, 12, 0.05)
    erlang = serve(agents, per_hour, 12, 60).mean_wait_s
    assert 0.05 * waits.crisis_s + 0.95 * waits.normal_s == pytest.approx(erlang)
    assert waits.crisis_s / waits.normal_s == pytest.approx(0.15)
    assert priority_waits(agents, per_hour, 12, 0.0).normal_s == pytest.approx(erlang)
    assert math.isinf(priority_waits(agents, per_hour * 2, 12, 0.05).crisis_s)


def test_load_at_or_above_capacity_never_meets_a_target():
    at = serve(10, 200, 3, 20)  # 10 erlangs on 10 agents
    assert at.service_level == 0.0 and math.isinf(at.mean_wait_s)
    assert erlang_c(3, 5.0) == 1.0
    assert needed(200, 3, 20, 0.8).volunteers > 10


def test_tiny_and_huge_loads_neither_overflow_nor_underflow():
    tiny = needed(0.01, 1, 30, 0.99)
    assert tiny.volunteers == 1 and tiny.service_level > 0.99
    huge = needed(20_000, 10, 20, 0.8)  # 3,333 erlangs
    assert 3334 <= huge.volunteers < 3500 and 0.8 <= huge.service_level < 0.9
    assert 0 < erlang_b(5000, 4000.0) < 1


def test_texting_volunteers_hold_several_conversations():
    one_each = needed(60, 20, 120, 0.9)
    three_each = needed(60, 20, 120, 0.9, capacity=3)
    assert three_each.volunteers == math.ceil(one_each.volunteers / 3)


@pytest.mark.parametrize("bad", [dict(target=0), dict(target=1.5), dict(handle_minutes=0),
                                 dict(capacity=0), dict(per_hour=-1)])
def test_bad_figures_are_refused(bad):
    args = dict(per_hour=10, handle_minutes=5, answer_within_s=30, target=0.8, capacity=1)
    args.update(bad)
    with pytest.raises(ValueError):
        needed(**args)


def test_the_reports_staffing_command(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["reports", "staffing", "--per-hour", "200",
                              "--handle-minutes", "3", "--answer-within", "20",
                              "--target", "0.8", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert set(data) == {"volunteers", "service_level", "occupancy", "mean_wait_s"}
    assert data["volunteers"] == 14 and data["service_level"] >= 0.8
    percent = runner.invoke(args=["reports", "staffing", "--per-hour", "200",
                                  "--handle-minutes", "3", "--answer-within", "20",
                                  "--target", "80"])
    assert percent.exit_code == 0 and percent.output.startswith("14 volunteers")
    bad = runner.invoke(args=["reports", "staffing", "--per-hour", "200",
                              "--handle-minutes", "0", "--answer-within", "20",
                              "--target", "0.8"])
    assert bad.exit_code != 0 and "handle-minutes" in bad.output


def _erlang_c_from_factorials(n: int, a: float) -> float:
    """The textbook formula, computed another way (fine for small n)."""
    top = a ** n / math.factorial(n) * n / (n - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)


@pytest.mark.parametrize(("agents", "load"), [(3, 2.0), (7, 5.0), (12, 10.0), (25, 20.0),
                                              (40, 35.5), (2, 0.01)])
def test_erlang_c_agrees_with_the_factorial_formula(agents, load):
    assert erlang_c(agents, load) == pytest.approx(_erlang_c_from_factorials(agents, load),
                                                   rel=1e-9)


def test_m_m_3_at_two_erlangs_waits_four_times_in_nine():
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-12)


def test_load_exactly_at_or_just_over_the_agents():
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 10.000001) == 1.0
    just_under = erlang_c(10, 9.999)
    assert 0.99 < just_under < 1.0
    over = serve(5, 120, 3, 20)  # 6 erlangs on 5 agents
    assert over.service_level == 0.0 and over.occupancy == 1.0 and math.isinf(over.mean_wait_s)
    assert over.to_json()["mean_wait_s"] is None


def test_very_small_and_very_large_loads_stay_finite():
    assert erlang_c(1, 1e-12) == pytest.approx(1e-12, rel=1e-6)
    assert erlang_b(200, 1e-9) == 0.0 or erlang_b(200, 1e-9) < 1e-300
    for agents, load in ((10_001, 10_000.0), (50_000, 49_000.0)):
        value = erlang_c(agents, load)
        assert 0.0 < value < 1.0 and math.isfinite(value)
    nobody = needed(0, 5, 30, 0.8)  # no contacts: one volunteer, never a wait
    assert nobody.volunteers == 1 and nobody.service_level == 1.0 and nobody.mean_wait_s == 0
