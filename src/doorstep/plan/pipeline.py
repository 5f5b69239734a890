"""The one planning pipeline: orders and a fleet in, an evaluated, explained plan out.

Every door plans through here: ``doorstep plan`` and :func:`~doorstep.plan.day.plan_day`
(after the gate has read the files), the service's planning jobs (after loading
orders and fleet from the store), and the library's
:class:`~doorstep.plan.model.Model`. The steps::

    canonical order -> travel matrices -> backend choice -> solve -> explain
        -> evaluate -> route geometry (optional)

The same orders, fleet, router, objective, seed and search limits give the same
plan whichever door they came through: orders and vehicles are taken in id
order, not in the order a file or a query listed them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from doorstep.domain.finding import Finding
from doorstep.domain.fleet import Fleet, Profile
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.network.provider import Matrices, TravelTimeProvider
from doorstep.plan.evaluator import Evaluation, evaluate
from doorstep.plan.geometry import route_geometry
from doorstep.plan.problem import Lock, Objective, Problem
from doorstep.plan.reasons import explain
from doorstep.plan.registry import choose_backend, holds_sparse, splits_by_depot
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, Progress, ProgressCallback, Solver, SolveSettings

StepCallback = Callable[[str], None]
"""Told the name of each step as it starts ("travel times (van)", "solving with pyvrp", ...)."""


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """How to plan: what to minimise, which backend, how long to search.

    Attributes
    ----------
    objective
        What the engine minimises.
    time_limit_s
        Seconds of search.
    seed
        Random seed of the search.
    max_iterations
        Stop the search after this many iterations too (with the seed, the same
        plan on every machine); the time limit still applies.
    backend
        ``pyvrp``, ``ortools``, ``vroom``, ``decompose`` or ``depots``; ``None``: chosen
        from the day's size and features (:func:`~doorstep.plan.registry.choose_backend`).
    locks
        Orders a person pinned to a vehicle.
    warm_start
        A previous plan to start from: vehicle id -> order ids in visiting order.
    with_geometry
        Draw each route's road polyline (for maps).
    """

    objective: Objective = Objective.COST
    time_limit_s: float = 10.0
    seed: int = 0
    max_iterations: int | None = None
    backend: str | None = None
    locks: Sequence[Lock] = ()
    warm_start: Mapping[str, tuple[str, ...]] | None = None
    with_geometry: bool = True

    @property
    def search(self) -> SolveSettings:
        """The backend's search settings."""
        return SolveSettings(
            time_limit_s=self.time_limit_s, seed=self.seed, max_iterations=self.max_iterations
        )


def canonical(orders: Sequence[Order], fleet: Fleet) -> tuple[tuple[Order, ...], Fleet]:
    """The orders and fleet in the order every door plans them.

    Orders are sorted by id. Vehicles are grouped by profile, motor vehicles
    first (in :class:`~doorstep.domain.fleet.Profile`'s order: cars, vans, bikes,
    on foot), then sorted by id: the backends' first solutions fill the vehicles
    listed first, and on the Helsinki demo day a fleet sorted by id alone (bikes
    before vans) cost 5% more with one more route. Only depots a vehicle starts
    or ends at are kept, sorted by id. A file's row order or a query's order then
    cannot change the plan.

    Parameters
    ----------
    orders
        The orders to plan.
    fleet
        The fleet to plan with.

    Returns
    -------
    tuple
        The orders and the fleet, sorted.
    """
    used = {v.depot_id for v in fleet.vehicles} | {
        v.end_depot_id for v in fleet.vehicles if v.end_depot_id is not None
    }
    depots = tuple(sorted((d for d in fleet.depots if d.id in used), key=lambda d: d.id))
    profiles = list(Profile)
    vehicles = tuple(sorted(fleet.vehicles, key=lambda v: (profiles.index(v.profile), v.id)))
    return tuple(sorted(orders, key=lambda o: o.id)), Fleet(depots, vehicles)


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
    """The planning model: matrices from ``provider`` for every profile the fleet uses.

    Orders and fleet are taken as given (see :func:`canonical` for the order
    every door uses).

    Parameters
    ----------
    orders, fleet
        What to plan.
    provider
        Travel times and distances.
    objective, locks, warm_start
        As in :class:`PlanOptions`.
    on_step
        Told "travel times (PROFILE)" before each matrix.

    Returns
    -------
    Problem
        Depots first, then orders, in the order given.
    """
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
    progress: ProgressCallback | None = None,
) -> tuple[Assignment, Evaluation]:
    """Solve, explain what was left out, and evaluate.

    Parameters
    ----------
    problem
        The planning model.
    solver
        The backend.
    settings
        Time limit, seed, iterations.
    progress
        Told the search's progress.

    Returns
    -------
    tuple
        The backend's assignment and the evaluator's verdict on it.
    """
    assignment = solver.solve(problem, settings, progress)
    return assignment, evaluate(problem, assignment, explain(problem, assignment))


