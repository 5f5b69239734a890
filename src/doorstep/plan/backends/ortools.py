"""OR-Tools routing backend: the :class:`OrToolsSolver` over ``pywrapcp.RoutingModel``.

Notes for the other engineer
----------------------------
Principle
    Only constraints OR-Tools' local-search filters can see go into the model
    (side constraints added with ``solver().Add`` made first solutions 4-15x
    slower and local search ~10x slower, measured on 300-1,000 orders). Where the
    evaluator's rule cannot be expressed that way, the model is slightly
    permissive, and every route is checked against the evaluator's rule
    afterwards (see "Agreement with the evaluator").
Nodes
    The depots some vehicle starts or ends at, then one node per order and time
    window: an order with several windows gets a copy per window in one
    disjunction (at most one served; cumul holes made with ``RemoveInterval``
    made first solutions ~10x slower). An order in a locked prefix keeps one node
    with ``RemoveInterval`` holes. Left out (the engine explains them): orders at
    off-network locations, orders no vehicle may serve (skills; a lock to a
    vehicle without the skills; a pair with no vehicle allowed for both), and
    vehicles whose break cannot fit while their shift starts after the break
    window opens.
Objective units
    ``SCALE`` = 18,000 units per cent, the least common multiple of 1,000
    (metres per km, for ``per_km``) and 3,600 (seconds per hour, for
    ``per_hour``), so every coefficient is an exact integer. COST: arc = metres x
    (``per_km`` x 18 + 1; the 1 breaks ties when km are free), fixed cost x
    ``SCALE`` (``SetFixedCostOfVehicle``), span cost ``per_hour`` x 5 per second.
    DISTANCE: arc = metres x ``NOMINAL_PER_METRE`` (the problem's nominal cents
    per km). VEHICLES: DISTANCE plus ``VEHICLE_WEIGHT_M`` metres per vehicle
    used. Every modelled order is optional (``AddDisjunction``) at its drop
    penalty x ``SCALE`` (COST) or its ``drop_weight_m`` (DISTANCE, VEHICLES: an
    order is never dropped to save a vehicle) x ``NOMINAL_PER_METRE``, locked
    orders at ``LOCK_PENALTY_FACTOR`` times that. ``Assignment.objective`` and
    progress are in cents and include the penalties of orders left out of the
    model; with no repair needed the objective equals the evaluator's cost plus
    penalties (the tests check this).
Time
    Dimension "time", seconds after midnight, per-vehicle transits from the
    vehicle's profile matrix (``RegisterTransitMatrix``), service time in the
    transit out of a stop (a stop's cumul is its service start). Windows are
    cumul ranges; a soft window's end is a soft upper bound on the last copy's
    cumul (``SetCumulVarSoftUpperBound``, ``late_cost_per_hour`` x 5 units per
    second late). Shifts bound the start and end cumuls, ``max_duration_s`` is a
    span upper bound. Depot-to-depot travel is zero so empty routes are always
    feasible. Permissive: OR-Tools may leave the depot later than the evaluator
    (which leaves as early as the first stop allows) and so accept a route whose
    waits make it too long. An exact ``Element`` constraint on ``NextVar(start)``
    was tried and dropped (first solutions 4x slower).
Load
    Per capacity (parcels, grams, millilitres) that can bind: "loaded" counts
    unpaired deliveries from 0 (the load at the depot; exact without pickups).
    With pickups also "on board" (+pickup, -delivery) whose starting load is
    free within the capacity. Permissive: the evaluator starts with the route's
    deliveries on board, and tying the two is a side constraint (tried: many
    failed first solutions). Load nodes at the depot paired with each delivery
    (exact, filter-visible) doubled the nodes and gave worse plans. The repair
    below moves returns later instead.
Breaks
    One ``FixedDurationIntervalVar`` per vehicle within its break window and
    shift (``SetBreakIntervalsOfVehicle``, service times as visit transits).
    OR-Tools may take a break mid-drive or after the route; the evaluator only
    at a stop (``break_after``). The hint is the last stop served before the
    break starts; the evaluator's rule then picks, among the hint, no break, the
    depot and every stop, the violation-free position with the shortest duty.
Agreement with the evaluator
    ``_Checker`` is a plain-integer copy of the evaluator's schedule rule (a
    property test checks it against ``schedule_route``); every route handed out
    is confirmed by ``schedule_route`` itself. A route no break position makes
    feasible is repaired: returns (unpaired pickups) are moved later while that
    lowers the overload, then stops are dropped, fewest violations first, then
    cheapest to drop. Dropped unpaired orders are offered again to every route
    at the cheapest detours the evaluator accepts. ``FINISH_SHARE`` of the time
    limit is kept for this; past the limit, repairs drop from the end and
    nothing is re-inserted. In a synthetic stress test (every feature, 15%
    returns, tight capacities; 60-1,000 orders) 0-40% of the routes needed a
    repair, mostly for returns, and 0-0.5% of the orders were lost in the end.
Search
    ``PARALLEL_CHEAPEST_INSERTION`` (deterministic), then
    ``GUIDED_LOCAL_SEARCH`` until the limit; scheduling LPs on GLOP (CP-SAT made
    breaks slow). No random seed in OR-Tools routing: ``settings.seed`` is
    ignored; runs are deterministic up to how far the search gets within the
    time limit. ``problem.warm_start`` is read with ``ReadAssignmentFromRoutes``
    (orders that cannot be where it puts them are left out of it); an unusable
    one falls back to a cold start. Rough sizes with every feature: 300 orders
    and 15 vehicles, first solution in 0.3 s; 1,000 orders and 40 vehicles, 5 s,
    and local search is slow: give it 30 s or more.
Locks
    A lock restricts the order's vehicle. A sequence prefix (positions 0, 1, 2...
    without gaps) is pinned with ``NextVar`` when the evaluator accepts the
    prefix as a route on its own (else only the vehicle is kept); should the
    model still have no solution, it is solved again without prefixes.
Interrupts
    A KeyboardInterrupt raised inside OR-Tools' C++ search is swallowed by it, so
    while solving in the main thread the backend installs its own SIGINT handler
    that stops the search through a ``CustomLimit`` and returns the best plan so
    far (then restores the previous handler). A KeyboardInterrupt raised by the
    progress callback stops the search the same way; otherwise the routes the
    solution callback recorded are used.
Limitations
    Paired orders are not re-inserted after a repair; lock positions with gaps
    pin only the gap-free prefix; ``SetAllowedVehiclesForIndex`` rejects Python
    lists in ortools 9.15, so vehicle restrictions reduce ``VehicleVar`` domains.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from types import FrameType
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_parameters_pb2

from doorstep.domain.fleet import Break, Profile, Vehicle
from doorstep.domain.order import OrderKind
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.evaluator import schedule_route
from doorstep.plan.problem import (
    NOMINAL_CENTS_PER_KM,
    VEHICLE_WEIGHT_M,
    Feature,
    Objective,
    Problem,
)
from doorstep.plan.solver import (
    Assignment,
    Progress,
    ProgressCallback,
    RouteAssignment,
    SolveSettings,
)

SCALE = 18_000
"""Objective units per cent: lcm(1,000 m/km, 3,600 s/h), so per-km and per-hour costs
become exact integer coefficients (per_km x 18 per metre, per_hour x 5 per second)."""

NOMINAL_PER_METRE = NOMINAL_CENTS_PER_KM * SCALE // 1000
"""Objective units per metre under the distance and vehicles objectives."""

LOCK_PENALTY_FACTOR = 100
"""A locked order's drop penalty is multiplied by this: a person asked for it."""

