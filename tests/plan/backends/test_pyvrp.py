"""The PyVRP backend's mapping: load dimensions and fleet minimisation."""

from __future__ import annotations

from dataclasses import replace

from doorstep.domain import Load
from doorstep.plan.backends.pyvrp import build_model, load_dimensions
from plan_problems import order, problem, van


def test_only_the_load_dimensions_orders_use_reach_pyvrp() -> None:
    """Parcels-only orders plan in one dimension; weight joins when an order has one."""
    parcels_only = [replace(order(f"o{i}", i, 1), demand=Load(parcels=2)) for i in range(3)]
    day = problem(parcels_only, [van("A", parcels=5)])
    model = build_model(day)
    assert load_dimensions(day) == (0,)
    assert model.data.num_load_dimensions == 1
    assert model.data.vehicle_type(0).capacity == [5]
    assert [c.delivery for c in model.data.clients()] == [[2], [2], [2]]

    heavy = [*parcels_only, replace(order("w", 2, 2), demand=Load(1, 3000, 0))]
    day = problem(heavy, [van("A", parcels=5)])
    assert load_dimensions(day) == (0, 1)
    assert build_model(day).data.vehicle_type(0).capacity == [5, 5000]


def test_a_day_without_any_demand_keeps_one_dimension() -> None:
    """Orders with no demand at all still give PyVRP one (empty) load dimension."""
    day = problem([replace(order("a", 1, 1), demand=Load())], [van("A")])
    assert load_dimensions(day) == (0,)
    assert build_model(day).data.num_load_dimensions == 1
