"""Travel times from a Valhalla server, through its ``sources_to_targets`` and ``route`` APIs.

Matrices come from ``POST {base}/sources_to_targets`` with a JSON body
``{"sources": [{"lat", "lon"}, ...], "targets": [...], "costing": "auto",
"units": "kilometers", "verbose": true}``. The documented answer holds
``sources_to_targets``: one row per source, of ``{"from_index", "to_index", "time",
"distance"}`` (seconds and kilometres, ``null`` when there is no path), plus the
``sources`` and ``targets`` as attached to the road network. The compact form
(``"verbose": false``: ``{"durations": [[...]], "distances": [[...]]}``) and the
old one (``sources`` wrapped in one more array) are read too. See
https://valhalla.github.io/valhalla/api/matrix/api-reference/.

Route shapes come from ``POST {base}/route``: ``trip.legs[].shape`` is an encoded
polyline with 6 decimal digits.

**Batching.** Valhalla's ``service_limits`` cap a matrix request: older releases at
``max_matrix_locations`` sources and targets each (50 by default), newer ones at
``max_matrix_location_pairs`` sources x targets (2,500 by default). Blocks of
``max_matrix_locations`` x ``max_matrix_locations`` (50 x 50) satisfy both.

**Whole-request failures.** Valhalla fails a whole request rather than one pair when
no pair has a path (error 442: the block is :data:`UNREACHABLE`) or when its
locations lie in unconnected regions (error 170: the locations are grouped by region
with 1 x 1 requests, each region is asked on its own, and pairs across regions, which
have no path by definition, are :data:`UNREACHABLE`).

**Snapping.** The distance from each location to the road point Valhalla used
(``sources``/``targets`` in the answer) fills :attr:`Matrices.snap_m`; farther than
``max_snap_m`` means off the network. Releases that echo the input coordinates
there report 0; a location listed as ``null`` (not attached) counts as infinitely
far. A location more than Valhalla's ``search_cutoff`` (35 km) from any usable road
fails the request with error 171, reported as a RouterError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Unpack

import numpy as np

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import RouterError
from doorstep.network.http_router import (
    FloatMatrix,
    HttpRouter,
    Reply,
    ResponseShapeError,
    RouterClient,
    RouterOptions,
    assemble,
    decode_polyline,
    expect_dict,
    expect_list,
    expect_number,
    number_table,
    table_blocks,
    whole_units,
)
from doorstep.network.provider import (
    UNREACHABLE,
    IntMatrix,
    Matrices,
    Table,
    check_locations,
)

DEFAULT_COSTING: Mapping[Profile, str] = MappingProxyType(
    {
        Profile.CAR: "auto",
        Profile.VAN: "auto",
        Profile.BIKE: "bicycle",
        Profile.FOOT: "pedestrian",
    }
)
"""Valhalla costing model per profile. A delivery van (under 3.5 t) is driven on car
rules, so it gets ``auto``: Valhalla's ``truck`` costing defaults to a 21.77 t,
4.11 m high lorry and would keep vans out of streets closed to heavy goods vehicles."""

DEFAULT_MAX_MATRIX_LOCATIONS = 50
"""Sources (and targets) per request: 50 x 50 = 2,500 pairs, within both the old
``max_matrix_locations`` (50) and the new ``max_matrix_location_pairs`` (2,500) defaults."""

MAX_ROUTE_LOCATIONS = 20
"""Locations per ``route`` request: the default ``service_limits.<costing>.max_locations``."""

METRES_PER_UNIT = {"kilometers": 1000.0, "km": 1000.0, "miles": 1609.344, "mi": 1609.344}

NO_PATH = 442
UNCONNECTED = 170

_HINTS = {
    171: (
        "A location is farther than Valhalla's search_cutoff (35 km by default) from any "
        "road usable with this costing; check the coordinates (a stop at 0,0?)."
    ),
    154: (
        "The locations are farther apart than service_limits.<costing>.max_matrix_distance "
        "in valhalla.json allows; raise it or split the plan."
    ),
    150: (
        "Lower max_matrix_locations, or raise service_limits.<costing>.max_matrix_location_pairs "
        "(or max_matrix_locations) in valhalla.json."
    ),
    125: "The costing is not one this server knows; check the costing mapping.",
    442: "There is no path between these locations for this costing.",
}


class _RefusalError(Exception):
    """Valhalla's JSON error answer: ``error_code`` and ``error``."""

    def __init__(self, code: int | None, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class _MatrixJob:
    """The matrices being filled in, block by block, over one client."""

    def __init__(
        self,
        client: RouterClient,
        costing: str,
        locations: Sequence[Location],
        first_target: int = 0,
    ) -> None:
        n = len(locations)
        self.client = client
        self.costing = costing
        self.locations = locations
        self.first_target = first_target
        """0: the matrices are square over ``locations``; else their rows are the
        locations before this index and their columns those from it on."""
        shape = (n, n) if first_target == 0 else (first_target, n - first_target)
        self.durations: IntMatrix = np.full(shape, UNREACHABLE, dtype=np.int64)
        self.distances: IntMatrix = np.full(shape, UNREACHABLE, dtype=np.int64)
        self.snap = [math.nan] * n
        self.region_of: dict[int, int] = {}
        self.representatives: list[int] = []

    def ask(self, sources: Sequence[int], targets: Sequence[int]) -> dict[str, Any]:
        """The answer for ``sources`` x ``targets``; :class:`_RefusalError` on an error body."""
        body = {
            "sources": [_point(self.locations[i]) for i in sources],
            "targets": [_point(self.locations[j]) for j in targets],
            "costing": self.costing,
            "units": "kilometers",
            "verbose": True,
        }
        return _ok(self.client.post_json("/sources_to_targets", body))

    def fill(self, sources: Sequence[int], targets: Sequence[int], *, split: bool = True) -> None:
        """Ask ``sources`` x ``targets`` and write the answer into the matrices.

        Error 442 (no pair has a path) leaves the block :data:`UNREACHABLE`. Error 170
        (unconnected regions) groups the locations by region, asks each region on
        its own and leaves the pairs across regions :data:`UNREACHABLE`.
        """
        try:
            answer = self.ask(sources, targets)
        except _RefusalError as refusal:
            if refusal.code == NO_PATH:
                return
            if refusal.code == UNCONNECTED and split:
                for region in self.regions(list(dict.fromkeys([*sources, *targets]))):
                    members = set(region)
                    part_sources = [i for i in sources if i in members]
                    part_targets = [j for j in targets if j in members]
                    if part_sources and part_targets:
                        self.fill(part_sources, part_targets, split=False)
                return
            if refusal.code == UNCONNECTED:
                return
            raise _router_error(self.client, "matrix", refusal) from None
        try:
            seconds, metres = _matrix(answer, len(sources), len(targets))
            for key, indices in (("sources", sources), ("targets", targets)):
                for k, where in enumerate(_snapped(answer.get(key), len(indices), key)):
                    index = indices[k]
                    if where is None:
                        self.snap[index] = math.inf
                    elif math.isnan(self.snap[index]):
                        self.snap[index] = self.locations[index].distance_m(where)
        except ResponseShapeError as exc:
            raise self.client.shape_error("matrix", exc) from None
        sub = np.ix_(np.asarray(sources), np.asarray(targets) - self.first_target)
        self.durations[sub] = whole_units(seconds)
        self.distances[sub] = whole_units(metres)

    def regions(self, indices: Sequence[int]) -> list[list[int]]:
        """``indices`` grouped by Valhalla's connectivity regions.

        A 1 x 1 request between two locations fails with error 170 exactly when
        they lie in unconnected regions, so each location is compared with one
        member of every region found so far. What is learnt is kept for later blocks.
        """
        for index in indices:
            if index in self.region_of:
                continue
            for region, member in enumerate(self.representatives):
                if self.connected(member, index):
                    self.region_of[index] = region
                    break
            else:
                self.region_of[index] = len(self.representatives)
                self.representatives.append(index)
        groups: dict[int, list[int]] = {}
        for index in indices:
            groups.setdefault(self.region_of[index], []).append(index)
        return list(groups.values())

    def connected(self, a: int, b: int) -> bool:
        """Whether locations ``a`` and ``b`` lie in one connected region."""
        try:
            self.ask([a], [b])
        except _RefusalError as refusal:
            if refusal.code == UNCONNECTED:
                return False
            if refusal.code != NO_PATH:
                raise _router_error(self.client, "matrix", refusal) from None
        return True


class ValhallaProvider(HttpRouter):
    """Duration and distance matrices and route shapes from a Valhalla server.

    Parameters
    ----------
    base_url
        Root of the server, e.g. ``http://localhost:8002``.
    costing
        Valhalla costing model per Doorstep profile; profiles not given keep
        :data:`DEFAULT_COSTING`.
    max_matrix_locations
        Sources and targets per matrix request (blocks of this many x this many).
    """

    def __init__(
        self,
        base_url: str,
        *,
        costing: Mapping[Profile, str] | None = None,
        max_matrix_locations: int = DEFAULT_MAX_MATRIX_LOCATIONS,
        **options: Unpack[RouterOptions],
    ) -> None:
        names = {**DEFAULT_COSTING, **(costing or {})}
        super().__init__(base_url, "Valhalla", names=names, batch=max_matrix_locations, **options)

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Road durations (s) and distances (m) between every pair of ``locations``.

        Errors as :class:`~doorstep.network.http_router.HttpRouter` says, quoting
        Valhalla's ``error_code`` and ``error``.
        """
        check_locations(locations)
        costing = self.names[profile]
        with self._client() as client:
            job = _MatrixJob(client, costing, locations)
            for block in table_blocks(len(locations), self.batch):
                job.fill(block.sources, block.targets)
        known = [0.0 if math.isnan(metres) else metres for metres in job.snap]
        source = f"Valhalla {self.base_url} (costing {costing})"
        return assemble(job.durations, job.distances, known, self.max_snap_m, source)

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        """Road durations (s) and distances (m) from every source to every target.

        Only sources x targets are asked (``sources_to_targets``, blocks of at
        most ``max_matrix_locations`` each way; unconnected regions as for
        :meth:`matrices`, whose figures these are).
        """
        check_locations(sources)
        check_locations(targets)
        costing = self.names[profile]
        name = f"Valhalla {self.base_url} (costing {costing})"
        s, t = len(sources), len(targets)
        if s == 0 or t == 0:
            empty = np.zeros((s, t), np.int64)
            return Table(empty, empty.copy(), name)
        with self._client() as client:
            job = _MatrixJob(client, costing, [*sources, *targets], first_target=s)
            for block in table_blocks(s, self.batch, targets=range(s, s + t)):
                job.fill(block.sources, block.targets)
        return Table.cut_off(job.durations, job.distances, job.snap, self.max_snap_m, name)

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The road path from ``start`` to ``end`` (the decoded shape of the route).

        Raises
        ------
        RouterError
            No path (error 442) or another refusal; RouterUnavailableError when the
            server does not answer.
        """
        return self.route_geometry([start, end], profile)[0]

    def route_geometry(self, stops: Sequence[Location], profile: Profile) -> list[list[Location]]:
        """The road path of every leg of a route through ``stops``, a few legs per request.

        Each request carries at most :data:`MAX_ROUTE_LOCATIONS` stops (Valhalla's
        default ``service_limits.<costing>.max_locations``); consecutive requests
        share their boundary stop.

        Raises
        ------
        RouterError
            No path on some leg (error 442) or another refusal;
            RouterUnavailableError when the server does not answer.
        """
        check_locations(stops)
        legs: list[list[Location]] = []
        step = MAX_ROUTE_LOCATIONS - 1
        with self._client() as client:
            for first in range(0, len(stops) - 1, step):
                part = stops[first : first + step + 1]
                legs.extend(self._legs(client, part, self.names[profile]))
        return legs

    def _legs(
        self, client: RouterClient, stops: Sequence[Location], costing: str
    ) -> list[list[Location]]:
        """The decoded shapes of the legs of one ``route`` request through ``stops``."""
        body = {
            "locations": [_point(p) for p in stops],
            "costing": costing,
            "units": "kilometers",
            "directions_type": "none",
        }
        try:
            answer = _ok(client.post_json("/route", body))
        except _RefusalError as refusal:
            raise _router_error(client, "route", refusal) from None
        try:
            trip = expect_dict(answer.get("trip"), "trip")
            legs = expect_list(trip.get("legs"), "trip.legs")
            if len(legs) != len(stops) - 1:
                raise ResponseShapeError(f"trip.legs should have {len(stops) - 1} legs")
            shapes = []
            for k, leg in enumerate(legs):
                shape = expect_dict(leg, f"trip.legs[{k}]").get("shape")
                if not isinstance(shape, str):
                    raise ResponseShapeError(f"trip.legs[{k}].shape should be a string")
                shapes.append(decode_polyline(shape, precision=6))
            return shapes
        except ResponseShapeError as exc:
            raise client.shape_error("route", exc) from None


def _point(location: Location) -> dict[str, float]:
    return {"lat": location.lat, "lon": location.lon}


def _ok(reply: Reply) -> dict[str, Any]:
    """The body of a successful answer; a :class:`_RefusalError` for Valhalla's error form."""
    body = reply.body if isinstance(reply.body, dict) else {}
    if reply.status == 200 and "error_code" not in body and "error" not in body:
        return body
    code = body.get("error_code")
    message = body.get("error", body.get("status", ""))
    raise _RefusalError(code if isinstance(code, int) else None, str(message), reply.status)


def _router_error(client: RouterClient, what: str, refusal: _RefusalError) -> RouterError:
    code = "" if refusal.code is None else f"error {refusal.code}: "
    message = refusal.message or "no message"
    return RouterError(
        f"Valhalla at {client.base_url} refused the {what} request "
        f"(HTTP {refusal.status}, {code}{message}).",
        hint=_HINTS.get(
            refusal.code or 0,
            "See Valhalla's list of error codes (API reference, 'Internal error codes').",
        ),
    )


def _matrix(answer: dict[str, Any], rows: int, cols: int) -> tuple[FloatMatrix, FloatMatrix]:
    """Seconds and metres (NaN when no path) from a ``sources_to_targets`` answer."""
    scale = METRES_PER_UNIT.get(str(answer.get("units", "kilometers")).lower())
    if scale is None:
        raise ResponseShapeError(f"units {answer.get('units')!r} is not kilometers or miles")
    table = answer.get("sources_to_targets")
    if isinstance(table, dict):  # "verbose": false
        seconds = number_table(table.get("durations"), rows, cols, "sources_to_targets.durations")
        lengths = number_table(table.get("distances"), rows, cols, "sources_to_targets.distances")
        return seconds, lengths * scale
    entries = expect_list(table, "sources_to_targets")
    cells: list[tuple[int, int, Any]] = []
    if all(isinstance(row, list) for row in entries):  # documented: one row per source
        if len(entries) != rows:
            raise ResponseShapeError(f"sources_to_targets should have {rows} rows")
        for i, row in enumerate(entries):
            if len(row) != cols:
                raise ResponseShapeError(f"sources_to_targets[{i}] should have {cols} entries")
            cells.extend((i, j, cell) for j, cell in enumerate(row))
    else:  # a flat list of cells, row-major
        if len(entries) != rows * cols:
            raise ResponseShapeError(f"sources_to_targets should have {rows * cols} entries")
        cells.extend((k // cols, k % cols, cell) for k, cell in enumerate(entries))
    seconds = np.full((rows, cols), np.nan)
    lengths = np.full((rows, cols), np.nan)
    for i, j, cell_value in cells:
        where = f"sources_to_targets[{i}][{j}]"
        cell = expect_dict(cell_value, where)
        row = int(expect_number(cell.get("from_index", i), f"{where}.from_index"))
        col = int(expect_number(cell.get("to_index", j), f"{where}.to_index"))
        if not (0 <= row < rows and 0 <= col < cols):
            raise ResponseShapeError(f"{where} points outside the {rows} x {cols} table")
        time, distance = cell.get("time"), cell.get("distance")
        if time is not None and distance is not None:
            seconds[row, col] = max(0.0, expect_number(time, f"{where}.time"))
            lengths[row, col] = max(0.0, expect_number(distance, f"{where}.distance"))
    return seconds, lengths * scale


def _snapped(value: object, count: int, key: str) -> list[Location | None]:
    """Where each location was attached, from ``sources``/``targets`` (``None``: nowhere).

    Missing entirely means nothing is known: every location counts as on its road.
    Old releases wrap the list in one more array.
    """
    if value is None:
        return []
    points = expect_list(value, key)
    if len(points) == 1 and isinstance(points[0], list):
        points = points[0]
    if len(points) != count:
        raise ResponseShapeError(f"{key} should list {count} locations, got {len(points)}")
    out: list[Location | None] = []
    for k, point_value in enumerate(points):
        if point_value is None:
            out.append(None)
            continue
        point = expect_dict(point_value, f"{key}[{k}]")
        lat = expect_number(point.get("lat"), f"{key}[{k}].lat")
        lon = expect_number(point.get("lon"), f"{key}[{k}].lon")
        out.append(Location(lat, lon))
    return out
