"""``plan.geojson``: the planned day as an RFC 7946 FeatureCollection, for GIS tools and the map.

Coordinates are ``[lon, lat]`` in WGS84 degrees, rounded to 6 decimals (about
0.1 m). Every feature's ``properties.role`` says what it is:

``route``
    LineString along the roads, depot to depot (straight lines between the
    stops when the day carries no road geometry: ``road_geometry`` is then
    false).
``stop``
    Point per visit, numbered from 1 along its route.
``depot``
    Point per depot.
``unassigned``
    Point per order left out, with the reason's ``code`` and sentence.
"""

from __future__ import annotations

from typing import Any

from doorstep.domain.location import Location
from doorstep.plan.outputs.plan_json import chosen_window, is_on_time, windows_text
from doorstep.plan.result import DayPlan
from doorstep.units import format_clock

ROUTE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
"""Route colours: the Okabe-Ito palette, which people with colour-vision deficiency can
tell apart (its yellow and black left out: too faint on a light map, and black marks depots).
Beyond six routes the colours repeat with dashed lines."""

_DECIMALS = 6


def route_colour(index: int) -> str:
    """The colour of route ``index`` (the palette repeats beyond its length).

    Parameters
    ----------
    index
        Position of the route in the plan.

    Returns
    -------
    str
        A ``#rrggbb`` colour.
    """
    return ROUTE_COLOURS[index % len(ROUTE_COLOURS)]


def route_line(day: DayPlan, index: int) -> tuple[list[tuple[float, float]], bool]:
    """The polyline of route ``index`` as ``(lat, lon)`` pairs, and whether it follows roads.

    Parameters
    ----------
    day
        The planned day.
    index
        Position of the route in ``day.evaluation.plan.routes``.

    Returns
    -------
    tuple
        The points, and True when they are the road geometry from
        ``day.geometry``; False when straight lines through the depot and the
        stops stand in for a missing geometry.
    """
    if index < len(day.geometry) and len(day.geometry[index]) >= 2:
        return [(lat, lon) for lat, lon in day.geometry[index]], True
    problem = day.problem
    route = day.evaluation.plan.routes[index]
    vehicle = next(v for v in problem.fleet.vehicles if v.id == route.vehicle_id)
    orders = {o.id: o for o in problem.orders}
    start = problem.fleet.depot(vehicle.depot_id).location
    end = problem.fleet.depot(vehicle.end_depot_id or vehicle.depot_id).location
    points = [start, *(orders[v.order_id].location for v in route.visits), end]
    return [(p.lat, p.lon) for p in points], False


def _position(lat: float, lon: float) -> list[float]:
    return [round(lon, _DECIMALS), round(lat, _DECIMALS)]


def _point(location: Location, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": _position(location.lat, location.lon)},
        "properties": properties,
    }


def plan_geojson(day: DayPlan) -> dict[str, Any]:
    """The day's routes, stops, depots and unassigned orders as a GeoJSON FeatureCollection.

    Parameters
    ----------
    day
        The planned day.

    Returns
    -------
    dict
        JSON-ready FeatureCollection: route LineStrings first (in plan order),
        then stop Points, depot Points and unassigned-order Points.
    """
    problem, plan = day.problem, day.evaluation.plan
    orders = {o.id: o for o in problem.orders}
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    lines: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    for index, route in enumerate(plan.routes):
        colour = route_colour(index)
        points, on_roads = route_line(day, index)
        lines.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [_position(lat, lon) for lat, lon in points],
                },
                "properties": {
                    "role": "route",
                    "route_index": index,
                    "vehicle_id": route.vehicle_id,
                    "profile": vehicles[route.vehicle_id].profile.value,
                    "colour": colour,
                    "dashed": index >= len(ROUTE_COLOURS),
                    "distance_m": route.distance_m,
                    "duration_s": route.duration_s,
                    "stops": len(route.visits),
                    "start": format_clock(route.start_s),
                    "end": format_clock(route.end_s),
                    "road_geometry": on_roads,
                },
            }
        )
        for number, visit in enumerate(route.visits, start=1):
            order = orders[visit.order_id]
            window = chosen_window(order, visit.arrival_s)
            stops.append(
                _point(
                    order.location,
                    {
                        "role": "stop",
                        "route_index": index,
                        "route": route.vehicle_id,
                        "colour": colour,
                        "stop": number,
                        "order_id": order.id,
                        "order_kind": order.kind.value,
                        "address": str(order.address),
                        "eta": format_clock(visit.arrival_s),
                        "eta_s": visit.arrival_s,
                        "start": format_clock(visit.start_s),
                        "window": None if window is None else str(window),
                        "windows": windows_text(order) or None,
                        "on_time": is_on_time(order, visit),
                        "notes": order.notes,
                    },
                )
            )
    depots = [
        _point(depot.location, {"role": "depot", "depot_id": depot.id, "name": depot.name})
        for depot in problem.fleet.depots
    ]
    unassigned = []
    for item in plan.unassigned:
        order = orders[item.order_id]
        unassigned.append(
            _point(
                order.location,
                {
                    "role": "unassigned",
                    "order_id": order.id,
                    "order_kind": order.kind.value,
                    "address": str(order.address),
                    "windows": windows_text(order) or None,
                    "code": item.code,
                    "reason": item.reason,
                    "notes": order.notes,
                },
            )
        )
    return {"type": "FeatureCollection", "features": [*lines, *stops, *depots, *unassigned]}
