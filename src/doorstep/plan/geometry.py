"""What a map draws of a plan: each route's road polyline, and the roads around them."""

from __future__ import annotations

import numpy as np

from doorstep.network.provider import TravelTimeProvider
from doorstep.plan.evaluator import Evaluation
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan

Polyline = tuple[tuple[float, float], ...]
"""``(lat, lon)`` points."""


def route_geometry(
    problem: Problem, evaluation: Evaluation, provider: TravelTimeProvider
) -> tuple[Polyline, ...]:
    """Road polyline of every route: depot, each stop, depot.

    Parameters
    ----------
    problem
        The planned day.
    evaluation
        Its evaluated plan.
    provider
        The road source the plan's matrices came from.

    Returns
    -------
    tuple of Polyline
        One per route, aligned with ``evaluation.plan.routes``.
    """
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    orders = {o.id: o for o in problem.orders}
    lines = []
    for route in evaluation.plan.routes:
        vehicle = vehicles[route.vehicle_id]
        start = problem.fleet.depot(vehicle.depot_id).location
        end = problem.fleet.depot(vehicle.end_depot_id or vehicle.depot_id).location
        stops = [start, *(orders[v.order_id].location for v in route.visits), end]
        points: list[tuple[float, float]] = []
        for leg in provider.route_geometry(stops, vehicle.profile):
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

    Parameters
    ----------
    day
        The planned day, with its geometry.
    provider
        The road source.
    limit
        Most segments returned.

    Returns
    -------
    list
        ``((lat, lon), (lat, lon))`` segments; empty for other providers.
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
