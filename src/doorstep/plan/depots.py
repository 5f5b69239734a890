"""Many depots: split the day per depot, plan the depots side by side, balance the borders.

A multi-depot day is planned in four steps:

1. **Assignment** (:func:`assign_to_depots`): each order goes to its cheapest
   reachable depot (round trip from the depot, in seconds) that has a vehicle
   able to serve it (skills, load, window within its shift) and capacity left
   (the sum of its vehicles' capacities, in parcels, weight and volume;
   deliveries and returns counted apart). Orders are taken in a stable,
   documented order: orders pinned to a depot (locks, the warm start) first,
   then by *regret*, the gap between their best and second-best depot, largest
   first (an order with one possible depot has an infinite regret), ties by the
   cheaper best depot, then by order index. A pickup and its paired delivery go
   together. Orders no depot can take stay unassigned.
2. **Split**: one sub-problem per depot, with its orders and the vehicles that
   start there, on sliced matrices (:func:`doorstep.plan.subproblem.restrict`).
3. **Solve**: the sub-problems go through a :class:`~doorstep.plan.parallel.Runner`
   (one task per depot, top-level function, picklable tasks) with the base
   backend (:func:`~doorstep.plan.registry.choose_engine`).
4. **Balance** (:func:`balance`): orders left out (no depot had capacity, a
   depot could not fit them, or a depot's task failed) are inserted where a
   vehicle of any depot that may serve them can still take them; then
   each *border* order (another depot's round trip within
   :data:`BORDER_FACTOR` of its own) moves to the other depot's routes by
   cheapest feasible insertion when that saves more than taking it off its
   route. Every route is checked by the evaluator's schedule rule, and the
   balanced plan is kept only if the evaluator finds it no worse.

For very big days (10 depots of 1,000 orders) :func:`build_split_problem`
replaces the pipeline's :func:`~doorstep.plan.pipeline.build_problem`: it asks
the travel-time provider for the depots-to-orders travel, assigns, then for
each depot's own block of orders (plus its border orders), never for the whole
day's order-to-order matrix, and holds only those blocks
(:class:`~doorstep.plan.block_matrix.BlockMatrix`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from doorstep.domain.fleet import Fleet, Profile, Vehicle
from doorstep.domain.order import Order, OrderKind
from doorstep.network.provider import UNREACHABLE, TravelTimeProvider
from doorstep.plan.block_matrix import BlockLayout, BlockMatrix
from doorstep.plan.evaluator import check_schedule, route_cost, schedule_route
from doorstep.plan.parallel import Runner, default_runner
from doorstep.plan.problem import (
    VEHICLE_WEIGHT_M,
    Feature,
    IntMatrix,
    Lock,
    Objective,
    Problem,
    TravelMatrix,
)
from doorstep.plan.registry import choose_engine
from doorstep.plan.solver import (
    Assignment,
    Deadline,
    Planned,
    RouteAssignment,
    Solver,
    SolveRequest,
    SolveSettings,
    stop_on_interrupt,
)
from doorstep.plan.sparse import MATRIX_CHUNK, DepotTravel, depot_travel, strip_layout
from doorstep.plan.subproblem import SubProblem, restrict, score

log = logging.getLogger(__name__)

BORDER_FACTOR = 1.3
"""An order is on the border of another depot when that depot's round trip to it
is at most this many times its own depot's."""

BALANCE_SHARE = 0.15
"""Share of the time limit kept for balancing (the rest goes to the depots' solves)."""

POSITIONS_TRIED = 3
"""Insertion positions checked per route (the cheapest by distance added)."""

MOVE_SLACK_S = 900
"""Under the cost objective, a border move is tried only where it adds at most this
many seconds of travel more than its removal saves: a move can pay by shortening
waits or duty, not only travel, but hardly beyond this (on a generated 10-depot
Helsinki day, 15 minutes kept all the gain of trying every move, in 60% of the time)."""

BORDER_CAP_SHARE = 0.25
"""At most this share of a depot's own orders (and at least :data:`BORDER_CAP_MIN`)
is added to its matrix block as border orders by :func:`build_split_problem`."""

BORDER_CAP_MIN = 50


# ---------------------------------------------------------------- assignment


