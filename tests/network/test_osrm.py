"""Tests for the OSRM provider, against the local replay server."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doorstep.domain import Location, Profile
from doorstep.errors import RouterError, RouterUnavailableError
from doorstep.network import UNREACHABLE, TravelTimeProvider
from doorstep.network.osrm import OsrmProvider
from network.replay_server import ReplayServer, World, expected_cell

DATA = Path(__file__).parent.parent / "data"
U = UNREACHABLE

BERLIN = [
    Location(52.517037, 13.388860),
    Location(52.529407, 13.397634),
    Location(52.523219, 13.428555),
]
"""The three coordinates of the OSRM documentation's table example."""


def load(name: str) -> object:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def helsinki(n: int, seed: int = 7) -> list[Location]:
    rng = np.random.default_rng(seed)
    lats = rng.uniform(60.15, 60.25, n)
    lons = rng.uniform(24.85, 25.05, n)
    return [Location(float(a), float(b)) for a, b in zip(lats, lons, strict=True)]


def fast(url: str, **kwargs: Any) -> OsrmProvider:
    """A provider that does not wait between retries."""
    kwargs.setdefault("backoff_s", 0.0)
    kwargs.setdefault("timeout_s", 5.0)
    return OsrmProvider(url, **kwargs)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_it_is_a_travel_time_provider() -> None:
    """The class satisfies the TravelTimeProvider protocol (checked by mypy too)."""
    provider: TravelTimeProvider = OsrmProvider("http://localhost:5000")
    assert callable(provider.matrices) and callable(provider.geometry)


def test_parses_the_documented_table_answer(replay: ReplayServer) -> None:
    """A table answer in OSRM's documented form: rounded, null -> UNREACHABLE, snap distances."""
    replay.reply_next(200, load("osrm_table_example.json"))
    m = fast(replay.url).matrices(BERLIN, Profile.CAR)
    assert m.durations.dtype == np.int64 and m.distances.dtype == np.int64
    assert m.durations.tolist() == [[0, 190, 375], [202, 0, U], [350, 226, 0]]
    assert m.distances.tolist() == [[0, 1901, 3781], [1836, 0, U], [3290, 2371, 0]]
    assert m.snap_m == (4.2, 2.8, 2.2)
    assert m.off_network == () and not m.estimated
    assert m.source == f"OSRM {replay.url} (profile driving)"
    (request,) = replay.requests
    assert request.path == (
        "/table/v1/driving/13.388860,52.517037;13.397634,52.529407;13.428555,52.523219"
    )
    assert request.query == {
        "sources": "0;1;2",
        "destinations": "0;1;2",
        "annotations": "duration,distance",
    }


def test_snap_distance_falls_back_on_the_snapped_location(replay: ReplayServer) -> None:
    """Without a waypoint ``distance`` the snap is measured to the waypoint's ``location``."""
    answer = load("osrm_table_example.json")
    assert isinstance(answer, dict)
    for waypoint in answer["sources"] + answer["destinations"]:
        del waypoint["distance"]
    replay.reply_next(200, answer)
    m = fast(replay.url).matrices(BERLIN, Profile.CAR)
    snapped = Location(52.517033, 13.388799)
    assert m.snap_m[0] == pytest.approx(BERLIN[0].distance_m(snapped), abs=0.05)
    assert all(0 < s < 5 for s in m.snap_m)


def test_parses_the_documented_route_answer(replay: ReplayServer) -> None:
    """A GeoJSON route answer becomes points from near the start to near the end."""
    replay.reply_next(200, load("osrm_route_example.json"))
    line = fast(replay.url).geometry(BERLIN[0], BERLIN[1], Profile.VAN)
    assert len(line) == 8
    assert line[0].distance_m(BERLIN[0]) < 10 and line[-1].distance_m(BERLIN[1]) < 10
    (request,) = replay.requests
    assert request.path == "/route/v1/driving/13.388860,52.517037;13.397634,52.529407"
    assert request.query["geometries"] == "geojson" and request.query["overview"] == "full"


def test_big_table_is_assembled_from_blocks_within_the_limit() -> None:
    """230 locations at --max-table-size 100: several requests, none over 100, same matrix."""
    locations = helsinki(230)
    with ReplayServer(osrm_max_table_size=100) as small:
        batched = fast(small.url, max_table_size=100).matrices(locations, Profile.CAR)
        sizes = [r.osrm_coordinates for r in small.requests]
    with ReplayServer(osrm_max_table_size=1000) as big:
        whole = fast(big.url, max_table_size=1000).matrices(locations, Profile.CAR)
        assert len(big.requests) == 1
    assert len(sizes) == 25 and max(sizes) <= 100
    np.testing.assert_array_equal(batched.durations, whole.durations)
    np.testing.assert_array_equal(batched.distances, whole.distances)
    assert batched.snap_m == whole.snap_m
    assert (batched.durations != batched.durations.T).any(), "the replay world is asymmetric"
    for i, j in [(0, 229), (117, 3), (64, 65)]:
        a, b = locations[i], locations[j]
        cell = expected_cell(World(), (a.lat, a.lon), (b.lat, b.lon))
        assert cell is not None
        assert batched.durations[i, j] == pytest.approx(cell[0], abs=1)
        assert batched.distances[i, j] == pytest.approx(cell[1], abs=1)


