"""Tests for the Valhalla provider, against the local replay server."""

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
from doorstep.network import UNREACHABLE, Matrices, TravelTimeProvider
from doorstep.network.valhalla import ValhallaProvider
from network.replay_server import ReplayServer, World, expected_cell

DATA = Path(__file__).parent.parent / "data"
U = UNREACHABLE

NEW_YORK = [
    Location(40.744014, -73.990508),
    Location(40.739735, -73.979713),
    Location(40.752522, -73.985015),
]
"""Three locations of the Valhalla matrix documentation's example request."""

DOCUMENTED_SECONDS = [[0, 1115, 1106], [1121, 0, U], [1101, 1530, 0]]
DOCUMENTED_METRES = [[0, 1548, 1536], [1557, 0, U], [1530, 2125, 0]]


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def helsinki(n: int, seed: int = 11) -> list[Location]:
    rng = np.random.default_rng(seed)
    lats = rng.uniform(60.15, 60.25, n)
    lons = rng.uniform(24.85, 25.05, n)
    return [Location(float(a), float(b)) for a, b in zip(lats, lons, strict=True)]


def fast(url: str, **kwargs: Any) -> ValhallaProvider:
    """A provider that does not wait between retries."""
    kwargs.setdefault("backoff_s", 0.0)
    kwargs.setdefault("timeout_s", 5.0)
    return ValhallaProvider(url, **kwargs)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_it_is_a_travel_time_provider() -> None:
    """The class satisfies the TravelTimeProvider protocol (checked by mypy too)."""
    provider: TravelTimeProvider = ValhallaProvider("http://localhost:8002")
    assert callable(provider.matrices) and callable(provider.geometry)


def test_parses_the_documented_matrix_answer(replay: ReplayServer) -> None:
    """Rows of {from_index, to_index, time, distance}: seconds, km -> m, null -> UNREACHABLE."""
    replay.reply_next(200, load("valhalla_matrix_example.json"))
    m = fast(replay.url).matrices(NEW_YORK, Profile.FOOT)
    assert m.durations.tolist() == DOCUMENTED_SECONDS
    assert m.distances.tolist() == DOCUMENTED_METRES
    snapped = Location(40.743991, -73.990467)
    assert m.snap_m[0] == pytest.approx(NEW_YORK[0].distance_m(snapped), abs=0.05)
    assert all(0 < s < 10 for s in m.snap_m) and m.off_network == ()
    assert m.source == f"Valhalla {replay.url} (costing pedestrian)"
    (request,) = replay.requests
    assert request.method == "POST" and request.path == "/sources_to_targets"
    assert request.body["costing"] == "pedestrian" and request.body["units"] == "kilometers"
    assert request.body["sources"][1] == {"lat": 40.739735, "lon": -73.979713}
    assert request.body["targets"] == request.body["sources"]


@pytest.mark.parametrize(
    "example", ["valhalla_matrix_concise_example.json", "valhalla_matrix_legacy_example.json"]
)
def test_parses_the_compact_and_the_old_matrix_forms(replay: ReplayServer, example: str) -> None:
    """``verbose: false`` arrays and old releases' nested sources give the same matrix."""
    replay.reply_next(200, load(example))
    m = fast(replay.url).matrices(NEW_YORK, Profile.FOOT)
    assert m.durations.tolist() == DOCUMENTED_SECONDS
    assert m.distances.tolist() == DOCUMENTED_METRES
    assert m.snap_m == (0.0, 0.0, 0.0)


def test_parses_the_documented_route_answer(replay: ReplayServer) -> None:
    """trip.legs[].shape (polyline6) decodes to points from near the start to near the end."""
    replay.reply_next(200, load("valhalla_route_example.json"))
    line = fast(replay.url).geometry(NEW_YORK[0], NEW_YORK[1], Profile.FOOT)
    assert line[0] == Location(40.743991, -73.990467)
    assert line[-1] == Location(40.739765, -73.979737)
    assert len(line) == 5
    (request,) = replay.requests
    assert request.path == "/route" and request.body["costing"] == "pedestrian"
    assert request.body["locations"] == [
        {"lat": 40.744014, "lon": -73.990508},
        {"lat": 40.739735, "lon": -73.979713},
    ]