@dataclass(frozen=True, slots=True)
class DepotAssignment:
    """Which depot serves each order, after :func:`assign_to_depots`.

    Attributes
    ----------
    depot_of
        Per order, the depot index (``fleet.depots`` order), or -1 when no depot
        could take it.
    choices
        Per order, the depots that could serve it (reachable, with a vehicle
        that has its skills, can carry it, and can make its window and be back
        within its shift, half the round trip each way), cheapest round trip
        first, the depot's capacity not considered.
    """

    depot_of: tuple[int, ...]
    choices: tuple[tuple[int, ...], ...]

    def orders_of(self, depot: int) -> list[int]:
        """Indices of the orders assigned to ``depot``, in order."""
        return [i for i, d in enumerate(self.depot_of) if d == depot]

    @property
    def unassigned(self) -> list[int]:
        """Indices of the orders no depot could take."""
        return [i for i, d in enumerate(self.depot_of) if d < 0]

    def border(self, round_trip: IntMatrix, factor: float = BORDER_FACTOR) -> dict[int, list[int]]:
        """Orders another depot could serve nearly as cheaply.

        Parameters
        ----------
        round_trip
            Depots x orders round trips (seconds), as given to :func:`assign_to_depots`.
        factor
            Another depot counts when its round trip is at most ``factor`` times
            that of the order's own depot.

        Returns
        -------
        dict
            Order index -> the other depots, cheapest first.
        """
        out: dict[int, list[int]] = {}
        for i, own in enumerate(self.depot_of):
            if own < 0:
                continue
            limit = factor * int(round_trip[own, i])
            near = [d for d in self.choices[i] if d != own and round_trip[d, i] <= limit]
            if near:
                out[i] = near
        return out


def depot_round_trips(
    fleet: Fleet, durations: Mapping[Profile, TravelMatrix], order_count: int
) -> IntMatrix:
    """Depots x orders: the quickest round trip from each depot to each order.

    Parameters
    ----------
    fleet
        The depots (rows, in ``fleet.depots`` order) and the vehicles; a
        depot's round trip uses the profiles of the vehicles starting there.
    durations
        Per profile, a matrix whose first rows and columns are the depots and
        whose next ``order_count`` are the orders (a :class:`Problem`'s layout;
        only the depot rows and columns are read).
    order_count
        Number of orders.

    Returns
    -------
    IntMatrix
        Seconds out and back; :data:`UNREACHABLE` where no vehicle of the depot
        can get there and back (or the depot has no vehicle).
    """
    d_count = len(fleet.depots)
    out = np.full((d_count, order_count), UNREACHABLE, dtype=np.int64)
    index = {d.id: k for k, d in enumerate(fleet.depots)}
    for d, profile in {(index[v.depot_id], v.profile) for v in fleet.vehicles}:
        m = durations[profile]
        trip = m[d, d_count : d_count + order_count] + m[d_count : d_count + order_count, d]
        out[d] = np.minimum(out[d], trip)
    return np.minimum(out, UNREACHABLE)


def round_trips(problem: Problem) -> IntMatrix:
    """Depots x orders round trips of ``problem`` (see :func:`depot_round_trips`)."""
    return depot_round_trips(problem.fleet, problem.durations, len(problem.orders))


def _groups(orders: Sequence[Order]) -> list[list[int]]:
    """Orders that go to one depot together: a paired pickup with its delivery, else alone."""
    index = {o.id: i for i, o in enumerate(orders)}
    partner = {index[o.paired_pickup]: i for i, o in enumerate(orders) if o.paired_pickup}
    taken = set(partner.values())
    return [[i, partner[i]] if i in partner else [i] for i in range(len(orders)) if i not in taken]


_Kind = tuple[frozenset[str], tuple[int, int, int], int, int]
"""What decides whether a vehicle can serve an order alone: skills, capacity, shift."""


def _can_serve(order: Order, kind: _Kind, round_trip: int) -> bool:
    """Whether a vehicle of ``kind`` can serve ``order`` alone, half the round trip each way.

    Skills, the order's load, and time: leaving at the shift start, it must make
    one of the order's windows (or its last one, late, if they are soft) and be
    back before the shift ends.
    """
    skills, capacity, start, end = kind
    need = order.demand.as_tuple()
    if not order.skills <= skills or any(a > b for a, b in zip(need, capacity, strict=True)):
        return False
    leg = round_trip // 2
    arrival = start + leg
    begin = arrival
    if order.windows:
        usable = [w for w in order.windows if w.end >= arrival]
        if not usable and not order.soft_windows:
            return False
        begin = max(arrival, usable[0].start) if usable else arrival
    return begin + order.service_s + round_trip - leg <= end


def _serving_depots(
    orders: Sequence[Order], fleet: Fleet, round_trip: IntMatrix
) -> list[tuple[int, ...]]:
    """Per order, the depots with a vehicle that can serve it alone, cheapest first."""
    kinds: dict[int, set[_Kind]] = {}
    index = {d.id: k for k, d in enumerate(fleet.depots)}
    for v in fleet.vehicles:
        kind = (v.skills, v.capacity.as_tuple(), v.shift.start, v.shift.end)
        kinds.setdefault(index[v.depot_id], set()).add(kind)
    out: list[tuple[int, ...]] = []
    for i, o in enumerate(orders):
        ok = [
            d
            for d, ks in sorted(kinds.items())
            if round_trip[d, i] < UNREACHABLE
            and any(_can_serve(o, k, int(round_trip[d, i])) for k in ks)
        ]
        out.append(tuple(sorted(ok, key=lambda d: (int(round_trip[d, i]), d))))
    return out


