"""A ``plan.json`` read as what the simulator replays: routes of timed stops.

The plan gives, per visit, the planned arrival, service start, departure and
service time, and the window used; the driving time of each leg is what is
left of the gap between two stops once the service, the wait and a break are
taken out (``arrival_s`` of a stop minus the previous departure, or the end of
the break when the break comes between them). The driver manifests written
beside the plan (``routes[].manifest``), when present, give each order's
parcels, weight and postcode; without them a stop counts one parcel and the
postcode is read from the end of the address (``"..., 00100 Helsinki"``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorstep.errors import InputError
from doorstep.plan.outputs.plan_json import SCHEMA

_ZIP = re.compile(r",\s*(\w[\w-]*)\s+[^,]*$")


def parcel_ids(order_id: str, parcels: int) -> list[str]:
    """The simulated parcels of an order: ``<order>-1`` ... ``<order>-n``."""
    return [f"{order_id}-{k}" for k in range(1, parcels + 1)]


@dataclass(frozen=True, slots=True)
class SimStop:
    """One planned visit (clock seconds of the planning day)."""

    seq: int
    order_id: str
    kind: str
    """``delivery`` or ``pickup``."""
    lat: float
    lon: float
    zip: str | None
    customer_id: str | None
    planned_arrival_s: int
    planned_start_s: int
    service_s: int
    leg_s: int
    """Planned driving time from the previous stop (or the depot)."""
    window_start_s: int | None
    window_end_s: int | None
    parcels: int = 1
    weight_g: int = 0
    volume_ml: int = 0
    prev_key: str = ""
    """Where the leg to this stop starts: the previous visit's :attr:`visit_key` or
    ``depot:<id>`` (a van elsewhere drives the matrix's time instead of ``leg_s``)."""
    attempt: int = 1
    """Which visit of the order on the day this is (2: a same-day retry)."""
    ask: str | None = None
    """What the customer asked for if nobody answers (``Safe place: ...``), on a retry
    accepted as asked: the parcel is left so and counts as delivered."""

    @property
    def visit_key(self) -> str:
        """The visit's name: the order id, ``<order>#<attempt>`` for a later attempt.

        Draws (presence, service, the legs to and from it) are keyed by it, so a
        second attempt draws afresh, the same in every plan that makes it.
        """
        return self.order_id if self.attempt == 1 else f"{self.order_id}#{self.attempt}"


@dataclass(frozen=True, slots=True)
class SimRoute:
    """One route of the plan."""

    vehicle_id: str
    depot_id: str
    start_s: int
    end_s: int
    distance_m: int
    stops: tuple[SimStop, ...]
    return_leg_s: int
    """Planned driving time from the last stop back to the depot."""
    break_after: int | None = None
    """The break follows this many stops (0: before the first), or None."""
    break_s: int = 0
    standby: bool = False
    """A vehicle with no route in the plan, sent out on the day by an accepted proposal:
    it carries parcels handed over from another van (no loading scans of its own)."""


@dataclass(frozen=True, slots=True)
class SimPlan:
    """The routes of a ``plan.json``, in the document's order."""

    source: str
    routes: tuple[SimRoute, ...]

    @property
    def stops(self) -> int:
        """Stops on all routes."""
        return sum(len(r.stops) for r in self.routes)


def _clock(text: str) -> int | None:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?:\+(\d+)d)?", text.strip())
    if match is None:
        return None
    hours, minutes, days = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60