def test_big_matrix_is_assembled_from_blocks_within_the_limit() -> None:
    """120 locations at 2,500 pairs a request: 50 x 50 blocks, and the same matrix as whole."""
    locations = helsinki(120)
    with ReplayServer(valhalla_max_pairs=2500) as small:
        batched = fast(small.url).matrices(locations, Profile.CAR)
        shapes = [r.valhalla_shape for r in small.requests]
    with ReplayServer(valhalla_max_pairs=1_000_000) as big:
        whole = fast(big.url, max_matrix_locations=500).matrices(locations, Profile.CAR)
        assert len(big.requests) == 1
    assert len(shapes) == 9
    assert all(s <= 50 and t <= 50 and s * t <= 2500 for s, t in shapes)
    np.testing.assert_array_equal(batched.durations, whole.durations)
    np.testing.assert_array_equal(batched.distances, whole.distances)
    assert batched.snap_m == whole.snap_m
    assert (batched.durations != batched.durations.T).any()
    for i, j in [(0, 119), (77, 4), (50, 49)]:
        a, b = locations[i], locations[j]
        cell = expected_cell(World(), (a.lat, a.lon), (b.lat, b.lon))
        assert cell is not None
        assert batched.durations[i, j] == pytest.approx(cell[0], abs=1)
        assert batched.distances[i, j] == pytest.approx(cell[1], abs=1)


ISLAND = [
    Location(60.16, 24.93),
    Location(60.30, 24.94),  # island
    Location(60.17, 24.95),
    Location(60.31, 24.96),  # island
    Location(60.18, 24.91),
]


def assert_island_cut(m: Matrices) -> None:
    """Pairs between the mainland and the island are UNREACHABLE, the others are not."""
    for i in range(5):
        for j in range(5):
            across = (ISLAND[i].lat > 60.25) != (ISLAND[j].lat > 60.25)
            assert (m.durations[i, j] == U) == across, (i, j)
            assert (m.distances[i, j] == U) == across, (i, j)


def test_no_path_is_unreachable() -> None:
    """Null time/distance (no path to the island) becomes UNREACHABLE, both ways."""
    with ReplayServer(World(island_north_of=60.25)) as server:
        m = fast(server.url).matrices(ISLAND, Profile.CAR)
    assert_island_cut(m)
    assert (np.diag(m.durations) == 0).all() and m.off_network == ()


def test_block_without_any_path_is_unreachable() -> None:
    """Error 442 for a whole block (mainland x island) leaves that block UNREACHABLE."""
    with ReplayServer(World(island_north_of=60.25)) as server:
        m = fast(server.url, max_matrix_locations=1).matrices(ISLAND, Profile.CAR)
        assert len(server.requests) == 25
    assert_island_cut(m)


@pytest.mark.parametrize("block", [50, 3])
def test_unconnected_regions_are_asked_region_by_region(block: int) -> None:
    """Error 170 (unconnected regions): each region is asked alone; the result is the same."""
    world = World(island_north_of=60.25)
    with ReplayServer(world, valhalla_connectivity=True) as strict:
        m = fast(strict.url, max_matrix_locations=block).matrices(ISLAND, Profile.CAR)
        asked = len(strict.requests)
    with ReplayServer(world) as lenient:
        reference = fast(lenient.url).matrices(ISLAND, Profile.CAR)
    assert_island_cut(m)
    np.testing.assert_array_equal(m.durations, reference.durations)
    np.testing.assert_array_equal(m.distances, reference.distances)
    assert 1 < asked < 25, "fewer requests than asking pair by pair"
    if block == 50:
        assert asked == 1 + 5 + 2, "the failed block, a probe per location, one per region"


