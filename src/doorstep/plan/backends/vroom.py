"""VROOM backend: the :class:`VroomSolver` over pyvroom's ``vroom.Input``.

Mapping
-------
* **Matrices**: one VROOM profile per vehicle profile, with the problem's own
  ``durations`` and ``distances`` (location indices are the problem's: depots,
  then orders). Unreachable arcs are capped at :data:`FORBIDDEN`, longer than
  any shift, so VROOM never drives them.
* **Orders**: an unpaired order is a ``Job`` with a delivery or a pickup amount
  in three dimensions (parcels, grams, millilitres; VROOM loads deliveries at
  the start and brings pickups back, as the evaluator does), all its windows,
  its service time and its skills (as integer ids). A paired pickup-and-delivery
  is a ``Shipment`` (amount: the larger demand of both ends, per dimension).
  Orders off the road network or that no vehicle has the skills for are left
  out (the engine explains them).
* **Dropping**: VROOM serves as many orders as it can, highest ``priority``
  first; priorities (0-100) rank the drop penalties. It never trades an order
  against its cost, so optional orders are served whenever they fit.
* **Vehicles**: one each, with its profile, start and end depot, capacity,
  shift (``time_window``), break (window shortened by its duration, since VROOM
  windows bound the start) and costs. ``COST`` uses ``VehicleCosts`` (fixed,
  per hour, per km); ``DISTANCE`` uses the distance matrix as VROOM's cost
  matrix; ``VEHICLES`` adds
  :data:`~doorstep.plan.problem.VEHICLE_WEIGHT_M` per vehicle to it.
* **Maximum duration**: VROOM's ``max_travel_time`` counts driving only, so the
  shift is also cut to ``max_duration_s`` after its start (conservative when a
  late first window would let the evaluator leave later).
* **Warm start**: the previous routes become the vehicles' ``steps`` (VROOM's
  initial solution); if VROOM rejects them, it starts cold.

Search and checks
-----------------
VROOM has no seed (``settings.seed`` is ignored) and no progress reports; it
runs with an exploration level chosen from what is left of
``settings.time_limit_s`` and the day's size, and that time as its timeout
(less :data:`FINISH_SHARE` on days with breaks, kept for the repairs, which
stop at the limit). Ctrl-C cannot
interrupt VROOM's C++ search: it takes effect when VROOM returns, and the
repairs then wrap up at once. VROOM's timeout does not cut its start heuristics
(17.9 s at 2,000 orders, exploration level 1): the level is lowered until their
estimate (:func:`heuristics_estimate_s`) fits, and a day where not even level 1
fits is planned by PyVRP's bounded construction
(:func:`doorstep.plan.backends.pyvrp.quick_routes`) instead. VROOM may take
a break in the middle of a drive; the evaluator only knows breaks at stops
(``break_after``: the stop before VROOM's break step). Every route is re-checked
with :func:`~doorstep.plan.evaluator.schedule_route`; one that VROOM's break
position (or anything else) makes infeasible gets its break placed by
:mod:`doorstep.plan.repair`, losing stops only if no position is clean; those
are offered to the other routes. Locks and soft windows are not modelled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import vroom
from vroom._vroom import VroomInputException

from doorstep.domain.fleet import Vehicle
from doorstep.domain.order import Order, OrderKind
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.evaluator import schedule_route
from doorstep.plan.problem import VEHICLE_WEIGHT_M, Feature, Objective, Problem
from doorstep.plan.repair import Rules, settle_routes
from doorstep.plan.solver import (
    Planned,
    RouteAssignment,
    Solver,
    SolveRequest,
    stop_on_interrupt,
)

FORBIDDEN = 10_000_000
"""Duration (s) and distance (m) of an unreachable arc: VROOM matrices are 32-bit."""


FINISH_SHARE = 0.1
"""Share of the time limit kept for moving breaks after VROOM's search (days with breaks)."""

MAX_PRIORITY = 100
"""VROOM's highest job priority."""

HEURISTIC_S_PER_PAIR = 4.5e-6
"""Seconds of VROOM's start heuristics per (task x task) at exploration level 1,
which its timeout does not cut: 17.9 s at 2,000 orders with breaks and a 1 s
timeout, on two cores (``bench/bench_big_day.py``)."""


