"""A dispatcher accepting the playbooks' proposals on simulated days (simulate/dispatching.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

from doorstep.dispatch.playbooks import DispatchContext
from doorstep.learn.risk import ConstantRisk
from doorstep.network.straight_line import StraightLineProvider
from doorstep.simulate.day import DayResult, simulate_day
from doorstep.simulate.dispatching import AutoDispatch
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import NO_NOISE
from doorstep.simulate.plan_input import read_plan
from doorstep.simulate.runner import simulate

from .conftest import day_inputs

DAY = date(2030, 6, 4)
BROKEN = replace(NO_NOISE, breakdown_rate=0.4, repair_s=5 * 3600, monitor_every_s=300)
"""Long repairs: a broken van is out for the rest of its day."""


def _dispatcher() -> AutoDispatch:
    orders, fleet = day_inputs()
    ctx = DispatchContext(
        {o.id: o for o in orders}, fleet, StraightLineProvider(), time_limit_s=0.2, seed=1,
        max_iterations=20,
    )  # fmt: skip
    return AutoDispatch(ctx)


def _handed_over(plan_path: Path) -> tuple[int, DayResult]:
    """The first seed (and its day) on which a broken van's stops are handed over."""
    plan = read_plan(plan_path)
    for seed in range(1, 80):
        day = simulate_day(plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0))
        if not any(e.kind == "vehicle_unavailable" for e in day.exceptions):
            continue
        helped = simulate_day(
            plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0), dispatcher=_dispatcher()
        )
        first = helped.decisions[0] if helped.decisions else None
        if first is not None and first.kind == "hand_over" and first.moved > 0:
            return seed, helped
    raise AssertionError("no seed hands a broken van's stops over")


def test_a_broken_vans_stops_are_handed_over_and_each_served_once(plan_path: Path) -> None:
    """The first proposal (hand_over) is accepted: the other van serves the stops left.

    Orders the re-plan could not fit are put off (not visited); none is served twice.
    """
    plan = read_plan(plan_path)
    seed, helped = _handed_over(plan_path)
    alone = simulate_day(plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0))
    served = Counter(r.stop.order_id for route in helped.routes for r in route.stops)
    planned = {s.order_id for route in plan.routes for s in route.stops}
    put_off = sum(d.put_off for d in helped.decisions)
    assert set(served) <= planned and len(planned - set(served)) == put_off
    assert max(served.values()) == 1, "no stop may be served twice"
    broken = next(e.route_id for e in helped.exceptions if e.kind == "vehicle_unavailable")
    by_van = {r.route.vehicle_id: r for r in helped.routes}
    before = {r.route.vehicle_id: r for r in alone.routes}
    assert len(by_van[broken].stops) < len(before[broken].stops)
    taken = {r.stop.order_id for r in before[broken].stops} - {
        r.stop.order_id for r in by_van[broken].stops
    }
    other = next(r for v, r in by_van.items() if v != broken)
    assert taken & {r.stop.order_id for r in other.stops}, "the other van serves some of them"


def test_runs_with_a_dispatcher_count_what_was_accepted_and_are_deterministic(
    plan_path: Path,
) -> None:
    """Two simulations with the same seed and dispatcher agree; accepted counts are reported."""
    plan = read_plan(plan_path)
    params = replace(BROKEN, breakdown_rate=0.5)
    a = simulate(plan, 3, seed=4, day=DAY, params=params, dispatcher=_dispatcher())
    b = simulate(plan, 3, seed=4, day=DAY, params=params, dispatcher=_dispatcher())
    assert a.runs == b.runs
    assert all(run["accepted"] == sum(
        v for k, v in run.items() if k.startswith("accepted_")
    ) for run in a.runs)  # fmt: skip
