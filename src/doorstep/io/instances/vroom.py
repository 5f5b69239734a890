"""VROOM JSON problems, as VROOM's ``docs/API.md`` describes its input.

Mapping onto the domain model (errors name the JSON path, e.g. ``$.jobs[3].service``):

* a job becomes ``Order(id=str(id))``: a delivery of its ``delivery`` amount
  (or of the deprecated ``amount``), or a pickup of its ``pickup`` amount. A job
  with both a non-zero pickup and a non-zero delivery is refused (a Doorstep
  order is one or the other); a job with neither is a delivery of nothing;
* a shipment becomes a pickup ``Order(id=f"{pickup.id}-p")`` and a delivery
  ``Order(id=f"{delivery.id}-d", paired_pickup=f"{pickup.id}-p")``, both with the
  shipment's ``amount``, ``skills`` and ``priority``;
* amounts and capacities map dimension by dimension to parcels, grams and
  millilitres; a missing demand dimension is 0 and a missing capacity dimension
  (or a missing ``capacity``) is ``UNLIMITED``; more than three dimensions are
  refused;
* ``time_windows`` become sorted windows, ``service`` plus ``setup`` becomes
  ``service_s`` (setup is paid on every visit, which can only overstate time),
  ``skills`` (integers) become strings, ``priority`` is kept and
  ``description`` becomes the order's ``notes``;
* each distinct vehicle ``start`` or ``end`` becomes a depot ``"d0"``, ``"d1"`` ...
  in order of appearance; a vehicle is ``Vehicle(id=str(id))`` at its start
  depot, with ``end_depot_id`` set when it ends elsewhere. VROOM's open routes
  (no ``start`` or no ``end``) are refused: Doorstep routes leave from and return
  to a depot;
* ``time_window`` is the shift (absent: an unbounded shift), ``costs``
  (``fixed``, ``per_hour``, ``per_km``) are kept as given, ``profile`` must be one
  of Doorstep's profiles (default ``car``, as in VROOM), and ``breaks`` may hold
  at most one break with exactly one time window (``service`` is its duration);
  ``max_load`` on a break and the vehicle keys ``max_tasks``,
  ``max_travel_time``, ``max_distance``, ``speed_factor`` and ``steps`` are
  refused rather than dropped;
* ``location`` is ``[lon, lat]`` and the metric :attr:`Metric.GEOGRAPHIC`. With a
  custom matrix (``matrices``, or the deprecated top-level ``matrix``) every
  place needs its ``location_index`` / ``start_index`` / ``end_index``; the metric
  is then :attr:`Metric.EXPLICIT` and the instance's matrix is the ``durations``
  matrix of the vehicles' profile (they must share one), restricted and
  reordered to depots first, then orders. A place without coordinates then
  gets the placeholder ``Location(0, 0)``.

Times are seconds and are stored as given, absolute timestamps included. The
instance name is the file's stem; unknown top-level keys (``meta``) are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from doorstep.domain import (
    UNLIMITED,
    Break,
    Costs,
    Depot,
    Instance,
    Load,
    Location,
    Metric,
    Order,
    OrderKind,
    Profile,
    TimeWindow,
    Vehicle,
)
from doorstep.errors import InstanceFormatError
from doorstep.io.instances._common import (
    UNBOUNDED_SHIFT,
    domain_errors,
    empty_error,
    first_repeat,
    format_error,
    read_with,
)

__all__ = ["parse_vroom", "read_vroom"]

_HINT = "See the input format in VROOM's docs/API.md."
_UNSUPPORTED_VEHICLE_KEYS = (
    "max_tasks",
    "max_travel_time",
    "max_distance",
    "speed_factor",
    "steps",
)
_DEFAULT_PROFILE = "car"

JsonObject = dict[str, object]


def read_vroom(path: str | Path) -> Instance:
    """Read a VROOM JSON problem file.

    Parameters
    ----------
    path
        The ``.json`` file; its stem becomes the instance name.

    Returns
    -------
    Instance
        Orders, depots and vehicles, geographic or with an explicit matrix.

    Raises
    ------
    InstanceFormatError
        If the file is not a VROOM problem Doorstep can read; the message names
        the JSON path (or the line, for invalid JSON).
    """
    return read_with(parse_vroom, path)


def parse_vroom(text: str, source: str = "<text>", name: str = "vroom") -> Instance:
    """Parse a VROOM JSON document: an :class:`~._common.InstanceParser`.

    The module docstring gives the mapping, and what Doorstep refuses to read.
    """
    if not text.strip():
        raise empty_error(source, 'a VROOM problem ({"vehicles": [...], "jobs": [...]})')
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise format_error(
            source, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}.", _HINT
        ) from None
    reader = _Reader(_Json(source), explicit=False)
    top = reader.json.as_object(document, "$")
    reader.explicit = "matrices" in top or "matrix" in top
    return reader.instance(top, name)


@dataclass(frozen=True, slots=True)
class _Json:
    """Typed access to parsed JSON; every failure names its JSON path."""

    source: str

    def fail(self, path: str, what: str, hint: str = _HINT) -> InstanceFormatError:
        """Build the error for a problem at ``path``."""
        return format_error(self.source, path, what, hint)

    def as_object(self, value: object, path: str) -> JsonObject:
        """Return ``value`` as a JSON object."""
        if value is None:
            raise self.fail(path, "is missing.")
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object, not {_kind(value)}.")
        return {str(key): item for key, item in value.items()}

    def as_array(self, value: object, path: str) -> list[object]:
        """Return ``value`` as a JSON array."""
        if value is None:
            raise self.fail(path, "is missing.")
        if not isinstance(value, list):
            raise self.fail(path, f"must be an array, not {_kind(value)}.")
        return list(value)

    def as_number(self, value: object, path: str) -> float:
        """Return ``value`` as a finite number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number, not {_kind(value)}.")
        if not math.isfinite(value):
            raise self.fail(path, f"must be a finite number, not {value}.")
        return float(value)

    def as_integer(self, value: object, path: str) -> int:
        """Return ``value`` as a non-negative whole number."""
        if value is None:
            raise self.fail(path, "is missing.")
        number = self.as_number(value, path)
        if not number.is_integer() or number < 0:
            raise self.fail(path, f"must be a non-negative whole number, not {value}.")
        return int(number)

    def refuse_repeated_ids(self, items: Iterable[tuple[str, str]], label: str, hint: str) -> None:
        """Refuse an id given twice among ``(id, JSON path of its object)`` items."""
        repeat = first_repeat(items)
        if repeat is not None:
            key, first, again = repeat
            raise self.fail(f"{again}.id", f"{label} {key} is also used by {first}.", hint)

    def optional_integer(self, obj: JsonObject, key: str, path: str) -> int:
        """Return ``obj[key]`` as a non-negative whole number, 0 when absent."""
        value = obj.get(key)
        return 0 if value is None else self.as_integer(value, f"{path}.{key}")


