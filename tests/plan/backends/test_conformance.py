"""The backend conformance suite: one small problem per feature, for every backend.

A backend is run on every case whose feature it claims; the evaluator must find
the plan feasible, and each case checks the behaviour its feature implies.
Cases for features a backend does not claim are not collected for it (the
engine never gives it such problems).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest

from doorstep.domain import OrderKind, Profile, TimeWindow
from doorstep.domain.fleet import Break, Costs
from doorstep.plan.block_matrix import BlockLayout, BlockMatrix
from doorstep.plan.evaluator import Evaluation, evaluate
from doorstep.plan.problem import Feature, Lock, Objective, Problem, TravelMatrix
from doorstep.plan.reasons import explain
from doorstep.plan.registry import backends
from doorstep.plan.solver import Solver, SolveSettings
from plan_problems import H, M, order, problem, van


@dataclass(frozen=True)
class Case:
    feature: Feature
    build: Callable[[], Problem]
    check: Callable[[Problem, Evaluation], None]


def stops(e: Evaluation, vehicle: str) -> list[str]:
    return [v.order_id for r in e.plan.routes if r.vehicle_id == vehicle for v in r.visits]


def vehicle_of(e: Evaluation, order_id: str) -> str:
    return next(r.vehicle_id for r in e.plan.routes for v in r.visits if v.order_id == order_id)


def all_served(p: Problem, e: Evaluation) -> None:
    assert e.kpis.served == len(p.orders), e.plan.unassigned


def _capacity() -> Problem:
    orders = [order(f"o{i}", i % 3 + 1, i // 3, parcels=2) for i in range(6)]
    return problem(orders, [van("A", parcels=6), van("B", parcels=6)])


def _check_capacity(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert e.kpis.vehicles_used == 2


def _windows() -> Problem:
    # On a line east of the depot; windows ask for the far one first.
    orders = [
        order("near", 1, 0, windows=[(10 * H, 11 * H)]),
        order("mid", 2, 0, windows=[(9 * H, 10 * H)]),
        order("far", 3, 0, windows=[(8 * H, 9 * H)]),
    ]
    return problem(orders, [van("A")])


def _check_windows(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert stops(e, "A") == ["far", "mid", "near"]


def _soft_windows() -> Problem:
    # East and west of the depot, 20 minutes each way, both due by 08:30: one van
    # cannot be on time at both, but lateness (60 per hour) costs less than a drop.
    orders = [
        replace(order(name, x, 0, windows=[(8 * H, 8 * H + 30 * M)]), late_cost_per_hour=6000)
        for name, x in (("east", 10), ("west", -10))
    ]
    return problem(orders, [van("A")])


def _check_soft_windows(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert e.kpis.on_time_share == 0.5
    # First stop at 08:20, 5 min service, 40 min across: the second at 09:05.
    assert e.kpis.late_min == 35
    assert e.kpis.lateness_cost == 35


def _multiple_windows() -> Problem:
    # 20 km away: 40 minutes at least, so the 08:00-08:20 window is out of reach.
    orders = [order("two", 20, 0, windows=[(8 * H, 8 * H + 20 * M), (11 * H, 12 * H)])]
    return problem(orders, [van("A")])


def _check_multiple_windows(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    visit = e.plan.routes[0].visits[0]
    assert 11 * H <= visit.start_s <= 12 * H


def _shifts() -> Problem:
    return problem([order("x", 5, 0)], [van("A", shift=(13 * H, 15 * H))])


def _check_shifts(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    route = e.plan.routes[0]
    assert route.start_s >= 13 * H and route.end_s <= 15 * H


def _max_duration() -> Problem:
    # Two stops 10 km apart in opposite directions: 40 min + 40 min + service > 1 h.
    orders = [order("east", 10, 0), order("west", -10, 0)]
    return problem(orders, [van("A", max_duration_s=H), van("B", max_duration_s=H)])


def _check_max_duration(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert vehicle_of(e, "east") != vehicle_of(e, "west")


def _breaks() -> Problem:
    orders = [order(f"o{i}", i + 1, 0, service_min=30) for i in range(8)]
    brk = Break(TimeWindow(10 * H, 11 * H), 30 * M)
    return problem(orders, [van("A", break_=brk)])


def _check_breaks(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    route = e.plan.routes[0]
    assert route.break_start_s is not None
    assert 10 * H <= route.break_start_s <= 10 * H + 30 * M


def _multi_depot() -> Problem:
    orders = [order("n1", 1, 50), order("n2", 2, 51), order("s1", 1, -50), order("s2", 0, -51)]
    vehicles = [van("N", "DN"), van("S", "DS")]
    return problem(orders, vehicles, depots=[("DN", 0, 50), ("DS", 0, -50)])


def _check_multi_depot(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert sorted(stops(e, "N")) == ["n1", "n2"] and sorted(stops(e, "S")) == ["s1", "s2"]


def _mixed_fleet() -> Problem:
    # A van is fast but dear to start; a bike is slow but cheap. One stop 1 km away.
    vehicles = [
        van("VAN", costs=Costs(fixed=20_000, per_km=50, per_hour=3000)),
        van("BIKE", profile=Profile.BIKE, costs=Costs(fixed=500, per_km=0, per_hour=2500)),
    ]
    return problem([order("x", 1, 0)], vehicles)


def _check_mixed_fleet(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    route = e.plan.routes[0]
    assert route.vehicle_id == "BIKE"
    assert route.visits[0].arrival_s - route.start_s == 4 * M  # the bike's own matrix


def _pickups() -> Problem:
    # Capacity 4: two deliveries out (2 each), then two returns (2 each) can only come
    # after the deliveries made room.
    orders = [
        order("d1", 1, 0, parcels=2),
        order("d2", 2, 0, parcels=2),
        order("r1", 1, 1, parcels=2, kind=OrderKind.PICKUP),
        order("r2", 2, 1, parcels=2, kind=OrderKind.PICKUP),
    ]
    return problem(orders, [van("A", parcels=4)])


def _check_pickups(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    route = e.plan.routes[0]
    loads = [v.load_after.parcels for v in route.visits]
    assert max(loads) <= 4 and loads[-1] == 4  # ends full of returns


def _paired() -> Problem:
    orders = [
        order("collect", 5, 5, kind=OrderKind.PICKUP, parcels=3),
        order("drop", 1, 0, parcels=3, paired_pickup="collect"),
        order("other", 2, 0),
    ]
    return problem(orders, [van("A"), van("B")])


def _check_paired(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    vehicle = vehicle_of(e, "drop")
    assert vehicle == vehicle_of(e, "collect")
    sequence = stops(e, vehicle)
    assert sequence.index("collect") < sequence.index("drop")


def _skills() -> Problem:
    orders = [order("cold", 1, 0, skills=frozenset({"cold"})), order("plain", 1, 1)]
    return problem(orders, [van("A"), van("B", skills=frozenset({"cold"}))])


def _check_skills(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert vehicle_of(e, "cold") == "B"


def _optional() -> Problem:
    orders = [
        order("ok", 1, 0),
        order("impossible", 50, 0, windows=[(8 * H, 8 * H + 10 * M)]),
        order("cheap", 30, 30, priority=-1),
    ]
    return problem(orders, [van("A", shift=(8 * H, 10 * H))])


def _check_optional(p: Problem, e: Evaluation) -> None:
    assert stops(e, "A") == ["ok"]
    codes = {u.order_id: u.code for u in e.plan.unassigned}
    assert codes["impossible"] == "window_unreachable"
    assert codes["cheap"] in {"shift_too_short", "no_capacity_left"}


def _locks() -> Problem:
    orders = [order("a", 1, 0), order("b", 2, 0), order("c", -1, 0)]
    locks = [Lock("c", "B"), Lock("b", "A", position=0)]
    return problem(orders, [van("A"), van("B")], locks=locks)


def _check_locks(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert vehicle_of(e, "c") == "B"
    assert stops(e, "A")[0] == "b"


def _warm_start() -> Problem:
    orders = [order(f"o{i}", i + 1, 0) for i in range(4)]
    return problem(orders, [van("A"), van("B")], warm_start={"A": ("o0", "o1", "o2", "o3")})


def _check_warm_start(p: Problem, e: Evaluation) -> None:
    all_served(p, e)


def _vehicles_objective() -> Problem:
    # Two clusters: one vehicle can do both in its shift, two would drive less.
    orders = [order("e", 10, 0), order("w", -10, 0)]
    return problem(orders, [van("A"), van("B")], objective=Objective.VEHICLES)


def _check_vehicles_objective(p: Problem, e: Evaluation) -> None:
    all_served(p, e)
    assert e.kpis.vehicles_used == 1


CASES = [
    Case(Feature.CAPACITY, _capacity, _check_capacity),
    Case(Feature.TIME_WINDOWS, _windows, _check_windows),
    Case(Feature.SOFT_WINDOWS, _soft_windows, _check_soft_windows),
    Case(Feature.MULTIPLE_WINDOWS, _multiple_windows, _check_multiple_windows),
    Case(Feature.SHIFTS, _shifts, _check_shifts),
    Case(Feature.MAX_DURATION, _max_duration, _check_max_duration),
    Case(Feature.BREAKS, _breaks, _check_breaks),
    Case(Feature.MULTI_DEPOT, _multi_depot, _check_multi_depot),
    Case(Feature.MIXED_FLEET, _mixed_fleet, _check_mixed_fleet),
    Case(Feature.PROFILES, _mixed_fleet, _check_mixed_fleet),
    Case(Feature.PICKUPS, _pickups, _check_pickups),
    Case(Feature.PAIRED, _paired, _check_paired),
    Case(Feature.SKILLS, _skills, _check_skills),
    Case(Feature.OPTIONAL, _optional, _check_optional),
    Case(Feature.LOCKS, _locks, _check_locks),
    Case(Feature.WARM_START, _warm_start, _check_warm_start),
    Case(Feature.CAPACITY, _vehicles_objective, _check_vehicles_objective),
]


def _pyvrp_breaks_in_search() -> Solver:
    from doorstep.plan.backends.pyvrp import PyVrpSolver

    return PyVrpSolver(breaks="search")


VARIANTS: dict[str, Callable[[], Solver]] = {"pyvrp-breaks-in-search": _pyvrp_breaks_in_search}
"""Backends in a setting other than their default, held to the same suite."""


def _solvers() -> dict[str, Callable[[], Solver]]:
    return {**backends(), **VARIANTS}


def _params() -> list[object]:
    out = []
    for name, factory in _solvers().items():
        try:
            solver = factory()
        except ImportError:  # pragma: no cover - every backend ships with Doorstep
            continue
        for case in CASES:
            if case.feature in solver.features:
                out.append(pytest.param(name, case, id=f"{name}-{case.build.__name__[1:]}"))
    return out


@pytest.mark.parametrize(("backend", "case"), _params())
def test_backend_plans_are_feasible_and_behave(backend: str, case: Case) -> None:
    """Each claimed feature: the evaluator finds the plan feasible, and the feature shows."""
    p = case.build()
    assert case.feature in p.features() or case.feature is Feature.CAPACITY
    solver = _solvers()[backend]()
    assignment = solver.solve(p, SolveSettings(time_limit_s=1.0, seed=1))
    evaluation = evaluate(p, assignment, explain(p, assignment))
    assert evaluation.feasible, [v.message for v in evaluation.violations]
    case.check(p, evaluation)


def test_every_feature_has_a_case() -> None:
    """The suite covers every feature a backend may claim."""
    assert {c.feature for c in CASES} == set(Feature)


def test_default_backend_claims_all_but_locks_and_soft_windows() -> None:
    """PyVRP (the default) claims everything but locks and soft windows (OR-Tools has them)."""
    solver = backends()["pyvrp"]()
    assert set(Feature) - solver.features == {Feature.LOCKS, Feature.SOFT_WINDOWS}
    assert backends()["ortools"]().features == set(Feature)


def as_blocks(p: Problem) -> Problem:
    """``p`` with each matrix held as two overlapping row blocks (every pair still held)."""
    n = p.location_count
    half = n // 2
    spans = [(np.arange(0, half + 1), np.arange(n)), (np.arange(half, n), np.arange(n))]
    layout = BlockLayout.of(n, spans)

    def held(m: TravelMatrix) -> BlockMatrix:
        dense = np.asarray(m)
        return BlockMatrix(layout, [dense[np.ix_(r, c)] for r, c in spans])

    return replace(
        p,
        durations={k: held(m) for k, m in p.durations.items()},
        distances={k: held(m) for k, m in p.distances.items()},
    )


@pytest.mark.parametrize("backend", sorted(_solvers()))
def test_backends_plan_a_problem_held_as_blocks(backend: str) -> None:
    """Matrices held as blocks (as a many-depot day's are) plan like dense ones.

    The multi-depot case where the backend claims it (depot rows and columns
    read across blocks), else the capacity case: feasible, and the case's
    behaviour shows.
    """
    solver = _solvers()[backend]()
    feature = Feature.MULTI_DEPOT if Feature.MULTI_DEPOT in solver.features else Feature.CAPACITY
    case = next(c for c in CASES if c.feature is feature)
    p = as_blocks(case.build())
    assert all(isinstance(m, BlockMatrix) for m in p.durations.values())
    assignment = solver.solve(p, SolveSettings(time_limit_s=1.0, seed=1))
    evaluation = evaluate(p, assignment, explain(p, assignment))
    assert evaluation.feasible, [v.message for v in evaluation.violations]
    case.check(p, evaluation)
