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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from doorstep.domain.fleet import Vehicle
from doorstep.domain.load import Load
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.plan import Plan, Route, Unassigned, Visit
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.problem import Problem
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


def _start_at(order: Order, arrival: int) -> tuple[int, int]:
    """(service start, lateness) at ``order`` when arriving at ``arrival``."""
    if not order.windows:
        return arrival, 0
    for window in order.windows:
        if arrival <= window.end:
            return max(arrival, window.start), 0
    return arrival, arrival - order.windows[-1].end


@dataclass(slots=True)
class _Schedule:
    visits: list[Visit]
    start_s: int
    end_s: int
    distance_m: int
    driving_s: int
    waiting_s: int
    break_start_s: int | None
    lateness: list[int]
    lateness_cost: float
    """Cents, at soft windows."""
    violations: list[Violation]


def schedule_route(problem: Problem, route: RouteAssignment) -> _Schedule:
    """Times, loads and violations of one route under the schedule rule."""
    vehicle = problem.fleet.vehicles[route.vehicle]
    orders = [problem.orders[i] for i in route.orders]
    durations = problem.durations[vehicle.profile]
    distances = problem.distances[vehicle.profile]
    vid = vehicle.id
    violations: list[Violation] = []
    start_loc, end_loc = problem.start_location(vehicle), problem.end_location(vehicle)
    locations = [start_loc, *(problem.order_location(i) for i in route.orders), end_loc]

    paired_deliveries = {o.id for o in problem.orders if o.paired_pickup}
    load = np.zeros(3, dtype=np.int64)
    for order in orders:
        if order.kind is OrderKind.DELIVERY and order.id not in paired_deliveries:
            load += order.demand.as_tuple()
    capacity = np.array(vehicle.capacity.as_tuple(), dtype=np.int64)
    if (load > capacity).any():
        violations.append(
            Violation(
                "capacity",
                f"Route {vid} leaves the depot with {_load_text(load)}, more than its capacity "
                f"({_load_text(capacity)}).",
                vid,
                amount=int((load - capacity).max()),
            )
        )

    def travel(a: int, b: int) -> tuple[int, int]:
        d = int(durations[a, b])
        if d >= UNREACHABLE:
            return UNREACHABLE, UNREACHABLE
        return d, int(distances[a, b])

    brk = vehicle.break_
    break_start: int | None = None
    time = vehicle.shift.start
    # Leave late enough not to wait at the first stop (unless the break comes first).
    if orders and route.break_after != -1:
        first_leg, _ = travel(start_loc, locations[1])
        if first_leg < UNREACHABLE:
            start, _ = _start_at(orders[0], time + first_leg)
            time = max(time, start - first_leg)
    depart = time
    visits: list[Visit] = []
    lateness: list[int] = []
    lateness_cost = 0.0
    distance = driving = waiting = 0

    def take_break(now: int) -> int:
        nonlocal break_start
        assert brk is not None
        break_start = max(now, brk.window.start)
        if break_start + brk.duration_s > brk.window.end:
            violations.append(
                Violation(
                    "break_window",
                    f"Route {vid} can only start its {_minutes(brk.duration_s)} break at "
                    f"{_clock(break_start)}, too late for its window "
                    f"{_clock(brk.window.start)}-{_clock(brk.window.end)}.",
                    vid,
                    amount=break_start + brk.duration_s - brk.window.end,
                )
            )
        return break_start + brk.duration_s

    if brk is not None and route.break_after == -1:
        time = take_break(time)
    for k, order in enumerate(orders):
        leg, metres = travel(locations[k], locations[k + 1])
        if leg >= UNREACHABLE:
            violations.append(
                Violation(
                    "unreachable",
                    f"Route {vid} cannot reach order {order.id} by road from its previous stop.",
                    vid,
                    order.id,
                )
            )
            leg = metres = 0
        arrival = time + leg
        distance += metres
        driving += leg
        start, late = _start_at(order, arrival)
        waiting += start - arrival
        lateness.append(late)
        if late and order.soft_windows:
            lateness_cost += late * order.late_cost_per_hour / 3600
        elif late:
            violations.append(
                Violation(
                    "late",
                    f"Route {vid} reaches order {order.id} at {_clock(arrival)}, "
                    f"{_minutes(late)} after its window closed ({_clock(order.windows[-1].end)}).",
                    vid,
                    order.id,
                    late,
                )
            )
        if not problem.can_serve(vehicle, order):
            missing = ", ".join(sorted(order.skills - vehicle.skills))
            violations.append(
                Violation(
                    "skill",
                    f"Route {vid} serves order {order.id}, which needs {missing} "
                    "that the vehicle lacks.",
                    vid,
                    order.id,
                )
            )
        if order.kind is OrderKind.PICKUP:
            load += order.demand.as_tuple()
        else:
            load -= order.demand.as_tuple()
        if (load > capacity).any():
            violations.append(
                Violation(
                    "capacity",
                    f"Route {vid} carries {_load_text(load)} after order {order.id}, more than "
                    f"its capacity ({_load_text(capacity)}).",
                    vid,
                    order.id,
                    int((load - capacity).max()),
                )
            )
        time = start + order.service_s
        visits.append(
            Visit(order.id, arrival, start, time, Load(*(int(x) for x in np.maximum(load, 0))))
        )
        if brk is not None and route.break_after == k:
            time = take_break(time)
    leg, metres = travel(locations[-2], end_loc)
    if leg >= UNREACHABLE:
        violations.append(
            Violation("unreachable", f"Route {vid} cannot get back to its depot by road.", vid)
        )
        leg = metres = 0
    end = time + leg
    distance += metres
    driving += leg
    if brk is not None and route.break_after is None and end > brk.window.start and orders:
        violations.append(
            Violation(
                "break_missing",
                f"Route {vid} is on duty from {_clock(depart)} to {_clock(end)} "
                f"but has no {_minutes(brk.duration_s)} break.",
                vid,
            )
        )
    if end > vehicle.shift.end:
        violations.append(
            Violation(
                "shift",
                f"Route {vid} returns at {_clock(end)}, "
                f"{_minutes(end - vehicle.shift.end)} after its shift ends "
                f"({_clock(vehicle.shift.end)}).",
                vid,
                amount=end - vehicle.shift.end,
            )
        )
    if vehicle.max_duration_s is not None and end - depart > vehicle.max_duration_s:
        violations.append(
            Violation(
                "max_duration",
                f"Route {vid} lasts {_minutes(end - depart)}, longer than its maximum "
                f"({_minutes(vehicle.max_duration_s)}).",
                vid,
                amount=end - depart - vehicle.max_duration_s,
            )
        )
    return _Schedule(
        visits,
        depart,
        end,
        distance,
        driving,
        waiting,
        break_start,
        lateness,
        lateness_cost,
        violations,
    )


def _load_text(load: np.ndarray) -> str:
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