def test_a_point_against_many_asks_only_its_row_in_blocks() -> None:
    """1 x 230 at --max-table-size 100: five requests of at most 51 coordinates, not the square."""
    locations = helsinki(231)
    with ReplayServer(osrm_max_table_size=100) as server:
        provider = fast(server.url, max_table_size=100)
        row = provider.table(locations[:1], locations[1:], Profile.CAR)
        sizes = [r.osrm_coordinates for r in server.requests]
        whole = provider.matrices(locations, Profile.CAR)
    assert len(sizes) == 5 and max(sizes) <= 51
    assert row.durations.shape == (1, 230)
    np.testing.assert_array_equal(row.durations, whole.durations[:1, 1:])
    np.testing.assert_array_equal(row.distances, whole.distances[:1, 1:])


def test_a_table_cuts_off_a_far_source_and_a_far_target() -> None:
    """Off-network sources and targets are listed apart and their cells are UNREACHABLE."""
    world = World(land=(60.0, 24.0, 60.2, 26.0))
    near, far = [Location(60.15, 24.90), Location(60.12, 25.0)], Location(60.218, 24.95)
    with ReplayServer(world) as server:
        t = fast(server.url).table([near[0], far], [far, near[1]], Profile.CAR)
    assert (t.off_sources, t.off_targets) == ((1,), (0,))
    assert (t.durations[1] == U).all() and (t.durations[:, 0] == U).all()
    assert t.durations[0, 1] < U and t.distances[0, 1] < U


def test_one_location_is_asked_as_the_point_to_itself(replay: ReplayServer) -> None:
    """OSRM refuses a table of one coordinate: one point is asked twice, its snap kept."""
    point = helsinki(1)[0]
    m = fast(replay.url).matrices([point], Profile.CAR)
    assert m.durations.tolist() == m.distances.tolist() == [[0]]
    (request,) = replay.requests
    assert request.osrm_coordinates == 2
    assert m.snap_m[0] == pytest.approx(World().snap(point.lat, point.lon)[1], abs=0.5)


def test_table_within_the_limit_is_one_request(replay: ReplayServer) -> None:
    """Up to max_table_size locations go in a single request with every source and target."""
    m = fast(replay.url).matrices(helsinki(100), Profile.CAR)
    assert m.size == 100 and len(replay.requests) == 1
    assert replay.requests[0].osrm_coordinates == 100


def test_no_route_is_unreachable() -> None:
    """Pairs OSRM answers with null (here: across to an island) are UNREACHABLE both ways."""
    locations = [
        Location(60.16, 24.93),
        Location(60.17, 24.95),
        Location(60.30, 24.94),  # on the island
        Location(60.31, 24.96),  # on the island
    ]
    with ReplayServer(World(island_north_of=60.25)) as server:
        m = fast(server.url).matrices(locations, Profile.CAR)
    for i in range(4):
        for j in range(4):
            across = (i < 2) != (j < 2)
            assert (m.durations[i, j] == U) == across
            assert (m.distances[i, j] == U) == across
    assert (np.diag(m.durations) == 0).all() and m.off_network == ()


def test_far_location_is_off_network() -> None:
    """A stop 2 km from the nearest road is listed in off_network and cut from the matrix."""
    world = World(land=(60.0, 24.0, 60.2, 26.0))
    locations = [Location(60.15, 24.90), Location(60.218, 24.95), Location(60.12, 25.0)]
    with ReplayServer(world) as server:
        m = fast(server.url).matrices(locations, Profile.CAR)
        lenient = fast(server.url, max_snap_m=5_000).matrices(locations, Profile.CAR)
    assert m.off_network == (1,)
    assert m.snap_m[1] == pytest.approx(world.snap(60.218, 24.95)[1], abs=0.1)
    assert m.snap_m[1] > 1_900 and max(m.snap_m[0], m.snap_m[2]) < 20
    assert (m.durations[1, [0, 2]] == U).all() and (m.durations[[0, 2], 1] == U).all()
    assert (m.distances[1, [0, 2]] == U).all() and m.durations[1, 1] == 0
    assert m.durations[0, 2] < U
    assert lenient.off_network == () and lenient.durations[1, 0] < U


def test_retries_after_503_then_succeeds(replay: ReplayServer) -> None:
    """Two 503s then an answer: the provider retries and returns the matrix."""
    replay.fail_next(2, status=503)
    m = fast(replay.url, retries=2).matrices(BERLIN, Profile.CAR)
    assert len(replay.requests) == 3 and m.durations[0, 1] > 0


def test_gives_up_after_the_last_retry(replay: ReplayServer) -> None:
    """503 on every attempt is RouterUnavailableError naming the server and the status."""
    replay.fail_next(3, status=503)
    with pytest.raises(RouterUnavailableError) as caught:
        fast(replay.url, retries=2).matrices(BERLIN, Profile.CAR)
    assert replay.url in caught.value.message and "503" in caught.value.message
    assert caught.value.code == "router_unavailable" and caught.value.hint
    assert len(replay.requests) == 3


