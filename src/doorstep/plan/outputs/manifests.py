"""Driver manifests: one CSV per route, ``route-<vehicle_id>.csv``, the whole day in rows.

Rows run in driving order: a ``depart`` row at the depot (its ``arrival`` column
holds the departure time), one row per stop (``delivery`` or ``pickup``,
numbered from 1), a ``break`` row where the driver's break is (its
``service_min`` is the break's length), and a ``return`` row back at the depot.

The files are UTF-8 with a byte-order mark, so that spreadsheet programs show
accented names correctly. Every cell goes through :func:`spreadsheet_text`:
text that starts like a spreadsheet formula (``=``, ``+``, ``-``, ``@``, also
after spaces or in their full-width forms) is prefixed with an apostrophe, so
that opening a manifest never runs a formula (``=HYPERLINK(...)`` in a note)
nor does arithmetic (``+1-1``); plain numbers (``-33.86``) and phone numbers
written in digit groups (``+358 40 123 4567``) are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from doorstep.domain.fleet import Depot, Vehicle
from doorstep.domain.order import Order
from doorstep.domain.plan import Route
from doorstep.plan.outputs.routes import PlannedRoute, planned_routes
from doorstep.plan.result import DayPlan
from doorstep.units import GRAMS_PER_KG, SECONDS_PER_MINUTE, format_clock

COLUMNS = (
    "stop",
    "order_id",
    "kind",
    "arrival",
    "window",
    "service_min",
    "address",
    "unit",
    "zip",
    "city",
    "contact_name",
    "phone",
    "parcels",
    "weight_kg",
    "notes",
    "lat",
    "lon",
)
"""The manifest's header, in order."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|\d[\d ]*\d)$")
"""A signed number, or digit groups split by spaces (a phone number): no formula in them."""


def manifest_names(vehicle_ids: Sequence[str]) -> list[str]:
    """File names ``route-<vehicle_id>.csv`` for routes, safe on every file system.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``;
    names that would collide (also ignoring case) get ``-2``, ``-3``... .

    Parameters
    ----------
    vehicle_ids
        The routes' vehicle ids, in route order.

    Returns
    -------
    list of str
        One distinct file name per route, aligned with ``vehicle_ids``.
    """
    names: list[str] = []
    taken: set[str] = set()
    for vehicle_id in vehicle_ids:
        stem = _UNSAFE.sub("_", vehicle_id).strip("._") or "vehicle"
        stem = stem[:100]
        name, n = f"route-{stem}.csv", 1
        while name.casefold() in taken:
            n += 1
            name = f"route-{stem}-{n}.csv"
        taken.add(name.casefold())
        names.append(name)
    return names


def spreadsheet_text(value: str) -> str:
    """A cell's text, defused so that a spreadsheet cannot read it as a formula.

    Text starting (after any spaces and line breaks) with ``=``, ``+``, ``-``,
    ``@`` or their full-width forms, or starting with a tab or carriage return,
    gets an apostrophe in front, unless it is a plain signed number or a phone
    number in digit groups (``+358 40 123 4567``). Use it for every cell of a
    CSV or Excel file meant for people (OWASP's CSV injection advice).

    Parameters
    ----------
    value
        The text of the cell.

    Returns
    -------
    str
        ``value``, or ``"'" + value`` when it could run as a formula.
    """
    if (
        value.startswith(_FORMULA_START) or value.lstrip(" \t\r\n").startswith(_FORMULA_START)
    ) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _number(value: float, decimals: int = 3) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _row(**cells: str) -> list[str]:
    """One manifest row: ``cells`` by column name (see :data:`COLUMNS`), the rest empty.

    Every cell goes through :func:`spreadsheet_text`.
    """
    assert cells.keys() <= set(COLUMNS), cells.keys() - set(COLUMNS)
    return [spreadsheet_text(cells.get(column, "")) for column in COLUMNS]


def _depot_row(kind: str, depot: Depot, time_s: int, note: str) -> list[str]:
    return _row(
        kind=kind,
        arrival=format_clock(time_s),
        address=depot.name or depot.id,
        notes=note,
        lat=f"{depot.location.lat:.6f}",
        lon=f"{depot.location.lon:.6f}",
    )


def _break_row(route: Route, vehicle: Vehicle) -> list[str]:
    assert vehicle.break_ is not None and route.break_start_s is not None
    start, duration = route.break_start_s, vehicle.break_.duration_s
    return _row(
        kind="break",
        arrival=format_clock(start),
        window=str(vehicle.break_.window),
        service_min=_number(duration / SECONDS_PER_MINUTE, 1),
        notes=f"Break {format_clock(start)}-{format_clock(start + duration)}",
    )


def _stop_row(number: int, order: Order, arrival_s: int) -> list[str]:
    address, contact = order.address, order.contact
    return _row(
        stop=str(number),
        order_id=order.id,
        kind=order.kind.value,
        arrival=format_clock(arrival_s),
        window=" / ".join(str(w) for w in order.windows),
        service_min=_number(order.service_s / SECONDS_PER_MINUTE, 1),
        address=address.street,
        unit=address.unit,
        zip=address.zip,
        city=address.city,
        contact_name=contact.name,
        phone=contact.phone,
        parcels=str(order.demand.parcels),
        weight_kg=_number(order.demand.weight_g / GRAMS_PER_KG),
        notes=order.notes,
        lat=f"{order.location.lat:.6f}",
        lon=f"{order.location.lon:.6f}",
    )


def route_manifest(planned: PlannedRoute) -> str:
    """The CSV text of one route's manifest.

    Parameters
    ----------
    planned
        The route, with its vehicle (for the break), depots and orders.

    Returns
    -------
    str
        CSV with a header (:data:`COLUMNS`) and the day's rows in driving order.
    """
    route, vehicle = planned.route, planned.vehicle
    start_depot, end_depot = planned.start_depot, planned.end_depot
    has_break = vehicle.break_ is not None and route.break_start_s is not None
    rows = [
        list(COLUMNS),
        _depot_row("depart", start_depot, route.start_s, f"Leave depot {start_depot.id}"),
    ]
    if has_break and route.break_after == -1:
        rows.append(_break_row(route, vehicle))
    for k, (order, visit) in enumerate(zip(planned.orders, route.visits, strict=True)):
        rows.append(_stop_row(k + 1, order, visit.arrival_s))
        if has_break and route.break_after == k:
            rows.append(_break_row(route, vehicle))
    rows.append(_depot_row("return", end_depot, route.end_s, f"Back at depot {end_depot.id}"))
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def manifests(day: DayPlan) -> dict[str, str]:
    """Every route's manifest, named after its vehicle.

    Parameters
    ----------
    day
        The planned day: one manifest per route of its plan.

    Returns
    -------
    dict
        File name (see :func:`manifest_names`) -> CSV text, in route order.
    """
    routes = planned_routes(day)
    names = manifest_names([p.route.vehicle_id for p in routes])
    return {name: route_manifest(p) for name, p in zip(names, routes, strict=True)}
