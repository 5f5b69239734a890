"""A local stand-in for OSRM and Valhalla, answering in their real response formats.

It runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (a free port) in a thread::

    with ReplayServer() as server:
        provider = OsrmProvider(server.url)
        ...
        server.requests  # what it was asked, in order

Answers are **computed from the request** by a deterministic toy world
(:class:`World`), so a matrix assembled from many small requests must equal the one
from a single big request:

* every coordinate is attached to a "road" a few metres north of it (0-19 m, from
  its coordinates); outside the ``land`` box it is first moved to the box's edge, so
  its snap distance is large (the sea);
* travel between two attached points is the great-circle distance x 1.4, at 10 m/s,
  15 % slower westbound (so matrices are asymmetric);
* with ``island_north_of`` set, points north of that latitude form an island with
  no road to the rest.

Served endpoints (limits enforced the way the real servers do):

* OSRM ``GET /table/v1/{profile}/{lon,lat;...}`` (``TooBig`` above
  ``osrm_max_table_size`` coordinates) and ``GET /route/v1/{profile}/{lon,lat;...}``
  (GeoJSON geometry);
* Valhalla ``POST /sources_to_targets`` (error 150 above ``valhalla_max_pairs``
  sources x targets, 171 beyond 35 km from a road, 442 when no pair has a path, and
  170 for locations on both sides of the island when ``valhalla_connectivity``) and
  ``POST /route`` (``polyline6`` shapes).

Tests can script the next answers: fail with a status (:meth:`ReplayServer.fail_next`),
hang (:meth:`ReplayServer.hang_next`) or send a given body (:meth:`ReplayServer.reply_next`).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from doorstep.units import haversine_m

METRES_PER_DEGREE_LAT = 111_195.0
SEARCH_CUTOFF_M = 35_000.0
"""Valhalla's default ``search_cutoff``: farther from any road is error 171."""

Point = tuple[float, float]
"""(lat, lon)"""


@dataclass(frozen=True, slots=True)
class World:
    """The toy road network every answer is computed from (see the module docstring)."""

    land: tuple[float, float, float, float] = (-80.0, -179.0, 80.0, 179.0)
    """min_lat, min_lon, max_lat, max_lon: where roads are."""
    island_north_of: float | None = None
    speed_mps: float = 10.0
    circuity: float = 1.4
    westbound_factor: float = 1.15

    def snap(self, lat: float, lon: float) -> tuple[Point, float]:
        """The road point a coordinate is attached to, and how far it is (metres)."""
        min_lat, min_lon, max_lat, max_lon = self.land
        road_lat = min(max(lat, min_lat), max_lat)
        road_lon = min(max(lon, min_lon), max_lon)
        jitter_m = (round(abs(lat) * 1e6) + round(abs(lon) * 1e6)) % 20
        road_lat += jitter_m / METRES_PER_DEGREE_LAT
        return (road_lat, road_lon), haversine_m(lat, lon, road_lat, road_lon)

    def on_island(self, point: Point) -> bool:
        """Whether a road point is on the island (cut off from the rest)."""
        return self.island_north_of is not None and point[0] > self.island_north_of

    def travel(self, a: Point, b: Point) -> tuple[float, float] | None:
        """Seconds and metres from road point ``a`` to ``b``, or ``None`` without a road."""
        if self.on_island(a) != self.on_island(b):
            return None
        metres = haversine_m(a[0], a[1], b[0], b[1]) * self.circuity
        seconds = metres / self.speed_mps
        if a[1] > b[1]:
            seconds *= self.westbound_factor
        return seconds, metres

    def path(self, a: Point, b: Point, steps: int = 4) -> list[Point]:
        """Points along the "road" from ``a`` to ``b`` (a straight line, ``steps`` pieces)."""
        return [
            (a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps)
            for k in range(steps + 1)
        ]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def osrm_coordinates(self) -> int:
        """Number of coordinates in an OSRM URL."""
        return len(self.path.rsplit("/", 1)[-1].split(";"))

    @property
    def valhalla_shape(self) -> tuple[int, int]:
        """Sources and targets in a Valhalla matrix request."""
        return len(self.body["sources"]), len(self.body["targets"])


