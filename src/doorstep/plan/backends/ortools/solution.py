"""Reading routes into and out of OR-Tools: warm starts in, solutions out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doorstep.plan.backends.ortools.model import Model
from doorstep.plan.evaluator import schedule_route
from doorstep.plan.problem import Problem
from doorstep.plan.solver import RouteAssignment

Warm = Mapping[int, tuple[tuple[int, ...], int | None]]
"""Vehicle -> (order indices in visit order, break_after) to start the search from."""


def warm_routes(problem: Problem) -> dict[int, tuple[tuple[int, ...], int | None]]:
    """``problem.warm_start`` as order indices per vehicle (unknown ids skipped).

    Parameters
    ----------
    problem
        The day, with its warm start by order and vehicle ids.

    Returns
    -------
    dict
        Vehicle -> (order indices in visit order, None for ``break_after``).
    """
    index = problem.order_index()
    return {
        v: (tuple(index[o] for o in problem.warm_start.get(vehicle.id, ()) if o in index), None)
        for v, vehicle in enumerate(problem.fleet.vehicles)
        if problem.warm_start.get(vehicle.id)
    }


def warm_start(model: Model, warm: Warm) -> Any:
    """``warm`` as an OR-Tools assignment, cleaned of what cannot be.

    Orders that are not modelled, not allowed on the vehicle, already placed or
    in another vehicle's locked prefix are left out; a vehicle's locked prefix
    comes first; a locked order the warm start has elsewhere (or nowhere) is
    put on its vehicle where it adds the least driving, so that a start
    consistent with the locks can be read; a pair is kept only when both are on
    the route in order. Each stop uses the window copy the evaluator's schedule
    serves it in.

    Parameters
    ----------
    model
        The closed model.
    warm
        Vehicle -> (order indices in visit order, break_after).

    Returns
    -------
    Assignment or None
        OR-Tools' assignment read from the routes, or None when nothing is left
        of them (or OR-Tools cannot read them).
    """
    scope = model.scope
    problem = scope.problem
    if not warm:
        return None
    in_chain = {i for chain in scope.chains.values() for i in chain}
    used: set[int] = set()
    plain: list[list[int]] = []
    for v in range(len(problem.fleet.vehicles)):
        route = list(scope.chains.get(v, ()))
        for i in warm.get(v, ((), None))[0]:
            placeable = i in model.order_indices and i not in used and i not in in_chain
            if placeable and v not in scope.unusable and v in scope.vehicles_for(i):
                route.append(i)
                used.add(i)
        plain.append(route)
    for i in sorted(scope.locked - used - in_chain):
        if i in model.order_indices:  # a lock the warm start breaks: onto its vehicle
            for v in scope.vehicles_for(i)[:1]:
                if v not in scope.unusable:
                    plain[v] = cheapest_insertion(problem, v, plain[v], i)
                    used.add(i)
    routes: list[list[int]] = []
    for v, route in enumerate(plain):
        orders, break_after = warm.get(v, ((), None))
        position = {i: k for k, i in enumerate(route)}
        dropped: set[int] = set()
        for pickup, delivery in scope.pairs:
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


def cheapest_insertion(problem: Problem, vehicle: int, route: list[int], order: int) -> list[int]:
    """``route`` with ``order`` where it adds the least driving.

    Parameters
    ----------
    problem
        The day, whose distances price each place.
    vehicle
        The route's vehicle.
    route
        Order indices in visit order.
    order
        The order to insert.

    Returns
    -------
    list of int
        A new list; the route is not checked (OR-Tools rejects an infeasible start).
    """
    v = problem.fleet.vehicles[vehicle]
    distances = problem.distances[v.profile]
    path = [
        problem.start_location(v),
        *(problem.order_location(i) for i in route),
        problem.end_location(v),
    ]
    x = problem.order_location(order)
    detours = [
        distances.item(path[k], x)
        + distances.item(x, path[k + 1])
        - distances.item(path[k], path[k + 1])
        for k in range(len(route) + 1)
    ]
    k = detours.index(min(detours))
    return [*route[:k], order, *route[k:]]


def _copy_at(model: Model, order: int, start: int) -> int:
    """The routing index of ``order`` whose window holds ``start`` (else its last copy)."""
    indices = model.order_indices[order]
    for index in indices:
        low, high = model.index_window.get(index, (0, 1 << 62))
        if low <= start <= high:
            return index
    return indices[-1]


def routes_now(model: Model) -> list[RouteAssignment]:
    """Routes of the solution being reported to a solution callback.

    Parameters
    ----------
    model
        The model being solved.

    Returns
    -------
    list of RouteAssignment
        Per vehicle, its order indices in visit order (no break hint).
    """
    routing = model.routing
    routes: list[RouteAssignment] = []
    for v in range(routing.vehicles()):
        index = routing.NextVar(routing.Start(v)).Value()
        orders: list[int] = []
        while not routing.IsEnd(index):
            orders.append(model.index_order[index])
            index = routing.NextVar(index).Value()
        routes.append(RouteAssignment(v, tuple(orders)))
    return routes


def routes_of(model: Model, solution: Any) -> list[RouteAssignment]:
    """Routes of a solution OR-Tools returned.

    Parameters
    ----------
    model
        The solved model.
    solution
        OR-Tools' assignment.

    Returns
    -------
    list of RouteAssignment
        Per vehicle, its order indices in visit order; ``break_after`` is the
        last stop left before OR-Tools' break starts (a hint, see the package
        docstring).
    """
    routing, time_dimension = model.routing, model.time_dimension
    problem = model.scope.problem
    routes: list[RouteAssignment] = []
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
            routes.append(RouteAssignment(v, tuple(orders)))
            continue
        break_start = solution.StartValue(interval)
        end = solution.Min(time_dimension.CumulVar(index))
        hint: int | None = sum(1 for d in departures if d <= break_start) - 1
        if break_start >= end and end <= brk.window.start:
            hint = None  # the route is over before the break window opens
        routes.append(RouteAssignment(v, tuple(orders), hint))
    return routes
