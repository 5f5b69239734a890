"""The OR-Tools backend: one small hand-made problem per feature it claims.

Every plan must pass the independent evaluator; each test also checks what
the feature is for (a window forces an order, a skill picks the vehicle...).
Locations lie on a line: ``x`` metres from the origin, driven at 10 m/s by
default, so times are easy to work out by hand.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain.fleet import Break, Costs, Depot, Fleet, Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.time_window import TimeWindow
from doorstep.plan.backends.ortools import OrToolsSolver
from doorstep.plan.backends.ortools import model as ortools_model
from doorstep.plan.backends.ortools import solver as ortools_solver
from doorstep.plan.backends.ortools.scope import Scope
from doorstep.plan.backends.ortools.search import search_parameters
from doorstep.plan.backends.ortools.solution import warm_routes, warm_start
from doorstep.plan.evaluator import Evaluation, evaluate, schedule_route
from doorstep.plan.problem import (
    NOMINAL_CENTS_PER_KM,
    VEHICLE_WEIGHT_M,
    Feature,
    Lock,
    Objective,
    Problem,
)
from doorstep.plan.reasons import explain
from doorstep.plan.registry import choose_backend
from doorstep.plan.repair import check_route
from doorstep.plan.solver import Assignment, Progress, RouteAssignment, SolveSettings

H = 3600
EIGHT = 8 * H
M = 60
FAST = SolveSettings(time_limit_s=0.4)


def at(x: float) -> Location:
    """A point ``x`` metres east of the origin (only for display; matrices come from ``x``)."""
    return Location(0.0, x / 111_320)


def order(order_id: str, x: float, **kwargs: object) -> tuple[Order, float]:
    return Order(order_id, at(x), **kwargs), x  # type: ignore[arg-type]


def line_problem(
    depots: Sequence[float],
    orders: Sequence[tuple[Order, float]],
    vehicles: Sequence[Vehicle],
    speeds: Mapping[Profile, float] | None = None,
    **kwargs: object,
) -> Problem:
    """Depots ``d0, d1...`` at ``depots``; travel |dx| metres in |dx| / speed seconds.

    The objective is distance unless given, so that :func:`assert_model_agrees`
    is exact.
    """
    kwargs.setdefault("objective", Objective.DISTANCE)
    xs = np.array([*depots, *(x for _, x in orders)], dtype=float)
    metres = np.abs(xs[:, None] - xs[None, :]).round().astype(np.int64)
    fleet = Fleet(
        tuple(Depot(f"d{k}", at(x)) for k, x in enumerate(depots)),
        tuple(vehicles),
    )
    speeds = speeds or {}
    profiles = {v.profile for v in vehicles}
    durations = {p: (metres / speeds.get(p, 10.0)).round().astype(np.int64) for p in profiles}
    return Problem(
        tuple(o for o, _ in orders),
        fleet,
        durations,
        {p: metres for p in profiles},
        **kwargs,  # type: ignore[arg-type]
    )


def van(vehicle_id: str, depot: str = "d0", **kwargs: object) -> Vehicle:
    kwargs.setdefault("shift", TimeWindow(EIGHT, 18 * H))
    return Vehicle(vehicle_id, depot, **kwargs)  # type: ignore[arg-type]


def solve(
    problem: Problem, settings: SolveSettings = FAST, progress: object = None, *, agree: bool = True
) -> tuple[Assignment, Evaluation]:
    """Solve, evaluate, insist the evaluator finds nothing wrong and (``agree``) OR-Tools agrees."""
    assignment = OrToolsSolver().solve(problem, settings, progress)  # type: ignore[arg-type]
    evaluation = evaluate(problem, assignment)
    assert evaluation.violations == (), evaluation.violations
    if agree:
        assert_model_agrees(problem, assignment, evaluation)
    return assignment, evaluation


def assert_model_agrees(problem: Problem, assignment: Assignment, evaluation: Evaluation) -> None:
    """OR-Tools' own objective is what the evaluator makes of the plan it returned.

    When the model agrees with the evaluator, no route needed repairing and the
    objective (cents) is the evaluator's cost plus the drop penalties: so this
    fails when OR-Tools planned something the evaluator rejects, even if the
    backend's repair made the final plan acceptable. Skipped for per-hour costs
    (OR-Tools may leave later than the evaluator does).
    """
    if any(v.costs.per_hour for v in problem.fleet.vehicles):
        return
    assert assignment.objective is not None
    metres = sum(r.distance_m for r in evaluation.plan.routes)
    penalty = evaluation.kpis.penalty * 100
    if problem.objective is Objective.COST:
        expected = evaluation.kpis.cost * 100 + penalty + metres / 18_000
        tolerance = 1.0 * len(evaluation.plan.routes) + 1e-6
    else:
        cents_per_metre = NOMINAL_CENTS_PER_KM / 1000
        expected = metres * cents_per_metre + penalty + evaluation.kpis.lateness_cost * 100
        if problem.objective is Objective.VEHICLES:
            used = evaluation.kpis.vehicles_used
            expected += VEHICLE_WEIGHT_M * cents_per_metre * used
        tolerance = 1e-6 + len(evaluation.plan.routes) * (evaluation.kpis.late_min > 0)
    assert assignment.objective == pytest.approx(expected, abs=tolerance)


def stops(problem: Problem, assignment: Assignment) -> dict[str, list[str]]:
    """Vehicle id -> order ids in visit order."""
    vehicles = problem.fleet.vehicles
    return {
        vehicles[r.vehicle].id: [problem.orders[i].id for i in r.orders]
        for r in assignment.routes
        if r.orders
    }


def served(evaluation: Evaluation) -> set[str]:
    return set(evaluation.plan.assigned_order_ids)


def window(start_min: int, end_min: int) -> tuple[TimeWindow, ...]:
    """One window in minutes after 08:00."""
    return (TimeWindow(EIGHT + 60 * start_min, EIGHT + 60 * end_min),)


def test_claims_every_feature() -> None:
    """The backend claims every modelling feature and names itself."""
    solver = OrToolsSolver()
    assert solver.name == "ortools"
    assert solver.features == frozenset(Feature)


@pytest.mark.parametrize("dimension", ["parcels", "weight_g", "volume_ml"])
def test_capacity_forces_two_routes(dimension: str) -> None:
    """Six unit deliveries and two vehicles of capacity 3 in one dimension: two full routes."""
    roomy = {"parcels": 100, "weight_g": 100_000, "volume_ml": 100_000}
    capacity = Load(**{**roomy, dimension: 3})
    demand = Load(**{dimension: 1})
    orders = [order(f"o{k}", 1000 + 100 * k, demand=demand) for k in range(6)]
    problem = line_problem([0], orders, [van("a", capacity=capacity), van("b", capacity=capacity)])
    assert Feature.CAPACITY in problem.features()
    assignment, evaluation = solve(problem)
    assert served(evaluation) == {o.id for o, _ in orders}
    assert sorted(len(r.orders) for r in assignment.routes) == [3, 3]


def test_pickups_come_after_enough_deliveries() -> None:
    """A full van collects returns only after delivering, even when collecting first is shorter.

    OR-Tools' load model lets a route start with any load that fits (an exact
    one would need a constraint its filters cannot see), so it collects first;
    the backend then moves the returns later. Hence no model agreement here.
    """
    orders = [order(f"d{k}", 1000 + 100 * k, demand=Load(1)) for k in range(4)]
    orders += [
        order("p1", 100, kind=OrderKind.PICKUP, demand=Load(2)),
        order("p2", 200, kind=OrderKind.PICKUP, demand=Load(2)),
    ]
    problem = line_problem([0], orders, [van("a", capacity=Load(4, 10**6, 10**6))])
    # Make the trip out through the pickups cheaper, so only the load rule forbids it.
    for matrix in (*problem.durations.values(), *problem.distances.values()):
        matrix[0, 5] = matrix[0, 6] = 10
    assert Feature.PICKUPS in problem.features()
    assignment, evaluation = solve(problem, agree=False)
    route = stops(problem, assignment)["a"]
    assert len(route) == 6
    assert route[-2:] in (["p2", "p1"], ["p1", "p2"])
    loads = [v.load_after.parcels for v in evaluation.plan.routes[0].visits]
    assert max(loads) <= 4


def test_time_windows_force_the_order() -> None:
    """Windows make the van go to the far stop first, then back to the near ones."""
    orders = [
        order("a", 1000, windows=window(8, 10)),  # from c (200 s): 08:08:20
        order("b", 2000, windows=window(10, 15)),  # from a (100 s): 08:10
        order("c", 3000, windows=window(0, 6)),  # from the depot (300 s): 08:05
    ]
    problem = line_problem([0], orders, [van("v")])
    assert Feature.TIME_WINDOWS in problem.features()
    assignment, _ = solve(problem)
    assert stops(problem, assignment) == {"v": ["c", "a", "b"]}


def test_multiple_windows_use_the_second_when_the_first_is_missed() -> None:
    """An order whose first window is missed waits for its second, so the other stop goes first.

    Going to ``x`` first is shorter (a cheap road out), but the van reaches it at
    08:05, between its windows, and must wait for 09:00; ``y`` would then be late.
    """
    windows = (TimeWindow(EIGHT, EIGHT + 120), TimeWindow(9 * H, 9 * H + 1800))
    orders = [order("x", 3000, windows=windows), order("y", 1000, windows=window(0, 30))]
    problem = line_problem([0], orders, [van("v")])
    problem.distances[Profile.VAN][0, 1] = 10
    assert Feature.MULTIPLE_WINDOWS in problem.features()
    assignment, evaluation = solve(problem)
    assert stops(problem, assignment) == {"v": ["y", "x"]}
    visit = next(v for v in evaluation.plan.routes[0].visits if v.order_id == "x")
    assert 9 * H <= visit.start_s <= 9 * H + 1800


def test_shifts_decide_which_vehicle_serves() -> None:
    """A far order goes to the vehicle whose shift is long enough for the round trip."""
    short = van("short", shift=TimeWindow(EIGHT, EIGHT + 600), costs=Costs(per_km=1))
    long = van("long", shift=TimeWindow(EIGHT, 12 * H), costs=Costs(per_km=100))
    orders = [order("near", -1000), order("far", 9000)]
    problem = line_problem([0], orders, [short, long], objective=Objective.COST)
    assert Feature.SHIFTS in problem.features()
    assignment, evaluation = solve(problem)
    assert stops(problem, assignment) == {"short": ["near"], "long": ["far"]}
    assert all(r.end_s <= 12 * H for r in evaluation.plan.routes)


def test_max_duration_splits_a_route() -> None:
    """Three stops take 780 s in one trip; a 700 s maximum needs two vehicles."""
    orders = [order(f"o{k}", 1000 * k, service_s=60) for k in (1, 2, 3)]
    vehicles = [van("a", max_duration_s=700), van("b", max_duration_s=700)]
    problem = line_problem([0], orders, vehicles)
    assert Feature.MAX_DURATION in problem.features()
    assignment, evaluation = solve(problem)
    assert served(evaluation) == {"o1", "o2", "o3"}
    assert len(assignment.routes) == 2
    assert all(r.duration_s <= 700 for r in evaluation.plan.routes)


def test_max_duration_counts_waiting_as_the_evaluator_does() -> None:
    """The evaluator leaves as early as the first stop allows, so waiting for 10:00 counts.

    One van serving ``x`` then ``y`` would wait two hours at ``y``: too long for
    its one-hour maximum, even though leaving later would avoid the wait.
    OR-Tools leaves later (a known difference), so here the backend's repair
    and re-insertion must get it right: the model need not agree.
    """
    orders = [
        order("x", 1000, windows=(TimeWindow(EIGHT, 10 * H),)),
        order("y", 1100, windows=(TimeWindow(10 * H, 10 * H + 600),)),
    ]
    vehicles = [
        van("short", max_duration_s=H, costs=Costs(per_km=1)),
        van("other", costs=Costs(per_km=100)),
    ]
    problem = line_problem([0], orders, vehicles, objective=Objective.COST)
    assignment, evaluation = solve(problem, agree=False)
    assert served(evaluation) == {"x", "y"}
    assert len(stops(problem, assignment).get("short", [])) < 2


def test_break_lands_inside_its_window_between_the_right_stops() -> None:
    """A 15-minute break that must fit between 09:00 and 09:20 is taken after the 08:50 stop."""
    brk = Break(TimeWindow(9 * H, 9 * H + 1200), 900)
    orders = [
        order("a", 1000, windows=window(50, 60)),
        order("b", 2000, windows=window(80, 100)),
    ]
    problem = line_problem([0], orders, [van("v", break_=brk)])
    assert Feature.BREAKS in problem.features()
    assignment, evaluation = solve(problem)
    assert stops(problem, assignment) == {"v": ["a", "b"]}
    assert assignment.routes[0].break_after == 0
    route = evaluation.plan.routes[0]
    assert route.break_start_s is not None
    assert 9 * H <= route.break_start_s <= 9 * H + 1200 - 900


def test_break_time_counts_against_the_shift() -> None:
    """A one-hour shift holds one 20-minute stop plus a 30-minute break, not two stops."""
    brk = Break(TimeWindow(EIGHT, 10 * H), 1800)
    cheap = van("cheap", shift=TimeWindow(EIGHT, 9 * H), break_=brk, costs=Costs(per_km=1))
    dear = van("dear", costs=Costs(per_km=100))
    orders = [order("a", 1000, service_s=1200), order("b", 1100, service_s=1200)]
    problem = line_problem([0], orders, [cheap, dear], objective=Objective.COST)
    assignment, evaluation = solve(problem)
    assert served(evaluation) == {"a", "b"}
    assert sorted(len(r) for r in stops(problem, assignment).values()) == [1, 1]
    route = next(r for r in evaluation.plan.routes if r.vehicle_id == "cheap")
    assert route.break_start_s is not None
    assert route.end_s <= 9 * H


def test_short_route_before_the_break_window_needs_no_break() -> None:
    """A route over before the break window opens is planned without a break."""
    brk = Break(TimeWindow(13 * H, 14 * H), 1800)
    problem = line_problem([0], [order("a", 1000)], [van("v", break_=brk)])
    assignment, evaluation = solve(problem)
    assert assignment.routes[0].break_after is None
    assert evaluation.plan.routes[0].end_s < 13 * H


def test_multi_depot_vehicles_serve_their_side() -> None:
    """Two depots 10 km apart: each order is served from the depot next to it."""
    orders = [order("west", 500), order("east", 9500)]
    vehicles = [van("w", "d0"), van("e", "d1")]
    problem = line_problem([0, 10_000], orders, vehicles, objective=Objective.DISTANCE)
    assert Feature.MULTI_DEPOT in problem.features()
    assignment, _ = solve(problem)
    assert stops(problem, assignment) == {"w": ["west"], "e": ["east"]}


def test_vehicle_ending_at_another_depot() -> None:
    """A van from depot 0 to depot 1 serves the stops on its way, in order."""
    orders = [order("b", 6000), order("a", 3000)]
    problem = line_problem([0, 10_000], orders, [van("v", "d0", end_depot_id="d1")])
    assignment, evaluation = solve(problem)
    assert stops(problem, assignment) == {"v": ["a", "b"]}
    assert evaluation.plan.routes[0].distance_m == 10_000


def test_mixed_fleet_uses_each_vehicles_own_matrix() -> None:
    """Only the dear bike's travel times reach the order in its window; the cheap van's do not."""
    bike = van(
        "bike", profile=Profile.BIKE, capacity=Load(5, 20_000, 50_000), costs=Costs(per_km=100)
    )
    car = van("van", profile=Profile.VAN, capacity=Load(100, 10**6, 10**6), costs=Costs(per_km=1))
    orders = [order("lane", 3000, windows=window(0, 6))]
    problem = line_problem([0], orders, [car, bike], objective=Objective.COST)
    problem.durations[Profile.VAN][0, 1] = 1200  # a 20-minute detour for the van
    assert {Feature.MIXED_FLEET, Feature.PROFILES} <= problem.features()
    assignment, _ = solve(problem)
    assert stops(problem, assignment) == {"bike": ["lane"]}


def test_paired_pickup_precedes_its_delivery_on_the_same_vehicle() -> None:
    """A parcel collected 3 km out and dropped 1 km out is collected first, by the same van."""
    orders = [
        order("collect", 3000, kind=OrderKind.PICKUP),
        order("drop", 1000, paired_pickup="collect"),
        order("other", 1500),
    ]
    problem = line_problem([0], orders, [van("a"), van("b")])
    # Make the trip out through the drop-off cheaper, so only the pairing forbids it.
    for matrix in (*problem.durations.values(), *problem.distances.values()):
        matrix[0, 2] = 10
    assert Feature.PAIRED in problem.features()
    assignment, _ = solve(problem)
    routes = stops(problem, assignment)
    (route,) = (r for r in routes.values() if "collect" in r)
    assert "drop" in route
    assert route.index("collect") < route.index("drop")


def test_skill_order_goes_to_the_only_skilled_vehicle() -> None:
    """A cold-chain order is served by the dearer refrigerated van, the rest by the cheap one."""
    cheap = van("cheap", costs=Costs(per_km=10))
    cold = van("cold", costs=Costs(fixed=100, per_km=100), skills=frozenset({"cold"}))
    orders = [order("ice", 2000, skills=frozenset({"cold"})), order("books", -2000)]
    problem = line_problem([0], orders, [cheap, cold], objective=Objective.COST)
    assert Feature.SKILLS in problem.features()
    assignment, _ = solve(problem)
    assert stops(problem, assignment) == {"cheap": ["books"], "cold": ["ice"]}


def test_impossible_orders_are_dropped_and_the_rest_planned() -> None:
    """Unreachable in time, off the road network, or needing a skill nobody has: left out."""
    orders = [
        order("ok1", 1000),
        order("late", 9000, windows=window(0, 1)),
        order("offroad", 2000),
        order("exotic", 1500, skills=frozenset({"crane"})),
        order("ok2", 2500),
    ]
    problem = line_problem([0], orders, [van("v")], off_network=frozenset({3}))  # "offroad"
    assignment, evaluation = solve(problem)
    assert served(evaluation) == {"ok1", "ok2"}
    assert {u.order_id for u in evaluation.plan.unassigned} == {"late", "offroad", "exotic"}
    assert assignment.backend == "ortools"


def test_optional_orders_are_served_only_when_cheap() -> None:
    """An optional order next door is served; one 100 km away is not worth its detour."""
    orders = [
        order("normal", 1000),
        order("nearby", 1200, priority=-1),
        order("remote", 100_000, priority=-1),
    ]
    problem = line_problem(
        [0], orders, [van("v", costs=Costs(per_km=100))], objective=Objective.COST
    )
    assert Feature.OPTIONAL in problem.features()
    _, evaluation = solve(problem)
    assert served(evaluation) == {"normal", "nearby"}


def test_locks_pin_vehicle_and_sequence_prefix() -> None:
    """A lock sends an order to a dearer van; a locked prefix reverses the natural order."""
    orders = [order("a", 1000), order("b", 2000), order("c", 3000), order("pinned", 1500)]
    vehicles = [van("cheap", costs=Costs(per_km=10)), van("dear", costs=Costs(per_km=100))]
    locks = (
        Lock("pinned", "dear"),
        Lock("c", "cheap", position=0),
        Lock("a", "cheap", position=1),
    )
    problem = line_problem([0], orders, vehicles, locks=locks, objective=Objective.COST)
    assert Feature.LOCKS in problem.features()
    assignment, _ = solve(problem)
    routes = stops(problem, assignment)
    assert routes["dear"] == ["pinned"]
    assert routes["cheap"][:2] == ["c", "a"]
    assert set(routes["cheap"]) == {"a", "b", "c"}


def test_impossible_lock_prefix_still_plans_the_day() -> None:
    """A locked prefix no schedule can keep is given up; the vehicle lock and the day remain."""
    orders = [
        order("early", 1000, windows=window(0, 10)),
        order("late", 2000, windows=window(60, 70)),
    ]
    locks = (Lock("late", "v", position=0), Lock("early", "v", position=1))
    problem = line_problem([0], orders, [van("v"), van("w")], locks=locks)
    assignment = OrToolsSolver().solve(problem, FAST)
    evaluation = evaluate(problem, assignment)
    assert {v.code for v in evaluation.violations} == {"lock"}
    assert stops(problem, assignment) == {"v": ["early", "late"]}


def test_warm_start_is_the_first_solution_and_is_improved() -> None:
    """A zig-zag warm start is read in as the first solution, then improved on."""
    orders = [order(f"o{k}", 1000 * k) for k in range(1, 6)]
    zigzag = ("o5", "o1", "o4", "o2", "o3")
    problem = line_problem(
        [0], orders, [van("v")], objective=Objective.DISTANCE, warm_start={"v": zigzag}
    )
    assert Feature.WARM_START in problem.features()
    warm = evaluate(problem, Assignment((RouteAssignment(0, (4, 0, 3, 1, 2)),), "test"))
    reports: list[Progress] = []
    assignment, evaluation = solve(problem, FAST, reports.append)
    assert reports[0].best_cost == pytest.approx(warm.plan.routes[0].distance_m * 50 / 1000)
    assert evaluation.plan.routes[0].distance_m == 10_000 < warm.plan.routes[0].distance_m
    assert assignment.objective == pytest.approx(10_000 * 50 / 1000)


def test_objective_vehicles_uses_fewer_vehicles_than_distance() -> None:
    """Two depots: distance uses a van from each; the vehicles objective makes one van do both."""
    orders = [order("west", 1000), order("east", 9000)]
    vehicles = [van("w", "d0"), van("e", "d1")]
    by_distance = line_problem([0, 10_000], orders, vehicles, objective=Objective.DISTANCE)
    by_vehicles = line_problem([0, 10_000], orders, vehicles, objective=Objective.VEHICLES)
    _, distance = solve(by_distance)
    _, fewest = solve(by_vehicles)
    assert distance.kpis.vehicles_used == 2
    assert fewest.kpis.vehicles_used == 1
    assert fewest.kpis.served == distance.kpis.served == 2


@pytest.mark.parametrize(("per_hour", "vans"), [(100, 1), (1_000_000, 2)])
def test_soft_windows_trade_lateness_against_a_second_van(per_hour: int, vans: int) -> None:
    """East and west are both due by 08:30: cheap lateness keeps one van, dear lateness two."""
    window = (TimeWindow(EIGHT, EIGHT + 30 * M),)
    orders = [
        order(name, x, windows=window, service_s=300, late_cost_per_hour=per_hour)
        for name, x in (("west", -10_000), ("east", 10_000))
    ]
    vehicles = [van(v, costs=Costs(fixed=10_000)) for v in "ab"]
    problem = line_problem([0], orders, vehicles, objective=Objective.COST)
    assert Feature.SOFT_WINDOWS in problem.features()
    _, evaluation = solve(problem)
    assert evaluation.kpis.served == 2
    assert evaluation.kpis.vehicles_used == vans
    assert (evaluation.kpis.late_min > 0) is (vans == 1)


def test_the_engine_sends_soft_windows_to_ortools() -> None:
    """PyVRP lacks soft windows, so the engine picks OR-Tools for a day that has them."""
    soft = order("a", 1000, windows=(TimeWindow(EIGHT, 9 * H),), late_cost_per_hour=100)
    hard = order("a", 1000, windows=(TimeWindow(EIGHT, 9 * H),))
    assert choose_backend(line_problem([0], [soft], [van("v")])).name == "ortools"
    assert choose_backend(line_problem([0], [hard], [van("v")])).name == "pyvrp"


def test_cost_objective_weighs_fixed_costs() -> None:
    """With a large fixed cost per van, one van serves everything even though two are shorter."""
    orders = [order("west", 1000), order("east", 9000)]
    vehicles = [
        van("w", "d0", costs=Costs(fixed=10_000)),
        van("e", "d1", costs=Costs(fixed=10_000)),
    ]
    problem = line_problem([0, 10_000], orders, vehicles, objective=Objective.COST)
    _, evaluation = solve(problem)
    assert evaluation.kpis.vehicles_used == 1


def test_progress_is_reported_within_the_time_limit() -> None:
    """Progress reports come with growing elapsed times and falling costs, within the limit."""
    orders = [order(f"o{k}", 137 * k % 5000, service_s=30) for k in range(1, 30)]
    problem = line_problem([0], orders, [van("a"), van("b")], objective=Objective.DISTANCE)
    reports: list[Progress] = []
    assignment, evaluation = solve(problem, SolveSettings(time_limit_s=0.5), reports.append)
    assert reports
    assert [r.elapsed_s for r in reports] == sorted(r.elapsed_s for r in reports)
    costs = [r.best_cost for r in reports]
    assert costs == sorted(costs, reverse=True)  # type: ignore[type-var]
    assert all(r.feasible for r in reports)
    assert assignment.runtime_s < 1.0
    assert evaluation.kpis.served == 29


def _interrupting(kind: str) -> tuple[list[Progress], object]:
    """A progress callback that interrupts the search at its first report."""
    reports: list[Progress] = []

    def progress(report: Progress) -> None:
        reports.append(report)
        if len(reports) > 1:
            return
        if kind == "signal":  # Ctrl-C arrives while the C++ search runs
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        else:
            raise KeyboardInterrupt

    return reports, progress


@pytest.mark.parametrize("kind", ["signal", "exception"])
def test_interrupt_returns_the_best_plan_so_far(kind: str) -> None:
    """Ctrl-C (or a KeyboardInterrupt in the callback) stops the search early with a plan.

    The SIGINT handler in force before the solve is back afterwards (the default
    one, or SIG_IGN when the tests run as a background job).
    """
    orders = [order(f"o{k}", 137 * k % 5000) for k in range(1, 30)]
    problem = line_problem([0], orders, [van("a"), van("b")])
    before = signal.getsignal(signal.SIGINT)
    reports, progress = _interrupting(kind)
    assignment, evaluation = solve(problem, SolveSettings(time_limit_s=5), progress)
    assert assignment.runtime_s < 2.0
    assert reports
    assert evaluation.kpis.served == 29
    assert signal.getsignal(signal.SIGINT) is before


def test_returns_are_collected_first_when_the_van_has_room() -> None:
    """With room on board, collecting a return on the way out is fine, and shortest."""
    orders = [order(f"d{k}", 1000 + 100 * k, demand=Load(1)) for k in range(2)]
    orders += [order("p", 100, kind=OrderKind.PICKUP, demand=Load(2))]
    problem = line_problem([0], orders, [van("a", capacity=Load(4, 10**6, 10**6))])
    for matrix in (*problem.durations.values(), *problem.distances.values()):
        matrix[0, 3] = 10  # the road out past the return is cheap
    assignment, evaluation = solve(problem)
    assert stops(problem, assignment)["a"][0] == "p"
    assert max(v.load_after.parcels for v in evaluation.plan.routes[0].visits) == 4


def _everything() -> Problem:
    """A small problem with every feature the route check must get right."""
    brk = Break(TimeWindow(9 * H, 10 * H), 1200)
    two = (TimeWindow(EIGHT, EIGHT + 900), TimeWindow(9 * H, 9 * H + 1800))
    orders = [
        order("a", 1000, windows=window(5, 30), demand=Load(2, 500, 100), service_s=120),
        order("b", 2500, windows=two, demand=Load(1), service_s=60),
        order("c", 4000, kind=OrderKind.PICKUP, demand=Load(3, 2000, 50)),
        order("d", 1500, demand=Load(1, 100, 10), paired_pickup="c", service_s=30),
        order("e", 6000, windows=window(90, 100), demand=Load(2), service_s=300),
        order("f", 500, demand=Load(1, 4000, 0)),
    ]
    vehicles = [
        van("v", capacity=Load(4, 5000, 150), break_=brk, max_duration_s=2 * H),
        van("w", "d1", shift=TimeWindow(EIGHT + 600, 11 * H), profile=Profile.BIKE),
    ]
    problem = line_problem([0, 3000], orders, vehicles, speeds={Profile.BIKE: 4.0})
    problem.durations[Profile.VAN][2, 5] = 10**9  # one road is closed to vans
    return problem


@given(
    vehicle=st.integers(0, 1),
    orders=st.permutations(range(6)).flatmap(
        lambda p: st.integers(0, 6).map(lambda k: tuple(p[:k]))
    ),
    break_after=st.integers(-2, 5),
)
def test_fast_schedule_check_agrees_with_the_evaluator(
    vehicle: int, orders: tuple[int, ...], break_after: int
) -> None:
    """The repair engine's route check counts what the evaluator finds, and the same duty."""
    problem = _everything()
    after = None if break_after < -1 or break_after >= len(orders) else break_after
    route = RouteAssignment(vehicle, orders, after)
    schedule = schedule_route(problem, route)
    check = check_route(problem, route)
    assert check.violations == len(schedule.violations)
    assert check.amount == sum(v.amount for v in schedule.violations)
    assert check.duty_s == schedule.end_s - schedule.start_s


