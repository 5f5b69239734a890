"""Travel times from an OSRM server (``osrm-routed``), through its HTTP API v1.

Matrices come from the ``table`` service::

    GET {base}/table/v1/{profile}/{lon,lat;lon,lat;...}
        ?sources=0;1&destinations=2;3&annotations=duration,distance

and path geometry from the ``route`` service (``overview=full&geometries=geojson``).
See https://project-osrm.org/docs/v5.24.0/api/ (``docs/http.md`` in osrm-backend).

**Batching.** ``osrm-routed --max-table-size`` (default 100) limits table requests.
OSRM 5.x releases count it differently (the number of coordinates in the URL, or
sources x destinations against its square), so each request here carries at most
``max_table_size`` coordinates, which satisfies both: up to that many locations go
in one request, more are cut into chunks of ``max_table_size // 2`` and asked as
chunk x chunk blocks.

**Snapping.** OSRM attaches every coordinate to the nearest road, however far. Its
answer gives, per waypoint, ``distance``: metres from the input coordinate to the
snapped one. These fill :attr:`Matrices.snap_m`; a location farther than
``max_snap_m`` (default :data:`~doorstep.network.provider.DEFAULT_MAX_SNAP_M`,
250 m) is listed in :attr:`Matrices.off_network` and its row and column are
:data:`UNREACHABLE` (but for the diagonal).

**Unreachable pairs.** OSRM writes ``null`` for a pair with no route; it becomes
:data:`UNREACHABLE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Unpack

import numpy as np

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import RouterError
from doorstep.network.http_router import (
    Block,
    HttpRouter,
    Reply,
    ResponseShapeError,
    RouterClient,
    RouterOptions,
    assemble,
    expect_dict,
    expect_list,
    expect_number,
    lon_lat_points,
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

DEFAULT_PROFILE_NAMES: Mapping[Profile, str] = MappingProxyType(
    {
        Profile.CAR: "driving",
        Profile.VAN: "driving",
        Profile.BIKE: "cycling",
        Profile.FOOT: "walking",
    }
)
"""Profile names in OSRM URLs. ``osrm-routed`` serves one dataset and ignores the name,
but hosted set-ups (the demo server, proxies in front of several instances) route by
it, and the usual ones are ``driving``, ``cycling`` and ``walking``."""

DEFAULT_MAX_TABLE_SIZE = 100
"""``osrm-routed --max-table-size`` default (``src/tools/routed.cpp``)."""

_HINTS = {
    "TooBig": "Lower max_table_size to the server's --max-table-size, or raise that option.",
    "NoSegment": "A location could not be attached to any road; check its coordinates.",
    "NotImplemented": (
        "This OSRM computes distance tables only with CH: prepare the data with "
        "osrm-contract and run osrm-routed --algorithm ch, or use a newer release."
    ),
    "InvalidUrl": "Check the base URL and the profile name the server expects.",
    "InvalidService": "Check that the base URL points at osrm-routed.",
}


class OsrmProvider(HttpRouter):
    """Duration and distance matrices and route shapes from an OSRM server.

    Parameters
    ----------
    base_url
        Root of the server, e.g. ``http://localhost:5000``.
    profile_names
        OSRM profile name per Doorstep profile; profiles not given keep
        :data:`DEFAULT_PROFILE_NAMES`. One ``osrm-routed`` serves one profile (the
        ``.lua`` it was extracted with): run one server per profile you need.
    max_table_size
        The server's ``--max-table-size``; no request carries more coordinates.
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile_names: Mapping[Profile, str] | None = None,
        max_table_size: int = DEFAULT_MAX_TABLE_SIZE,
        **options: Unpack[RouterOptions],
    ) -> None:
        # A table needs a source and a destination: max_table_size is at least 2.
        names = {**DEFAULT_PROFILE_NAMES, **(profile_names or {})}
        super().__init__(
            base_url, "OSRM", names=names, batch=max_table_size, min_batch=2, **options
        )

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Road durations (s) and distances (m) between every pair of ``locations``.

        Errors as :class:`~doorstep.network.http_router.HttpRouter` says, quoting
        OSRM's ``code`` and ``message``.
        """
        check_locations(locations)
        name = self.names[profile]
        n = len(locations)
        durations = np.full((n, n), UNREACHABLE, dtype=np.int64)
        distances = np.full((n, n), UNREACHABLE, dtype=np.int64)
        snap = [0.0] * n
        chunk = n if n <= self.batch else self.batch // 2
        with self._client() as client:
            if n == 1:  # OSRM refuses a table of one coordinate: ask the point to itself
                pair = [0.0, 0.0]
                itself = Block(range(1), range(1, 2))
                twice = [*locations, *locations]
                self._fill(client, name, twice, itself, durations, distances, pair, 1)
                snap[0] = pair[0]
            else:
                for block in table_blocks(n, max(chunk, 1)):
                    self._fill(client, name, locations, block, durations, distances, snap)
        source = f"OSRM {self.base_url} (profile {name})"
        return assemble(durations, distances, snap, self.max_snap_m, source)

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        """Road durations (s) and distances (m) from every source to every target.

        Only sources x targets cells are asked (OSRM's ``sources`` and
        ``destinations``), in blocks of at most half the table size each way:
        one new point to 6,000 stops is 120 requests at ``--max-table-size
        100``, where the square over them would be 14,641. The figures are those
        :meth:`matrices` gives.
        """
        check_locations(sources)
        check_locations(targets)
        name = self.names[profile]
        s, t = len(sources), len(targets)
        locations = [*sources, *targets]
        durations = np.full((s, t), UNREACHABLE, dtype=np.int64)
        distances = np.full((s, t), UNREACHABLE, dtype=np.int64)
        snap = [0.0] * (s + t)
        half = max(1, self.batch // 2)
        with self._client() as client:
            for block in table_blocks(s, half, targets=range(s, s + t)):
                self._fill(client, name, locations, block, durations, distances, snap, s)
        source = f"OSRM {self.base_url} (profile {name})"
        return Table.cut_off(durations, distances, snap, self.max_snap_m, source)

    def _fill(
        self,
        client: RouterClient,
        name: str,
        locations: Sequence[Location],
        block: Block,
        durations: IntMatrix,
        distances: IntMatrix,
        snap: list[float],
        first_target: int = 0,
    ) -> None:
        """Ask one block of the table and write it into the matrices.

        ``durations`` and ``distances`` have a row per location and a column per
        location from ``first_target`` on (0: the square).
        """
        carried = block.locations
        position = {index: k for k, index in enumerate(carried)}
        sources = ";".join(str(position[i]) for i in block.sources)
        destinations = ";".join(str(position[j]) for j in block.targets)
        path = (
            f"/table/v1/{name}/{_coordinates(locations[i] for i in carried)}"
            f"?sources={sources}&destinations={destinations}&annotations=duration,distance"
        )
        body = _ok(client, client.get_json(path), "table")
        rows, cols = len(block.sources), len(block.targets)
        try:
            seconds = number_table(body.get("durations"), rows, cols, "durations")
            metres = number_table(body.get("distances"), rows, cols, "distances")
            for indices, key in ((block.sources, "sources"), (block.targets, "destinations")):
                waypoints = expect_list(body.get(key), key)
                if len(waypoints) != len(indices):
                    raise ResponseShapeError(f"{key} should have {len(indices)} waypoints")
                for k, index in enumerate(indices):
                    snap[index] = _snap_distance(waypoints[k], locations[index], f"{key}[{k}]")
        except ResponseShapeError as exc:
            raise client.shape_error("table", exc) from None
        sub = np.ix_(np.asarray(block.sources), np.asarray(block.targets) - first_target)
        durations[sub] = whole_units(seconds)
        distances[sub] = whole_units(metres)

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The road path from ``start`` to ``end`` (OSRM ``route``, full overview).

        Raises
        ------
        RouterError
            No route (``NoRoute``) or another refusal; RouterUnavailableError when
            the server does not answer.
        """
        check_locations((start, end))
        name = self.names[profile]
        path = (
            f"/route/v1/{name}/{_coordinates((start, end))}"
            "?overview=full&geometries=geojson&steps=false"
        )
        with self._client() as client:
            body = _ok(client, client.get_json(path), "route")
            try:
                routes = expect_list(body.get("routes"), "routes")
                if not routes:
                    raise ResponseShapeError("routes is empty")
                shape = expect_dict(expect_dict(routes[0], "routes[0]").get("geometry"), "geometry")
                return lon_lat_points(shape.get("coordinates"), "geometry.coordinates")
            except ResponseShapeError as exc:
                raise client.shape_error("route", exc) from None