FINISH_SHARE = 0.1
"""Share of the time limit kept for checking, repairing and re-inserting after the search."""

_MIN_SEARCH_S = 0.05
_REINSERT_TRIES = 50
_MOVE_TRIES = 20

_Warm = Mapping[int, tuple[tuple[int, ...], int | None]]
"""Vehicle -> (order indices in visit order, break_after) to start the search from."""


class OrToolsSolver:
    """Google OR-Tools' routing solver behind the :class:`~doorstep.plan.solver.Solver` protocol.

    Supports every :class:`~doorstep.plan.problem.Feature`; see the module
    docstring for how each is modelled.
    """

    name = "ortools"
    features: frozenset[Feature] = frozenset(Feature)

    def solve(
        self,
        problem: Problem,
        settings: SolveSettings,
        progress: ProgressCallback | None = None,
    ) -> Assignment:
        """Plan ``problem`` within ``settings.time_limit_s``.

        Parameters
        ----------
        problem
            The day to plan.
        settings
            Time limit (seconds, model building included); the seed is ignored
            because OR-Tools routing has none.
        progress
            Called with the elapsed time and best cost (cents) at every improving
            solution.

        Returns
        -------
        Assignment
            Routes in visit order with ``break_after``, each feasible under the
            evaluator's schedule rule; orders left out are simply absent.
        """
        began = time.monotonic()
        plan = _Plan.of(problem)
        if not plan.orders or not problem.fleet.vehicles:
            return Assignment((), self.name, time.monotonic() - began)
        left_out = sum(problem.drop_penalty[i] for i in range(len(problem.orders)))
        left_out -= sum(problem.drop_penalty[i] for i in plan.orders)
        run = _Run(began, progress, left_out)
        limit = settings.time_limit_s
        search_deadline = began + (1 - FINISH_SHARE) * limit
        warm = _warm_routes(problem)
        found = _search(_build(plan, chains=True), search_deadline, run, warm)
        if found is None and any(plan.chains.values()) and not run.stopped:
            found = _search(_build(plan, chains=False), search_deadline, run, warm)
        routes = _finish(plan, found, _Deadline(began + limit))
        objective = None if run.best is None else run.cents(run.best)
        return Assignment(tuple(routes), self.name, time.monotonic() - began, objective)