def test_the_engine_sends_days_with_breaks_to_ortools() -> None:
    """Breaks go to OR-Tools (measured better on the demo day); a named backend is obeyed."""
    lunch = Break(TimeWindow(11 * H, 13 * H), 1800)
    day = line_problem([0], [order("a", 1000)], [van("v", break_=lunch)])
    assert Feature.BREAKS in day.features()
    assert choose_backend(day).name == "ortools"
    assert choose_backend(day, "pyvrp").name == "pyvrp"


def _first_routes(model: ortools_model.Model, assignment: object) -> dict[int, list[int]]:
    """Vehicle -> order indices of an assignment read from routes (not solved yet)."""
    routing = model.routing
    out: dict[int, list[int]] = {}
    for v in range(routing.vehicles()):
        index = assignment.Value(routing.NextVar(routing.Start(v)))  # type: ignore[attr-defined]
        while not routing.IsEnd(index):
            out.setdefault(v, []).append(model.index_order[index])
            index = assignment.Value(routing.NextVar(index))  # type: ignore[attr-defined]
    return out


def test_a_warm_start_is_made_to_agree_with_the_locks() -> None:
    """A locked order the previous plan had on another (or no) vehicle starts on its own vehicle.

    Before, such a start left the order out; a plan with BIKE-02 unused in the
    previous plan then left the order locked to BIKE-02 unassigned.
    """
    orders = [order(f"o{k}", 1000 * k) for k in range(1, 5)]
    problem = line_problem(
        [0],
        orders,
        [van("a"), van("b")],
        locks=(Lock("o2", "b"),),
        warm_start={"a": ("o1", "o2", "o3", "o4")},
    )
    scope = Scope.of(problem)
    model = ortools_model.build_model(scope, chains=True)
    model.routing.CloseModelWithParameters(search_parameters(1.0))
    start = warm_start(model, warm_routes(problem))
    assert start is not None
    assert _first_routes(model, start) == {0: [0, 2, 3], 1: [1]}


