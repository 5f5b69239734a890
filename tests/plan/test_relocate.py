"""Moving visits to stretches timed for their customers (plan/relocate.py)."""

from __future__ import annotations

from datetime import date, datetime

from doorstep.domain import Costs
from doorstep.plan.bands import HourlyRisk, duty_span
from doorstep.plan.evaluator import evaluate
from doorstep.plan.relocate import relocate
from doorstep.plan.result import DayPlan
from doorstep.plan.retime import retime
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.plan.success import plan_expected_failures
from plan_problems import H, order, problem, van

DAY = date(2031, 6, 17)
FREE = Costs(fixed=5000, per_km=50, per_hour=0)


class SplitDay:
    """Customers "m*" are home only before 12:00, "a*" only from 16:00."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """0.02 when home, 0.5 when out."""
        morning = str(customer_id).startswith("m")
        home = when.hour < 12 if morning else when.hour >= 16
        return 0.02 if home else 0.5


def _day() -> DayPlan:
    """Two vans on the same street, each given a mix of morning and afternoon customers.

    Van A serves the west half and van B the east half; each half mixes the two
    kinds, so no timing of a route alone suits all its customers.
    """
    import dataclasses

    kinds = "mamaammaamma"
    orders = [
        dataclasses.replace(order(f"{k}{n}", 1 + n * 0.2, 0), customer_id=f"{k}{n}")
        for n, k in enumerate(kinds)
    ]
    vans = [
        van("A", shift=(8 * H, 20 * H), costs=FREE),
        van("B", shift=(8 * H, 20 * H), costs=FREE),
    ]
    p = problem(orders, vans)
    half = len(orders) // 2
    routes = (
        RouteAssignment(0, tuple(range(half))),
        RouteAssignment(1, tuple(range(half, len(orders)))),
    )
    return DayPlan(p, evaluate(p, Assignment(routes, "hand")), "hand", 1.0, 0, 0.1)


def test_relocation_then_retiming_has_fewer_expected_failures_than_retiming_alone() -> None:
    """Moves put customers on the stretch timed for them; km stay within the allowance."""
    plan, risk = _day(), SplitDay()
    table = HourlyRisk.of(plan.problem.orders, risk, DAY, duty_span(plan.problem))
    timed = retime(plan, risk, DAY, 2000, table)
    moved = relocate(plan, table, 2000, allowance_m=3000)
    assert moved is not plan
    both = retime(moved, risk, DAY, 2000, table)
    assert both.evaluation.feasible
    assert plan_expected_failures(both, risk, DAY) < plan_expected_failures(timed, risk, DAY)
    added = both.evaluation.kpis.distance_km - plan.evaluation.kpis.distance_km
    assert added <= 3.0 + 1e-9
    assert both.evaluation.plan.assigned_order_ids == plan.evaluation.plan.assigned_order_ids


def test_no_allowance_means_no_move_that_adds_metres() -> None:
    """With 0 m allowed, the moved plan drives no more than the plan it started from."""
    plan, risk = _day(), SplitDay()
    table = HourlyRisk.of(plan.problem.orders, risk, DAY, duty_span(plan.problem))
    moved = relocate(plan, table, 2000, allowance_m=0)
    assert moved.evaluation.kpis.distance_km <= plan.evaluation.kpis.distance_km + 1e-9
    assert len(moved.evaluation.violations) <= len(plan.evaluation.violations)
