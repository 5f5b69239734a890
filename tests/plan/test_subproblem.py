"""Cutting a problem to some orders and vehicles (plan/subproblem.py), and scoring plans."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from doorstep.domain import OrderKind, Profile
from doorstep.errors import InputError
from doorstep.plan.problem import Lock, Objective, Problem
from doorstep.plan.solver import RouteAssignment
from doorstep.plan.subproblem import restrict, score
from plan_problems import order, problem, van


def _line(objective: Objective = Objective.DISTANCE) -> Problem:
    orders = [order(f"o{i}", i + 1, (-1) ** i, parcels=1) for i in range(6)]
    vans = [van("A"), van("B"), van("C", profile=Profile.BIKE)]
    return problem(orders, vans, objective=objective)


def test_restrict_slices_the_matrices_to_its_depots_and_orders() -> None:
    """The part's matrices are the whole's between the same places, depots first."""
    whole = _line()
    part = restrict(whole, [4, 1, 2], [1])
    assert part.problem.location_count == 1 + 3
    assert part.problem.profiles == (Profile.VAN,)
    assert set(part.problem.durations) == {Profile.VAN}
    where = [0, whole.order_location(4), whole.order_location(1), whole.order_location(2)]
    for whole_m, part_m in (
        (whole.durations, part.problem.durations),
        (whole.distances, part.problem.distances),
    ):
        assert np.array_equal(part_m[Profile.VAN], whole_m[Profile.VAN][np.ix_(where, where)])
    assert [o.id for o in part.problem.orders] == ["o4", "o1", "o2"]
    assert [v.id for v in part.problem.fleet.vehicles] == ["B"]


def test_lift_and_lower_are_inverse_and_keep_breaks() -> None:
    """Routes go to the part's indices and back unchanged, break positions included."""
    whole = _line()
    part = restrict(whole, [5, 3, 0], [2, 0])
    routes = (RouteAssignment(0, (3, 5), break_after=0), RouteAssignment(2, (0,)))
    lowered = part.lower(routes)
    assert lowered == (RouteAssignment(1, (1, 0), 0), RouteAssignment(0, (2,)))
    assert part.lift(lowered) == routes


def test_lower_refuses_routes_outside_the_part() -> None:
    """A route whose order is not in the part cannot be lowered."""
    part = restrict(_line(), [0, 1], [0])
    with pytest.raises(ValueError, match="outside the part"):
        part.lower([RouteAssignment(0, (0, 2))])


def test_restrict_keeps_only_the_depots_of_its_vehicles() -> None:
    """With two depots, a part of one depot's vehicles carries that depot only."""
    orders = [order("n", 0, 40), order("s", 0, -40)]
    whole = problem(
        orders, [van("N", "DN"), van("S", "DS")], depots=[("DN", 0, 50), ("DS", 0, -50)]
    )
    part = restrict(whole, [1], [1])
    assert [d.id for d in part.problem.fleet.depots] == ["DS"]
    assert part.depots == (1,)
    assert part.problem.start_location(part.problem.fleet.vehicles[0]) == 0
    assert part.problem.distances[Profile.VAN][0, 1] == whole.distances[Profile.VAN][1, 3]


def test_restrict_carries_penalties_off_network_and_settings() -> None:
    """Drop penalties, off-network places, objective and all_required follow the orders."""
    whole = replace(
        _line(Objective.VEHICLES),
        drop_penalty=(1, 2, 3, 4, 5, 6),
        off_network=frozenset({_line().order_location(3)}),
        all_required=True,
    )
    part = restrict(whole, [3, 5], [0])
    assert part.problem.drop_penalty == (4, 6)
    assert part.problem.off_network == frozenset({1})
    assert part.problem.objective is Objective.VEHICLES and part.problem.all_required


