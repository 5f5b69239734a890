"""Place drivers' breaks into routes that were planned without them.

Backends that cannot model breaks (PyVRP) plan with each shift shortened by
the break; afterwards every route gets its break at the position, of all
possible ones, that the evaluator finds best: no violation if possible, then
least lateness, then earliest return. If no position is clean, the stop whose
removal helps most is taken off the route (and reported as unassigned), until
the route is clean. The evaluator checks the result like any other plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from doorstep.plan.evaluator import schedule_route
from doorstep.plan.problem import Problem
from doorstep.plan.solver import Assignment, RouteAssignment


def _score(problem: Problem, route: RouteAssignment) -> tuple[int, int, int]:
    s = schedule_route(problem, route)
    return (len(s.violations), sum(v.amount for v in s.violations), s.end_s)


def place_break(problem: Problem, route: RouteAssignment) -> RouteAssignment:
    """``route`` with its vehicle's break at the best position (unchanged if no break)."""
    vehicle = problem.fleet.vehicles[route.vehicle]
    if vehicle.break_ is None or not route.orders:
        return route
    brk = vehicle.break_
    without = replace(route, break_after=None)
    plain = schedule_route(problem, without)
    if plain.end_s <= brk.window.start:
        return without  # back before the break window opens: no break needed
    # A break after stop k starts when the vehicle leaves k (or when its window opens),
    # which the break does not change: keep the positions where it can end in time.
    departures = [vehicle.shift.start] + [v.departure_s for v in plain.visits]
    fitting = [
        k - 1
        for k, leave in enumerate(departures)
        if max(leave, brk.window.start) + brk.duration_s <= brk.window.end
    ]
    positions = fitting or list(range(-1, len(route.orders)))
    candidates = [replace(route, break_after=k) for k in positions]
    return min(candidates, key=lambda r: _score(problem, r))


def _candidates(problem: Problem, route: RouteAssignment) -> list[int]:
    """Positions worth trying to remove: late stops, stops around the break, big detours."""
    s = schedule_route(problem, route)
    order_ids = [problem.orders[i].id for i in route.orders]
    picks = {order_ids.index(v.order_id) for v in s.violations if v.order_id in order_ids}
    if route.break_after is not None:
        picks.update(
            range(max(0, route.break_after - 1), min(len(order_ids), route.break_after + 2))
        )
    vehicle = problem.fleet.vehicles[route.vehicle]
    d = problem.durations[vehicle.profile]
    stops = [
        problem.start_location(vehicle),
        *(problem.order_location(i) for i in route.orders),
        problem.end_location(vehicle),
    ]
    saving = [
        int(d[stops[k], stops[k + 1]] + d[stops[k + 1], stops[k + 2]] - d[stops[k], stops[k + 2]])
        + problem.orders[route.orders[k]].service_s
        for k in range(len(route.orders))
    ]
    picks.update(sorted(range(len(saving)), key=lambda k: -saving[k])[:4])
    return sorted(picks)


def repair(problem: Problem, route: RouteAssignment) -> RouteAssignment:
    """``route`` with its break placed, minus as few stops as it takes to make it fit."""
    best = place_break(problem, route)
    while best.orders and _score(problem, best)[0]:
        options = []
        for k in _candidates(problem, best):
            shorter = replace(best, orders=best.orders[:k] + best.orders[k + 1 :])
            options.append(place_break(problem, shorter))
        best = min(options, key=lambda r: _score(problem, r))
    return best


def _insertions(
    problem: Problem, routes: list[RouteAssignment], order: int
) -> list[tuple[int, int, int]]:
    """(added seconds, route index, position) of every insertion, cheapest first."""
    out = []
    loc = problem.order_location(order)
    for r, route in enumerate(routes):
        vehicle = problem.fleet.vehicles[route.vehicle]
        if not problem.can_serve(vehicle, problem.orders[order]):
            continue
        d = problem.durations[vehicle.profile]
        stops = [
            problem.start_location(vehicle),
            *(problem.order_location(i) for i in route.orders),
            problem.end_location(vehicle),
        ]
        for k in range(len(stops) - 1):
            a, b = stops[k], stops[k + 1]
            out.append((int(d[a, loc] + d[loc, b] - d[a, b]), r, k))
    return sorted(out)


def reinsert(
    problem: Problem, routes: list[RouteAssignment], orders: list[int], tries: int = 12
) -> list[RouteAssignment]:
    """Put ``orders`` back where the evaluator finds a clean place (cheapest first)."""
    used = {r.vehicle for r in routes}
    routes = routes + [
        RouteAssignment(v, ()) for v in range(len(problem.fleet.vehicles)) if v not in used
    ]
    for order in orders:
        for _, r, k in _insertions(problem, routes, order)[:tries]:
            route = routes[r]
            longer = place_break(
                problem, replace(route, orders=(*route.orders[:k], order, *route.orders[k:]))
            )
            if _score(problem, longer)[0] == 0:
                routes[r] = longer
                break
    return [r for r in routes if r.orders]


def settle_routes(
    problem: Problem,
    routes: Iterable[RouteAssignment],
    keep: Callable[[RouteAssignment], bool],
) -> tuple[RouteAssignment, ...]:
    """Routes as the evaluator accepts them.

    A route for which ``keep`` holds stays as it is; any other is repaired
    (break placed, as few stops dropped as it takes), and the dropped stops are
    offered to every route. Empty routes are left out.
    """
    fixed: list[RouteAssignment] = []
    dropped: list[int] = []
    for route in routes:
        if keep(route):
            fixed.append(route)
            continue
        better = repair(problem, route)
        dropped += [i for i in route.orders if i not in better.orders]
        fixed.append(better)
    if dropped:
        fixed = reinsert(problem, fixed, dropped)
    return tuple(sorted((r for r in fixed if r.orders), key=lambda r: r.vehicle))


def place_breaks(problem: Problem, assignment: Assignment) -> Assignment:
    """Every route with its break placed; stops that had to go are offered to other routes."""

    def no_break(route: RouteAssignment) -> bool:
        return problem.fleet.vehicles[route.vehicle].break_ is None

    return replace(assignment, routes=settle_routes(problem, assignment.routes, no_break))
