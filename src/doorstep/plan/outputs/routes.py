"""The routes of a planned day, each with what the outputs look up for it.

Every output (``plan.json``, the manifests, ``plan.geojson``) walks the plan's
routes and, for each, needs the same things: the vehicle, the depots it leaves
from and returns to, the orders it visits and what it costs. They are looked up
here once, by :func:`planned_routes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.domain.fleet import Depot, Vehicle
from doorstep.domain.order import Order
from doorstep.domain.plan import Route
from doorstep.plan.evaluator import route_cost
from doorstep.plan.result import DayPlan


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One route of a planned day, resolved against the day's problem.

    Attributes
    ----------
    index
        Position of the route in ``day.evaluation.plan.routes`` (and in
        ``day.geometry``).
    route
        The evaluated route: visits with their times and loads.
    vehicle
        The route's vehicle.
    start_depot, end_depot
        Where the vehicle leaves from and returns to (the same depot unless the
        vehicle ends its day elsewhere).
    orders
        The orders visited, aligned with ``route.visits``.
    cost_cents
        What the route costs, as the evaluator computed it.
    geometry
        The road polyline as ``(lat, lon)`` pairs, depot to depot; empty when
        the day carries none for this route.
    """

    index: int
    route: Route
    vehicle: Vehicle
    start_depot: Depot
    end_depot: Depot
    orders: tuple[Order, ...]
    cost_cents: int
    geometry: tuple[tuple[float, float], ...]


def planned_routes(day: DayPlan) -> list[PlannedRoute]:
    """Every route of ``day``, in plan order, with its vehicle, depots, orders and cost.

    Parameters
    ----------
    day
        The planned day. When its evaluation carries no route costs, a route's
        cost is computed from its vehicle's costs, distance and duration.

    Returns
    -------
    list of PlannedRoute
        One per route of ``day.evaluation.plan.routes``, in that order.
    """
    problem, evaluation = day.problem, day.evaluation
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    orders = {o.id: o for o in problem.orders}
    planned: list[PlannedRoute] = []
    for index, route in enumerate(evaluation.plan.routes):
        vehicle = vehicles[route.vehicle_id]
        if index < len(evaluation.route_costs):
            cost = evaluation.route_costs[index]
        else:
            cost = route_cost(vehicle, route.distance_m, route.duration_s)
        planned.append(
            PlannedRoute(
                index=index,
                route=route,
                vehicle=vehicle,
                start_depot=problem.fleet.depot(vehicle.depot_id),
                end_depot=problem.fleet.depot(vehicle.end_depot_id or vehicle.depot_id),
                orders=tuple(orders[v.order_id] for v in route.visits),
                cost_cents=cost,
                geometry=day.geometry[index] if index < len(day.geometry) else (),
            )
        )
    return planned