def _coordinates(points: Any) -> str:
    """OSRM's ``lon,lat;lon,lat`` list; 6 decimals is OSRM's own precision (1e-6 degree)."""
    return ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in points)


def _ok(client: RouterClient, reply: Reply, service: str) -> dict[str, Any]:
    """The body of a successful answer, or the server's refusal as a RouterError."""
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("code")
    if reply.status == 200 and code == "Ok":
        return body
    if isinstance(code, str):
        message = body.get("message")
        detail = f"{code}: {message}" if isinstance(message, str) and message else code
        raise RouterError(
            f"OSRM at {client.base_url} refused the {service} request "
            f"(HTTP {reply.status}, {detail}).",
            hint=_HINTS.get(code, "See the OSRM HTTP API documentation for this code."),
        )
    raise RouterError(
        f"OSRM at {client.base_url} answered the {service} request with HTTP {reply.status} "
        "and no OSRM status code.",
        hint=f"Check that {client.base_url} is an osrm-routed server.",
    )


def _snap_distance(waypoint_value: object, location: Location, where: str) -> float:
    """Metres from ``location`` to where OSRM attached it.

    Uses the waypoint's ``distance``; releases that omit it in table answers give
    the snapped ``location`` ([lon, lat]), from which the distance is computed.
    """
    waypoint = expect_dict(waypoint_value, where)
    if "distance" in waypoint:
        return expect_number(waypoint["distance"], f"{where}.distance")
    snapped = lon_lat_points([waypoint.get("location")], f"{where}.location")[0]
    return location.distance_m(snapped)
