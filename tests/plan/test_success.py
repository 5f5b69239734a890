"""Planning for success (plan/success.py, plan/bands.py) on populations with known presence."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime

import pytest

from doorstep.domain import Depot, Fleet, TimeWindow
from doorstep.errors import InputError
from doorstep.learn.risk import ConstantRisk
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.bands import band_risk, narrow
from doorstep.plan.pipeline import PlanOptions, plan_orders
from doorstep.plan.success import (
    SuccessSettings,
    plan_expected_failures,
    plan_for_success,
    search_for_success,
)
from plan_problems import H, at, order, van

DAY = date(2031, 6, 17)
OPTIONS = PlanOptions(time_limit_s=20, seed=1, max_iterations=200, backend="pyvrp")
REDELIVERY = 2000


@dataclass(frozen=True)
class MorningsOrAfternoons:
    """Customers whose id ends in an even digit are home only before noon; the others only after."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """0.05 when the customer is home at ``when``, 0.9 when not."""
        morning_person = int(str(customer_id)[-1]) % 2 == 0
        home = (when.hour < 12) == morning_person
        return 0.05 if home else 0.9


def _day(n: int = 16) -> tuple[list, Fleet]:
    rng = random.Random(3)
    orders = [
        replace(order(f"C{k:02d}", rng.uniform(-3, 3), rng.uniform(-3, 3)), customer_id=f"C{k:02d}")
        for k in range(n)
    ]
    return orders, Fleet((Depot("D", at(0, 0)),), (van("V1", shift=(8 * H, 18 * H)),))


def test_risk_aware_plan_has_fewer_expected_failures_and_serves_the_same_orders() -> None:
    """Half home mornings, half afternoons: fewer expected failures, same orders, feasible."""
    orders, fleet = _day()
    risk = MorningsOrAfternoons()
    settings = SuccessSettings(km_budget=None, max_rounds=3)
    base = plan_orders(orders, fleet, StraightLineProvider(), OPTIONS)
    plan = plan_for_success(
        orders, fleet, StraightLineProvider(), risk, DAY, OPTIONS, REDELIVERY, settings
    )
    assert plan_expected_failures(plan, risk, DAY) < 0.5 * plan_expected_failures(base, risk, DAY)
    assert plan.evaluation.plan.assigned_order_ids == base.evaluation.plan.assigned_order_ids
    assert plan.evaluation.feasible
    own = {o.id: o.windows or (TimeWindow(8 * H, 18 * H),) for o in orders}
    for route in plan.evaluation.plan.routes:
        for visit in route.visits:
            assert any(w.start <= visit.start_s <= w.end for w in own[visit.order_id])


def test_the_km_budget_is_kept_and_the_choice_is_never_worse_than_distance_only() -> None:
    """With a 3% budget the plan chosen drives at most 3% more km and costs no more in total."""
    orders, fleet = _day()
    search = search_for_success(
        orders,
        fleet,
        StraightLineProvider(),
        MorningsOrAfternoons(),
        DAY,
        OPTIONS,
        REDELIVERY,
        SuccessSettings(max_rounds=3),
    )
    assert search.best.km <= search.base.km * 1.03 + 1e-9
    assert search.best.total_cents <= search.base.total_cents
    assert search.tried, "the search must try at least one risk-aware plan"


def test_constant_risk_gives_a_plan_no_worse_than_distance_only() -> None:
    """With the same risk everywhere nothing is worth narrowing: the distance-only total is kept."""
    orders, fleet = _day(10)
    risk = ConstantRisk(0.1)
    search = search_for_success(
        orders, fleet, StraightLineProvider(), risk, DAY, OPTIONS, REDELIVERY
    )
    assert search.tried == ()
    assert search.best.total_cents <= search.base.total_cents
    base = plan_orders(orders, fleet, StraightLineProvider(), OPTIONS)
    plan = plan_for_success(orders, fleet, StraightLineProvider(), risk, DAY, OPTIONS, REDELIVERY)
    total = plan.evaluation.kpis.cost + 0.1 * REDELIVERY / 100 * plan.evaluation.kpis.served
    assert total <= base.evaluation.kpis.cost + 0.1 * REDELIVERY / 100 * base.evaluation.kpis.served


def test_narrowed_windows_keep_the_good_bands_inside_the_order_windows() -> None:
    """An afternoon customer with a 09:00-15:30 window keeps 12:00-15:30 only."""
    customer = replace(order("C01", 1, 1, windows=[(9 * H, 15 * H + 1800)]), customer_id="C01")
    bands = band_risk(customer, MorningsOrAfternoons(), DAY, (8 * H, 18 * H))
    assert bands.spans[0] == (9 * H, 10 * H - 1)
    assert narrow(bands, 0.02) == (TimeWindow(12 * H, 15 * H + 1800),)


def test_a_negative_redelivery_cost_is_refused() -> None:
    """A negative cost of a failed attempt is bad input with a clear message."""
    orders, fleet = _day(4)
    with pytest.raises(InputError, match="re-delivery cost cannot be negative"):
        plan_for_success(orders, fleet, StraightLineProvider(), ConstantRisk(), DAY, OPTIONS, -1)


@dataclass(frozen=True)
class AfternoonsOnly:
    """Everybody is out until 14:00."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """0.9 before 14:00, 0.05 after."""
        return 0.9 if when.hour < 14 else 0.05


def test_a_route_that_ends_early_leaves_later_when_its_customers_are_out_in_the_morning() -> None:
    """Retiming (the default) moves the van's departure: fewer failures, same stops, same km."""
    orders, fleet = _day(8)
    risk = AfternoonsOnly()
    base = plan_orders(orders, fleet, StraightLineProvider(), OPTIONS)
    plan = plan_for_success(orders, fleet, StraightLineProvider(), risk, DAY, OPTIONS, REDELIVERY)
    assert plan_expected_failures(base, risk, DAY) > 8 * 0.5
    assert plan_expected_failures(plan, risk, DAY) == pytest.approx(8 * 0.05)
    assert plan.evaluation.feasible
    assert plan.evaluation.plan.assigned_order_ids == base.evaluation.plan.assigned_order_ids
    assert plan.evaluation.kpis.distance_km <= base.evaluation.kpis.distance_km * 1.03
    (route,) = plan.evaluation.plan.routes
    assert route.start_s >= 13 * H and route.end_s <= 18 * H