# --- What goes into the model -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """The problem cut down to what OR-Tools is given."""

    problem: Problem
    orders: tuple[int, ...]
    """Modelled order indices."""
    allowed: dict[int, tuple[int, ...]]
    """Order -> vehicles that may serve it, only where not every vehicle may."""
    chains: dict[int, tuple[int, ...]]
    """Vehicle -> its locked sequence prefix (modelled orders)."""
    locked: frozenset[int]
    pairs: tuple[tuple[int, int], ...]
    unusable: frozenset[int]
    """Vehicles that can never take their break, so never leave."""
    binding: tuple[int, ...]
    """Capacity dimensions (0 parcels, 1 grams, 2 millilitres) that can limit a vehicle."""

    @staticmethod
    def of(problem: Problem) -> _Plan:
        """Decide what to model."""
        vehicles = problem.fleet.vehicles
        unusable = frozenset(v for v, vehicle in enumerate(vehicles) if _break_impossible(vehicle))
        usable = [v for v in range(len(vehicles)) if v not in unusable]
        index = problem.order_index()
        vehicle_index = {vehicle.id: v for v, vehicle in enumerate(vehicles)}
        lock_vehicle = {
            index[lock.order_id]: vehicle_index[lock.vehicle_id] for lock in problem.locks
        }
        allowed: dict[int, set[int]] = {}
        for i, order in enumerate(problem.orders):
            if problem.order_location(i) in problem.off_network:
                continue
            ok = {v for v in usable if problem.can_serve(vehicles[v], order)}
            if i in lock_vehicle:
                ok &= {lock_vehicle[i]}
            if ok:
                allowed[i] = ok
        # A pickup and its deliveries share one route: keep them where a vehicle may do all.
        groups: dict[int, list[int]] = {}
        for pickup, delivery in problem.pairs():
            groups.setdefault(pickup, []).append(delivery)
        pairs: list[tuple[int, int]] = []
        for pickup, deliveries in groups.items():
            group = [pickup, *deliveries]
            common = set(usable)
            for i in group:
                common &= allowed.get(i, set())
            for i in group:
                if common:
                    allowed[i] = common
                else:
                    allowed.pop(i, None)
            if common:
                pairs += [(pickup, d) for d in deliveries]
        chains: dict[int, tuple[int, ...]] = {}
        positioned = sorted(
            (lock.position, vehicle_index[lock.vehicle_id], index[lock.order_id])
            for lock in problem.locks
            if lock.position is not None
        )
        for vehicle in sorted({v for _, v, _ in positioned}):
            chain: list[int] = []
            for position, v, i in positioned:
                if v != vehicle:
                    continue
                if position != len(chain) or i not in allowed:
                    break
                chain.append(i)
            # A prefix the evaluator rejects on its own cannot start any route.
            if chain and _best_break(_Checker(problem), vehicle, tuple(chain), None) is not None:
                chains[vehicle] = tuple(chain)
        modelled = tuple(sorted(allowed))
        binding = tuple(k for k in range(3) if _binds(problem, modelled, k))
        everyone = set(usable)
        return _Plan(
            problem,
            modelled,
            {i: tuple(sorted(vs)) for i, vs in allowed.items() if vs != everyone},
            chains,
            frozenset(i for i in lock_vehicle if i in allowed),
            tuple(pairs),
            unusable,
            binding,
        )

    def vehicles_for(self, order: int) -> tuple[int, ...]:
        """Vehicles that may serve ``order``."""
        everyone = range(len(self.problem.fleet.vehicles))
        return self.allowed.get(order, tuple(v for v in everyone if v not in self.unusable))


def _binds(problem: Problem, orders: tuple[int, ...], k: int) -> bool:
    """Whether capacity dimension ``k`` can limit any vehicle."""
    total = sum(problem.orders[i].demand.as_tuple()[k] for i in orders)
    return total > 0 and min(v.capacity.as_tuple()[k] for v in problem.fleet.vehicles) < total


def _break_window(vehicle: Vehicle) -> tuple[int, int] | None:
    """Earliest and latest start of the break within window and shift; None if none fits."""
    brk = vehicle.break_
    assert brk is not None
    low = max(brk.window.start, vehicle.shift.start)
    high = min(brk.window.end, vehicle.shift.end) - brk.duration_s
    return (low, high) if low <= high else None


def _break_impossible(vehicle: Vehicle) -> bool:
    """A vehicle whose break cannot fit and whose shift starts after the break window opens.

    Such a vehicle can only avoid a break by ending before the window opens,
    which it cannot; the evaluator would flag any route it drives.
    """
    if vehicle.break_ is None or _break_window(vehicle) is not None:
        return False
    return vehicle.shift.start > vehicle.break_.window.start


def _warm_routes(problem: Problem) -> dict[int, tuple[tuple[int, ...], int | None]]:
    """``problem.warm_start`` as order indices per vehicle (unknown ids skipped)."""
    index = problem.order_index()
    return {
        v: (tuple(index[o] for o in problem.warm_start.get(vehicle.id, ()) if o in index), None)
        for v, vehicle in enumerate(problem.fleet.vehicles)
        if problem.warm_start.get(vehicle.id)
    }


# --- The OR-Tools model -------------------------------------------------------------------


@dataclass(slots=True)
class _Model:
    plan: _Plan
    routing: Any
    time_dimension: Any
    index_order: dict[int, int]
    """Routing index of a stop -> its order."""
    order_indices: dict[int, list[int]]
    """Order -> the routing indices of its stop (one per window)."""
    index_window: dict[int, tuple[int, int]]
    """Routing index of a stop -> the cumul range of its window."""
    breaks: dict[int, Any] = field(default_factory=dict)
    """Vehicle -> its break interval."""


@dataclass(slots=True)
class _Nodes:
    """What each routing node stands for, while the model is built."""

    locations: list[int]
    order: list[int]
    """Order index of a stop; -1 for depots."""
    window: list[tuple[int, int] | None]
    """Cumul range of a stop (None: no window)."""


def _nodes(plan: _Plan, depots: list[int]) -> _Nodes:
    """Depots, then a stop per order and window (one stop for orders in a locked prefix)."""
    problem = plan.problem
    nodes = _Nodes(list(depots), [-1] * len(depots), [None] * len(depots))

    def add(location: int, order: int, window: tuple[int, int] | None) -> None:
        nodes.locations.append(location)
        nodes.order.append(order)
        nodes.window.append(window)

    chained = {i for chain in plan.chains.values() for i in chain}
    for i in plan.orders:
        windows = problem.orders[i].windows
        location = problem.order_location(i)
        if len(windows) > 1 and i not in chained:
            for w in windows:
                add(location, i, (w.start, w.end))
        else:
            add(location, i, (windows[0].start, windows[-1].end) if windows else None)
    return nodes


