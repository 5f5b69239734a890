"""The evaluator: recompute every time and load of a plan, and say what it breaks.

It is independent of every backend: from the problem's matrices and an
:class:`~doorstep.plan.solver.Assignment` (stop sequences only) it rebuilds
each route's schedule by one rule, checks windows, shifts, maximum duration,
breaks, capacities, skills, pairings, locks and reachability, and computes the
KPIs. Every plan Doorstep hands out has been through it.

Schedule rule: a vehicle leaves its depot at its shift start, delayed by any
wait it would have at its first stop; it drives, waits for a window to open if
early, serves, and moves on. At a stop with several windows it uses the first
one it can still make. Arriving after the last window closed is a violation,
unless the order's windows are soft (``late_cost_per_hour``): then the stop
starts on arrival and the lateness is costed. A driver's break starts where
the assignment puts it, as soon as its window allows.

The rule is written once, in ``_walk``, over plain per-problem lists built on
first use and kept for the last few problems (``_tables``):
:func:`schedule_route` turns its findings into visits and violations;
:func:`check_schedule` only counts them, for repairs that try many routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from doorstep.domain.fleet import Break, Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.plan import Plan, Route, Unassigned, Visit
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.block_matrix import BlockMatrix
from doorstep.plan.problem import Problem, TravelMatrix
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.units import format_clock


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken constraint, with a stable ``code`` and a sentence for people."""

    code: str
    message: str
    vehicle_id: str | None = None
    order_id: str | None = None
    amount: int = 0
    """How much (seconds late, units over capacity...)."""