def test_a_lock_onto_a_vehicle_unused_in_the_warm_start_is_honoured() -> None:
    """With a warm start that does not use the locked vehicle, the lock still holds."""
    orders = [order(f"o{k}", 1000 * k) for k in range(1, 5)]
    problem = line_problem(
        [0],
        orders,
        [van("a"), van("b")],
        locks=(Lock("o2", "b"),),
        warm_start={"a": ("o1", "o2", "o3", "o4")},
    )
    assignment, evaluation = solve(problem)
    assert "o2" in stops(problem, assignment)["b"]
    assert evaluation.kpis.served == 4


def test_a_day_too_big_for_the_first_solution_starts_from_a_quick_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When OR-Tools' own first solution would not come in time, the search starts from PyVRP's."""
    monkeypatch.setattr(ortools_solver, "FIRST_SOLUTION_S", 1e9)
    starts: list[object] = []
    real = ortools_solver.search

    def spying(model: object, deadline: float, run: object, warm: object) -> object:
        starts.append(warm)
        return real(model, deadline, run, warm)  # type: ignore[arg-type]

    monkeypatch.setattr(ortools_solver, "search", spying)
    orders = [order(f"o{k}", 137 * k % 5000) for k in range(1, 30)]
    problem = line_problem([0], orders, [van("a"), van("b")])
    _, evaluation = solve(problem, agree=False)
    assert starts and starts[0]
    assert evaluation.kpis.served == 29


def test_orders_left_out_for_lack_of_time_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search that found nothing in time leaves its orders as time_ran_out, not full vans."""
    monkeypatch.setattr(ortools_solver, "search", lambda *args: None)
    orders = [order(f"o{k}", 1000 * k) for k in range(1, 4)]
    problem = line_problem([0], orders, [van("a")])
    assignment = OrToolsSolver().solve(problem, FAST)
    reasons = explain(problem, assignment)
    assert {code for code, _ in reasons.values()} == {"time_ran_out"}
    assert len(reasons) == 3