def test_a_table_asks_only_its_cells_in_blocks_and_splits_regions() -> None:
    """1 x 120 at 50 a side: three requests of one source; unconnected regions as in matrices."""
    locations = helsinki(121)
    with ReplayServer(valhalla_max_pairs=2500) as small:
        row = fast(small.url).table(locations[:1], locations[1:], Profile.CAR)
        shapes = [r.valhalla_shape for r in small.requests]
        whole = fast(small.url).matrices(locations, Profile.CAR)
    assert shapes == [(1, 50), (1, 50), (1, 20)]
    np.testing.assert_array_equal(row.durations, whole.durations[:1, 1:])
    np.testing.assert_array_equal(row.distances, whole.distances[:1, 1:])
    world = World(island_north_of=60.25)
    with ReplayServer(world, valhalla_connectivity=True) as strict:
        cut = fast(strict.url).table(ISLAND[:2], ISLAND[2:], Profile.CAR)
    for i in range(2):
        for j in range(3):
            across = (ISLAND[i].lat > 60.25) != (ISLAND[2 + j].lat > 60.25)
            assert (cut.durations[i, j] == U) == across, (i, j)


def test_far_location_is_off_network() -> None:
    """A stop 2 km from its road is listed in off_network and cut from the matrix."""
    world = World(land=(60.0, 24.0, 60.2, 26.0))
    locations = [Location(60.15, 24.90), Location(60.218, 24.95), Location(60.12, 25.0)]
    with ReplayServer(world) as server:
        m = fast(server.url).matrices(locations, Profile.CAR)
    assert m.off_network == (1,)
    assert m.snap_m[1] == pytest.approx(world.snap(60.218, 24.95)[1], abs=0.5)
    assert (m.durations[1, [0, 2]] == U).all() and (m.durations[[0, 2], 1] == U).all()
    assert m.durations[1, 1] == 0 and m.durations[0, 2] < U


def test_location_beyond_the_search_cutoff_is_a_router_error() -> None:
    """Error 171 (no road within 35 km) is a RouterError quoting code and message, with a hint."""
    world = World(land=(60.0, 24.0, 60.2, 26.0))
    locations = [Location(60.15, 24.90), Location(60.6, 24.95)]
    with ReplayServer(world) as server, pytest.raises(RouterError) as caught:
        fast(server.url).matrices(locations, Profile.CAR)
    assert "171" in caught.value.message and "No suitable edges" in caught.value.message
    assert caught.value.hint is not None and "search_cutoff" in caught.value.hint


def test_retries_after_503_then_succeeds(replay: ReplayServer) -> None:
    """A 503 then an answer: the provider retries and returns the matrix."""
    replay.fail_next(1, status=503)
    m = fast(replay.url, retries=1).matrices(NEW_YORK, Profile.CAR)
    assert len(replay.requests) == 2 and m.durations[0, 1] > 0


def test_gives_up_after_the_last_retry(replay: ReplayServer) -> None:
    """502 on every attempt is RouterUnavailableError naming the server."""
    replay.fail_next(2, status=502)
    with pytest.raises(RouterUnavailableError) as caught:
        fast(replay.url, retries=1).matrices(NEW_YORK, Profile.CAR)
    assert replay.url in caught.value.message and "502" in caught.value.message


def test_server_down_is_unavailable() -> None:
    """A closed port is RouterUnavailableError with the URL."""
    url = closed_port_url()
    with pytest.raises(RouterUnavailableError) as caught:
        fast(url, retries=0).geometry(NEW_YORK[0], NEW_YORK[1], Profile.CAR)
    assert url in caught.value.message and caught.value.hint


def test_timeout_is_unavailable(replay: ReplayServer) -> None:
    """A server that does not answer within timeout_s is RouterUnavailableError."""
    replay.hang_next(1, seconds=10)
    started = time.monotonic()
    with pytest.raises(RouterUnavailableError) as caught:
        fast(replay.url, timeout_s=0.2, retries=0).matrices(NEW_YORK, Profile.CAR)
    assert time.monotonic() - started < 5
    assert replay.url in caught.value.message and "did not answer" in caught.value.message