def _kind(value: object) -> str:
    """Name the JSON type of ``value`` for an error message."""
    names = {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    return "null" if value is None else f"the number {value}"


@dataclass(frozen=True, slots=True)
class _Place:
    """A location with its matrix index, and the key that tells depots apart."""

    location: Location
    index: int | None
    key: tuple[object, ...]
    where: str


@dataclass(slots=True)
class _Reader:
    """Builds an instance from a VROOM document, collecting depots on the way."""

    json: _Json
    explicit: bool
    depots: dict[tuple[object, ...], tuple[Depot, _Place]] = field(default_factory=dict)
    orders: list[tuple[Order, _Place, str]] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)

    def instance(self, top: JsonObject, name: str) -> Instance:
        """Read vehicles, jobs and shipments, then the matrix if there is one."""
        vehicles = self.vehicles(top)
        for i, job in enumerate(self.json.as_array(top.get("jobs", []), "$.jobs")):
            self.add_job(job, f"$.jobs[{i}]")
        for i, shipment in enumerate(self.json.as_array(top.get("shipments", []), "$.shipments")):
            self.add_shipment(shipment, f"$.shipments[{i}]")
        if not self.orders:
            raise self.json.fail("$", "has no jobs and no shipments.", "Add at least one job.")
        self.check_unique_orders()
        depots = tuple(depot for depot, _ in self.depots.values())
        orders = tuple(order for order, _, _ in self.orders)
        if not self.explicit:
            return Instance(name, depots, vehicles, orders, Metric.GEOGRAPHIC)
        return Instance(name, depots, vehicles, orders, Metric.EXPLICIT, self.matrix(top))

    # -- vehicles --------------------------------------------------------------------------

    def vehicles(self, top: JsonObject) -> tuple[Vehicle, ...]:
        """Read every vehicle, refusing an empty list and repeated ids."""
        items = self.json.as_array(top.get("vehicles"), "$.vehicles")
        if not items:
            raise self.json.fail("$.vehicles", "is empty.", "Add at least one vehicle.")
        vehicles = tuple(self.vehicle(item, f"$.vehicles[{i}]") for i, item in enumerate(items))
        ids = ((vehicle.id, f"$.vehicles[{i}]") for i, vehicle in enumerate(vehicles))
        self.json.refuse_repeated_ids(ids, "vehicle id", "Vehicle ids must be unique.")
        return vehicles

    def vehicle(self, value: object, path: str) -> Vehicle:
        """Read one vehicle and register its start and end depots."""
        obj = self.json.as_object(value, path)
        for key in _UNSUPPORTED_VEHICLE_KEYS:
            if key in obj:
                raise self.json.fail(
                    f"{path}.{key}",
                    f"Doorstep does not support the vehicle constraint {key!r}.",
                    "Remove it, knowing the instance is then a different problem.",
                )
        vehicle_id = str(self.json.as_integer(obj.get("id"), f"{path}.id"))
        start = self.depot(self.required_place(obj, path, "start"))
        end = self.depot(self.required_place(obj, path, "end"))
        with domain_errors(self.json.source, path):
            return Vehicle(
                id=vehicle_id,
                depot_id=start,
                profile=self.profile(obj, path),
                capacity=self.load(obj.get("capacity"), f"{path}.capacity", UNLIMITED),
                shift=self.shift(obj, path),
                break_=self.break_(obj, path),
                costs=self.costs(obj, path),
                skills=self.skills(obj, path),
                end_depot_id=None if end == start else end,
            )

    def required_place(self, obj: JsonObject, path: str, key: str) -> _Place:
        """Read a vehicle's ``start`` or ``end`` (with ``start_index`` / ``end_index``)."""
        place = self.place(obj, path, key, f"{key}_index")
        if place is None:
            raise self.json.fail(
                path,
                f"has no {key!r}: an open route, which Doorstep does not support.",
                f"Give the vehicle a {key!r} (the same as the other end for a round trip).",
            )
        return place

    def depot(self, place: _Place) -> str:
        """Return the id of the depot at ``place``, creating ``d<n>`` on first sight."""
        if place.key not in self.depots:
            depot = Depot(id=f"d{len(self.depots)}", location=place.location)
            self.depots[place.key] = (depot, place)
        return self.depots[place.key][0].id

    def profile(self, obj: JsonObject, path: str) -> Profile:
        """Read the routing profile (VROOM's default is ``car``)."""
        value = obj.get("profile", _DEFAULT_PROFILE)
        known = {profile.value: profile for profile in Profile}
        if not isinstance(value, str) or value not in known:
            raise self.json.fail(
                f"{path}.profile",
                f"profile {value!r} is not one Doorstep knows.",
                f"Use one of {', '.join(sorted(known))}.",
            )
        self.profiles.setdefault(value, f"{path}.profile")
        return known[value]

    def shift(self, obj: JsonObject, path: str) -> TimeWindow:
        """Read the vehicle's ``time_window`` (absent: unbounded)."""
        value = obj.get("time_window")
        return UNBOUNDED_SHIFT if value is None else self.window(value, f"{path}.time_window")

    def break_(self, obj: JsonObject, path: str) -> Break | None:
        """Read the vehicle's only break, refusing what Doorstep cannot represent."""
        breaks = self.json.as_array(obj.get("breaks", []), f"{path}.breaks")
        if not breaks:
            return None
        if len(breaks) > 1:
            raise self.json.fail(
                f"{path}.breaks",
                f"has {len(breaks)} breaks; Doorstep vehicles take at most one.",
                "Keep one break per vehicle.",
            )
        where = f"{path}.breaks[0]"
        item = self.json.as_object(breaks[0], where)
        if "max_load" in item:
            raise self.json.fail(f"{where}.max_load", "break load limits are not supported.")
        windows = self.json.as_array(item.get("time_windows"), f"{where}.time_windows")
        if len(windows) != 1:
            raise self.json.fail(
                f"{where}.time_windows",
                f"has {len(windows)} time windows; Doorstep breaks have exactly one.",
                "Give the break one time window.",
            )
        window = self.window(windows[0], f"{where}.time_windows[0]")
        with domain_errors(self.json.source, where):
            return Break(window, self.json.optional_integer(item, "service", where))

    def costs(self, obj: JsonObject, path: str) -> Costs:
        """Read ``costs`` (fixed, per_hour, per_km), kept as given."""
        if "costs" not in obj:
            return Costs()
        where = f"{path}.costs"
        costs = self.json.as_object(obj["costs"], where)
        return Costs(
            fixed=self.json.optional_integer(costs, "fixed", where),
            per_km=self.json.optional_integer(costs, "per_km", where),
            per_hour=self.json.optional_integer(costs, "per_hour", where),
        )

    # -- jobs and shipments ----------------------------------------------------------------

    def add_job(self, value: object, path: str) -> None:
        """Read one job as a delivery or a pickup order."""
        obj = self.json.as_object(value, path)
        delivery = self.load(obj.get("delivery", obj.get("amount")), f"{path}.delivery", 0)
        pickup = self.load(obj.get("pickup"), f"{path}.pickup", 0)
        if delivery != Load() and pickup != Load():
            raise self.json.fail(
                path,
                "has both a pickup and a delivery amount; a Doorstep order is one or the other.",
                "Split it into two jobs, or make it a shipment.",
            )
        kind = OrderKind.PICKUP if pickup != Load() else OrderKind.DELIVERY
        order_id = str(self.json.as_integer(obj.get("id"), f"{path}.id"))
        demand = pickup if kind is OrderKind.PICKUP else delivery
        self.add_task(obj, path, order_id, kind, demand, self.shared(obj, path), None)

    def add_shipment(self, value: object, path: str) -> None:
        """Read one shipment as a pickup order and its paired delivery order."""
        obj = self.json.as_object(value, path)
        amount = self.load(obj.get("amount"), f"{path}.amount", 0)
        shared = self.shared(obj, path)
        ids: list[str] = []
        for key, suffix, kind in (
            ("pickup", "p", OrderKind.PICKUP),
            ("delivery", "d", OrderKind.DELIVERY),
        ):
            step = self.json.as_object(obj.get(key), f"{path}.{key}")
            order_id = f"{self.json.as_integer(step.get('id'), f'{path}.{key}.id')}-{suffix}"
            paired = ids[0] if ids else None
            self.add_task(step, f"{path}.{key}", order_id, kind, amount, shared, paired)
            ids.append(order_id)

    def shared(self, obj: JsonObject, path: str) -> tuple[frozenset[str], int]:
        """Read the ``skills`` and ``priority`` of a job or shipment."""
        return self.skills(obj, path), self.json.optional_integer(obj, "priority", path)

    def add_task(
        self,
        obj: JsonObject,
        path: str,
        order_id: str,
        kind: OrderKind,
        demand: Load,
        shared: tuple[frozenset[str], int],
        paired: str | None,
    ) -> None:
        """Build the order for a job or a shipment step and remember its matrix index."""
        place = self.place(obj, path, "location", "location_index")
        if place is None:
            raise self.json.fail(path, "has no 'location'.", "Give [lon, lat] coordinates.")
        windows = self.windows(obj, path)
        service = self.json.optional_integer(obj, "service", path)
        setup = self.json.optional_integer(obj, "setup", path)
        notes = obj.get("description", "")
        with domain_errors(self.json.source, path):
            order = Order(
                id=order_id,
                location=place.location,
                kind=kind,
                windows=windows,
                service_s=service + setup,
                demand=demand,
                skills=shared[0],
                priority=shared[1],
                notes=notes if isinstance(notes, str) else str(notes),
                paired_pickup=paired,
            )
        self.orders.append((order, place, path))

    def check_unique_orders(self) -> None:
        """Refuse two tasks that end up with the same order id."""
        self.json.refuse_repeated_ids(
            ((repr(order.id), path) for order, _, path in self.orders),
            "order id",
            "Job ids must be unique, and so must pickup and delivery ids.",
        )

    # -- values ----------------------------------------------------------------------------

    def place(self, obj: JsonObject, path: str, key: str, index_key: str) -> _Place | None:
        """Read a location and/or its matrix index; ``None`` if neither is given."""
        coords, index = obj.get(key), obj.get(index_key)
        if coords is None and index is None:
            return None
        location = Location(0.0, 0.0) if coords is None else self.lon_lat(coords, f"{path}.{key}")
        if self.explicit and index is None:
            raise self.json.fail(
                path,
                f"has no {index_key!r}.",
                "With a custom matrix every place needs its row index in it.",
            )
        if not self.explicit and coords is None:
            raise self.json.fail(path, f"has no {key!r}.", "Give [lon, lat] coordinates.")
        if index is None:
            return _Place(location, None, ("at", location.lon, location.lat), f"{path}.{key}")
        where = f"{path}.{index_key}"
        position = self.json.as_integer(index, where)
        return _Place(location, position, ("index", position), where)

    def lon_lat(self, value: object, path: str) -> Location:
        """Read ``[lon, lat]`` (any numbers with a matrix, WGS84 degrees without)."""
        pair = self.json.as_array(value, path)
        if len(pair) != 2:
            raise self.json.fail(path, f"must be [lon, lat], not {len(pair)} numbers.")
        lon, lat = (self.json.as_number(v, f"{path}[{i}]") for i, v in enumerate(pair))
        location = Location(lat=lat, lon=lon)
        if not self.explicit and not location.is_geographic:
            raise self.json.fail(
                path,
                f"[{lon}, {lat}] is not a WGS84 [lon, lat] point.",
                "Coordinates are [longitude, latitude] in degrees, in that order.",
            )
        return location

    def window(self, value: object, path: str) -> TimeWindow:
        """Read a ``[start, end]`` time window."""
        pair = self.json.as_array(value, path)
        if len(pair) != 2:
            raise self.json.fail(path, f"must be [start, end], not {len(pair)} numbers.")
        start, end = (self.json.as_integer(v, f"{path}[{i}]") for i, v in enumerate(pair))
        with domain_errors(self.json.source, path):
            return TimeWindow(start, end)

    def windows(self, obj: JsonObject, path: str) -> tuple[TimeWindow, ...]:
        """Read ``time_windows`` as sorted windows (absent: none)."""
        where = f"{path}.time_windows"
        items = self.json.as_array(obj.get("time_windows", []), where)
        return tuple(sorted(self.window(item, f"{where}[{i}]") for i, item in enumerate(items)))

    def load(self, value: object, path: str, missing: int) -> Load:
        """Read an amount or capacity; absent dimensions are ``missing``."""
        if value is None:
            return Load(missing, missing, missing)
        items = self.json.as_array(value, path)
        if len(items) > 3:
            raise self.json.fail(
                path,
                f"has {len(items)} dimensions; Doorstep has three (parcels, grams, millilitres).",
                "Drop the extra dimensions.",
            )
        amounts = [self.json.as_integer(v, f"{path}[{i}]") for i, v in enumerate(items)]
        amounts += [missing] * (3 - len(amounts))
        return Load(*amounts)

    def skills(self, obj: JsonObject, path: str) -> frozenset[str]:
        """Read integer ``skills`` as strings."""
        items = self.json.as_array(obj.get("skills", []), f"{path}.skills")
        return frozenset(
            str(self.json.as_integer(v, f"{path}.skills[{i}]")) for i, v in enumerate(items)
        )

    # -- matrix ----------------------------------------------------------------------------

    def matrix(self, top: JsonObject) -> tuple[tuple[float, ...], ...]:
        """The durations matrix of the vehicles' profile, reordered depots first."""
        rows, path = self.durations(top)
        size = len(rows)
        places = [place for _, place in self.depots.values()]
        places += [place for _, place, _ in self.orders]
        positions: list[int] = []
        for place in places:
            if place.index is None or place.index >= size:
                raise self.json.fail(
                    place.where,
                    f"matrix index {place.index} is outside the {size}x{size} matrix at {path}.",
                    "Indices count from 0.",
                )
            positions.append(place.index)
        return tuple(tuple(rows[a][b] for b in positions) for a in positions)

    def durations(self, top: JsonObject) -> tuple[list[list[float]], str]:
        """Find the durations matrix (``matrices.<profile>.durations`` or ``matrix``)."""
        if "matrices" not in top:
            return self.square(top["matrix"], "$.matrix"), "$.matrix"
        if len(self.profiles) > 1:
            raise self.json.fail(
                "$.vehicles",
                f"vehicles use several profiles ({', '.join(sorted(self.profiles))}).",
                "A Doorstep instance carries one matrix: give every vehicle the same profile.",
            )
        profile = next(iter(self.profiles), _DEFAULT_PROFILE)
        matrices = self.json.as_object(top["matrices"], "$.matrices")
        where = f"$.matrices.{profile}"
        entry = self.json.as_object(matrices.get(profile), where)
        return self.square(entry.get("durations"), f"{where}.durations"), f"{where}.durations"

    def square(self, value: object, path: str) -> list[list[float]]:
        """Read a square matrix of finite numbers."""
        rows = self.json.as_array(value, path)
        matrix: list[list[float]] = []
        for i, row in enumerate(rows):
            cells = self.json.as_array(row, f"{path}[{i}]")
            if len(cells) != len(rows):
                raise self.json.fail(
                    f"{path}[{i}]",
                    f"has {len(cells)} values; a {len(rows)}-row matrix needs {len(rows)}.",
                    "The matrix must be square.",
                )
            numbers = (self.json.as_number(v, f"{path}[{i}][{j}]") for j, v in enumerate(cells))
            matrix.append(list(numbers))
        return matrix