def _capacities(fleet: Fleet) -> list[list[int]]:
    """Per depot, the sum of its vehicles' capacities (parcels, grams, millilitres)."""
    index = {d.id: k for k, d in enumerate(fleet.depots)}
    out = [[0, 0, 0] for _ in fleet.depots]
    for v in fleet.vehicles:
        for k, amount in enumerate(v.capacity.as_tuple()):
            out[index[v.depot_id]][k] += amount
    return out


def assign_to_depots(
    orders: Sequence[Order],
    fleet: Fleet,
    round_trip: IntMatrix,
    *,
    forced: Mapping[int, int] | None = None,
) -> DepotAssignment:
    """Give each order to its cheapest depot that can serve it and has capacity left.

    A depot can serve an order when one of its vehicles could alone (skills,
    load, window and shift; see :attr:`DepotAssignment.choices`).

    The order in which orders are taken is stable: pinned orders (``forced``)
    first by index, then by regret (second-best minus best round trip; infinite
    with a single possible depot), largest first, ties by the cheaper best
    round trip, then by index. A depot's capacity is the sum of its vehicles'
    capacities; deliveries and returns (unpaired pickups) are counted against
    it separately, a paired pickup and delivery as the delivery's load.

    Parameters
    ----------
    orders
        The orders (indices as in a :class:`Problem`).
    fleet
        Depots (rows of ``round_trip``) and vehicles.
    round_trip
        Depots x orders round trips in seconds; :data:`UNREACHABLE` or more: no road.
    forced
        Order index -> depot index for orders pinned to a depot (locked to one
        of its vehicles, or on its vehicle in the warm start); they go there
        whatever the capacity, and use it up.

    Returns
    -------
    DepotAssignment
        The depot of every order (-1: none could take it) and its possible depots.
    """
    forced = forced or {}
    choices = _serving_depots(orders, fleet, round_trip)
    groups = _groups(orders)
    options: list[list[tuple[int, int]]] = []
    for g in groups:
        common = set(choices[g[0]]).intersection(*(choices[i] for i in g[1:]))
        costs = sorted((sum(int(round_trip[d, i]) for i in g), d) for d in common)
        options.append(costs)

    def key(k: int) -> tuple[int, float, int, int]:
        g, costs = groups[k], options[k]
        if any(i in forced for i in g):
            return (0, 0.0, 0, g[0])
        if not costs:
            return (2, 0.0, 0, g[0])
        regret = math.inf if len(costs) == 1 else costs[1][0] - costs[0][0]
        return (1, -regret, costs[0][0], g[0])

    left = _capacities(fleet)
    back = [list(c) for c in left]
    depot_of = [-1] * len(orders)
    for k in sorted(range(len(groups)), key=key):
        g = groups[k]
        pinned = next((forced[i] for i in g if i in forced), None)
        load = _load(orders, g)
        candidates = [pinned] if pinned is not None else [d for _, d in options[k]]
        for d in candidates:
            budget = back[d] if load[0] else left[d]
            if pinned is None and any(a > b for a, b in zip(load[1], budget, strict=True)):
                continue
            for dim, amount in enumerate(load[1]):
                budget[dim] -= amount
            for i in g:
                depot_of[i] = d
            break
    return DepotAssignment(tuple(depot_of), tuple(choices))


def _load(orders: Sequence[Order], group: Sequence[int]) -> tuple[bool, tuple[int, int, int]]:
    """(is a return, load) a group puts on its depot: a pair weighs as its delivery."""
    if len(group) == 1:
        order = orders[group[0]]
        return order.kind is OrderKind.PICKUP, order.demand.as_tuple()
    return False, orders[group[-1]].demand.as_tuple()


def forced_depots(problem: Problem) -> dict[int, int]:
    """Order index -> depot index for orders locked to a vehicle or on one in the warm start."""
    index = problem.order_index()
    depot_of_vehicle = {v.id: problem.start_location(v) for v in problem.fleet.vehicles}
    out: dict[int, int] = {}
    for vehicle_id, order_ids in problem.warm_start.items():
        if vehicle_id in depot_of_vehicle:
            for oid in order_ids:
                if oid in index:
                    out[index[oid]] = depot_of_vehicle[vehicle_id]
    for lock in problem.locks:
        out[index[lock.order_id]] = depot_of_vehicle[lock.vehicle_id]
    return out


