"""Tests for road travel times from OpenStreetMap files (the embedded default provider)."""

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

from doorstep.domain import Location, Profile
from doorstep.network import UNREACHABLE, TravelTimeProvider, cch
from doorstep.network import osm_provider as module
from doorstep.network.cache import DiskCache
from doorstep.network.osm_provider import OsmProvider
from doorstep.network.traffic import URBAN_WEEKDAY
from doorstep.units import haversine_m
from manifests import REPO
from osm_files import DLAT, DLON, LAT0, LON0, write_square

# On the square's one-way east side (north only): A at a quarter, B at three quarters.
A = Location(LAT0 + 0.25 * DLAT, LON0 + DLON + 0.00005)
B = Location(LAT0 + 0.75 * DLAT, LON0 + DLON + 0.00005)
WEST = Location(LAT0 + 0.5 * DLAT, LON0 - 0.00005)


def helsinki_addresses(count: int = 120) -> list[Location]:
    with (REPO / "examples" / "helsinki" / "addresses.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [Location(float(r["lat"]), float(r["lon"])) for r in rows]


@pytest.fixture
def cache(tmp_path: Path) -> DiskCache:
    return DiskCache(tmp_path / "cache")


def test_it_is_a_travel_time_provider(cache: DiskCache) -> None:
    """The class satisfies the protocol; an empty list gives empty matrices."""
    provider: TravelTimeProvider = OsmProvider(cache=cache)
    m = provider.matrices([], Profile.CAR)
    assert m.durations.shape == (0, 0)


def test_one_way_street_gives_asymmetric_times(tmp_path: Path, cache: DiskCache) -> None:
    """Along the one-way side A->B is 50 m; B->A must go round the block, 350 m."""
    provider = OsmProvider(write_square(tmp_path / "sq.osm.pbf"), cache=cache)
    m = provider.matrices([A, B, WEST], Profile.CAR)
    assert m.distances[0, 1] == pytest.approx(50, abs=1)
    assert m.distances[1, 0] == pytest.approx(350, abs=1)
    assert m.durations[1, 0] > 6 * m.durations[0, 1]
    # To the west side's middle both must go north first: A 75 + 100 + 50, B 25 + 100 + 50.
    assert m.distances[0, 2] == pytest.approx(225, abs=1)
    assert m.distances[1, 2] == pytest.approx(175, abs=1)
    walk = provider.matrices([A, B], Profile.FOOT)
    assert walk.distances[1, 0] == walk.distances[0, 1] == pytest.approx(50, abs=1)
    assert not m.estimated and "sq.osm.pbf" in m.source


def test_a_table_along_a_one_way_street_searches_only_from_its_sources(
    tmp_path: Path, cache: DiskCache
) -> None:
    """A and B share the one-way side: 50 m one way, round the block the other, as in matrices."""
    provider = OsmProvider(write_square(tmp_path / "sq.osm.pbf"), cache=cache)
    there = provider.table([A], [B, WEST, A], Profile.CAR)
    back = provider.table([B, WEST], [A], Profile.CAR)
    assert there.distances[0].tolist() == pytest.approx([50, 225, 0], abs=1)
    assert back.distances[:, 0].tolist() == pytest.approx([350, 175], abs=1)
    whole = provider.matrices([A, B, WEST], Profile.CAR)
    assert there.durations[0, :2].tolist() == whole.durations[0, 1:].tolist()
    assert back.durations[:, 0].tolist() == whole.durations[1:, 0].tolist()


def test_tables_are_rectangles_of_the_matrices_on_real_streets(cache: DiskCache) -> None:
    """120 Helsinki addresses (several on one street segment) cut at three places: same figures."""
    provider = OsmProvider(cache=cache, cache_matrices=False)
    points = helsinki_addresses()
    points += [points[5], points[40]]  # the same address as a source and as a target
    whole = provider.matrices(points, Profile.VAN)
    for cut in (1, 7, 60):
        t = provider.table(points[:cut], points[cut:], Profile.VAN)
        assert np.array_equal(t.durations, whole.durations[:cut, cut:])
        assert np.array_equal(t.distances, whole.distances[:cut, cut:])
    assert np.array_equal(
        provider.table(points[-2:], points[:41], Profile.VAN).durations,
        whole.durations[-2:, :41],
    )


def test_road_distance_never_below_great_circle_in_helsinki(cache: DiskCache) -> None:
    """Between the road points of real addresses, road distance >= great-circle distance."""
    provider = OsmProvider(cache=cache)
    locations = helsinki_addresses()
    for profile in (Profile.CAR, Profile.BIKE, Profile.FOOT):
        m = provider.matrices(locations, profile)
        snaps = provider.snap(locations, profile)
        assert not m.off_network and (m.durations < UNREACHABLE).all()
        for i in range(len(locations)):
            gc = [
                haversine_m(snaps.lat[i], snaps.lon[i], la, lo)
                for la, lo in zip(snaps.lat, snaps.lon, strict=True)
            ]
            assert (m.distances[i] >= np.floor(np.array(gc)) - 1).all()
        assert (np.diag(m.durations) == 0).all()
        assert m.snap_m == pytest.approx(tuple(snaps.distance_m))


def test_believable_city_speeds(cache: DiskCache) -> None:
    """Cars and vans cross central Helsinki at 15-40 km/h on average, walkers at 5."""
    locations = helsinki_addresses(80)
    provider = OsmProvider(cache=cache)
    for profile, low, high in (
        (Profile.CAR, 15, 40),
        (Profile.VAN, 12, 36),
        (Profile.FOOT, 4.5, 5.5),
    ):
        m = provider.matrices(locations, profile)
        far = m.distances > 500
        kmh = np.median(m.distances[far] / m.durations[far] * 3.6)
        assert low < kmh < high, (profile, kmh)


def test_far_point_is_reported_off_network(cache: DiskCache) -> None:
    """A point 3 km out of the extract is listed, unreachable both ways, zero to itself."""
    locations = [*helsinki_addresses(3), Location(60.2, 24.95)]
    m = OsmProvider(cache=cache).matrices(locations, Profile.CAR)
    assert m.off_network == (3,)
    assert m.snap_m[3] > 2000
    assert (m.durations[3, :3] == UNREACHABLE).all() and (m.durations[:3, 3] == UNREACHABLE).all()
    assert m.durations[3, 3] == 0
    assert (m.durations[:3, :3] < UNREACHABLE).all()


def test_cache_is_reused_and_invalidated(
    tmp_path: Path, cache: DiskCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same file and profile: read from disk; new file content or profile: prepared anew."""
    pbf = write_square(tmp_path / "sq.osm.pbf")
    before = OsmProvider(pbf, cache=cache).matrices([A, B], Profile.CAR)
    assert len(cache.entries("networks")) == 1 and len(cache.entries("matrices")) == 1

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(module, "read_road_graph", refuse)
    monkeypatch.setattr(cch, "many_to_many", refuse)
    again = OsmProvider(pbf, cache=cache).matrices([A, B], Profile.CAR)
    assert np.array_equal(again.durations, before.durations)
    monkeypatch.undo()

    write_square(pbf, oneway=False)  # same name, new content
    after = OsmProvider(pbf, cache=cache).matrices([A, B], Profile.CAR)
    assert len(cache.entries("networks")) == 2
    assert after.distances[1, 0] == pytest.approx(50, abs=1) != before.distances[1, 0]
    OsmProvider(pbf, cache=cache).matrices([A, B], Profile.BIKE)
    assert len(cache.entries("networks")) == 3
    OsmProvider(pbf, cache=cache, speeds={Profile.BIKE: {"residential": 9}}).matrices(
        [A, B], Profile.BIKE
    )
    assert len(cache.entries("networks")) == 4


def test_rush_hour_is_slower_than_night(cache: DiskCache) -> None:
    """With the urban-weekday profile, 08:00 matrices are slower than 03:00 ones, never faster."""
    locations = helsinki_addresses(60)
    peak = OsmProvider(cache=cache, traffic=URBAN_WEEKDAY, departure_hour=8).matrices(
        locations, Profile.VAN
    )
    night = OsmProvider(cache=cache, traffic=URBAN_WEEKDAY, departure_hour=3).matrices(
        locations, Profile.VAN
    )
    plain = OsmProvider(cache=cache).matrices(locations, Profile.VAN)
    assert np.array_equal(night.durations, plain.durations)
    assert (peak.durations >= night.durations).all()
    assert peak.durations.sum() > 1.1 * night.durations.sum()
    assert "08:00" in peak.source
    with pytest.raises(ValueError):
        OsmProvider(traffic=URBAN_WEEKDAY)


def test_geometry_follows_the_road(tmp_path: Path, cache: DiskCache) -> None:
    """B->A on the square goes round the block: its polyline is about 350 m of road."""
    provider = OsmProvider(write_square(tmp_path / "sq.osm.pbf"), cache=cache)
    line = provider.geometry(B, A, Profile.CAR)
    assert line[0] == B and line[-1] == A
    road = line[1:-1]
    length = sum(haversine_m(p.lat, p.lon, q.lat, q.lon) for p, q in itertools.pairwise(road))
    assert length == pytest.approx(350, abs=2)
    direct = provider.geometry(A, B, Profile.CAR)
    assert len(direct) == 4  # along one segment: no node between
    far = Location(60.2, 24.95)
    assert provider.geometry(A, far, Profile.CAR) == [A, far]


def test_route_geometry_matches_leg_by_leg(cache: DiskCache) -> None:
    """The batched route geometry equals asking leg by leg, and follows the matrix's road."""
    provider = OsmProvider(cache=cache)
    stops = helsinki_addresses(12)
    legs = provider.route_geometry(stops, Profile.VAN)
    assert len(legs) == len(stops) - 1
    m = provider.matrices(stops, Profile.VAN)
    for k, leg in enumerate(legs):
        assert leg == provider.geometry(stops[k], stops[k + 1], Profile.VAN)
        assert leg[0] == stops[k] and leg[-1] == stops[k + 1]
        road = leg[1:-1]
        length = sum(haversine_m(p.lat, p.lon, q.lat, q.lon) for p, q in itertools.pairwise(road))
        assert length == pytest.approx(m.distances[k, k + 1], abs=2 + 0.002 * length)
