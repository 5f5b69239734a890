"""Tests for the per-depot split: assignment, depot-by-depot solves, balancing, big-day matrices."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from doorstep.domain.fleet import Depot, Profile
from doorstep.domain.location import Location
from doorstep.network.provider import UNREACHABLE, Matrices
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.block_matrix import BlockMatrix
from doorstep.plan.depots import (
    DepotAssignment,
    DepotSplitSolver,
    assign_to_depots,
    balance,
    build_split_problem,
    forced_depots,
    no_worse,
    round_trips,
)
from doorstep.plan.evaluator import evaluate
from doorstep.plan.parallel import SerialRunner
from doorstep.plan.problem import Problem
from doorstep.plan.reasons import explain
from doorstep.plan.solver import Assignment, RouteAssignment, SolveSettings
from doorstep.plan.subproblem import score
from plan_problems import order, problem, van

TWO_DEPOTS = [("A", 0, 0), ("B", 10, 0)]
THREE_DEPOTS = [("A", 0, 0), ("B", 12, 0), ("C", 6, 10)]


def assigned(p: Problem) -> dict[str, str]:
    """Order id -> depot id of the first assignment ('-' for none)."""
    a = assign_to_depots(p.orders, p.fleet, round_trips(p), forced=forced_depots(p))
    return {
        o.id: p.fleet.depots[d].id if d >= 0 else "-"
        for o, d in zip(p.orders, a.depot_of, strict=True)
    }


def three_depot_day(per_depot: int = 13, seed: int = 5) -> Problem:
    """About 40 orders scattered around three depots, two vans at each."""
    rng = random.Random(seed)
    orders = []
    for name, x, y in THREE_DEPOTS:
        for k in range(per_depot):
            ox, oy = x + rng.uniform(-4, 4), y + rng.uniform(-4, 4)
            orders.append(order(f"{name}{k:02d}", ox, oy, parcels=rng.randint(1, 3)))
    vehicles = [van(f"{d}{k}", d, parcels=30) for d, _, _ in THREE_DEPOTS for k in (1, 2)]
    return problem(orders, vehicles, depots=THREE_DEPOTS)


def test_each_order_goes_to_its_cheapest_depot() -> None:
    """With room everywhere, an order goes to the depot with the shortest round trip."""
    orders = [order("w", 1, 1), order("e", 9, -1), order("mid_e", 6, 0)]
    p = problem(orders, [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS)
    assert assigned(p) == {"w": "A", "e": "B", "mid_e": "B"}


def test_capacity_overflows_to_the_next_depot() -> None:
    """A depot full in parcels sends the rest to the next cheapest; the largest regret wins."""
    # A's van carries 2 parcels. "east" is nearest A but B is close too (small
    # regret); the two west of A have nothing else near (large regret): they keep A.
    orders = [order("east", 3, 0), order("west1", -4, 0), order("west2", -5, 0)]
    p = problem(orders, [van("VA", "A", parcels=2), van("VB", "B")], depots=TWO_DEPOTS)
    assert assigned(p) == {"east": "B", "west1": "A", "west2": "A"}
    roomy = problem(orders, [van("VA", "A", parcels=3), van("VB", "B")], depots=TWO_DEPOTS)
    assert assigned(roomy) == {"east": "A", "west1": "A", "west2": "A"}


def test_capacity_is_the_sum_of_the_depots_vans() -> None:
    """Two vans of 2 parcels at A take four one-parcel orders; the fifth overflows to B."""
    orders = [order(f"o{k}", -k, 0) for k in range(5)]
    vehicles = [van("VA1", "A", parcels=2), van("VA2", "A", parcels=2), van("VB", "B")]
    got = assigned(problem(orders, vehicles, depots=TWO_DEPOTS))
    assert sorted(got.values()) == ["A", "A", "A", "A", "B"]


def test_capacity_counts_deliveries_and_returns_apart() -> None:
    """Returns fill the van on the way back: they do not use the room of the deliveries."""
    from doorstep.domain import OrderKind

    orders = [order("d", 1, 0, parcels=3), order("r", 1, 1, parcels=3, kind=OrderKind.PICKUP)]
    p = problem(orders, [van("VA", "A", parcels=3), van("VB", "B")], depots=TWO_DEPOTS)
    assert assigned(p) == {"d": "A", "r": "A"}


def test_skills_send_an_order_to_a_depot_that_can_serve_it() -> None:
    """An order needing a skill goes to the depot whose van has it; none has it: unassigned."""
    cold = frozenset({"cold"})
    orders = [order("cold", 1, 0, skills=cold), order("lift", 1, 1, skills=frozenset({"lift"}))]
    p = problem(orders, [van("VA", "A"), van("VB", "B", skills=cold)], depots=TWO_DEPOTS)
    assert assigned(p) == {"cold": "B", "lift": "-"}


def test_an_order_too_big_for_every_van_of_a_depot_goes_elsewhere() -> None:
    """A depot qualifies only with one vehicle that can carry the order alone."""
    orders = [order("big", 1, 0, parcels=8)]
    vehicles = [van("VA1", "A", parcels=5), van("VA2", "A", parcels=5), van("VB", "B")]
    p = problem(orders, vehicles, depots=TWO_DEPOTS)
    assert assigned(p) == {"big": "B"}


def test_an_order_whose_window_no_shift_of_a_depot_covers_goes_elsewhere() -> None:
    """An evening order goes to the depot whose van works evenings, though A is nearer."""
    from plan_problems import H

    orders = [order("evening", 1, 0, windows=[(18 * H, 20 * H)]), order("day", 1, 1)]
    vehicles = [van("VA", "A", shift=(8 * H, 16 * H)), van("VB", "B", shift=(12 * H, 21 * H))]
    p = problem(orders, vehicles, depots=TWO_DEPOTS)
    assert assigned(p) == {"evening": "B", "day": "A"}


def test_unreachable_depot_is_never_chosen() -> None:
    """A depot with no road to an order is not among its choices."""
    p = problem([order("x", 1, 0)], [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS)
    trips = round_trips(p)
    trips[0, 0] = UNREACHABLE
    a = assign_to_depots(p.orders, p.fleet, trips)
    assert a.depot_of == (1,) and a.choices == ((1,),)


def test_a_pickup_and_its_delivery_go_to_one_depot() -> None:
    """A paired pickup near A and its delivery near B are assigned together."""
    from doorstep.domain import OrderKind

    orders = [
        order("p", 1, 0, kind=OrderKind.PICKUP),
        order("q", 8, 0, paired_pickup="p"),
    ]
    p = problem(orders, [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS)
    got = assigned(p)
    assert got["p"] == got["q"] != "-"


def test_locks_pin_an_order_to_their_vehicles_depot() -> None:
    """An order locked to B's van is assigned to B even though A is nearer."""
    from doorstep.plan.problem import Lock

    orders = [order("x", 1, 0)]
    p = problem(
        orders, [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS, locks=[Lock("x", "VB")]
    )
    assert assigned(p) == {"x": "B"}


def test_split_solver_plans_three_depots_feasibly() -> None:
    """3 depots x ~40 orders: feasible, all served, every order from its depot or a border one."""
    p = three_depot_day()
    solver = DepotSplitSolver(runner=SerialRunner())
    result = solver.solve(p, SolveSettings(time_limit_s=3.0, seed=1))
    e = evaluate(p, result, explain(p, result))
    assert e.feasible, [v.message for v in e.violations]
    assert e.kpis.served == len(p.orders)
    assert set(solver.stages) == {"assignment", "solves", "balancing", "evaluation"}
    trips = round_trips(p)
    first = assign_to_depots(p.orders, p.fleet, trips)
    border = first.border(trips)
    depot_index = {d.id: k for k, d in enumerate(p.fleet.depots)}
    for route in result.routes:
        depot = depot_index[p.fleet.vehicles[route.vehicle].depot_id]
        for i in route.orders:
            assert first.depot_of[i] == depot or depot in border.get(i, [])
    # The plan uses vehicles of every depot: the day was split, not planned from one depot.
    used = {p.fleet.vehicles[r.vehicle].depot_id for r in result.routes if r.orders}
    assert used == {"A", "B", "C"}


def test_one_depot_is_handed_to_the_base_backend() -> None:
    """A one-depot day is not split: the base backend plans it whole."""
    p = problem([order("x", 1, 0), order("y", 2, 0)], [van("V")])
    solver = DepotSplitSolver(base="pyvrp", runner=SerialRunner())
    result = solver.solve(p, SolveSettings(time_limit_s=1.0, seed=1))
    assert solver.stages == {}
    assert sorted(i for r in result.routes for i in r.orders) == [0, 1]


def test_vehicle_ending_at_another_depot_plans_feasibly() -> None:
    """A van starting at A and ending at B serves A's orders and finishes at B."""
    from dataclasses import replace

    va = replace(van("VA", "A"), end_depot_id="B")
    orders = [order("a", 1, 0), order("b", 9, 0)]
    p = problem(orders, [va, van("VB", "B")], depots=TWO_DEPOTS)
    result = DepotSplitSolver(runner=SerialRunner()).solve(
        p, SolveSettings(time_limit_s=1.0, seed=1)
    )
    e = evaluate(p, result, explain(p, result))
    assert e.feasible and e.kpis.served == 2


def _border_case() -> tuple[Problem, DepotAssignment, list[RouteAssignment]]:
    """A's van goes west to w and east to m; m is nearer B, whose van is next door at b."""
    orders = [order("w", -3, 0), order("m", 6, 0), order("b", 7, 0)]
    p = problem(orders, [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS)
    # As if the first assignment had put m at A (say A had room and B had not, then).
    choices = assign_to_depots(p.orders, p.fleet, round_trips(p)).choices
    wrong = DepotAssignment((0, 0, 1), choices)
    routes = [RouteAssignment(0, (0, 1)), RouteAssignment(1, (2,))]
    return p, wrong, routes


def test_balancing_moves_a_border_order_that_is_cheaper_from_the_other_side() -> None:
    """Order m moves from A's route to B's; the evaluator finds the day cheaper and feasible."""
    p, wrong, routes = _border_case()
    balanced, untried = balance(p, routes, wrong, round_trips(p))
    on = {i: r.vehicle for r in balanced for i in r.orders}
    assert on == {0: 0, 1: 1, 2: 1} and not untried
    assert score(p, balanced) < score(p, routes)
    assert score(p, balanced).violations == 0


def test_balancing_leaves_orders_whose_move_would_not_pay() -> None:
    """An order whose own depot is cheaper stays where it is."""
    p, _, _ = _border_case()
    right = assign_to_depots(p.orders, p.fleet, round_trips(p))
    routes = [RouteAssignment(0, (0,)), RouteAssignment(1, (1, 2))]
    balanced, _ = balance(p, routes, right, round_trips(p))
    assert sorted((r.vehicle, r.orders) for r in balanced) == [(0, (0,)), (1, (1, 2))]


def spread_day(seed: int, n: int = 30) -> Problem:
    """Orders spread evenly over the three depots' area: many on a border."""
    rng = random.Random(seed)
    orders = [order(f"o{k:02d}", rng.uniform(-2, 14), rng.uniform(-3, 12)) for k in range(n)]
    vehicles = [van(f"{d}1", d, parcels=30) for d, _, _ in THREE_DEPOTS]
    return problem(orders, vehicles, depots=THREE_DEPOTS)


def test_balancing_never_makes_the_plan_worse() -> None:
    """Over several days, balancing scores no worse than the depots' own plans, often better."""
    improved = 0
    for seed in (1, 2, 3, 4):
        p = spread_day(seed)
        trips = round_trips(p)
        first = assign_to_depots(p.orders, p.fleet, trips)
        # Each depot's orders swept by angle, one van per depot: a plan to improve.
        routes = []
        for d, depot in enumerate(p.fleet.depots):
            mine = sorted(first.orders_of(d), key=lambda i: _angle(p.orders[i].location, depot))
            routes.append(RouteAssignment(d, tuple(mine)))
        balanced, _ = balance(p, routes, first, trips)
        assert score(p, balanced) <= score(p, routes)
        improved += score(p, balanced) < score(p, routes)
        kept = no_worse(p, routes, balanced)
        assert score(p, kept) == min(score(p, routes), score(p, balanced))
    assert improved >= 1


def _angle(a: Location, depot: Depot) -> float:
    b = depot.location
    return float(np.arctan2(a.lat - b.lat, a.lon - b.lon))


def test_no_worse_keeps_the_plan_before_when_after_is_worse() -> None:
    """The guard returns the earlier routes when the new ones score worse."""
    p, _, routes = _border_case()
    worse = [RouteAssignment(0, (0, 1))]  # b left out
    assert no_worse(p, routes, worse) == routes
    assert no_worse(p, worse, routes) == routes


class FailingRunner(SerialRunner):
    """A serial runner whose task ``fail`` comes back as failed (None)."""

    def __init__(self, fail: int) -> None:
        self.fail = fail

    def map(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[Any]:
        out = super().map(fn, tasks, timeout_s=timeout_s, stop=stop)
        out[self.fail] = None
        return out


def test_a_failed_depot_keeps_its_orders_planned_or_explained() -> None:
    """B's task fails: its orders are inserted by balancing or left out with a real reason."""
    p = three_depot_day(per_depot=8)
    result = DepotSplitSolver(runner=FailingRunner(1)).solve(p, SolveSettings(time_limit_s=2.0))
    e = evaluate(p, result, explain(p, result))
    assert e.feasible
    served = {v.order_id for r in e.plan.routes for v in r.visits}
    b_orders = {o.id for o in p.orders if o.id.startswith("B")}
    assert b_orders & served  # the failure did not lose B's day
    for u in e.plan.unassigned:
        assert u.code != "not_planned" and u.message
    assert len(served) + len(e.plan.unassigned) == len(p.orders)


def test_orders_no_depot_can_take_get_a_reason() -> None:
    """An order needing a skill no van has is left out with the ``no_skill`` reason."""
    orders = [order("x", 1, 0), order("odd", 9, 0, skills=frozenset({"crane"}))]
    p = problem(orders, [van("VA", "A"), van("VB", "B")], depots=TWO_DEPOTS)
    result = DepotSplitSolver(runner=SerialRunner()).solve(p, SolveSettings(time_limit_s=1.0))
    e = evaluate(p, result, explain(p, result))
    assert [(u.order_id, u.code) for u in e.plan.unassigned] == [("odd", "no_skill")]


class CountingProvider(StraightLineProvider):
    """Straight-line travel that records how many locations each call asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        self.sizes.append(len(locations))
        return super().matrices(locations, profile)


def test_big_day_matrices_are_asked_per_depot_and_match_the_provider() -> None:
    """No call asks for the whole day; depot rows and in-block pairs equal the full matrix.

    The matrices hold only the blocks asked (far less than the day's square).
    """
    p = three_depot_day(per_depot=20)
    provider = CountingProvider()
    built = build_split_problem(p.orders, p.fleet, provider, chunk=25)
    n = p.location_count
    assert max(provider.sizes) < n
    locations = [d.location for d in p.fleet.depots] + [o.location for o in p.orders]
    full = StraightLineProvider().matrices(locations, Profile.VAN).durations
    held = built.durations[Profile.VAN]
    assert isinstance(held, BlockMatrix) and held.nbytes < full.nbytes * 0.75
    got = np.asarray(held)
    assert np.array_equal(got[:3], full[:3]) and np.array_equal(got[:, :3], full[:, :3])
    known = got < UNREACHABLE
    assert np.array_equal(got[known], full[known])
    assert known.sum() < n * n  # some cross-depot pairs were never asked
    first = assign_to_depots(built.orders, built.fleet, round_trips(built))
    for d in range(3):
        mine = 3 + np.array(first.orders_of(d))
        assert (got[np.ix_(mine, mine)] < UNREACHABLE).all()


def test_a_route_over_a_pair_never_asked_is_reported_unreachable() -> None:
    """Two orders in no common block: a route joining them breaks, it is never priced at 0."""
    p = three_depot_day(per_depot=20)
    built = build_split_problem(p.orders, p.fleet, StraightLineProvider(), chunk=25)
    held = built.durations[Profile.VAN]
    dense = np.asarray(held)
    unknown = np.argwhere(dense[3:, 3:] >= UNREACHABLE)
    assert unknown.size, "the day must have pairs no block holds"
    i, j = (int(x) for x in unknown[0])
    assert held[3 + i, 3 + j] == UNREACHABLE == held.item(3 + i, 3 + j)
    e = evaluate(built, Assignment((RouteAssignment(0, (i, j)),), "hand"))
    assert "unreachable" in {v.code for v in e.violations}


def test_big_day_problem_plans_feasibly_with_the_split_solver() -> None:
    """The split solver on the per-depot matrices gives a feasible plan serving every order."""
    p = three_depot_day(per_depot=12)
    built = build_split_problem(p.orders, p.fleet, StraightLineProvider(), chunk=10)
    result = DepotSplitSolver(runner=SerialRunner()).solve(built, SolveSettings(time_limit_s=2.0))
    e = evaluate(built, result, explain(built, result))
    assert e.feasible, [v.message for v in e.violations]
    assert e.kpis.served == len(built.orders)


def test_the_pipeline_plans_a_multi_depot_day_on_per_depot_matrices(monkeypatch: Any) -> None:
    """``plan_orders`` with the depots backend builds per-depot matrices and plans feasibly."""
    import doorstep.plan.depots as depots
    from doorstep.plan.pipeline import PlanOptions, plan_orders

    monkeypatch.setattr(depots, "default_runner", SerialRunner)
    p = three_depot_day(per_depot=10)
    provider = CountingProvider()
    options = PlanOptions(backend="depots", time_limit_s=2.0, with_geometry=False)
    day = plan_orders(p.orders, p.fleet, provider, options)
    # One call between the depots, one for the depots-to-orders travel both ways (a chunk
    # holds them all; this provider answers it as one matrix), then one per depot.
    assert len(provider.sizes) == 5 and max(provider.sizes[2:]) < p.location_count
    assert day.backend == "depots" and day.evaluation.feasible
    assert day.evaluation.kpis.served == len(p.orders)


def test_the_automatic_choice_builds_per_depot_matrices_for_a_day_it_splits(
    monkeypatch: Any,
) -> None:
    """Without a backend named, a day the choice splits by depot is built as blocks.

    One order fewer than the threshold and the same day is built dense and planned whole.
    """
    import doorstep.plan.depots as depots
    import doorstep.plan.registry as registry
    from doorstep.plan.pipeline import PlanOptions, plan_orders

    monkeypatch.setattr(depots, "default_runner", SerialRunner)
    p = three_depot_day(per_depot=10)
    options = PlanOptions(time_limit_s=2.0, with_geometry=False)
    monkeypatch.setattr(registry, "DEPOTS_MIN_ORDERS", len(p.orders))
    day = plan_orders(p.orders, p.fleet, CountingProvider(), options)
    assert day.backend == "depots" and isinstance(day.problem.durations[Profile.VAN], BlockMatrix)
    assert day.evaluation.feasible and day.evaluation.kpis.served == len(p.orders)
    monkeypatch.setattr(registry, "DEPOTS_MIN_ORDERS", len(p.orders) + 1)
    whole = plan_orders(p.orders, p.fleet, CountingProvider(), options)
    assert whole.backend != "depots"
    assert isinstance(whole.problem.durations[Profile.VAN], np.ndarray)
