"""The dispatcher's monitor on simulated days: the service's own exception detection."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from doorstep.learn.risk import ConstantRisk
from doorstep.simulate.day import simulate_day
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import NO_NOISE
from doorstep.simulate.plan_input import read_plan
from doorstep.simulate.runner import simulate

DAY = date(2030, 6, 4)


def test_a_day_as_planned_raises_no_exception(plan_path: Path) -> None:
    """No noise, everyone home: the monitor looks all day and finds nothing."""
    day = simulate_day(read_plan(plan_path), DAY, Draws(1, 1), NO_NOISE, ConstantRisk(0.0))
    assert day.exceptions == ()


def test_failed_attempts_and_breakdowns_are_seen_once_each(plan_path: Path) -> None:
    """Nobody home: one failed_attempt per stop; long repairs: the van is unavailable."""
    plan = read_plan(plan_path)
    params = replace(NO_NOISE, breakdown_rate=1.0, repair_s=3 * 3600, monitor_every_s=300)
    day = simulate_day(plan, DAY, Draws(5, 1), params, ConstantRisk(1.0))
    kinds = [e.kind for e in day.exceptions]
    assert kinds.count("failed_attempt") == plan.stops
    assert len({e.cause for e in day.exceptions}) == len(day.exceptions)
    broken = [r for r in day.routes if r.breakdowns]
    assert broken, "the seed must break a van down"
    unavailable = [e for e in day.exceptions if e.kind == "vehicle_unavailable"]
    assert {e.route_id for e in unavailable} <= {r.route.vehicle_id for r in broken}
    assert unavailable, "a three-hour repair must be seen by a monitor looking every 5 minutes"


def test_the_monitor_off_sees_nothing_and_the_kpis_count_what_it_saw(plan_path: Path) -> None:
    """monitor_every_s=0 records nothing; with it on, runs report the count per kind."""
    plan = read_plan(plan_path)
    off = simulate_day(
        plan, DAY, Draws(2, 1), replace(NO_NOISE, monitor_every_s=0), ConstantRisk(1.0)
    )
    assert off.exceptions == ()
    result = simulate(plan, 2, seed=2, day=DAY, params=NO_NOISE, risk=ConstantRisk(1.0))
    run = result.runs[0]
    assert run["exceptions"] == run["exceptions_failed_attempt"] == plan.stops
    assert result.summary["exceptions"].mean == plan.stops