def test_server_down_is_unavailable() -> None:
    """A closed port is RouterUnavailableError with the URL and a hint to check the server."""
    url = closed_port_url()
    with pytest.raises(RouterUnavailableError) as caught:
        fast(url, retries=1).matrices(BERLIN, Profile.CAR)
    assert url in caught.value.message and "could not be reached" in caught.value.message
    assert caught.value.hint is not None and "running" in caught.value.hint


def test_timeout_is_unavailable(replay: ReplayServer) -> None:
    """A server that does not answer times out on each attempt, then RouterUnavailableError."""
    replay.hang_next(2, seconds=10)
    started = time.monotonic()
    with pytest.raises(RouterUnavailableError) as caught:
        fast(replay.url, timeout_s=0.2, retries=1).matrices(BERLIN, Profile.CAR)
    assert time.monotonic() - started < 5
    assert replay.url in caught.value.message and "0.2 s" in caught.value.message
    assert len(replay.requests) == 2


def test_error_body_is_a_router_error_with_code_and_message(replay: ReplayServer) -> None:
    """OSRM's {"code", "message"} error (HTTP 400) becomes RouterError quoting both."""
    replay.reply_next(400, load("osrm_error_example.json"))
    with pytest.raises(RouterError) as caught:
        fast(replay.url).matrices(BERLIN, Profile.CAR)
    assert not isinstance(caught.value, RouterUnavailableError)
    assert caught.value.code == "router"
    assert "InvalidQuery" in caught.value.message
    assert "Query string malformed close to position 36" in caught.value.message
    assert replay.url in caught.value.message and len(replay.requests) == 1


def test_table_larger_than_the_server_allows_is_refused() -> None:
    """max_table_size above the server's limit: OSRM's TooBig comes back with a hint."""
    with ReplayServer(osrm_max_table_size=100) as server, pytest.raises(RouterError) as caught:
        fast(server.url, max_table_size=150).matrices(helsinki(120), Profile.CAR)
    assert "TooBig" in caught.value.message
    assert caught.value.hint is not None and "max_table_size" in caught.value.hint


def test_non_json_answer_is_a_router_error(replay: ReplayServer) -> None:
    """An HTML page instead of JSON is a RouterError that says so."""
    replay.reply_next(200, "<html><body>It works!</body></html>", content_type="text/html")
    with pytest.raises(RouterError, match="not JSON"):
        fast(replay.url).matrices(BERLIN, Profile.CAR)


def test_unexpected_shape_is_a_router_error(replay: ReplayServer) -> None:
    """A table of the wrong size is a RouterError about the answer's shape."""
    replay.reply_next(200, {"code": "Ok", "durations": [[0]], "distances": [[0]]})
    with pytest.raises(RouterError, match="unexpected shape: durations should have 3 rows"):
        fast(replay.url).matrices(BERLIN, Profile.CAR)


def test_geometry_follows_the_road_from_start_to_end(replay: ReplayServer) -> None:
    """geometry() decodes the GeoJSON line: it starts near ``start`` and ends near ``end``."""
    start, end = Location(60.17, 24.94), Location(60.19, 24.97)
    line = fast(replay.url).geometry(start, end, Profile.BIKE)
    assert len(line) == 5
    assert line[0].distance_m(start) < 20 and line[-1].distance_m(end) < 20
    assert replay.requests[0].path.startswith("/route/v1/cycling/")


def test_geometry_without_route_is_a_router_error() -> None:
    """OSRM's NoRoute (start and end not connected) is a RouterError."""
    start, end = Location(60.2, 24.9), Location(60.3, 24.9)
    with (
        ReplayServer(World(island_north_of=60.25)) as server,
        pytest.raises(RouterError, match="NoRoute"),
    ):
        fast(server.url).geometry(start, end, Profile.CAR)


def test_profile_names_map_to_the_url(replay: ReplayServer) -> None:
    """Bike asks /table/v1/cycling, foot /walking; a mapping overrides the defaults."""
    fast(replay.url).matrices(BERLIN, Profile.BIKE)
    fast(replay.url).matrices(BERLIN, Profile.FOOT)
    custom = fast(replay.url, profile_names={Profile.VAN: "van"}).matrices(BERLIN, Profile.VAN)
    paths = [r.path.split("/")[3] for r in replay.requests]
    assert paths == ["cycling", "walking", "van"]
    assert custom.source.endswith("(profile van)")


def test_no_locations_needs_no_request(replay: ReplayServer) -> None:
    """An empty list gives empty matrices without asking the server."""
    m = fast(replay.url).matrices([], Profile.CAR)
    assert m.size == 0 and replay.requests == []


def test_bad_parameters_are_refused() -> None:
    """A table size below 2, a URL without scheme or a non-positive timeout is a ValueError."""
    with pytest.raises(ValueError):
        OsrmProvider("http://localhost:5000", max_table_size=1)
    with pytest.raises(ValueError):
        OsrmProvider("localhost:5000")
    with pytest.raises(ValueError):
        OsrmProvider("http://localhost:5000", timeout_s=0)