@dataclass
class _Model:
    """The VROOM input and what it needs to map the answer back."""

    input: Any
    tasks: int = 0
    """Jobs plus shipments handed to VROOM."""
    steps: dict[int, list[Any]] = field(default_factory=dict)
    """Warm-start steps per vehicle index (empty when there is no warm start)."""


class VroomSolver(Solver):
    """The VROOM backend (Coupey, Nicod and Varone), through pyvroom."""

    name = "vroom"
    features = frozenset(Feature) - {Feature.LOCKS, Feature.SOFT_WINDOWS}

    def plan(self, request: SolveRequest) -> Planned:
        """Plan ``request.problem`` with VROOM within the time limit (seed ignored).

        Parameters
        ----------
        request
            The problem, settings and progress callback (told once, at the end).

        Returns
        -------
        Planned
            Routes the evaluator accepts (see :func:`check_routes`), and VROOM's cost.

        Raises
        ------
        RuntimeError, ValueError, VroomInputException
            When VROOM rejects the input without a warm start to blame.
        """
        problem = request.problem
        if not problem.fleet.vehicles:
            return (), None
        model = build_model(problem, warm=True)
        if model.tasks == 0:
            return (), None
        with stop_on_interrupt(request.deadline):
            if exploration_level(_search_limit(request), model.tasks) == 0:
                return _fallback(request)
            try:
                solution = _run(model, request)
            except (RuntimeError, ValueError, VroomInputException):
                if not model.steps:
                    raise
                # VROOM rejected the warm start (e.g. "Infeasible route for vehicle 0":
                # a route the evaluator accepts that VROOM's own timing does not).
                model = build_model(problem, warm=False)
                solution = _run(model, request)
            answer = solution.to_dict()
            cost = float(answer.get("summary", {}).get("cost", 0))
            rules = Rules(deadline=request.deadline)
            routes = check_routes(problem, routes_from_solution(answer), rules)
        request.untried.update(rules.cut)
        request.report(cost, True)
        return routes, cost


def _search_limit(request: SolveRequest) -> float:
    """Seconds left for VROOM's search (less :data:`FINISH_SHARE` on days with breaks)."""
    limit = request.settings.time_limit_s
    if any(v.break_ is not None for v in request.problem.fleet.vehicles):
        limit *= 1 - FINISH_SHARE  # time kept for moving breaks
    return max(0.0, limit - request.elapsed())


def _fallback(request: SolveRequest) -> Planned:
    """PyVRP's bounded construction, for days whose VROOM heuristics would not fit the limit."""
    from doorstep.plan.backends.pyvrp import quick_routes

    problem = request.problem
    rules = Rules(deadline=request.deadline)
    routes = quick_routes(problem, request.settings.seed, request.deadline)
    routes = check_routes(problem, list(routes), rules)
    request.untried.update(range(len(problem.orders)))  # no search tried what it left out
    request.report(None, True)
    return routes, None


def _run(model: _Model, request: SolveRequest) -> Any:
    left = _search_limit(request)
    return model.input.solve(
        exploration_level=exploration_level(left, model.tasks),
        nb_threads=max(1, min(4, os.cpu_count() or 1)),
        timeout=timedelta(seconds=max(0.05, left)),
    )


def heuristics_estimate_s(tasks: int, level: int) -> float:
    """Expected seconds of VROOM's start heuristics, which its timeout cannot cut.

    Parameters
    ----------
    tasks
        Jobs plus shipments.
    level
        Exploration level (1-5): level ``L`` runs about ``(L + 1) / 2`` times
        the heuristics of level 1.

    Returns
    -------
    float
        :data:`HEURISTIC_S_PER_PAIR` times ``tasks`` squared, scaled by level.
    """
    return HEURISTIC_S_PER_PAIR * tasks * tasks * (level + 1) / 2


def exploration_level(time_limit_s: float, tasks: int = 0) -> int:
    """VROOM's exploration level (1-5) for a time limit: deeper with more time.

    Parameters
    ----------
    time_limit_s
        Seconds VROOM may take.
    tasks
        Jobs plus shipments: the level is lowered until VROOM's start
        heuristics (:func:`heuristics_estimate_s`) fit in ``time_limit_s``.

    Returns
    -------
    int
        The level; 0 when not even level 1 is expected to fit (plan without VROOM).
    """
    level = 5 if time_limit_s >= 5 else 4 if time_limit_s >= 1 else 2
    while level > 0 and heuristics_estimate_s(tasks, level) > time_limit_s:
        level -= 1
    return level


