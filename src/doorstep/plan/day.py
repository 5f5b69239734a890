"""Plan a day end to end: gate, travel matrices, solve, explain, evaluate.

``plan_day("orders.csv", "fleet.csv")`` is the library's one call; the CLI's
``doorstep plan`` wraps it and writes the outputs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Fleet, Profile
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.errors import InputError
from doorstep.gate import GateSettings, validate_files
from doorstep.network.provider import Matrices, TravelTimeProvider
from doorstep.plan.evaluator import Evaluation, evaluate
from doorstep.plan.problem import Feature, Lock, Objective, Problem
from doorstep.plan.reasons import explain
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, Progress, Solver, SolveSettings

StepCallback = Callable[[str], None]
"""Told the name of each step as it starts ("matrices (van)", "solving", ...)."""


def backends() -> dict[str, Callable[[], Solver]]:
    """Backend name -> factory (imported on use)."""

    def pyvrp() -> Solver:
        from doorstep.plan.backends.pyvrp import PyVrpSolver

        return PyVrpSolver()

    def ortools() -> Solver:
        from doorstep.plan.backends.ortools import OrToolsSolver

        return OrToolsSolver()

    def vroom() -> Solver:
        from doorstep.plan.backends.vroom import VroomSolver

        return VroomSolver()

    return {"pyvrp": pyvrp, "ortools": ortools, "vroom": vroom}


def backend_named(name: str) -> Solver:
    """The backend called ``name``.

    Raises
    ------
    InputError
        For an unknown backend name.
    """
    factories = backends()
    if name not in factories:
        raise InputError(f"unknown solver {name!r}", hint=f"Choose one of: {', '.join(factories)}.")
    return factories[name]()


def choose_backend(problem: Problem, name: str | None = None) -> Solver:
    """The named backend, or the best one for the problem's features.

    PyVRP unless the day uses what it lacks (locks, soft windows) or has driver
    breaks: PyVRP places breaks only after its search, and on the Helsinki demo
    day OR-Tools, which plans them inside its search, served more orders at half
    the cost in less time (``bench/bench_breaks.py``, BENCHMARKS.md).

    Raises
    ------
    InputError
        For an unknown backend name.
    """
    if name is not None:
        return backend_named(name)
    solver = backend_named("pyvrp")
    features = problem.features()
    if features <= solver.features and Feature.BREAKS not in features:
        return solver
    return backend_named("ortools")


def build_problem(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    *,
    objective: Objective = Objective.COST,
    locks: Sequence[Lock] = (),
    warm_start: Mapping[str, tuple[str, ...]] | None = None,
    on_step: StepCallback | None = None,
) -> Problem:
    """The planning model: matrices from ``provider`` for every profile the fleet uses."""
    locations: list[Location] = [d.location for d in fleet.depots] + [o.location for o in orders]
    durations: dict[Profile, np.ndarray] = {}
    distances: dict[Profile, np.ndarray] = {}
    off: set[int] = set()
    sources: list[str] = []
    estimated = False
    for profile in dict.fromkeys(v.profile for v in fleet.vehicles):
        if on_step:
            on_step(f"travel times ({profile.value})")
        m: Matrices = provider.matrices(locations, profile)
        durations[profile], distances[profile] = m.durations, m.distances
        off.update(m.off_network)
        sources.append(m.source)
        estimated = estimated or m.estimated
    return Problem(
        orders=tuple(orders),
        fleet=fleet,
        durations=durations,
        distances=distances,
        objective=objective,
        locks=tuple(locks),
        warm_start=dict(warm_start or {}),
        off_network=frozenset(i for i in off if i >= len(fleet.depots)),
        source="; ".join(sources),
        estimated=estimated,
    )


def solve_problem(
    problem: Problem,
    solver: Solver,
    settings: SolveSettings,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[Assignment, Evaluation]:
    """Solve, explain what was left out, and evaluate."""
    assignment = solver.solve(problem, settings, progress)
    return assignment, evaluate(problem, assignment, explain(problem, assignment))


def route_geometry(
    problem: Problem, evaluation: Evaluation, provider: TravelTimeProvider
) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Road polyline of every route: depot, each stop, depot."""
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    orders = {o.id: o for o in problem.orders}
    lines = []
    for route in evaluation.plan.routes:
        vehicle = vehicles[route.vehicle_id]
        start = problem.fleet.depot(vehicle.depot_id).location
        end = problem.fleet.depot(vehicle.end_depot_id or vehicle.depot_id).location
        stops = [start, *(orders[v.order_id].location for v in route.visits), end]
        points: list[tuple[float, float]] = []
        batch = getattr(provider, "route_geometry", None)
        if batch is not None:
            legs = batch(stops, vehicle.profile)
        else:
            legs = [provider.geometry(a, b, vehicle.profile) for a, b in itertools.pairwise(stops)]
        for leg in legs:
            points.extend((p.lat, p.lon) for p in (leg if not points else leg[1:]))
        lines.append(tuple(points))
    return tuple(lines)