def test_warm_start_from_routes_is_cut_to_the_part() -> None:
    """Given routes become the part's warm start, without stops or vehicles outside it."""
    whole = _line()
    routes = [RouteAssignment(0, (0, 1, 4)), RouteAssignment(1, (2, 3))]
    part = restrict(whole, [0, 4, 2], [0], warm_start=routes)
    assert dict(part.problem.warm_start) == {"A": ("o0", "o4")}
    own = replace(whole, warm_start={"B": ("o5", "o1")})
    assert dict(restrict(own, [1], [1]).problem.warm_start) == {"B": ("o1",)}


def test_locks_follow_their_orders_and_need_their_vehicle() -> None:
    """A lock is kept with its order and vehicle; its order without its vehicle is refused."""
    whole = replace(_line(), locks=(Lock("o1", "B"),))
    assert restrict(whole, [1, 2], [1]).problem.locks == (Lock("o1", "B"),)
    assert restrict(whole, [2], [0]).problem.locks == ()
    with pytest.raises(ValueError, match="locked"):
        restrict(whole, [1], [0])


def test_a_pair_cannot_be_split() -> None:
    """A paired delivery without its pickup is refused by the problem itself."""
    orders = [
        order("p", 1, 1, kind=OrderKind.PICKUP),
        order("d", 2, 0, paired_pickup="p"),
        order("x", 3, 0),
    ]
    whole = problem(orders, [van("A")])
    assert len(restrict(whole, [0, 1], [0]).problem.pairs()) == 1
    with pytest.raises(InputError):
        restrict(whole, [1, 2], [0])


def test_a_part_pickles() -> None:
    """A part travels to other processes (Ray pickles it) and comes back equal."""
    part = restrict(_line(), [0, 1, 2], [0, 2])
    again = pickle.loads(pickle.dumps(part))
    assert again.orders == part.orders and again.vehicles == part.vehicles
    assert np.array_equal(
        again.problem.durations[Profile.BIKE], part.problem.durations[Profile.BIKE]
    )


def test_score_puts_orders_before_distance_and_vehicles_before_distance() -> None:
    """Serving more wins over driving less; under VEHICLES one van wins over two shorter routes."""
    whole = _line(Objective.VEHICLES)
    one = [RouteAssignment(0, (0, 1, 2, 3, 4, 5))]
    two = [RouteAssignment(0, (0, 2, 4)), RouteAssignment(1, (1, 3, 5))]
    fewer = [RouteAssignment(0, (0, 1, 2))]
    assert score(whole, one) < score(whole, two)
    assert score(whole, one) < score(whole, fewer)
    assert score(whole, fewer).dropped == 3
    distance = replace(whole, objective=Objective.DISTANCE)
    short = [RouteAssignment(0, (0, 1, 2, 3, 4, 5))]
    zigzag = [RouteAssignment(0, (5, 0, 4, 1, 3, 2))]
    assert score(distance, short) < score(distance, zigzag)


def test_score_counts_violations_first() -> None:
    """A plan breaking a constraint scores worse than a longer feasible one."""
    whole = problem(
        [order("a", 1, 0, parcels=3), order("b", 2, 0, parcels=3)],
        [van("A", parcels=4), van("B", parcels=4)],
    )
    over = [RouteAssignment(0, (0, 1))]
    apart = [RouteAssignment(0, (0,)), RouteAssignment(1, (1,))]
    assert score(whole, over).violations == 1
    assert score(whole, apart) < score(whole, over)


def test_scores_of_disjoint_parts_add_up_to_the_whole() -> None:
    """The objective of a plan is the sum of its parts' (so improving parts improves the whole)."""
    whole = _line()
    routes = [RouteAssignment(0, (0, 2, 4)), RouteAssignment(1, (1, 3, 5))]
    left = restrict(whole, [0, 2, 4], [0])
    right = restrict(whole, [1, 3, 5], [1])
    parts = score(left.problem, left.lower(routes[:1])).objective
    parts += score(right.problem, right.lower(routes[1:])).objective
    assert score(whole, routes).objective == parts