def _matrix(matrix: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    out: npt.NDArray[np.uint32] = np.minimum(matrix, FORBIDDEN).astype(np.uint32)
    out[matrix >= UNREACHABLE] = FORBIDDEN
    np.fill_diagonal(out, 0)
    return out


def _amount(values: tuple[int, ...]) -> Any:
    return vroom.Amount([int(x) for x in values])


def _windows(order: Order) -> list[Any]:
    return [vroom.TimeWindow(w.start, w.end) for w in order.windows]


def priorities(problem: Problem) -> list[int]:
    """VROOM priority (0-100) per order: the rank of its drop penalty, scaled."""
    levels = sorted(set(problem.drop_penalty))
    top = max(1, len(levels) - 1)
    return [MAX_PRIORITY * levels.index(p) // top for p in problem.drop_penalty]


def _vehicle(
    problem: Problem, index: int, vehicle: Vehicle, skill_ids: dict[str, int], steps: list[Any]
) -> Any:
    shift = vehicle.shift
    end = shift.end
    if vehicle.max_duration_s is not None:
        end = min(end, shift.start + vehicle.max_duration_s)
    breaks = []
    if vehicle.break_ is not None:
        w = vehicle.break_.window
        breaks.append(
            vroom.Break(
                index,
                time_windows=[vroom.TimeWindow(w.start, w.end - vehicle.break_.duration_s)],
                service=vehicle.break_.duration_s,
            )
        )
    if problem.objective is Objective.COST:
        c = vehicle.costs
        costs = vroom.VehicleCosts(fixed=c.fixed, per_hour=c.per_hour, per_km=c.per_km)
    elif problem.objective is Objective.VEHICLES:
        costs = vroom.VehicleCosts(fixed=VEHICLE_WEIGHT_M)
    else:
        costs = vroom.VehicleCosts()
    return vroom.Vehicle(
        index,
        start=problem.start_location(vehicle),
        end=problem.end_location(vehicle),
        profile=vehicle.profile.value,
        capacity=_amount(vehicle.capacity.as_tuple()),
        skills={skill_ids[s] for s in vehicle.skills},
        time_window=vroom.TimeWindow(shift.start, max(shift.start, end)),
        breaks=breaks,
        costs=costs,
        max_travel_time=vehicle.max_duration_s,
        steps=steps,
    )


def build_model(problem: Problem, warm: bool = True) -> _Model:
    """Translate ``problem`` into a ``vroom.Input`` (with the warm start when ``warm``)."""
    vehicles = problem.fleet.vehicles
    model = _Model(vroom.Input())
    for profile in problem.profiles:
        durations = _matrix(np.asarray(problem.durations[profile]))  # dense: VROOM reads all
        model.input.set_durations_matrix(profile.value, durations)
        distances = _matrix(np.asarray(problem.distances[profile]))
        model.input.set_distances_matrix(profile.value, distances)
        if problem.objective is not Objective.COST:
            model.input.set_costs_matrix(profile.value, distances)
    names = sorted(
        {s for o in problem.orders for s in o.skills} | {s for v in vehicles for s in v.skills}
    )
    skill_ids = {s: k for k, s in enumerate(names)}
    servable = [
        any(problem.can_serve(v, o) for v in vehicles)
        and problem.order_location(i) not in problem.off_network
        for i, o in enumerate(problem.orders)
    ]
    rank = priorities(problem)
    pairs = problem.pairs()
    paired = {i for pair in pairs for i in pair}
    zero = (0, 0, 0)
    modelled: dict[int, str] = {}
    for i, order in enumerate(problem.orders):
        if i in paired or not servable[i]:
            continue
        demand = order.demand.as_tuple()
        pickup = order.kind is OrderKind.PICKUP
        model.input.add_job(
            vroom.Job(
                i,
                problem.order_location(i),
                default_service=order.service_s,
                delivery=_amount(zero if pickup else demand),
                pickup=_amount(demand if pickup else zero),
                skills={skill_ids[s] for s in order.skills},
                priority=rank[i],
                time_windows=_windows(order),
            )
        )
        modelled[i] = "single"
        model.tasks += 1
    for first, second in pairs:
        if not (servable[first] and servable[second]):
            continue
        p, d = problem.orders[first], problem.orders[second]
        amount = np.maximum(p.demand.as_tuple(), d.demand.as_tuple())
        model.input.add_shipment(
            vroom.ShipmentStep(
                first,
                problem.order_location(first),
                default_service=p.service_s,
                time_windows=_windows(p),
            ),
            vroom.ShipmentStep(
                second,
                problem.order_location(second),
                default_service=d.service_s,
                time_windows=_windows(d),
            ),
            amount=_amount(tuple(amount)),
            skills={skill_ids[s] for s in p.skills | d.skills},
            priority=max(rank[first], rank[second]),
        )
        modelled[first], modelled[second] = "pickup", "delivery"
        model.tasks += 1
    if warm:
        model.steps = _warm_steps(problem, modelled)
    for index, vehicle in enumerate(vehicles):
        steps = model.steps.get(index, [])
        model.input.add_vehicle(_vehicle(problem, index, vehicle, skill_ids, steps))
    return model


def _warm_steps(problem: Problem, modelled: dict[int, str]) -> dict[int, list[Any]]:
    """The previous plan as VROOM vehicle steps (orders VROOM does not know are skipped)."""
    index = problem.order_index()
    vehicle_ids = [v.id for v in problem.fleet.vehicles]
    kinds = {
        "single": vroom.VehicleStepSingle,
        "pickup": vroom.VehicleStepPickup,
        "delivery": vroom.VehicleStepDelivery,
    }
    out: dict[int, list[Any]] = {}
    seen: set[int] = set()
    for vehicle_id, order_ids in problem.warm_start.items():
        if vehicle_id not in vehicle_ids:
            continue
        orders = [index[o] for o in order_ids if o in index and index[o] in modelled]
        orders = [i for i in orders if i not in seen]
        seen.update(orders)
        if orders:
            out[vehicle_ids.index(vehicle_id)] = [kinds[modelled[i]](i) for i in orders]
    # A shipment must be warm-started whole, on one route, pickup first.
    for vehicle, steps in list(out.items()):
        ids = [s.id for s in steps]
        for first, second in problem.pairs():
            if (first in ids) != (second in ids) or (
                first in ids and ids.index(first) > ids.index(second)
            ):
                ids = [i for i in ids if i not in (first, second)]
        out[vehicle] = [kinds[modelled[i]](i) for i in ids]
    return {v: s for v, s in out.items() if s}


def routes_from_solution(answer: dict[str, Any]) -> list[RouteAssignment]:
    """``RouteAssignment`` per VROOM route in ``answer`` (``Solution.to_dict()``)."""
    out = []
    for route in answer.get("routes", []):
        orders: list[int] = []
        break_after: int | None = None
        for step in route["steps"]:
            kind = step["type"]
            if kind in ("job", "pickup", "delivery"):
                orders.append(int(step["id"]))
            elif kind == "break":
                break_after = len(orders) - 1
        if orders:
            out.append(RouteAssignment(int(route["vehicle"]), tuple(orders), break_after))
    return out


def check_routes(
    problem: Problem, routes: list[RouteAssignment], rules: Rules | None = None
) -> tuple[RouteAssignment, ...]:
    """``routes`` as the evaluator accepts them: breaks moved, stops dropped only if needed.

    VROOM's ``routes`` (with its own break positions) are kept when the evaluator
    accepts them; the others go through the repair engine under ``rules`` (its
    deadline: past it, repairs drop stops from the end).

    Returns
    -------
    tuple of RouteAssignment
        The routes, each accepted by the evaluator.
    """
    vehicles = problem.fleet.vehicles
    routes = [
        r if vehicles[r.vehicle].break_ is not None else RouteAssignment(r.vehicle, r.orders)
        for r in routes
    ]

    def fits(route: RouteAssignment) -> bool:
        return not schedule_route(problem, route).violations

    return settle_routes(problem, routes, fits, rules)