def road_background(
    day: DayPlan, provider: TravelTimeProvider, limit: int = 60_000
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Road segments around the plan, to draw under the routes of an offline map.

    Only for the OpenStreetMap provider (others have no network to show): the
    segments of the first vehicle's profile inside the routes' bounding box
    (plus a margin), at most ``limit`` of them.
    """
    from doorstep.network.osm_provider import OsmProvider

    points = [p for line in day.geometry for p in line]
    if not isinstance(provider, OsmProvider) or not points or not day.problem.fleet.vehicles:
        return []
    graph = provider.network(day.problem.fleet.vehicles[0].profile).graph
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    margin = 0.005
    low_lat, high_lat = lat.min() - margin, lat.max() + margin
    low_lon, high_lon = lon.min() - 2 * margin, lon.max() + 2 * margin
    tail, head = graph.tail, graph.head
    keep = (tail < head) & (graph.lat[tail] >= low_lat) & (graph.lat[tail] <= high_lat)
    keep &= (graph.lon[tail] >= low_lon) & (graph.lon[tail] <= high_lon)
    chosen = np.flatnonzero(keep)[:limit]
    return [
        (
            (float(graph.lat[tail[a]]), float(graph.lon[tail[a]])),
            (float(graph.lat[head[a]]), float(graph.lon[head[a]])),
        )
        for a in chosen
    ]


def plan_day(
    orders: str | Path,
    fleet: str | Path,
    provider: TravelTimeProvider | None = None,
    *,
    objective: Objective = Objective.COST,
    time_limit_s: float = 10.0,
    seed: int = 0,
    max_iterations: int | None = None,
    backend: str | None = None,
    locks: Sequence[Lock] = (),
    warm_start: Mapping[str, tuple[str, ...]] | None = None,
    gate_settings: GateSettings | None = None,
    on_step: StepCallback | None = None,
    progress: Callable[[Progress], None] | None = None,
    with_geometry: bool = True,
) -> DayPlan:
    """Plan a day from an orders file and a fleet file.

    The gate runs first: rows with errors are left out of the plan and listed
    in ``DayPlan.rejected``. Travel times come from ``provider`` (default: the
    bundled OpenStreetMap roads). Every plan returned has been evaluated.

    Raises
    ------
    InputError
        A file cannot be read, or the fleet has no usable vehicle.
    """
    started = time.perf_counter()
    if on_step:
        on_step("checking the manifest")
    report = validate_files(orders, fleet, gate_settings)
    if report.fleet is None or not report.fleet.vehicles:
        raise InputError(
            f"{fleet}: no usable vehicle",
            hint="Fix the fleet rows listed by `doorstep validate ORDERS --fleet FLEET`.",
        )
    if provider is None:
        from doorstep.network.osm_provider import OsmProvider

        provider = OsmProvider()
    problem = build_problem(
        report.orders,
        report.fleet,
        provider,
        objective=objective,
        locks=locks,
        warm_start=warm_start,
        on_step=on_step,
    )
    solver = choose_backend(problem, backend)
    if on_step:
        on_step(f"solving with {solver.name}")
    settings = SolveSettings(time_limit_s=time_limit_s, seed=seed, max_iterations=max_iterations)
    _, evaluation = solve_problem(problem, solver, settings, progress)
    geometry: tuple[tuple[tuple[float, float], ...], ...] = ()
    if with_geometry:
        if on_step:
            on_step("drawing routes")
        geometry = route_geometry(problem, evaluation, provider)
    rejected: tuple[Finding, ...] = tuple(
        f for f in report.findings if f.severity is Severity.ERROR
    )
    return DayPlan(
        problem=problem,
        evaluation=evaluation,
        backend=solver.name,
        time_limit_s=time_limit_s,
        seed=seed,
        runtime_s=time.perf_counter() - started,
        rejected=rejected,
        geometry=geometry,
    )
