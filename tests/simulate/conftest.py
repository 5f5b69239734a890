"""Small plans written by the real pipeline (straight-line travel) for the simulator's tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from doorstep.dispatch.playbooks import DispatchContext
from doorstep.domain import TimeWindow
from doorstep.domain.fleet import Break, Depot, Fleet
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.outputs import write_outputs
from doorstep.plan.pipeline import PlanOptions, plan_orders
from doorstep.simulate.dispatching import AutoDispatch
from plan_problems import H, at, order, van

OPTIONS = PlanOptions(time_limit_s=10, seed=1, max_iterations=30, backend="pyvrp")


def _orders(n: int) -> list:
    rng = random.Random(3)
    return [
        order(f"O{k:02d}", rng.uniform(-3, 3), rng.uniform(-3, 3), windows=[(8 * H, 20 * H)])
        for k in range(n)
    ]


def day_inputs(vans: int = 2, parcels: int = 8) -> tuple[list, Fleet]:
    """The 10 orders and the fleet the plans are made of (van V1 has a lunch break)."""
    lunch = Break(TimeWindow(9 * H, 14 * H), 1800)
    vehicles = tuple(
        van(f"V{k}", parcels=parcels, shift=(8 * H, 20 * H), break_=lunch if k == 1 else None)
        for k in range(1, vans + 1)
    )
    return _orders(10), Fleet((Depot("D", at(0, 0)),), vehicles)


def dispatcher(vans: int = 2, parcels: int = 8) -> AutoDispatch:
    """A dispatcher for the day of :func:`day_inputs` (short re-plans on straight lines)."""
    orders, fleet = day_inputs(vans, parcels)
    ctx = DispatchContext(
        {o.id: o for o in orders}, fleet, StraightLineProvider(), time_limit_s=0.2, seed=1,
        max_iterations=20,
    )  # fmt: skip
    return AutoDispatch(ctx)


def _write(folder: Path, vans: int, parcels: int = 8, on_road: int | None = None) -> Path:
    orders, fleet = day_inputs(vans, parcels)
    fleet = Fleet(fleet.depots, fleet.vehicles[: on_road or vans])
    day = plan_orders(orders, fleet, StraightLineProvider(), OPTIONS)
    write_outputs(day, folder)
    return folder / "plan.json"


@pytest.fixture(scope="session")
def plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan.json of 10 orders with all-day windows on two vans (one with a break)."""
    return _write(tmp_path_factory.mktemp("plan2"), 2)


@pytest.fixture(scope="session")
def other_plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 10 orders planned on two vans of 5 parcels (other routes)."""
    return _write(tmp_path_factory.mktemp("plan5"), 2, parcels=5)


@pytest.fixture(scope="session")
def one_van_plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 10 orders on van V1 alone (10 parcels); V2 of the same fleet is on standby."""
    return _write(tmp_path_factory.mktemp("plan1"), 2, parcels=10, on_road=1)