def _build(plan: _Plan, *, chains: bool) -> _Model:
    """The OR-Tools model of ``plan`` (see the module docstring), with or without prefixes."""
    problem = plan.problem
    vehicles = problem.fleet.vehicles
    depots = sorted(
        {problem.start_location(v) for v in vehicles} | {problem.end_location(v) for v in vehicles}
    )
    nodes = _nodes(plan, depots)
    depot_node = {location: node for node, location in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(nodes.order),
        len(vehicles),
        [depot_node[problem.start_location(v)] for v in vehicles],
        [depot_node[problem.end_location(v)] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    model = _Model(plan, routing, None, {}, {}, {})
    for node in range(len(depots), len(nodes.order)):
        index, i = int(manager.NodeToIndex(node)), nodes.order[node]
        model.index_order[index] = i
        model.order_indices.setdefault(i, []).append(index)
        if (cumul_range := nodes.window[node]) is not None:
            model.index_window[index] = cumul_range

    locations = np.array(nodes.locations, dtype=np.int64)
    service = np.array(
        [0 if i < 0 else problem.orders[i].service_s for i in nodes.order], dtype=np.int64
    )
    time_callbacks = {
        profile: routing.RegisterTransitMatrix(
            _node_matrix(problem.durations[profile], locations, len(depots), 1, service)
        )
        for profile in problem.profiles
    }
    _add_costs(model, locations, len(depots))
    model.time_dimension = _add_time(model, time_callbacks)
    _add_breaks(model)
    _add_capacities(model, nodes)
    _add_orders(model)
    if chains:
        for v, chain in plan.chains.items():
            previous = routing.Start(v)
            for i in chain:
                (index,) = model.order_indices[i]
                routing.NextVar(previous).SetValue(index)
                previous = index
    return model


def _node_matrix(
    matrix: np.ndarray,
    locations: np.ndarray,
    depot_count: int,
    scale: int,
    service: np.ndarray | None = None,
) -> list[list[int]]:
    """``matrix`` over the model's nodes, times ``scale``, plus the from-node's service.

    Unreachable pairs stay huge but cannot overflow; depot-to-depot entries are
    zero because only an empty route goes from a depot to a depot.
    """
    sub = np.minimum(matrix[np.ix_(locations, locations)], UNREACHABLE).astype(np.int64) * scale
    if service is not None:
        sub += service[:, None]
    sub[:depot_count, :depot_count] = 0
    np.fill_diagonal(sub, 0)
    result: list[list[int]] = sub.tolist()
    return result


def _add_costs(model: _Model, locations: np.ndarray, depot_count: int) -> None:
    """Arc costs and fixed costs per vehicle, in ``SCALE`` units per cent."""
    problem, routing = model.plan.problem, model.routing
    callbacks: dict[tuple[Profile, int], int] = {}
    for v, vehicle in enumerate(problem.fleet.vehicles):
        if problem.objective is Objective.COST:
            per_metre = vehicle.costs.per_km * SCALE // 1000 + 1  # + 1: tie-break on distance
            fixed = vehicle.costs.fixed * SCALE
        else:
            per_metre = NOMINAL_PER_METRE
            fixed = VEHICLE_WEIGHT_M * per_metre if problem.objective is Objective.VEHICLES else 0
        key = (vehicle.profile, per_metre)
        if key not in callbacks:
            distances = problem.distances[vehicle.profile]
            callbacks[key] = routing.RegisterTransitMatrix(
                _node_matrix(distances, locations, depot_count, per_metre)
            )
        routing.SetArcCostEvaluatorOfVehicle(callbacks[key], v)
        routing.SetFixedCostOfVehicle(fixed, v)


def _add_time(model: _Model, callbacks: dict[Profile, int]) -> Any:
    """The time dimension: windows, shifts, maximum durations, per-hour costs."""
    problem, routing = model.plan.problem, model.routing
    vehicles = problem.fleet.vehicles
    horizon = _horizon(problem)
    routing.AddDimensionWithVehicleTransitAndCapacity(
        [callbacks[v.profile] for v in vehicles], horizon, [horizon] * len(vehicles), False, "time"
    )
    time_dimension = routing.GetDimensionOrDie("time")
    for index, (start, end) in model.index_window.items():
        cumul = time_dimension.CumulVar(index)
        order = problem.orders[model.index_order[index]]
        if order.soft_windows and end == order.windows[-1].end:
            # Soft: any later start is allowed, at the lateness cost per second.
            cumul.SetRange(start, horizon)
            coefficient = order.late_cost_per_hour * SCALE // 3600
            time_dimension.SetCumulVarSoftUpperBound(index, end, coefficient)
        else:
            cumul.SetRange(start, end)
        for before, after in pairwise(problem.orders[model.index_order[index]].windows):
            if start <= before.end and after.start <= end and after.start - before.end > 1:
                cumul.RemoveInterval(before.end + 1, after.start - 1)
    for v, vehicle in enumerate(vehicles):
        start, end = routing.Start(v), routing.End(v)
        time_dimension.CumulVar(start).SetRange(vehicle.shift.start, vehicle.shift.end)
        time_dimension.CumulVar(end).SetRange(vehicle.shift.start, vehicle.shift.end)
        routing.AddVariableMinimizedByFinalizer(time_dimension.CumulVar(end))
        if vehicle.max_duration_s is not None:
            time_dimension.SetSpanUpperBoundForVehicle(vehicle.max_duration_s, v)
        if problem.objective is Objective.COST and vehicle.costs.per_hour:
            coefficient = vehicle.costs.per_hour * SCALE // 3600
            time_dimension.SetSpanCostCoefficientForVehicle(coefficient, v)
    return time_dimension


def _horizon(problem: Problem) -> int:
    """Latest time any cumul may take."""
    ends = [86_400]
    ends += [v.shift.end for v in problem.fleet.vehicles]
    ends += [w.end for o in problem.orders for w in o.windows]
    return max(ends) + 1


def _add_breaks(model: _Model) -> None:
    """One break interval per vehicle that has a break (see the module docstring)."""
    problem, routing = model.plan.problem, model.routing
    visit_transits = [0] * routing.Size()
    for index, i in model.index_order.items():
        visit_transits[index] = problem.orders[i].service_s
    for v, vehicle in enumerate(problem.fleet.vehicles):
        if vehicle.break_ is None or v in model.plan.unusable:
            continue
        window = _break_window(vehicle)
        if window is None:
            # No break fits: the route must be over before the break window opens.
            model.time_dimension.CumulVar(routing.End(v)).SetMax(vehicle.break_.window.start)
            continue
        interval = routing.solver().FixedDurationIntervalVar(
            window[0], window[1], vehicle.break_.duration_s, False, f"break {vehicle.id}"
        )
        model.time_dimension.SetBreakIntervalsOfVehicle([interval], v, visit_transits)
        model.breaks[v] = interval


def _add_capacities(model: _Model, nodes: _Nodes) -> None:
    """Dimensions for each capacity that can bind (see the module docstring)."""
    plan, routing = model.plan, model.routing
    problem = plan.problem
    paired_deliveries = {d for _, d in plan.pairs}
    has_pickups = any(problem.orders[i].kind is OrderKind.PICKUP for i in plan.orders)
    for k in plan.binding:
        loaded = [0] * len(nodes.order)
        on_board = [0] * len(nodes.order)
        for node, i in enumerate(nodes.order):
            if i < 0:
                continue
            order = problem.orders[i]
            amount = order.demand.as_tuple()[k]
            if order.kind is OrderKind.PICKUP:
                on_board[node] = amount
            else:
                on_board[node] = -amount
                loaded[node] = 0 if i in paired_deliveries else amount
        capacities = [v.capacity.as_tuple()[k] for v in problem.fleet.vehicles]
        name = ("parcels", "weight", "volume")[k]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(loaded), 0, capacities, True, f"{name} loaded"
        )
        if has_pickups:
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(on_board), 0, capacities, False, name
            )


