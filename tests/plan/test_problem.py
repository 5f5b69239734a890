"""How the planning model weighs the objectives every backend shares."""

from __future__ import annotations

import pytest

from doorstep.domain.order import OrderKind
from doorstep.errors import InputError
from doorstep.plan.problem import (
    OPTIONAL_DROP_PENALTY,
    VEHICLE_WEIGHT_M,
    Objective,
)
from plan_problems import order, problem, van


def test_distance_objective_weighs_an_order_as_a_detour() -> None:
    """A normal order is worth a 1,000 km detour, an optional one 10 km."""
    day = problem(
        [order("a", 1, 1), order("b", 2, 2, priority=-1)],
        [van("A")],
        objective=Objective.DISTANCE,
    )
    assert day.drop_penalty[1] == OPTIONAL_DROP_PENALTY
    assert day.drop_weight_m(0) == 1_000_000
    assert day.drop_weight_m(1) == 10_000


def test_vehicles_objective_never_trades_an_order_for_vehicles() -> None:
    """Leaving even an optional order out weighs more than using every vehicle."""
    fleet = [van(v) for v in "ABC"]
    day = problem([order("a", 1, 1, priority=-1)], fleet, objective=Objective.VEHICLES)
    assert day.drop_weight_m(0) > VEHICLE_WEIGHT_M * len(fleet)
    assert VEHICLE_WEIGHT_M > 1000 * 1000 * 100  # above 1,000 km per vehicle for 100 vehicles


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([order("d", 1, 1, paired_pickup="p")], "paired with pickup p, which is not in this plan"),
        ([order("p", 1, 1), order("d", 2, 2, paired_pickup="p")], "which is not a pickup"),
        (
            [
                order("p", 1, 1, kind=OrderKind.PICKUP),
                order("d", 2, 2, paired_pickup="p"),
                order("e", 3, 3, paired_pickup="p"),
            ],
            "both paired with pickup p",
        ),
    ],
)
def test_a_pairing_planning_cannot_build_is_an_input_error(orders: list, message: str) -> None:
    """A delivery paired with a pickup missing, not a pickup or shared: InputError, not KeyError."""
    with pytest.raises(InputError, match=message):
        problem(orders, [van("A")])


def test_a_path_runs_from_the_start_depot_through_the_orders_to_the_end_depot() -> None:
    """Orders become their locations (after the depots); a vehicle may end elsewhere."""
    from dataclasses import replace

    p = problem(
        [order("a", 1, 0), order("b", 2, 0), order("c", 3, 0)],
        [replace(van("V", "A"), end_depot_id="B")],
        depots=[("A", 0, 0), ("B", 5, 0)],
    )
    vehicle = p.fleet.vehicles[0]
    assert p.path(vehicle, [2, 0]) == [0, 4, 2, 1]
    assert p.path(vehicle, []) == [0, 1]
