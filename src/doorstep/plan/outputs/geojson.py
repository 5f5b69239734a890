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
from doorstep.plan.outputs.routes import PlannedRoute, planned_routes
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


def route_line(planned: PlannedRoute) -> tuple[list[tuple[float, float]], bool]:
    """The polyline of a route as ``(lat, lon)`` pairs, and whether it follows roads.

    Parameters
    ----------
    planned
        The route, with its road geometry (if any), depots and orders.

    Returns
    -------
    tuple
        The points, and True when they are the route's road geometry; False
        when straight lines through the depot and the stops stand in for a
        missing geometry.
    """
    if len(planned.geometry) >= 2:
        return [(lat, lon) for lat, lon in planned.geometry], True
    locations = [o.location for o in planned.orders]
    points = [planned.start_depot.location, *locations, planned.end_depot.location]
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
        The planned day; its road geometry gives the route lines, where it
        has one for the route (see :func:`route_line`).

    Returns
    -------
    dict
        JSON-ready FeatureCollection: route LineStrings first (in plan order),
        then stop Points, depot Points and unassigned-order Points.
    """
    problem, plan = day.problem, day.evaluation.plan
    orders = {o.id: o for o in problem.orders}
    lines: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    for planned in planned_routes(day):
        index, route = planned.index, planned.route
        colour = route_colour(index)
        points, on_roads = route_line(planned)
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
                    "profile": planned.vehicle.profile.value,
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
        for number, (order, visit) in enumerate(
            zip(planned.orders, route.visits, strict=True), start=1
        ):
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