def _add_orders(model: _Model) -> None:
    """Orders are optional at their penalty, on allowed vehicles; pairs travel together."""
    plan, routing = model.plan, model.routing
    problem = plan.problem
    disjunctions: dict[int, int] = {}
    for i, indices in model.order_indices.items():
        if problem.objective is Objective.COST:
            penalty = problem.drop_penalty[i] * SCALE
        else:
            penalty = problem.drop_weight_m(i) * NOMINAL_PER_METRE
        if i in plan.locked:
            penalty *= LOCK_PENALTY_FACTOR
        disjunctions[i] = routing.AddDisjunction(indices, penalty, 1)
        for index in indices:
            if i in plan.allowed:
                _allow(routing, index, plan.allowed[i])
    for v in plan.unusable:
        routing.NextVar(routing.Start(v)).SetValue(routing.End(v))
    for pickup, delivery in plan.pairs:
        routing.AddPickupAndDeliverySets(disjunctions[pickup], disjunctions[delivery])


def _allow(routing: Any, index: int, vehicles: tuple[int, ...]) -> None:
    """Restrict ``index`` to ``vehicles`` (or being dropped)."""
    try:
        routing.SetAllowedVehiclesForIndex(list(vehicles), index)
    except TypeError:  # ortools 9.15's wrapper rejects every Python sequence here
        routing.VehicleVar(index).SetValues([-1, *vehicles])


# --- Searching ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    """One vehicle's stops as OR-Tools left them, with a hint for ``break_after``."""

    orders: tuple[int, ...]
    break_after: int | None = None


@dataclass(slots=True)
class _Run:
    """State of one solve: timing, progress, the best routes seen."""

    began: float
    progress: ProgressCallback | None
    left_out: int = 0
    """Drop penalties (cents) of the orders not in the model."""
    best: int | None = None
    best_routes: list[_Found] | None = None
    stopped: bool = False
    error: Exception | None = None

    def elapsed(self) -> float:
        """Seconds since the solve began."""
        return time.monotonic() - self.began

    def cents(self, cost: int) -> float:
        """An OR-Tools cost in cents, with the penalties of orders left out of the model."""
        return cost / SCALE + self.left_out


def _search(model: _Model, deadline: float, run: _Run, warm: _Warm) -> list[_Found] | None:
    """Solve ``model``: per vehicle its stops, or None without a solution."""
    routing = model.routing
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.mixed_integer_scheduling_solver = (
        routing_parameters_pb2.RoutingSearchParameters.SchedulingSolver.SCHEDULING_GLOP
    )
    seconds = max(_MIN_SEARCH_S, deadline - time.monotonic())
    params.time_limit.FromMilliseconds(int(1000 * seconds))
    params.log_search = False

    def on_solution() -> None:
        try:
            cost = int(routing.CostVar().Value())
            if run.best is not None and cost >= run.best:
                return
            run.best = cost
            run.best_routes = _routes_now(model)
            if run.progress is not None:
                run.progress(Progress(run.elapsed(), run.cents(cost), True))
        except KeyboardInterrupt:
            run.stopped = True
        except Exception as error:  # raised again after the search
            run.error = error
            run.stopped = True

    routing.AddAtSolutionCallback(on_solution)
    routing.AddSearchMonitor(routing.solver().CustomLimit(lambda: run.stopped))
    routing.CloseModelWithParameters(params)
    initial = _warm_start(model, warm)
    solution = None
    try:
        with _stop_on_interrupt(run):
            if initial is not None:
                solution = routing.SolveFromAssignmentWithParameters(initial, params)
            if solution is None and not run.stopped:
                solution = routing.SolveWithParameters(params)
    except KeyboardInterrupt:
        run.stopped = True
    if run.error is not None:
        raise run.error
    if solution is not None:
        return _routes_of(model, solution)
    return run.best_routes