def _window(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    parts = str(text).split("-", 1)
    if len(parts) != 2:
        return None, None
    start, end = _clock(parts[0]), _clock(parts[1])
    if start is not None and end is not None and end < start:
        end += 86400
    return start, end


def _manifest_rows(folder: Path | None, name: Any) -> dict[str, dict[str, str]]:
    """Order id -> its row of the driver manifest beside the plan (none when absent)."""
    if folder is None or not isinstance(name, str) or not name:
        return {}
    path = folder / Path(name).name
    if not path.is_file():
        return {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return {r["order_id"].lstrip("'"): r for r in rows if r.get("order_id")}


def _int(text: str | None, default: int, scale: float = 1.0) -> int:
    try:
        return round(float(text or "") * scale)
    except ValueError:
        return default


def _route(route: Mapping[str, Any], folder: Path | None) -> SimRoute:
    manifest = _manifest_rows(folder, route.get("manifest"))
    brk = route.get("break") or None
    break_after = int(brk["after_stop"]) if brk else None
    break_s = int(brk["duration_s"]) if brk else 0
    break_end = int(brk["end_s"]) if brk else 0
    depot = str(route["depot_id"])
    free = int(route["start_s"])
    prev_key = f"depot:{depot}"
    stops = []
    if break_after == 0:
        free = break_end
    for index, visit in enumerate(route["visits"]):
        order_id = str(visit["order_id"])
        row = manifest.get(order_id, {})
        zip_code = (row.get("zip") or "").lstrip("'") or None
        if zip_code is None:
            found = _ZIP.search(str(visit.get("address") or ""))
            zip_code = found.group(1) if found else None
        start, end = _window(visit.get("window"))
        arrival = int(visit["arrival_s"])
        stops.append(
            SimStop(
                seq=index + 1,
                order_id=order_id,
                kind=str(visit.get("kind") or "delivery"),
                lat=float(visit["lat"]),
                lon=float(visit["lon"]),
                zip=zip_code,
                customer_id=visit.get("customer_id"),
                planned_arrival_s=arrival,
                planned_start_s=int(visit["start_s"]),
                service_s=int(visit["service_s"]),
                leg_s=max(arrival - free, 0),
                window_start_s=start,
                window_end_s=end,
                parcels=max(_int(row.get("parcels"), 1), 1),
                weight_g=max(_int(row.get("weight_kg"), 0, 1000.0), 0),
                prev_key=prev_key,
            )
        )
        free = int(visit["departure_s"])
        if break_after == index + 1:
            free = break_end
        prev_key = order_id
    return SimRoute(
        vehicle_id=str(route["vehicle_id"]),
        depot_id=depot,
        start_s=int(route["start_s"]),
        end_s=int(route["end_s"]),
        distance_m=int(route.get("distance_m") or 0),
        stops=tuple(stops),
        return_leg_s=max(int(route["end_s"]) - free, 0),
        break_after=break_after,
        break_s=break_s,
    )


def plan_of_document(
    document: Any, source: str = "the plan", folder: Path | None = None
) -> SimPlan:
    """The routes of a ``doorstep.plan/1`` document, for the simulator.

    Parameters
    ----------
    document
        The parsed ``plan.json``.
    source
        What it is, for messages (a file name).
    folder
        Where the plan's driver manifests are (None: do not read them).

    Returns
    -------
    SimPlan
        Its routes with visits, in the document's order.

    Raises
    ------
    InputError
        Not a ``plan.json``, a route or visit without the fields needed, or no visit at all.
    """
    ok = isinstance(document, Mapping) and document.get("schema") == SCHEMA
    routes = document.get("routes") if ok else None
    if not isinstance(routes, list):
        raise InputError(
            f"{source} is not a plan.json (schema {SCHEMA})",
            hint="Give the plan.json that `doorstep plan --out DIR` wrote.",
        )
    out = []
    for number, route in enumerate(routes, start=1):
        try:
            if route["visits"]:
                out.append(_route(route, folder))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(
                f"{source}: route {number} lacks a field the simulator needs ({error})",
                hint="Write the plan again with `doorstep plan --out DIR`.",
            ) from error
    if not out:
        raise InputError(f"{source} has no route with visits: there is nothing to simulate.")
    return SimPlan(source, tuple(out))


def read_plan(path: str | Path) -> SimPlan:
    """Read a ``plan.json`` (and the driver manifests beside it) for the simulator.

    Parameters
    ----------
    path
        The file ``doorstep plan --out DIR`` wrote.

    Returns
    -------
    SimPlan
        Its routes.

    Raises
    ------
    InputError
        The file cannot be read, is not JSON, or is not a usable ``plan.json``.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read the plan ({error.strerror})") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not JSON ({error})", hint="Give a plan.json.") from error
    return plan_of_document(document, str(path), path.parent)
