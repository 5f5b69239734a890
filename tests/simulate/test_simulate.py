"""The day simulator: determinism, the plan without noise, presence, common random numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from doorstep.errors import InputError
from doorstep.learn.risk import ConstantRisk
from doorstep.simulate.day import simulate_day
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import NO_NOISE, SimulationParameters
from doorstep.simulate.plan_input import SimPlan, plan_of_document, read_plan
from doorstep.simulate.runner import paired_difference, simulate

DAY = date(2030, 6, 4)


def test_the_same_seed_gives_identical_runs_and_another_seed_other_runs(plan_path: Path) -> None:
    """Two simulations with seed 7 agree run by run; seed 8 differs somewhere."""
    plan = read_plan(plan_path)
    params = SimulationParameters(breakdown_rate=0.5)
    a = simulate(plan, 5, seed=7, day=DAY, params=params, risk=ConstantRisk(0.3))
    b = simulate(plan, 5, seed=7, day=DAY, params=params, risk=ConstantRisk(0.3))
    c = simulate(plan, 5, seed=8, day=DAY, params=params, risk=ConstantRisk(0.3))
    assert a.runs == b.runs and a.summary == b.summary
    assert a.runs != c.runs


def test_without_noise_and_everyone_home_the_day_is_the_plan(plan_path: Path) -> None:
    """Every stop reached at its planned arrival; all on time and first attempts; no overtime."""
    plan = read_plan(plan_path)
    day = simulate_day(plan, DAY, Draws(1, 1), NO_NOISE, ConstantRisk(0.0))
    for route in day.routes:
        assert [s.arrived_s for s in route.stops] == [
            s.planned_arrival_s for s in route.route.stops
        ]
        assert route.back_s == route.route.end_s
    result = simulate(plan, 3, seed=1, day=DAY, params=NO_NOISE, risk=ConstantRisk(0.0))
    for name in ("on_time_rate", "first_attempt_success_rate"):
        assert result.summary[name].mean == result.summary[name].p5 == 1.0
    assert result.summary["overtime_h"].mean == 0.0
    assert result.summary["failed_attempts"].mean == 0.0


def test_nobody_home_means_no_first_attempt_succeeds(plan_path: Path) -> None:
    """With presence probability 0, every parcel fails at the door (reason not_home)."""
    result = simulate(read_plan(plan_path), 3, seed=2, day=DAY, risk=ConstantRisk(1.0))
    assert result.summary["first_attempt_success_rate"].mean == 0.0
    run = result.runs[0]
    assert run["failed_attempts"] == run["parcels"] == 10
    assert run["failures_by_reason"] == {"not_home": 10}
    assert run["parcels_returned"] == 10


def test_a_plan_compared_with_itself_differs_by_exactly_zero(plan_path: Path) -> None:
    """Common random numbers: every paired difference is 0 with noise, absences and breakdowns."""
    plan = read_plan(plan_path)
    params = SimulationParameters(breakdown_rate=0.5)
    a = simulate(plan, 6, seed=3, day=DAY, params=params, risk=ConstantRisk(0.2))
    b = simulate(plan, 6, seed=3, day=DAY, params=params, risk=ConstantRisk(0.2))
    for name, s in paired_difference(a, b).items():
        assert (s.mean, s.p5, s.p95, s.ci_low, s.ci_high) == (0.0,) * 5, name
    assert sum(r["breakdowns"] for r in a.runs) > 0


def test_two_plans_share_each_orders_presence_draw(plan_path: Path, other_plan_path: Path) -> None:
    """The same seed makes the same orders absent whichever routes visit them."""
    one, other = read_plan(plan_path), read_plan(other_plan_path)
    assert [len(r.stops) for r in one.routes] != [len(r.stops) for r in other.routes]

    def absent(plan: SimPlan, run: int) -> set[str]:
        day = simulate_day(plan, DAY, Draws(4, run), SimulationParameters(), ConstantRisk(0.4))
        return {s.stop.order_id for r in day.routes for s in r.stops if not s.home}

    for run in range(1, 6):
        assert absent(one, run) == absent(other, run)


def test_breakdowns_stop_the_vehicle_for_the_repair_time(plan_path: Path) -> None:
    """With breakdowns, routes come back later by the repairs (no other noise)."""
    plan = read_plan(plan_path)
    broken = replace(NO_NOISE, breakdown_rate=2.0, repair_s=600)
    day = simulate_day(plan, DAY, Draws(5, 1), broken, ConstantRisk(0.0))
    for route in day.routes:
        assert route.back_s == route.route.end_s + 600 * route.breakdowns
    assert sum(r.breakdowns for r in day.routes) > 0


def test_busy_hours_widen_the_travel_time_spread() -> None:
    """A leg starting at 07:30 or 16:00 has the larger spread; at 12:00 the base one."""
    params = SimulationParameters(travel_spread=0.1, busy_spread=0.2)
    assert params.leg_spread(7.5 * 3600) == pytest.approx(0.3)
    assert params.leg_spread(16 * 3600) == pytest.approx(0.3)
    assert params.leg_spread(12 * 3600) == pytest.approx(0.1)
    assert params.leg_spread(18 * 3600) == pytest.approx(0.1)


def test_the_plan_reader_takes_breaks_out_of_the_legs(plan_path: Path) -> None:
    """Legs are the planned gaps minus service, wait and break; postcode from the address."""
    document = json.loads(plan_path.read_text(encoding="utf-8"))
    route = next(r for r in document["routes"] if r["break"])
    after = route["break"]["after_stop"]
    route["visits"][0]["address"] = "Mannerheimintie 1, 00100 Helsinki"
    plan = plan_of_document(document)
    stops = next(r for r in plan.routes if r.vehicle_id == route["vehicle_id"]).stops
    visits = route["visits"]
    assert stops[0].zip == "00100"
    assert stops[after].leg_s == visits[after]["arrival_s"] - route["break"]["end_s"]
    assert stops[1].leg_s == visits[1]["arrival_s"] - visits[0]["departure_s"]


@pytest.mark.parametrize(
    "document",
    [{"schema": "other"}, [], {"schema": "doorstep.plan/1", "routes": [{"visits": [{}]}]}],
)
def test_a_document_that_is_not_a_usable_plan_is_refused(document: object) -> None:
    """Not a plan.json, or a route without the needed fields: an InputError saying so."""
    with pytest.raises(InputError, match="plan"):
        plan_of_document(document, "x.json")