@contextmanager
def _stop_on_interrupt(run: _Run) -> Iterator[None]:
    """While solving in the main thread, turn Ctrl-C into a request to stop the search."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        run.stopped = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- Warm starts and reading solutions ----------------------------------------------------


def _warm_start(model: _Model, warm: _Warm) -> Any:
    """``warm`` as an OR-Tools assignment, cleaned of what cannot be; or None.

    Orders that are not modelled, not allowed on the vehicle, already placed or
    in another vehicle's locked prefix are left out; a vehicle's locked prefix
    comes first; a pair is kept only when both are on the route in order. Each
    stop uses the window copy the evaluator's schedule serves it in.
    """
    plan = model.plan
    problem = plan.problem
    if not warm:
        return None
    in_chain = {i for chain in plan.chains.values() for i in chain}
    used: set[int] = set()
    routes: list[list[int]] = []
    for v in range(len(problem.fleet.vehicles)):
        route = list(plan.chains.get(v, ()))
        orders, break_after = warm.get(v, ((), None))
        for i in orders:
            placeable = i in model.order_indices and i not in used and i not in in_chain
            if placeable and v not in plan.unusable and v in plan.vehicles_for(i):
                route.append(i)
                used.add(i)
        position = {i: k for k, i in enumerate(route)}
        dropped: set[int] = set()
        for pickup, delivery in plan.pairs:
            in_order = position.get(pickup, len(route)) < position.get(delivery, -1)
            if (pickup in position or delivery in position) and not in_order:
                dropped |= {pickup, delivery}
        route = [i for i in route if i not in dropped]
        if break_after is not None and route != list(orders):
            break_after = None
        visits = schedule_route(problem, RouteAssignment(v, tuple(route), break_after)).visits
        routes.append([_copy_at(model, i, v.start_s) for i, v in zip(route, visits, strict=True)])
    if not any(routes):
        return None
    return model.routing.ReadAssignmentFromRoutes(routes, True)


def _copy_at(model: _Model, order: int, start: int) -> int:
    """The routing index of ``order`` whose window holds ``start`` (else its last copy)."""
    indices = model.order_indices[order]
    for index in indices:
        low, high = model.index_window.get(index, (0, 1 << 62))
        if low <= start <= high:
            return index
    return indices[-1]


def _routes_now(model: _Model) -> list[_Found]:
    """Routes of the solution being reported to a solution callback (no break times)."""
    routing = model.routing
    routes: list[_Found] = []
    for v in range(routing.vehicles()):
        index = routing.NextVar(routing.Start(v)).Value()
        orders: list[int] = []
        while not routing.IsEnd(index):
            orders.append(model.index_order[index])
            index = routing.NextVar(index).Value()
        routes.append(_Found(tuple(orders)))
    return routes


def _routes_of(model: _Model, solution: Any) -> list[_Found]:
    """Per vehicle: order indices in visit order, and where OR-Tools put the break."""
    routing, time_dimension = model.routing, model.time_dimension
    problem = model.plan.problem
    routes: list[_Found] = []
    for v in range(routing.vehicles()):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        orders: list[int] = []
        departures: list[int] = []
        while not routing.IsEnd(index):
            i = model.index_order[index]
            orders.append(i)
            service = problem.orders[i].service_s
            departures.append(solution.Min(time_dimension.CumulVar(index)) + service)
            index = solution.Value(routing.NextVar(index))
        interval = model.breaks.get(v)
        brk = problem.fleet.vehicles[v].break_
        if interval is None or brk is None or not orders:
            routes.append(_Found(tuple(orders)))
            continue
        break_start = solution.StartValue(interval)
        end = solution.Min(time_dimension.CumulVar(index))
        hint: int | None = sum(1 for d in departures if d <= break_start) - 1
        if break_start >= end and end <= brk.window.start:
            hint = None  # the route is over before the break window opens
        routes.append(_Found(tuple(orders), hint))
    return routes


# --- Back to the evaluator's terms --------------------------------------------------------


class _Checker:
    """The evaluator's schedule rule, in plain integers, to try many candidate routes fast.

    It mirrors :func:`~doorstep.plan.evaluator.schedule_route` (leave as late as
    the first stop allows, first window still reachable, break at a stop as soon
    as its window opens, loads from the depot) but only counts violations; every
    route handed out is still confirmed by ``schedule_route`` itself.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        paired = {d for _, d in problem.pairs()}
        self.location = [problem.order_location(i) for i in range(len(problem.orders))]
        self.service = [o.service_s for o in problem.orders]
        self.windows = [tuple((w.start, w.end) for w in o.windows) for o in problem.orders]
        self.soft = [o.soft_windows for o in problem.orders]
        self.demand = [o.demand.as_tuple() for o in problem.orders]
        self.pickup = [o.kind is OrderKind.PICKUP for o in problem.orders]
        self.loaded = [not p and i not in paired for i, p in enumerate(self.pickup)]

    def check(
        self, vehicle: int, orders: tuple[int, ...], break_after: int | None, *, rough: bool = False
    ) -> tuple[int, int, int]:
        """(violations, total amount, duty seconds); ``rough`` lets a break be missing."""
        count, amount, duty, _ = self.inspect(vehicle, orders, break_after, rough=rough)
        return count, amount, duty

    def inspect(
        self, vehicle: int, orders: tuple[int, ...], break_after: int | None, *, rough: bool = False
    ) -> tuple[int, int, int, int]:
        """Like :meth:`check`, plus the first stop after which the load is too much (or -1)."""
        problem = self.problem
        v = problem.fleet.vehicles[vehicle]
        durations = problem.durations[v.profile]
        count = amount = 0
        overload = -1
        cap0, cap1, cap2 = v.capacity.as_tuple()
        load0 = load1 = load2 = 0
        for i in orders:
            if self.loaded[i]:
                d0, d1, d2 = self.demand[i]
                load0, load1, load2 = load0 + d0, load1 + d1, load2 + d2
        over = max(load0 - cap0, load1 - cap1, load2 - cap2)
        if over > 0:
            count, amount = count + 1, amount + over
        start, end = problem.start_location(v), problem.end_location(v)
        brk = v.break_
        now = v.shift.start
        if orders and break_after != -1:
            leg = durations.item(start, self.location[orders[0]])
            if leg < UNREACHABLE:
                service, _ = self._start_at(orders[0], now + leg)
                now = max(now, service - leg)
        depart = now
        if brk is not None and break_after == -1:
            now, late = self._take_break(brk, now)
            count, amount = count + (late > 0), amount + late
        previous = start
        for k, i in enumerate(orders):
            leg = durations.item(previous, self.location[i])
            if leg >= UNREACHABLE:
                count, leg = count + 1, 0
            service, late = self._start_at(i, now + leg)
            if late:
                count, amount = count + 1, amount + late
            d0, d1, d2 = self.demand[i]
            if self.pickup[i]:
                load0, load1, load2 = load0 + d0, load1 + d1, load2 + d2
            else:
                load0, load1, load2 = load0 - d0, load1 - d1, load2 - d2
            over = max(load0 - cap0, load1 - cap1, load2 - cap2)
            if over > 0:
                count, amount = count + 1, amount + over
                overload = k if overload < 0 else overload
            now = service + self.service[i]
            if brk is not None and break_after == k:
                now, late = self._take_break(brk, now)
                count, amount = count + (late > 0), amount + late
            previous = self.location[i]
        leg = durations.item(previous, end)
        if leg >= UNREACHABLE:
            count, leg = count + 1, 0
        now += leg
        if brk is not None and break_after is None and orders and now > brk.window.start:
            count += 0 if rough else 1
        if now > v.shift.end:
            count, amount = count + 1, amount + now - v.shift.end
        if v.max_duration_s is not None and now - depart > v.max_duration_s:
            count, amount = count + 1, amount + now - depart - v.max_duration_s
        return count, amount, now - depart, overload

    def _start_at(self, i: int, arrival: int) -> tuple[int, int]:
        windows = self.windows[i]
        if not windows:
            return arrival, 0
        for start, end in windows:
            if arrival <= end:
                return max(arrival, start), 0
        return arrival, 0 if self.soft[i] else arrival - windows[-1][1]

    @staticmethod
    def _take_break(brk: Break, now: int) -> tuple[int, int]:
        begin = max(now, brk.window.start)
        return begin + brk.duration_s, max(0, begin + brk.duration_s - brk.window.end)