# ---------------------------------------------------------------- split and solve


@dataclass(frozen=True, slots=True)
class DepotTask:
    """One depot's sub-problem, as sent to a runner (picklable)."""

    problem: Problem
    base: str | None
    settings: SolveSettings
    finish_by: float = math.inf
    """Wall-clock time (``time.time()``) by which the solve should be over: a task
    that starts late (Ray starting, a worker busy with another depot) searches
    only for what is left, down to :data:`MIN_TASK_S`."""


MIN_TASK_S = 0.5
"""Shortest search a depot's task is given, however late it starts."""


def solve_depot(task: DepotTask) -> Assignment:
    """Solve one depot's sub-problem with the base backend (top level, for runners).

    Parameters
    ----------
    task
        The sub-problem, the base backend's name (None: chosen), the settings
        and the wall-clock time to be done by.

    Returns
    -------
    Assignment
        The base backend's routes, in the sub-problem's indices.
    """
    left = max(MIN_TASK_S, task.finish_by - time.time())
    settings = replace(task.settings, time_limit_s=min(task.settings.time_limit_s, left))
    solver = choose_engine(task.problem, task.base, big_day=True)
    return solver.solve(task.problem, settings)


@dataclass(frozen=True, slots=True)
class DepotPart:
    """A depot's sub-problem (with its index maps back to the whole day)."""

    depot: int
    sub: SubProblem


def split(problem: Problem, assignment: DepotAssignment) -> list[DepotPart]:
    """One sub-problem per depot with orders: its orders and the vehicles starting there.

    Parameters
    ----------
    problem
        The whole day.
    assignment
        Which depot serves which order.

    Returns
    -------
    list[DepotPart]
        Depots in ``fleet.depots`` order; depots with no order or no vehicle left out.
    """
    parts = []
    for d, depot in enumerate(problem.fleet.depots):
        orders = assignment.orders_of(d)
        vehicles = [k for k, v in enumerate(problem.fleet.vehicles) if v.depot_id == depot.id]
        if not orders or not vehicles:
            continue
        parts.append(DepotPart(d, restrict(problem, orders, vehicles)))
    return parts


class DepotSplitSolver(Solver):
    """Plan a multi-depot day depot by depot, side by side, then balance the borders.

    Parameters
    ----------
    base
        The backend each depot is solved with; ``None``: chosen per depot by
        :func:`~doorstep.plan.registry.choose_engine`.
    runner
        Runs the depots' solves; default :func:`~doorstep.plan.parallel.default_runner`.
    """

    name: ClassVar[str] = "depots"
    features: ClassVar[frozenset[Feature]] = frozenset(Feature)
    """Everything the base backends cover: a one-depot day is handed to the base
    backend whole; a vehicle ending at another depot is planned with its start
    depot's orders (its part keeps both depots); locks and the warm start pin an
    order to their vehicle's depot; a pickup and its delivery go to one depot."""

    def __init__(self, base: str | None = None, runner: Runner | None = None) -> None:
        self.base = base
        self.runner = runner
        self.stages: dict[str, float] = {}
        """Seconds spent in each stage of the last solve (for benchmarks)."""

    def plan(self, request: SolveRequest) -> Planned:
        """Assign, split, solve the depots through the runner, balance.

        Parameters
        ----------
        request
            The day and the search settings.

        Returns
        -------
        Planned
            Routes over the whole day, and no objective of its own.
        """
        problem = request.problem
        self.stages = {}
        if problem.depot_count < 2:
            return choose_engine(problem, self.base).plan(request)
        runner = self.runner or default_runner()
        runner.prepare()  # Ray starts while the orders are assigned
        with _timed(self.stages, "assignment"):
            trips = round_trips(problem)
            assignment = assign_to_depots(
                problem.orders, problem.fleet, trips, forced=forced_depots(problem)
            )
            parts = split(problem, assignment)
        with _timed(self.stages, "solves"):
            routes, loose = self._solve_parts(parts, request, runner)
        loose.extend(assignment.unassigned)
        with _timed(self.stages, "balancing"):
            balanced, untried = balance(
                problem, routes, assignment, trips, request.deadline, loose=loose
            )
        with _timed(self.stages, "evaluation"):
            chosen = no_worse(problem, routes, balanced)
        request.untried.update(untried)
        return chosen, None

    def _solve_parts(
        self, parts: Sequence[DepotPart], request: SolveRequest, runner: Runner
    ) -> tuple[list[RouteAssignment], list[int]]:
        """The depots' routes in the day's indices, and the orders they left out.

        Orders left out are those a depot could not fit (another depot may) and
        all the orders of a depot whose task failed.
        """
        parts = sorted(parts, key=lambda p: -len(p.sub.orders))  # the biggest depots first
        rounds = math.ceil(len(parts) / max(1, runner.workers))
        budget = request.deadline.left() * (1 - BALANCE_SHARE)
        settings = replace(request.settings, time_limit_s=max(MIN_TASK_S, budget / rounds))
        finish_by = time.time() + budget
        tasks = [DepotTask(p.sub.problem, self.base, settings, finish_by) for p in parts]
        # Wait up to the whole deadline: a depot a little late still beats inserting its orders.
        deadline = request.deadline
        with stop_on_interrupt(deadline):  # Ctrl-C ends the wait: what is done is kept
            results = runner.map(
                solve_depot, tasks, timeout_s=deadline.left(), stop=lambda: deadline.interrupted
            )
        routes: list[RouteAssignment] = []
        loose: list[int] = []
        for part, result in zip(parts, results, strict=True):
            if result is None:
                log.warning(
                    "depot %s: its solve failed; its orders are inserted one by one", part.depot
                )
                loose.extend(part.sub.orders)
                continue
            lifted = [r for r in part.sub.lift(result.routes) if r.orders]
            routes.extend(lifted)
            served = {i for r in lifted for i in r.orders}
            loose.extend(i for i in part.sub.orders if i not in served)
        return routes, loose