@dataclass(frozen=True, slots=True)
class Kpis:
    """Figures a planner compares plans by (units in the names)."""

    orders: int
    served: int
    unassigned: int
    vehicles_used: int
    distance_km: float
    driving_h: float
    duty_h: float
    waiting_h: float
    stops_per_route: float
    km_per_stop: float
    on_time_share: float
    """Share of visits that start inside one of their windows (no window: on time)."""
    late_min: float
    """Minutes late in all (allowed at soft windows; at hard ones also a violation)."""
    lateness_cost: float
    """What the minutes at soft windows cost (``late_cost_per_hour``), in currency units."""
    cost: float
    """Vehicle costs (fixed + per km + per hour on duty) plus lateness costs, in
    currency units."""
    penalty: float
    """Cost of the orders left out, in currency units."""

    def as_dict(self) -> dict[str, float | int]:
        """Field name -> value, rounded for people."""
        return {name: round(getattr(self, name), 3) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A checked plan: routes with times and loads, violations, KPIs."""

    plan: Plan
    violations: tuple[Violation, ...]
    kpis: Kpis
    route_costs: tuple[int, ...] = field(default=())
    """Cents per route, aligned with ``plan.routes``."""

    @property
    def feasible(self) -> bool:
        """True when nothing is violated."""
        return not self.violations


def _clock(seconds: int) -> str:
    return format_clock(int(seconds))


def _minutes(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True, slots=True)
class _VehicleTable:
    """One vehicle's figures the schedule rule reads, as plain values."""

    vehicle: Vehicle
    durations: TravelMatrix
    distances: TravelMatrix
    start: int
    end: int
    capacity: tuple[int, int, int]
    shift_start: int
    shift_end: int
    break_: tuple[int, int, int] | None
    """(window start, window end, duration)."""
    max_duration_s: int | None
    cannot: frozenset[int]
    """Orders needing a skill the vehicle lacks."""


class _Tables:
    """A problem's orders as plain lists for the schedule rule, built once per problem."""

    __slots__ = (
        "_vehicles",
        "demand",
        "depot_count",
        "late_cost",
        "loaded",
        "pickup",
        "problem",
        "service",
        "soft",
        "windows",
    )

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        orders = problem.orders
        paired_deliveries = {o.id for o in orders if o.paired_pickup}
        self.depot_count = problem.depot_count
        self.service = [o.service_s for o in orders]
        self.windows = [tuple((w.start, w.end) for w in o.windows) for o in orders]
        self.soft = [o.soft_windows for o in orders]
        self.late_cost = [o.late_cost_per_hour for o in orders]
        self.demand = [o.demand.as_tuple() for o in orders]
        self.pickup = [o.kind is OrderKind.PICKUP for o in orders]
        self.loaded = [
            o.kind is OrderKind.DELIVERY and o.id not in paired_deliveries for o in orders
        ]
        self._vehicles: dict[int, _VehicleTable] = {}

    def vehicle(self, index: int) -> _VehicleTable:
        """Vehicle ``index``'s figures (built on first use)."""
        table = self._vehicles.get(index)
        if table is None:
            problem = self.problem
            v = problem.fleet.vehicles[index]
            brk = v.break_
            table = _VehicleTable(
                v,
                problem.durations[v.profile],
                problem.distances[v.profile],
                problem.start_location(v),
                problem.end_location(v),
                v.capacity.as_tuple(),
                v.shift.start,
                v.shift.end,
                None if brk is None else (brk.window.start, brk.window.end, brk.duration_s),
                v.max_duration_s,
                frozenset(i for i, o in enumerate(problem.orders) if not problem.can_serve(v, o)),
            )
            self._vehicles[index] = table
        return table


_TABLES_KEPT = 2
_tables_cache: list[_Tables] = []


def _tables(problem: Problem) -> _Tables:
    """The lookups of ``problem``, cached for the last few problems scheduled."""
    for tables in _tables_cache:
        if tables.problem is problem:
            return tables
    tables = _Tables(problem)
    _tables_cache.insert(0, tables)
    del _tables_cache[_TABLES_KEPT:]
    return tables


@dataclass(slots=True)
class _Walk:
    """What one pass of the schedule rule over a route found."""

    events: list[tuple[str, int, int, Any]]
    """(code, stop position or -1, amount, figures for the message), in the order found."""
    start_s: int
    end_s: int
    distance_m: int
    driving_s: int
    waiting_s: int
    break_start_s: int | None
    lateness_cost: float
    lateness: list[int]
    """Seconds late at each stop (``detail`` only)."""
    stops: list[tuple[int, int, int, int, int, int]]
    """(arrival, start, departure, load after) at each stop (``detail`` only)."""


@dataclass(slots=True)
class _Schedule(_Walk):
    """A walk with its records: the visits' times and loads, the violations in sentences."""

    visits: list[Visit] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


def _walk(
    t: _Tables, v: _VehicleTable, orders: Sequence[int], break_after: int | None, detail: bool
) -> _Walk:
    """The schedule rule over ``orders``: the one place its arithmetic is written.

    Without ``detail`` it skips distances and per-stop records (for checks).
    """
    events: list[tuple[str, int, int, Any]] = []
    item = v.durations.item
    metres_at = v.distances.item
    dc = t.depot_count
    windows, service, demand, pickup = t.windows, t.service, t.demand, t.pickup
    loaded = t.loaded
    l0 = l1 = l2 = 0
    for i in orders:
        if loaded[i]:
            d0, d1, d2 = demand[i]
            l0, l1, l2 = l0 + d0, l1 + d1, l2 + d2
    c0, c1, c2 = v.capacity
    if l0 > c0 or l1 > c1 or l2 > c2:
        events.append(("capacity", -1, max(l0 - c0, l1 - c1, l2 - c2), (l0, l1, l2)))

    brk = v.break_
    break_start: int | None = None
    now = v.shift_start
    # Leave late enough not to wait at the first stop (unless the break comes first).
    if orders and break_after != -1:
        first_leg = item(v.start, dc + orders[0])
        if first_leg < UNREACHABLE:
            start = now + first_leg
            for w_start, w_end in windows[orders[0]]:
                if start <= w_end:
                    start = max(start, w_start)
                    break
            now = max(now, start - first_leg)
    depart = now
    lateness: list[int] = []
    stops: list[tuple[int, int, int, int, int, int]] = []
    lateness_cost = 0.0
    distance = driving = waiting = 0

    if brk is not None and break_after == -1:
        break_start = max(now, brk[0])
        now = break_start + brk[2]
        if now > brk[1]:
            events.append(("break_window", -1, now - brk[1], break_start))
    previous = v.start
    cannot = v.cannot
    for k, i in enumerate(orders):
        here = dc + i
        leg = item(previous, here)
        if leg >= UNREACHABLE:
            events.append(("unreachable", k, 0, None))
            leg = 0
        elif detail:
            distance += metres_at(previous, here)
        arrival = now + leg
        driving += leg
        start, late = arrival, 0
        order_windows = windows[i]
        if order_windows:
            for w_start, w_end in order_windows:
                if arrival <= w_end:
                    start = w_start if w_start > arrival else arrival
                    break
            else:
                late = arrival - order_windows[-1][1]
        waiting += start - arrival
        if late and t.soft[i]:
            lateness_cost += late * t.late_cost[i] / 3600
        elif late:
            events.append(("late", k, late, arrival))
        if i in cannot:
            events.append(("skill", k, 0, None))
        d0, d1, d2 = demand[i]
        if pickup[i]:
            l0, l1, l2 = l0 + d0, l1 + d1, l2 + d2
        else:
            l0, l1, l2 = l0 - d0, l1 - d1, l2 - d2
        if l0 > c0 or l1 > c1 or l2 > c2:
            events.append(("capacity", k, max(l0 - c0, l1 - c1, l2 - c2), (l0, l1, l2)))
        now = start + service[i]
        if detail:
            lateness.append(late)
            stops.append((arrival, start, now, l0, l1, l2))
        if break_after == k and brk is not None:
            break_start = max(now, brk[0])
            now = break_start + brk[2]
            if now > brk[1]:
                events.append(("break_window", -1, now - brk[1], break_start))
        previous = here
    leg = item(previous, v.end)
    if leg >= UNREACHABLE:
        events.append(("unreachable", -1, 0, None))
        leg = 0
    elif detail:
        distance += metres_at(previous, v.end)
    end = now + leg
    driving += leg
    if brk is not None and break_after is None and end > brk[0] and orders:
        events.append(("break_missing", -1, 0, None))
    if end > v.shift_end:
        events.append(("shift", -1, end - v.shift_end, None))
    if v.max_duration_s is not None and end - depart > v.max_duration_s:
        events.append(("max_duration", -1, end - depart - v.max_duration_s, None))
    return _Walk(
        events, depart, end, distance, driving, waiting, break_start, lateness_cost, lateness, stops
    )


@dataclass(frozen=True, slots=True)
class _Found:
    """What the schedule walk found wrong, with what a sentence about it needs."""

    vehicle: Vehicle
    capacity: tuple[int, int, int]
    order: Order | None
    """The order the violation is at; ``None`` at the depot or for the whole route."""
    amount: int
    figures: Any
    """The walk's figure: a load for capacity, a clock time for late and break_window."""
    start_s: int
    end_s: int

    @property
    def at(self) -> Order:
        """The order (for violations that are always at one)."""
        assert self.order is not None
        return self.order

    @property
    def break_(self) -> Break:
        """The vehicle's break (for the break violations)."""
        assert self.vehicle.break_ is not None
        return self.vehicle.break_


def _capacity_message(f: _Found) -> str:
    where = "leaves the depot with" if f.order is None else "carries"
    after = "" if f.order is None else f" after order {f.order.id}"
    return (
        f"Route {f.vehicle.id} {where} {_load_text(f.figures)}{after}, more than its "
        f"capacity ({_load_text(f.capacity)})."
    )


def _break_window_message(f: _Found) -> str:
    window = f.break_.window
    return (
        f"Route {f.vehicle.id} can only start its {_minutes(f.break_.duration_s)} break at "
        f"{_clock(f.figures)}, too late for its window {_clock(window.start)}-{_clock(window.end)}."
    )


def _unreachable_message(f: _Found) -> str:
    if f.order is None:
        return f"Route {f.vehicle.id} cannot get back to its depot by road."
    return f"Route {f.vehicle.id} cannot reach order {f.order.id} by road from its previous stop."


def _late_message(f: _Found) -> str:
    return (
        f"Route {f.vehicle.id} reaches order {f.at.id} at {_clock(f.figures)}, "
        f"{_minutes(f.amount)} after its window closed ({_clock(f.at.windows[-1].end)})."
    )


def _skill_message(f: _Found) -> str:
    missing = ", ".join(sorted(f.at.skills - f.vehicle.skills))
    return (
        f"Route {f.vehicle.id} serves order {f.at.id}, which needs {missing} "
        "that the vehicle lacks."
    )


def _break_missing_message(f: _Found) -> str:
    return (
        f"Route {f.vehicle.id} is on duty from {_clock(f.start_s)} to {_clock(f.end_s)} "
        f"but has no {_minutes(f.break_.duration_s)} break."
    )


def _shift_message(f: _Found) -> str:
    return (
        f"Route {f.vehicle.id} returns at {_clock(f.end_s)}, {_minutes(f.amount)} after "
        f"its shift ends ({_clock(f.vehicle.shift.end)})."
    )


def _max_duration_message(f: _Found) -> str:
    assert f.vehicle.max_duration_s is not None
    return (
        f"Route {f.vehicle.id} lasts {_minutes(f.end_s - f.start_s)}, longer than its "
        f"maximum ({_minutes(f.vehicle.max_duration_s)})."
    )


_MESSAGES: dict[str, Callable[[_Found], str]] = {
    "capacity": _capacity_message,
    "break_window": _break_window_message,
    "unreachable": _unreachable_message,
    "late": _late_message,
    "skill": _skill_message,
    "break_missing": _break_missing_message,
    "shift": _shift_message,
    "max_duration": _max_duration_message,
}
"""Violation code -> the sentence that explains it: one small function per constraint."""


def schedule_route(problem: Problem, route: RouteAssignment) -> _Schedule:
    """Times, loads and violations of one route under the schedule rule."""
    t = _tables(problem)
    v = t.vehicle(route.vehicle)
    walk = _walk(t, v, route.orders, route.break_after, detail=True)
    vehicle = v.vehicle
    vid = vehicle.id
    capacity = v.capacity
    orders = [problem.orders[i] for i in route.orders]
    violations: list[Violation] = []
    for code, k, amount, figures in walk.events:
        order = orders[k] if k >= 0 else None
        found = _Found(vehicle, capacity, order, amount, figures, walk.start_s, walk.end_s)
        violations.append(
            Violation(
                code, _MESSAGES[code](found), vid, None if order is None else order.id, amount
            )
        )
    visits = [
        Visit(order.id, arrival, start, departure, Load(max(l0, 0), max(l1, 0), max(l2, 0)))
        for order, (arrival, start, departure, l0, l1, l2) in zip(orders, walk.stops, strict=True)
    ]
    walked = {f.name: getattr(walk, f.name) for f in fields(_Walk)}
    return _Schedule(**walked, visits=visits, violations=violations)


@dataclass(frozen=True, slots=True)
class ScheduleCheck:
    """The numbers :func:`schedule_route` would find for a route, without its records."""

    violations: int
    """How many violations it would report."""
    amount: int
    """Sum of their amounts (seconds late, units over capacity...)."""
    start_s: int
    end_s: int
    overload: int
    """Position of the first stop whose order is over capacity; -1 if none."""


def check_schedule(
    problem: Problem, route: RouteAssignment, *, rough: bool = False
) -> ScheduleCheck:
    """Count what :func:`schedule_route` finds wrong with ``route``, fast.

    The same schedule rule (one definition) on plain per-problem lookups kept
    between calls; no visit, load or violation objects are made.

    Parameters
    ----------
    problem
        The day.
    route
        Stops in visit order, with the break position.
    rough
        Leave out a missing break (for routes whose break is placed later).

    Returns
    -------
    ScheduleCheck
        Violations, their total amount, the route's start and end and the
        first overloaded stop, exactly as :func:`schedule_route` finds them.
    """
    t = _tables(problem)
    walk = _walk(t, t.vehicle(route.vehicle), route.orders, route.break_after, detail=False)
    count = amount = 0
    overloaded: set[int] | None = None
    for code, k, figure, _ in walk.events:
        if rough and code == "break_missing":
            continue
        count += 1
        amount += figure
        if code == "capacity" and k >= 0:
            overloaded = overloaded or set()
            overloaded.add(route.orders[k])
    overload = -1
    if overloaded:
        overload = next(k for k, i in enumerate(route.orders) if i in overloaded)
    return ScheduleCheck(count, amount, walk.start_s, walk.end_s, overload)


def _load_text(load: Iterable[int]) -> str:
    parcels, grams, ml = (int(x) for x in load)
    return f"{parcels} parcels, {grams / 1000:g} kg, {ml / 1000:g} l"


def route_cost(vehicle: Vehicle, distance_m: int, duty_s: int) -> int:
    """Cents: fixed + per km + per hour on duty."""
    costs = vehicle.costs
    return round(costs.fixed + costs.per_km * distance_m / 1000 + costs.per_hour * duty_s / 3600)


def evaluate(
    problem: Problem,
    assignment: Assignment,
    reasons: dict[str, tuple[str, str]] | None = None,
) -> Evaluation:
    """Check ``assignment`` against ``problem``.

    Parameters
    ----------
    problem
        The day.
    assignment
        Stop sequences from a backend (or a person).
    reasons
        Order id -> (code, sentence) for orders left out; those not given get
        the code ``not_planned``.
    """
    reasons = reasons or {}
    if not problem.dense:
        _read_ahead(problem, assignment.routes)
    violations: list[Violation] = []
    routes: list[Route] = []
    costs: list[int] = []
    seen: dict[int, str] = {}
    used_vehicles: set[int] = set()
    lateness: list[int] = []
    late_cost = 0.0
    driving = waiting = duty = 0
    for route in assignment.routes:
        if not route.orders:
            continue
        vehicle = problem.fleet.vehicles[route.vehicle]
        if route.vehicle in used_vehicles:
            violations.append(
                Violation("vehicle_twice", f"Vehicle {vehicle.id} has two routes.", vehicle.id)
            )
        used_vehicles.add(route.vehicle)
        for i in route.orders:
            order_id = problem.orders[i].id
            if i in seen:
                violations.append(
                    Violation(
                        "visited_twice",
                        f"Order {order_id} is on routes {seen[i]} and {vehicle.id}.",
                        vehicle.id,
                        order_id,
                    )
                )
            seen[i] = vehicle.id
            if problem.order_location(i) in problem.off_network:
                violations.append(
                    Violation(
                        "off_network",
                        f"Order {order_id} is far from any road the {vehicle.profile.value} "
                        "can use, yet it is on a route.",
                        vehicle.id,
                        order_id,
                    )
                )
        s = schedule_route(problem, route)
        violations.extend(s.violations)
        lateness.extend(s.lateness)
        late_cost += s.lateness_cost
        driving += s.driving_s
        waiting += s.waiting_s
        duty += s.end_s - s.start_s
        routes.append(
            Route(
                vehicle.id,
                tuple(s.visits),
                s.start_s,
                s.end_s,
                s.distance_m,
                route.break_after if vehicle.break_ is not None else None,
                s.break_start_s,
            )
        )
        costs.append(
            route_cost(vehicle, s.distance_m, s.end_s - s.start_s) + round(s.lateness_cost)
        )
    violations.extend(_check_pairs_and_locks(problem, assignment))
    unassigned = tuple(
        Unassigned(o.id, *reasons.get(o.id, ("not_planned", "The engine did not plan it.")))
        for i, o in enumerate(problem.orders)
        if i not in seen
    )
    served = len(seen)
    distance_m = sum(r.distance_m for r in routes)
    penalty = sum(problem.drop_penalty[i] for i in range(len(problem.orders)) if i not in seen)
    kpis = Kpis(
        orders=len(problem.orders),
        served=served,
        unassigned=len(unassigned),
        vehicles_used=len(routes),
        distance_km=distance_m / 1000,
        driving_h=driving / 3600,
        duty_h=duty / 3600,
        waiting_h=waiting / 3600,
        stops_per_route=served / len(routes) if routes else 0.0,
        km_per_stop=distance_m / 1000 / served if served else 0.0,
        on_time_share=sum(1 for x in lateness if x == 0) / len(lateness) if lateness else 1.0,
        late_min=sum(lateness) / 60,
        lateness_cost=late_cost / 100,
        cost=sum(costs) / 100,
        penalty=penalty / 100,
    )
    return Evaluation(Plan(tuple(routes), unassigned), tuple(violations), kpis, tuple(costs))


def _read_ahead(problem: Problem, routes: Iterable[RouteAssignment]) -> None:
    """Read every route's legs in one call per matrix, before the walk reads them one by one.

    A matrix held as blocks that asks the roads for the pairs it does not hold
    (:mod:`doorstep.plan.sparse`) then asks for a plan's legs in a few tables,
    not leg by leg. Routes the walk will refuse (unknown vehicle or order) are
    skipped here.
    """
    vehicles, orders = problem.fleet.vehicles, len(problem.orders)
    legs: dict[Profile, tuple[list[int], list[int]]] = {}
    for route in routes:
        if not route.orders or not 0 <= route.vehicle < len(vehicles):
            continue
        if any(not 0 <= i < orders for i in route.orders):
            continue
        vehicle = vehicles[route.vehicle]
        path = problem.path(vehicle, route.orders)
        froms, tos = legs.setdefault(vehicle.profile, ([], []))
        froms += path[:-1]
        tos += path[1:]
    for profile, (froms, tos) in legs.items():
        for m in (problem.durations[profile], problem.distances[profile]):
            if isinstance(m, BlockMatrix) and m.source is not None:
                m[np.array(froms), np.array(tos)]


def _check_pairs_and_locks(problem: Problem, assignment: Assignment) -> list[Violation]:
    where: dict[int, tuple[int, int]] = {}
    for route in assignment.routes:
        for position, i in enumerate(route.orders):
            where[i] = (route.vehicle, position)
    vehicles = problem.fleet.vehicles
    out: list[Violation] = []
    for pickup, delivery in problem.pairs():
        p, d = where.get(pickup), where.get(delivery)
        pid, did = problem.orders[pickup].id, problem.orders[delivery].id
        if p is None and d is None:
            continue
        if p is None or d is None:
            missing = pid if p is None else did
            out.append(
                Violation(
                    "pairing",
                    f"Order {did} must be collected at {pid} by the same vehicle, "
                    f"but {missing} is not planned.",
                    order_id=did,
                )
            )
        elif p[0] != d[0]:
            out.append(
                Violation(
                    "pairing",
                    f"Order {did} is delivered by {vehicles[d[0]].id} but collected at {pid} "
                    f"by {vehicles[p[0]].id}.",
                    vehicles[d[0]].id,
                    did,
                )
            )
        elif p[1] > d[1]:
            out.append(
                Violation(
                    "pairing",
                    f"Route {vehicles[d[0]].id} delivers order {did} before collecting it "
                    f"at {pid}.",
                    vehicles[d[0]].id,
                    did,
                )
            )
    index = problem.order_index()
    for lock in problem.locks:
        at = where.get(index[lock.order_id])
        wanted = next(i for i, v in enumerate(vehicles) if v.id == lock.vehicle_id)
        if at is None or at[0] != wanted or (lock.position is not None and at[1] != lock.position):
            place = "" if lock.position is None else f" as stop {lock.position + 1}"
            out.append(
                Violation(
                    "lock",
                    f"Order {lock.order_id} is locked to {lock.vehicle_id}{place}, "
                    "but the plan puts it elsewhere.",
                    lock.vehicle_id,
                    lock.order_id,
                )
            )
    return out