@dataclass(frozen=True, slots=True)
class _Deadline:
    """When post-processing must wrap up: repairs get cruder, re-insertion stops."""

    at: float

    def passed(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() > self.at


def _finish(plan: _Plan, found: list[_Found] | None, deadline: _Deadline) -> list[RouteAssignment]:
    """Routes the evaluator accepts, from what the search found.

    Orders a route had to give up are then offered to every route again.
    """
    problem = plan.problem
    checker = _Checker(problem)
    routes: dict[int, RouteAssignment] = {}
    removed: list[int] = []
    for vehicle, route in enumerate(found or ()):
        if route.orders:
            finished = _finish_route(plan, checker, vehicle, route, deadline)
            removed += [i for i in route.orders if i not in finished.orders]
            if finished.orders:
                routes[vehicle] = finished
    if removed:
        _reinsert(plan, checker, routes, removed, deadline)
    return [routes[v] for v in sorted(routes)]


def _move_detour(problem: Problem, vehicle: int, stops: tuple[int, ...], a: int, b: int) -> int:
    """Metres added by moving the stop at ``a`` to just after the stop at ``b`` (> ``a``)."""
    v = problem.fleet.vehicles[vehicle]
    distances = problem.distances[v.profile]
    path = [
        problem.start_location(v),
        *(problem.order_location(i) for i in stops),
        problem.end_location(v),
    ]
    x, a, b = path[a + 1], a + 1, b + 1
    removed = distances.item(path[a - 1], x) + distances.item(x, path[a + 1])
    removed -= distances.item(path[a - 1], path[a + 1])
    added = distances.item(path[b], x) + distances.item(x, path[b + 1])
    added -= distances.item(path[b], path[b + 1])
    return int(added - removed)


def _finish_route(
    plan: _Plan, checker: _Checker, vehicle: int, found: _Found, deadline: _Deadline
) -> RouteAssignment:
    """The route with a ``break_after`` the evaluator accepts, repaired if it must be.

    Repairs, each round keeping the best: move a return (unpaired pickup) later,
    which only lowers the loads before its new place; else drop the stop (with
    its pair partners) whose removal leaves the fewest violations, then the
    cheapest to drop (locked orders count ``LOCK_PENALTY_FACTOR`` times).
    """
    problem = plan.problem
    current = found.orders
    route = _best_break(checker, vehicle, current, found.break_after)
    if route is not None:
        return route
    paired = {i for pair in problem.pairs() for i in pair}
    count, amount, _, overload = checker.inspect(vehicle, current, None, rough=True)
    while overload >= 0 and not deadline.passed():  # move a return from before the overload
        moves = sorted(
            (_move_detour(problem, vehicle, current, a, b), a, b)
            for a in range(overload + 1)
            if checker.pickup[current[a]] and current[a] not in paired
            for b in range(overload, len(current))
            if b > a
        )[:_MOVE_TRIES]
        tried = []
        for _, a, b in moves:
            moved = (*current[:a], *current[a + 1 : b + 1], current[a], *current[b + 1 :])
            c, m, _, o = checker.inspect(vehicle, moved, None, rough=True)
            tried.append(((c, m), o, moved))
        if not tried or min(tried)[0] >= (count, amount):
            break
        (count, amount), overload, current = min(tried)
        route = _best_break(checker, vehicle, current, None)
        if route is not None:
            return route
    partners: dict[int, set[int]] = {}
    for pickup, delivery in problem.pairs():
        partners.setdefault(pickup, set()).add(delivery)
        partners.setdefault(delivery, set()).add(pickup)
    locked = plan.locked
    while current:
        if deadline.passed():  # out of time: drop from the end until it holds
            current = current[:-1]
            route = _best_break(checker, vehicle, current, None)
            if route is not None:
                return route
            continue
        best: tuple[tuple[int, int, int], tuple[int, ...]] | None = None
        for i in current:
            removed = {i, *partners.get(i, ())}
            shorter = tuple(j for j in current if j not in removed)
            count, amount, _ = checker.check(vehicle, shorter, None, rough=True)
            harm = sum(
                problem.drop_penalty[j] * (LOCK_PENALTY_FACTOR if j in locked else 1)
                for j in removed
            )
            key = (count, harm, amount)
            if best is None or key < best[0]:
                best = (key, shorter)
        assert best is not None
        current = best[1]
        route = _best_break(checker, vehicle, current, None)
        if route is not None:
            return route
    return RouteAssignment(vehicle, ())


def _best_break(
    checker: _Checker, vehicle: int, orders: tuple[int, ...], hint: int | None
) -> RouteAssignment | None:
    """The violation-free break position with the shortest duty (``hint`` wins ties), or None.

    Candidates are ``hint``, no break, the depot and every stop; the choice is
    confirmed with the evaluator's own ``schedule_route``.
    """
    problem = checker.problem
    if problem.fleet.vehicles[vehicle].break_ is None or not orders:
        candidates: list[int | None] = [None]
    else:
        candidates = [hint, None, *range(-1, len(orders))]
    best: tuple[int, RouteAssignment] | None = None
    for break_after in dict.fromkeys(candidates):
        count, _, duty = checker.check(vehicle, orders, break_after)
        if count == 0 and (best is None or duty < best[0]):
            best = (duty, RouteAssignment(vehicle, orders, break_after))
    if best is None:
        return None
    if schedule_route(problem, best[1]).violations:  # the checker disagrees: trust the evaluator
        for break_after in dict.fromkeys(candidates):
            route = RouteAssignment(vehicle, orders, break_after)
            if not schedule_route(problem, route).violations:
                return route
        return None
    return best[1]


def _reinsert(
    plan: _Plan,
    checker: _Checker,
    routes: dict[int, RouteAssignment],
    orders: list[int],
    deadline: _Deadline,
) -> None:
    """Put each of ``orders`` where it adds the least driving and the evaluator agrees.

    Only unpaired orders; at most ``_REINSERT_TRIES`` positions each, cheapest
    detour first, never inside a locked prefix (a prefix order only at its own
    place), never costing more than the order's drop penalty; a vehicle not yet
    used comes after every used one.
    """
    problem = plan.problem
    vehicles = problem.fleet.vehicles
    paired = {i for pair in plan.pairs for i in pair}
    for i in sorted(orders, key=lambda j: -problem.drop_penalty[j]):
        if i in paired or deadline.passed():
            continue
        x = problem.order_location(i)
        options: list[tuple[float, int, int]] = []
        for v in plan.vehicles_for(i):
            vehicle = vehicles[v]
            distances = problem.distances[vehicle.profile]
            stops = routes[v].orders if v in routes else ()
            path = [
                problem.start_location(vehicle),
                *(problem.order_location(j) for j in stops),
                problem.end_location(vehicle),
            ]
            per_km = vehicle.costs.per_km if problem.objective is Objective.COST else 0
            per_km = per_km or NOMINAL_CENTS_PER_KM
            chain = plan.chains.get(v, ())
            positions = [chain.index(i)] if i in chain else range(len(chain), len(stops) + 1)
            for k in positions:
                if k > len(stops):
                    continue
                a, b = path[k], path[k + 1]
                detour = distances.item(a, x) + distances.item(x, b) - distances.item(a, b)
                if detour * per_km / 1000 >= problem.drop_penalty[i]:
                    continue
                options.append((detour + (0 if stops else 1e12), v, k))
        for _, v, k in sorted(options)[:_REINSERT_TRIES]:
            stops = routes[v].orders if v in routes else ()
            route = _best_break(checker, v, (*stops[:k], i, *stops[k:]), None)
            if route is not None:
                routes[v] = route
                break