def test_a_start_too_slow_to_read_is_kept_without_searching(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With breaks, a start OR-Tools cannot read within its budget is the plan."""
    monkeypatch.setattr(ortools_solver, "FIRST_SOLUTION_S", 1e9)
    monkeypatch.setattr(ortools_solver, "READ_BREAKS_S", 1e9)
    searched: list[object] = []
    monkeypatch.setattr(ortools_solver, "search", lambda *args: searched.append(args))
    brk = Break(TimeWindow(9 * H, 12 * H), 900)
    orders = [order(f"o{k}", 137 * k % 5000) for k in range(1, 30)]
    problem = line_problem([0], orders, [van("a", break_=brk), van("b", break_=brk)])
    _, evaluation = solve(problem, agree=False)
    assert searched == []
    assert evaluation.feasible
    assert evaluation.kpis.served == 29


def test_reading_a_start_is_slow_only_with_breaks() -> None:
    """The read estimate grows with the stops when there are breaks and is nothing without."""
    brk = Break(TimeWindow(9 * H, 12 * H), 900)
    orders = [order("o1", 1000)]
    plain = line_problem([0], orders, [van("a")])
    breaks = line_problem([0], orders, [van("a", break_=brk)])
    assert ortools_solver.read_estimate_s(plain, 2000) == 0.0
    small = ortools_solver.read_estimate_s(breaks, 1000)
    assert ortools_solver.read_estimate_s(breaks, 2000) > 2 * small > 0