def plan_problem(
    problem: Problem,
    options: PlanOptions | None = None,
    *,
    provider: TravelTimeProvider | None = None,
    rejected: Sequence[Finding] = (),
    on_step: StepCallback | None = None,
    progress: Callable[[Progress], None] | None = None,
    started: float | None = None,
) -> DayPlan:
    """Plan a built problem: choose the backend, solve, explain, evaluate, draw.

    Parameters
    ----------
    problem
        The planning model (its own objective, locks and warm start are used).
    options
        Backend and search settings; default :class:`PlanOptions`.
    provider
        The road source of the matrices, for route geometry; ``None``: no geometry.
    rejected
        Gate findings of the rows left out before planning, kept in the result.
    on_step, progress
        Told each step's name, and the search's progress.
    started
        ``time.perf_counter()`` when the planning began (default: now), for
        :attr:`DayPlan.runtime_s`.

    Returns
    -------
    DayPlan
        The evaluated plan.

    Raises
    ------
    InputError
        For an unknown backend name.
    """
    options = options or PlanOptions()
    started = time.perf_counter() if started is None else started
    solver = choose_backend(problem, options.backend)
    if on_step:
        on_step(f"solving with {solver.name}")
    assignment, evaluation = solve_problem(problem, solver, options.search, progress)
    geometry: tuple[tuple[tuple[float, float], ...], ...] = ()
    if options.with_geometry and provider is not None:
        if on_step:
            on_step("drawing routes")
        geometry = route_geometry(problem, evaluation, provider)
    return DayPlan(
        problem=problem,
        evaluation=evaluation,
        backend=solver.name,
        time_limit_s=options.time_limit_s,
        seed=options.seed,
        runtime_s=time.perf_counter() - started,
        rejected=tuple(rejected),
        geometry=geometry,
        search_cost=assignment.objective,
    )


def plan_orders(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    options: PlanOptions | None = None,
    *,
    on_step: StepCallback | None = None,
    progress: Callable[[Progress], None] | None = None,
    rejected: Sequence[Finding] = (),
    started: float | None = None,
) -> DayPlan:
    """Plan orders with a fleet on ``provider``'s roads: the pipeline every door uses.

    Orders and fleet are put in id order (:func:`canonical`), the matrices are
    built (:func:`build_problem`; for a day split by depot, named or chosen
    automatically (:func:`~doorstep.plan.registry.splits_by_depot`), each depot's
    own by :func:`~doorstep.plan.depots.build_split_problem`; for a one-depot day
    too big for its square (:func:`~doorstep.plan.registry.holds_sparse`), the
    depot's travel only, the rest asked when read, by
    :func:`~doorstep.plan.sparse.build_sparse_problem`), and
    the problem is planned (:func:`plan_problem`).

    Parameters
    ----------
    orders
        Orders that passed the gate (or were checked when stored).
    fleet
        The vehicles and their depots.
    provider
        Travel times and distances.
    options
        Objective, backend, search settings, locks, warm start, geometry.
    on_step, progress, rejected, started
        As in :func:`plan_problem`.

    Returns
    -------
    DayPlan
        The evaluated plan of the canonical problem, with the gate's ``rejected``
        findings kept beside it.

    Raises
    ------
    InputError
        For an unknown backend name, a lock or warm start naming unknown orders
        or vehicles.
    """
    options = options or PlanOptions()
    started = time.perf_counter() if started is None else started
    orders, fleet = canonical(orders, fleet)
    build = build_problem
    split = options.backend == "depots" or (
        options.backend is None and splits_by_depot(len(fleet.depots), len(orders))
    )
    if split and len(fleet.depots) > 1:  # each depot's own matrices
        from doorstep.plan import depots

        build = depots.build_split_problem
    elif (
        options.backend in (None, "decompose")
        and not options.locks  # a day with locks is planned whole: it needs its square
        and holds_sparse(len(fleet.depots), len(orders))
    ):
        from doorstep.plan.sparse import build_sparse_problem  # the depot's travel, the rest asked

        build = build_sparse_problem
    problem = build(
        orders,
        fleet,
        provider,
        objective=options.objective,
        locks=options.locks,
        warm_start=options.warm_start,
        on_step=on_step,
    )
    return plan_problem(
        problem,
        options,
        provider=provider,
        rejected=rejected,
        on_step=on_step,
        progress=progress,
        started=started,
    )