@contextmanager
def _timed(stages: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds spent inside to ``stages[name]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - began


# ---------------------------------------------------------------- balancing


def _value(problem: Problem, route: RouteAssignment, soft: bool) -> int | None:
    """What a route weighs under the problem's objective; None when it breaks a constraint.

    Cost: cents (vehicle costs and lateness). Distance: metres. Vehicles: metres
    plus :data:`VEHICLE_WEIGHT_M` for a used vehicle. The evaluator's quick check
    first (no records); its full schedule only for lateness costs (``soft``:
    some order has soft windows).
    """
    if not route.orders:
        return 0
    check = check_schedule(problem, route)
    if check.violations:
        return None
    vehicle = problem.fleet.vehicles[route.vehicle]
    m = problem.distances[vehicle.profile]
    legs = problem.path(vehicle, route.orders)
    metres = int(m[legs[:-1], legs[1:]].sum())
    if problem.objective is Objective.COST:
        late = round(schedule_route(problem, route).lateness_cost) if soft else 0
        return route_cost(vehicle, metres, check.end_s - check.start_s) + late
    if problem.objective is Objective.VEHICLES:
        return metres + VEHICLE_WEIGHT_M
    return metres


def _drop_worth(problem: Problem, index: int) -> int:
    """What leaving order ``index`` out weighs, in the units of :func:`_value`."""
    if problem.all_required:
        return UNREACHABLE * UNREACHABLE
    if problem.objective is Objective.COST:
        return problem.drop_penalty[index]
    return problem.drop_weight_m(index)


def _with_stop(route: RouteAssignment, position: int, order: int, after: bool) -> RouteAssignment:
    """``route`` with ``order`` inserted at ``position``; its break moved along.

    ``after``: when the break came right before the new stop, take it after instead.
    """
    stops = (*route.orders[:position], order, *route.orders[position:])
    b = route.break_after
    if b is not None and (position <= b or (after and position == b + 1)):
        b += 1
    return RouteAssignment(route.vehicle, stops, b)


def _without(route: RouteAssignment, order: int) -> RouteAssignment:
    """``route`` without ``order``; its break moved along (dropped with the last stop)."""
    position = route.orders.index(order)
    stops = route.orders[:position] + route.orders[position + 1 :]
    b = route.break_after
    if b is not None and position <= b:
        b = max(-1, b - 1)
    if not stops:
        b = None
    return RouteAssignment(route.vehicle, stops, b)


@dataclass(slots=True)
class _Plan:
    """Routes of every vehicle (empty ones too) with their values, while balancing."""

    problem: Problem
    routes: dict[int, RouteAssignment]
    values: dict[int, int | None]
    fixed: dict[int, int]
    """Vehicle -> length of its locked sequence prefix (no insertion before it)."""
    soft: bool
    """Some order has soft windows (a route's value includes lateness costs)."""

    @classmethod
    def of(cls, problem: Problem, routes: Iterable[RouteAssignment]) -> _Plan:
        by_vehicle = {r.vehicle: r for r in routes}
        for k, v in enumerate(problem.fleet.vehicles):
            by_vehicle.setdefault(k, RouteAssignment(k, (), -1 if v.break_ else None))
        fixed: dict[int, int] = {}
        ids = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
        for lock in problem.locks:
            if lock.position is not None:
                k = ids[lock.vehicle_id]
                fixed[k] = max(fixed.get(k, 0), lock.position + 1)
        soft = any(o.soft_windows for o in problem.orders)
        values = {k: _value(problem, r, soft) for k, r in by_vehicle.items()}
        return cls(problem, by_vehicle, values, fixed, soft)

    def value(self, route: RouteAssignment) -> int | None:
        """``route``'s value (see :func:`_value`)."""
        return _value(self.problem, route, self.soft)

    def insertion(
        self, order: int, vehicles: Iterable[int], below: float = math.inf
    ) -> tuple[int, RouteAssignment] | None:
        """The cheapest feasible insertion of ``order`` on ``vehicles``: (added value, route).

        Only positions adding less than ``below`` travel (:func:`_pruning_matrix`) are tried.
        """
        problem = self.problem
        best: tuple[int, RouteAssignment] | None = None
        empty_kinds: set[object] = set()
        for k in vehicles:
            vehicle = problem.fleet.vehicles[k]
            route, before = self.routes[k], self.values[k]
            if before is None or not problem.can_serve(vehicle, problem.orders[order]):
                continue
            if not route.orders:
                kind = _kind(vehicle)
                if kind in empty_kinds:
                    continue
                empty_kinds.add(kind)
            for candidate in self._candidates(route, vehicle, order, below):
                value = self.value(candidate)
                if value is not None and (best is None or value - before < best[0]):
                    best = (value - before, candidate)
        return best

    def _candidates(
        self, route: RouteAssignment, vehicle: Vehicle, order: int, below: float
    ) -> list[RouteAssignment]:
        """Routes with ``order`` where it adds the least distance (and under ``below`` travel)."""
        problem = self.problem
        here = problem.order_location(order)
        stops = problem.path(vehicle, route.orders)
        added = _detours(problem.distances[vehicle.profile], stops, here)
        allowed = np.ones(added.shape, dtype=bool)
        if below < math.inf:
            allowed = _detours(_pruning_matrix(problem, vehicle), stops, here) < below
        first = self.fixed.get(route.vehicle, 0)
        ranked = np.argsort(added, kind="stable")
        positions = [p for p in ranked if p >= first and allowed[p]][:POSITIONS_TRIED]
        out = []
        for p in positions:
            out.append(_with_stop(route, int(p), order, after=False))
            if route.break_after is not None and p == route.break_after + 1:
                out.append(_with_stop(route, int(p), order, after=True))
        return out

    def put(self, route: RouteAssignment, value: int | None) -> None:
        """Keep ``route`` (and its value) as its vehicle's route."""
        self.routes[route.vehicle] = route
        self.values[route.vehicle] = value


def _detours(m: TravelMatrix, stops: Sequence[int], here: int) -> IntMatrix:
    """Per leg of ``stops`` (locations), what going through ``here`` on it adds.

    One read of ``m`` for all three kinds of leg (a block matrix pays per read).
    """
    k = len(stops) - 1
    a, b = np.asarray(stops[:-1]), np.asarray(stops[1:])
    there = np.full(k, here)
    legs = m[np.concatenate([a, there, a]), np.concatenate([there, b, b])]
    out: IntMatrix = legs[:k] + legs[k : 2 * k] - legs[2 * k :]
    return out


def _kind(vehicle: Vehicle) -> object:
    """What makes two empty vehicles interchangeable for an insertion."""
    return (
        vehicle.depot_id,
        vehicle.end_depot_id,
        vehicle.profile,
        vehicle.capacity,
        vehicle.shift,
        vehicle.max_duration_s,
        vehicle.break_,
        vehicle.costs,
        vehicle.skills,
    )


def balance(
    problem: Problem,
    routes: Sequence[RouteAssignment],
    assignment: DepotAssignment,
    round_trip: IntMatrix,
    deadline: Deadline | None = None,
    *,
    loose: Iterable[int] = (),
    factor: float = BORDER_FACTOR,
) -> tuple[list[RouteAssignment], set[int]]:
    """Insert the loose orders, then move border orders to a neighbour where it saves.

    Parameters
    ----------
    problem
        The whole day.
    routes
        The depots' routes, in the day's indices.
    assignment
        The first assignment (its ``choices`` say which depots may serve an order).
    round_trip
        Depots x orders round trips (which orders are on a border).
    deadline
        Balancing stops (keeping what it has) once it passes.
    loose
        Orders on no route that may still be placed (no depot had capacity, a
        depot could not fit them, a depot's solve failed), tried first by
        cheapest feasible insertion on the vehicles of every depot that may
        serve them.
    factor
        Border width (see :meth:`DepotAssignment.border`).

    Returns
    -------
    tuple
        The routes (every vehicle with stops), and the loose orders the
        deadline left untried.
    """
    deadline = deadline or Deadline(math.inf)
    plan = _Plan.of(problem, routes)
    vehicles_at: dict[int, list[int]] = {}
    for k, v in enumerate(problem.fleet.vehicles):
        vehicles_at.setdefault(problem.start_location(v), []).append(k)
    pinned = {problem.order_index()[lock.order_id] for lock in problem.locks}
    paired = {i for pair in problem.pairs() for i in pair}
    untried: set[int] = set()
    for i in dict.fromkeys(loose):
        if deadline.passed():
            untried.add(i)
            continue
        if i in paired:
            continue
        near = [k for d in assignment.choices[i] for k in vehicles_at.get(d, [])]
        found = plan.insertion(i, near)
        if found is not None and found[0] < _drop_worth(problem, i):
            plan.put(found[1], plan.values[found[1].vehicle] + found[0])  # type: ignore[operator]
    on_vehicle = {i: r.vehicle for r in plan.routes.values() for i in r.orders}
    for i, depots in assignment.border(round_trip, factor).items():
        if deadline.passed():
            break
        if i in pinned or i in paired or i not in on_vehicle:
            continue
        _move_if_cheaper(plan, i, on_vehicle, [k for d in depots for k in vehicles_at.get(d, [])])
    return [r for r in plan.routes.values() if r.orders], untried


def _move_if_cheaper(plan: _Plan, order: int, on_vehicle: dict[int, int], near: list[int]) -> None:
    """Move ``order`` to one of the ``near`` vehicles when that saves more than it adds."""
    own = on_vehicle[order]
    before = plan.values[own]
    if before is None:
        return
    route = plan.routes[own]
    saved = _saved(plan.problem, route, order)
    shorter = _without(route, order)
    after = plan.value(shorter)
    if after is None:
        return
    # Only insertions adding less travel than the removal saves (exact under the
    # distance objectives; under cost, within MOVE_SLACK_S): most border orders
    # then need no schedule check.
    if plan.problem.objective is Objective.COST:
        saved += MOVE_SLACK_S
    found = plan.insertion(order, near, below=saved)
    if found is None or found[0] >= before - after:
        return
    added, longer = found
    plan.put(shorter, after)
    plan.put(longer, plan.values[longer.vehicle] + added)  # type: ignore[operator]
    on_vehicle[order] = longer.vehicle


def _pruning_matrix(problem: Problem, vehicle: Vehicle) -> TravelMatrix:
    """What a move must save to be tried: travel seconds under the cost objective.

    Vehicles cost mostly by the hour; under the other objectives, metres.
    """
    if problem.objective is Objective.COST:
        return problem.durations[vehicle.profile]
    return problem.distances[vehicle.profile]


def _saved(problem: Problem, route: RouteAssignment, order: int) -> int:
    """Seconds (cost objective) or metres ``route`` travels less without ``order``."""
    vehicle = problem.fleet.vehicles[route.vehicle]
    m = _pruning_matrix(problem, vehicle)
    stops = problem.path(vehicle, route.orders)
    k = route.orders.index(order) + 1
    a, here, b = stops[k - 1], stops[k], stops[k + 1]
    return int(m[a, here] + m[here, b] - m[a, b])


def no_worse(
    problem: Problem, before: Sequence[RouteAssignment], after: Sequence[RouteAssignment]
) -> list[RouteAssignment]:
    """``after`` unless the evaluator finds it worse than ``before`` (then ``before``).

    Compared by :func:`~doorstep.plan.subproblem.score`: violations, orders left
    out, then the problem's objective.
    """
    return list(after) if score(problem, after) <= score(problem, before) else list(before)


# ---------------------------------------------------------------- big days: per-depot matrices


def _blocks(
    assignment: DepotAssignment, round_trip: IntMatrix, depot_count: int
) -> list[list[int]]:
    """Per depot, the orders whose order-to-order travel it needs: its own and its border ones.

    Orders no depot could take join the block of their cheapest reachable depot.
    """
    blocks = [assignment.orders_of(d) for d in range(depot_count)]
    border: list[list[tuple[float, int]]] = [[] for _ in range(depot_count)]
    for i, near in assignment.border(round_trip).items():
        own = int(round_trip[assignment.depot_of[i], i])
        for d in near:
            border[d].append((int(round_trip[d, i]) / max(1, own), i))
    for i in assignment.unassigned:
        if assignment.choices[i]:
            blocks[assignment.choices[i][0]].append(i)
    for d in range(depot_count):
        cap = max(BORDER_CAP_MIN, int(BORDER_CAP_SHARE * len(blocks[d])))
        blocks[d] += [i for _, i in sorted(border[d])[:cap]]
    return blocks


def _homes(
    assignment: DepotAssignment, square_of: Mapping[int, int], depot_count: int, depots_to_all: int
) -> list[int]:
    """Per location, the block it reads first: its own depot's (a route is then one block).

    A depot without a block reads its row to everywhere (block ``depots_to_all``);
    an order no depot could take reads none first.
    """
    home = [square_of.get(d, depots_to_all) for d in range(depot_count)]
    for i, d in enumerate(assignment.depot_of):
        own = d if d >= 0 else (assignment.choices[i] or (-1,))[0]
        home.append(square_of.get(own, -1))
    return home


def build_split_problem(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    *,
    objective: Objective = Objective.COST,
    locks: Sequence[Lock] = (),
    warm_start: Mapping[str, tuple[str, ...]] | None = None,
    on_step: Callable[[str], None] | None = None,
    chunk: int = MATRIX_CHUNK,
) -> Problem:
    """The planning model of a multi-depot day, without the whole order-to-order matrix.

    A drop-in for :func:`~doorstep.plan.pipeline.build_problem` (same arguments,
    same layout). It asks ``provider`` for the depots-to-orders travel (in
    chunks of ``chunk`` orders), assigns the orders to depots
    (:func:`assign_to_depots`), then asks for each depot's block: its orders
    and its border orders (up to :data:`BORDER_CAP_SHARE` of its own). The
    matrices hold those blocks only
    (:class:`~doorstep.plan.block_matrix.BlockMatrix`): order pairs in no
    block read :data:`UNREACHABLE`, so a route that would use one is reported
    unreachable by the evaluator, never silently wrong;
    :class:`DepotSplitSolver` only uses pairs inside a block.
    Memory grows with the blocks (about the day's orders times a depot's),
    not with the square of the day.

    Parameters
    ----------
    orders, fleet, provider, objective, locks, warm_start, on_step
        As for :func:`~doorstep.plan.pipeline.build_problem`.
    chunk
        Orders per depots-to-orders provider call.

    Returns
    -------
    Problem
        Depots first, then orders, in the order given.
    """
    dc, n = len(fleet.depots), len(fleet.depots) + len(orders)
    strips: dict[Profile, DepotTravel] = {}
    off: set[int] = set()
    profiles = list(dict.fromkeys(v.profile for v in fleet.vehicles))
    for profile in profiles:
        if on_step:
            on_step(f"travel times, depots to orders ({profile.value})")
        strips[profile] = depot_travel(orders, fleet, provider, profile, chunk)
        off |= strips[profile].off_network
    depot_rows = np.arange(dc)
    layout = strip_layout(n, dc)
    spans = list(zip(layout.rows, layout.cols, strict=True))
    draft = Problem(
        orders=tuple(orders),
        fleet=fleet,
        durations={p: BlockMatrix(layout, strips[p].durations) for p in profiles},
        distances={p: BlockMatrix(layout, strips[p].distances) for p in profiles},
        objective=objective,
        locks=tuple(locks),
        warm_start=dict(warm_start or {}),
    )
    trips = round_trips(draft)
    assignment = assign_to_depots(orders, fleet, trips, forced=forced_depots(draft))
    squares: list[IntMatrix] = []
    values: dict[Profile, tuple[list[IntMatrix], list[IntMatrix]]] = {p: ([], []) for p in profiles}
    sources: list[str] = []
    estimated = False
    square_of: dict[int, int] = {}  # depot -> its block's index
    for d, block in enumerate(_blocks(assignment, trips, dc)):
        if not block:
            continue
        cols = np.concatenate([depot_rows, dc + np.array(block, dtype=np.int64)])
        square_of[d] = len(squares)
        squares.append(cols)
        locations = [depot.location for depot in fleet.depots] + [orders[i].location for i in block]
        for profile in profiles:
            if on_step:
                on_step(f"travel times, depot {fleet.depots[d].id} ({profile.value})")
            m = provider.matrices(locations, profile)
            values[profile][0].append(m.durations)
            values[profile][1].append(m.distances)
            off.update(int(cols[k]) for k in m.off_network if k >= dc)
            sources.append(m.source)
            estimated = estimated or m.estimated
    home = _homes(assignment, square_of, dc, len(squares))
    layout = BlockLayout.of(n, [*((c, c) for c in squares), *spans], home=home)
    return replace(
        draft,
        durations={p: BlockMatrix(layout, [*values[p][0], *strips[p].durations]) for p in profiles},
        distances={p: BlockMatrix(layout, [*values[p][1], *strips[p].distances]) for p in profiles},
        off_network=frozenset(off),
        source="; ".join(dict.fromkeys(sources)),
        estimated=estimated,
    )