def test_error_body_is_a_router_error_with_code_and_message(replay: ReplayServer) -> None:
    """Valhalla's {"error_code", "error"} body becomes RouterError quoting both."""
    replay.reply_next(400, load("valhalla_error_example.json"))
    with pytest.raises(RouterError) as caught:
        fast(replay.url).matrices(NEW_YORK, Profile.CAR)
    assert not isinstance(caught.value, RouterUnavailableError)
    assert "error 171: No suitable edges near location" in caught.value.message
    assert replay.url in caught.value.message


def test_matrix_larger_than_the_server_allows_is_refused() -> None:
    """max_matrix_locations above the server's pair limit: error 150 with a hint."""
    with (
        ReplayServer(valhalla_max_pairs=2500) as server,
        pytest.raises(RouterError, match="150") as caught,
    ):
        fast(server.url, max_matrix_locations=60).matrices(helsinki(60), Profile.CAR)
    assert caught.value.hint is not None and "max_matrix_locations" in caught.value.hint


def test_unexpected_shape_is_a_router_error(replay: ReplayServer) -> None:
    """A matrix with a missing row is a RouterError about the answer's shape."""
    replay.reply_next(200, {"sources_to_targets": [[]], "units": "kilometers"})
    with pytest.raises(RouterError, match="unexpected shape"):
        fast(replay.url).matrices(NEW_YORK, Profile.CAR)


def test_geometry_follows_the_road_from_start_to_end(replay: ReplayServer) -> None:
    """geometry() decodes the polyline6 shape: it starts near ``start`` and ends near ``end``."""
    start, end = Location(60.17, 24.94), Location(60.19, 24.97)
    line = fast(replay.url).geometry(start, end, Profile.BIKE)
    assert len(line) == 5
    assert line[0].distance_m(start) < 20 and line[-1].distance_m(end) < 20
    assert replay.requests[0].body["costing"] == "bicycle"


def test_geometry_without_path_is_a_router_error() -> None:
    """Error 442 for a route is a RouterError."""
    start, end = Location(60.2, 24.9), Location(60.3, 24.9)
    with (
        ReplayServer(World(island_north_of=60.25)) as server,
        pytest.raises(RouterError, match="442"),
    ):
        fast(server.url).geometry(start, end, Profile.CAR)


def test_costing_follows_the_profile(replay: ReplayServer) -> None:
    """Car and van use auto, bike bicycle, foot pedestrian; a mapping overrides them."""
    for profile in Profile:
        fast(replay.url).matrices(NEW_YORK[:2], profile)
    fast(replay.url, costing={Profile.VAN: "truck"}).matrices(NEW_YORK[:2], Profile.VAN)
    costings = [r.body["costing"] for r in replay.requests]
    assert costings == ["auto", "auto", "bicycle", "pedestrian", "truck"]


def test_bad_parameters_are_refused() -> None:
    """A block size below 1, a URL without scheme or a negative snap limit is a ValueError."""
    with pytest.raises(ValueError):
        ValhallaProvider("http://localhost:8002", max_matrix_locations=0)
    with pytest.raises(ValueError):
        ValhallaProvider("ftp://localhost:8002")
    with pytest.raises(ValueError):
        ValhallaProvider("http://localhost:8002", max_snap_m=-1)


def test_route_geometry_batches_legs_within_the_route_limit(replay: ReplayServer) -> None:
    """25 stops: 24 legs from 2 route requests of at most 20 locations, sharing one stop."""
    stops = helsinki(25)
    legs = fast(replay.url).route_geometry(stops, Profile.VAN)
    assert len(legs) == 24
    sizes = [len(r.body["locations"]) for r in replay.requests if r.path == "/route"]
    assert sizes == [20, 6]
    for leg, start, end in zip(legs, stops, stops[1:], strict=False):
        assert leg[0].distance_m(start) < 50 and leg[-1].distance_m(end) < 50
