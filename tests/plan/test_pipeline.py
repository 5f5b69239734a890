"""The one planning pipeline (plan/pipeline.py): canonical order, steps, and what it returns."""

from __future__ import annotations

import random

from doorstep.domain.fleet import Depot, Fleet, Profile
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.pipeline import PlanOptions, canonical, plan_orders, plan_problem
from plan_problems import at, order, problem, van

OPTIONS = PlanOptions(time_limit_s=30, seed=1, max_iterations=30, backend="pyvrp")


def _orders(n: int) -> list:
    rng = random.Random(5)
    return [order(f"O{k:02d}", rng.uniform(-4, 4), rng.uniform(-4, 4)) for k in range(n)]


def _fleet() -> Fleet:
    depots = (Depot("Z", at(9, 9)), Depot("D", at(0, 0)))
    return Fleet(depots, (van("V2", parcels=12), van("V1", parcels=12)))


def test_canonical_sorts_orders_and_vehicles_and_keeps_only_used_depots() -> None:
    """Orders by id, vehicles by profile (motor first) then id; unused depots are dropped."""
    bike = van("A-BIKE", profile=Profile.BIKE)
    fleet = Fleet(_fleet().depots, (bike, *_fleet().vehicles))
    orders, fleet = canonical(list(reversed(_orders(5))), fleet)
    assert [o.id for o in orders] == ["O00", "O01", "O02", "O03", "O04"]
    assert [v.id for v in fleet.vehicles] == ["V1", "V2", "A-BIKE"]
    assert [d.id for d in fleet.depots] == ["D"]


def test_the_order_orders_are_listed_in_does_not_change_the_plan() -> None:
    """Shuffled orders and vehicles give the same routes for the same seed and iterations."""
    orders = _orders(30)
    shuffled = list(orders)
    random.Random(2).shuffle(shuffled)
    fleet = _fleet()
    backwards = Fleet(tuple(reversed(fleet.depots)), tuple(reversed(fleet.vehicles)))
    provider = StraightLineProvider()
    a = plan_orders(orders, fleet, provider, OPTIONS)
    b = plan_orders(shuffled, backwards, provider, OPTIONS)

    def routes(day):  # vehicle -> order ids in visiting order
        return {r.vehicle_id: [v.order_id for v in r.visits] for r in day.evaluation.plan.routes}

    assert routes(a) == routes(b)
    assert sum(len(r) for r in routes(a).values()) == 24  # two vans of 12 parcels
    assert len(a.evaluation.plan.unassigned) == 6


def test_plan_problem_without_a_provider_draws_no_geometry_and_names_its_steps() -> None:
    """A built problem is planned and evaluated; without a provider there is no geometry."""
    steps: list[str] = []
    day = plan_problem(
        problem([order("A", 1, 0), order("B", 0, 1)], [van("V")]), OPTIONS, on_step=steps.append
    )
    assert day.geometry == ()
    assert day.backend == "pyvrp" and steps == ["solving with pyvrp"]
    assert day.evaluation.kpis.served == 2 and day.evaluation.feasible
    assert day.search_cost is not None


def test_plan_orders_draws_one_polyline_per_route_when_asked() -> None:
    """With geometry on, every route has a polyline from the depot and back."""
    day = plan_orders(_orders(6), _fleet(), StraightLineProvider(), OPTIONS)
    assert len(day.geometry) == len(day.evaluation.plan.routes) > 0
    depot = _fleet().depot("D").location
    for line in day.geometry:
        assert line[0] == line[-1] == (depot.lat, depot.lon)