@dataclass(frozen=True, slots=True)
class Scripted:
    """An answer given instead of the computed one (or a hang, when ``hang_s``)."""

    status: int = 503
    body: bytes = b"Service Unavailable"
    content_type: str = "text/plain"
    hang_s: float = 0.0


@dataclass
class ReplayServer:
    """OSRM and Valhalla look-alike on ``127.0.0.1`` for tests; a context manager."""

    world: World = field(default_factory=World)
    osrm_max_table_size: int = 100
    valhalla_max_pairs: int = 2500
    valhalla_connectivity: bool = False
    requests: list[Recorded] = field(default_factory=list, init=False)
    _script: deque[Scripted] = field(default_factory=deque, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _release: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _httpd: _Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    # --- life cycle -----------------------------------------------------------------

    def __enter__(self) -> Self:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.replay = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()  # wake hanging handlers
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads
        self._thread.join()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        assert self._httpd is not None, "use the server as a context manager"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- scripting ------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` and a plain-text body."""
        with self._lock:
            self._script.extend(Scripted(status=status) for _ in range(count))

    def hang_next(self, count: int = 1, seconds: float = 5.0) -> None:
        """Do not answer the next ``count`` requests for ``seconds`` (or until shutdown)."""
        with self._lock:
            self._script.extend(Scripted(hang_s=seconds) for _ in range(count))

    def reply_next(self, status: int, body: object, content_type: str = "application/json") -> None:
        """Answer the next request with ``body`` (JSON-encoded unless bytes or str)."""
        if isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body).encode()
        with self._lock:
            self._script.append(Scripted(status=status, body=raw, content_type=content_type))

    def _take(self, recorded: Recorded) -> Scripted | None:
        with self._lock:
            self.requests.append(recorded)
            return self._script.popleft() if self._script else None

    # --- answers --------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Status and JSON body a real server would send for this request."""
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 4 and parts[1] == "v1":
            if parts[0] == "table":
                return self._osrm_table(parts[3], query)
            if parts[0] == "route":
                return self._osrm_route(parts[3])
            return 400, {"code": "InvalidService", "message": f"Service {parts[0]} not found!"}
        if method == "POST" and path == "/sources_to_targets":
            return self._valhalla_matrix(body)
        if method == "POST" and path == "/route":
            return self._valhalla_route(body)
        return 404, _valhalla_error(106, "Try any of: '/route' '/sources_to_targets'", 404)

    def _osrm_table(self, coordinates: str, query: dict[str, str]) -> tuple[int, Any]:
        points = _osrm_points(coordinates)
        if points is None:
            return 400, {"code": "InvalidQuery", "message": "Query string malformed"}
        if len(points) > self.osrm_max_table_size:
            return 400, {"code": "TooBig", "message": "Too many table coordinates"}
        sources = _indices(query.get("sources", "all"), len(points))
        destinations = _indices(query.get("destinations", "all"), len(points))
        if sources is None or destinations is None:
            return 400, {"code": "InvalidOptions", "message": "Invalid source or destination"}
        annotations = query.get("annotations", "duration").split(",")
        snapped = [self.world.snap(lat, lon) for lat, lon in points]
        durations, distances = [], []
        for i in sources:
            cells = [self.world.travel(snapped[i][0], snapped[j][0]) for j in destinations]
            durations.append([None if c is None else round(c[0], 1) for c in cells])
            distances.append([None if c is None else round(c[1], 1) for c in cells])
        answer: dict[str, Any] = {"code": "Ok"}
        if "duration" in annotations:
            answer["durations"] = durations
        if "distance" in annotations:
            answer["distances"] = distances
        answer["sources"] = [_osrm_waypoint(*snapped[i]) for i in sources]
        answer["destinations"] = [_osrm_waypoint(*snapped[j]) for j in destinations]
        return 200, answer

    def _osrm_route(self, coordinates: str) -> tuple[int, Any]:
        points = _osrm_points(coordinates)
        if points is None or len(points) < 2:
            return 400, {"code": "InvalidQuery", "message": "Query string malformed"}
        snapped = [self.world.snap(lat, lon) for lat, lon in points]
        legs: list[dict[str, Any]] = []
        line: list[list[float]] = []
        for (a, _), (b, _) in itertools.pairwise(snapped):
            cost = self.world.travel(a, b)
            if cost is None:
                return 400, {"code": "NoRoute", "message": "Impossible route between points"}
            seconds, metres = round(cost[0], 1), round(cost[1], 1)
            legs.append(
                {
                    "steps": [],
                    "summary": "",
                    "weight": seconds,
                    "duration": seconds,
                    "distance": metres,
                }
            )
            piece = [[round(lon, 6), round(lat, 6)] for lat, lon in self.world.path(a, b)]
            line.extend(piece[1:] if line else piece)
        route = {
            "geometry": {"type": "LineString", "coordinates": line},
            "legs": legs,
            "weight_name": "routability",
            "weight": sum(leg["weight"] for leg in legs),
            "duration": sum(leg["duration"] for leg in legs),
            "distance": sum(leg["distance"] for leg in legs),
        }
        return 200, {
            "code": "Ok",
            "routes": [route],
            "waypoints": [_osrm_waypoint(*s) for s in snapped],
        }

    def _valhalla_matrix(self, body: Any) -> tuple[int, Any]:
        try:
            sources = [(float(p["lat"]), float(p["lon"])) for p in body["sources"]]
            targets = [(float(p["lat"]), float(p["lon"])) for p in body["targets"]]
        except (TypeError, KeyError, ValueError):
            return 400, _valhalla_error(112, "Insufficiently specified required parameter")
        if len(sources) * len(targets) > self.valhalla_max_pairs:
            return 400, _valhalla_error(150, f"Exceeded max locations: {self.valhalla_max_pairs}")
        snapped_sources = [self.world.snap(lat, lon) for lat, lon in sources]
        snapped_targets = [self.world.snap(lat, lon) for lat, lon in targets]
        everything = snapped_sources + snapped_targets
        if any(metres > SEARCH_CUTOFF_M for _, metres in everything):
            return 400, _valhalla_error(171, "No suitable edges near location")
        if self.valhalla_connectivity and len({self.world.on_island(p) for p, _ in everything}) > 1:
            return 400, _valhalla_error(
                170, "Locations are in unconnected regions. Go check/edit the map at osm.org"
            )
        rows = []
        for i, (a, _) in enumerate(snapped_sources):
            row = []
            for j, (b, _) in enumerate(snapped_targets):
                cost = self.world.travel(a, b)
                time = None if cost is None else round(cost[0])
                distance = None if cost is None else round(cost[1] / 1000, 3)
                row.append({"from_index": i, "to_index": j, "time": time, "distance": distance})
            rows.append(row)
        if all(cell["time"] is None for row in rows for cell in row):
            return 400, _valhalla_error(442, "No path could be found for input")
        if not body.get("verbose", True):
            table = {
                "durations": [[c["time"] for c in row] for row in rows],
                "distances": [[c["distance"] for c in row] for row in rows],
            }
            return 200, {
                "sources_to_targets": table,
                "units": "kilometers",
                "algorithm": "costmatrix",
            }
        return 200, {
            "sources_to_targets": rows,
            "targets": [_valhalla_point(p) for p, _ in snapped_targets],
            "sources": [_valhalla_point(p) for p, _ in snapped_sources],
            "units": "kilometers",
            "algorithm": "costmatrix",
        }

    def _valhalla_route(self, body: Any) -> tuple[int, Any]:
        try:
            points = [(float(p["lat"]), float(p["lon"])) for p in body["locations"]]
        except (TypeError, KeyError, ValueError):
            return 400, _valhalla_error(110, "Insufficiently specified required parameter")
        snapped = [self.world.snap(lat, lon) for lat, lon in points]
        if any(metres > SEARCH_CUTOFF_M for _, metres in snapped):
            return 400, _valhalla_error(171, "No suitable edges near location")
        legs: list[dict[str, Any]] = []
        for (a, _), (b, _) in itertools.pairwise(snapped):
            cost = self.world.travel(a, b)
            if cost is None:
                return 400, _valhalla_error(442, "No path could be found for input")
            summary = {"time": round(cost[0], 3), "length": round(cost[1] / 1000, 3)}
            legs.append(
                {
                    "maneuvers": [],
                    "summary": summary,
                    "shape": encode_polyline(self.world.path(a, b)),
                }
            )
        trip = {
            "locations": [
                {"type": "break", "lat": lat, "lon": lon, "original_index": k}
                for k, (lat, lon) in enumerate(points)
            ],
            "legs": legs,
            "summary": {
                "time": sum(leg["summary"]["time"] for leg in legs),
                "length": sum(leg["summary"]["length"] for leg in legs),
            },
            "status_message": "Found route between points",
            "status": 0,
            "units": "kilometers",
            "language": "en-US",
        }
        return 200, {"trip": trip}


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins the handlers
    block_on_close = True
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) is expected; keep the test output quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def _handle(self, method: str) -> None:
        replay = self.server.replay
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        scripted = replay._take(Recorded(method, path, query, body))
        if scripted is not None and scripted.hang_s:
            replay._release.wait(scripted.hang_s)
            return  # never answer: the connection is closed
        if scripted is not None:
            self._send(scripted.status, scripted.body, scripted.content_type)
            return
        if method == "POST" and body is None:
            status, answer = 400, _valhalla_error(100, "Failed to parse json request")
        else:
            status, answer = replay.answer(method, path, query, body)
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _osrm_points(coordinates: str) -> list[Point] | None:
    coordinates = coordinates.removesuffix(".json")
    points = []
    for pair in coordinates.split(";"):
        try:
            lon, lat = (float(x) for x in pair.split(","))
        except ValueError:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        points.append((lat, lon))
    return points


def _indices(value: str, count: int) -> list[int] | None:
    if value == "all":
        return list(range(count))
    try:
        indices = [int(x) for x in value.split(";")]
    except ValueError:
        return None
    return indices if all(0 <= i < count for i in indices) else None


def _osrm_waypoint(point: Point, metres: float) -> dict[str, Any]:
    lat, lon = point
    return {
        "hint": f"replay{round(abs(lat) * 1e6) % 10**8:08d}{round(abs(lon) * 1e6) % 10**8:08d}",
        "distance": round(metres, 6),
        "name": "Replay Street",
        "location": [round(lon, 6), round(lat, 6)],
    }


def _valhalla_point(point: Point) -> dict[str, float]:
    return {"lat": round(point[0], 6), "lon": round(point[1], 6)}


def _valhalla_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    names = {400: "Bad Request", 404: "Not Found"}
    return {"error_code": code, "error": message, "status_code": status, "status": names[status]}


def encode_polyline(points: Sequence[Point], precision: int = 6) -> str:
    """Google's encoded polyline of (lat, lon) points (Valhalla uses precision 6)."""
    factor = 10**precision
    out = []
    previous = (0, 0)
    for lat, lon in points:
        current = (round(lat * factor), round(lon * factor))
        for value in (current[0] - previous[0], current[1] - previous[1]):
            value = ~(value << 1) if value < 0 else value << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        previous = current
    return "".join(out)


def expected_cell(world: World, a: Point, b: Point) -> tuple[float, float] | None:
    """What the world says from input point ``a`` to input point ``b`` (for assertions)."""
    return world.travel(world.snap(*a)[0], world.snap(*b)[0])
