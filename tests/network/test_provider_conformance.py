"""The TravelTimeProvider conformance suite: one contract, checked against every provider.

Every router kind of :data:`doorstep.network.choose.ROUTERS` but ``pbf`` (the
bundled one is the same class on a smaller file) is built through
:func:`open_provider`, as both the command line and the service build them, and
must answer the same questions the same way: square whole-number matrices in
seconds and metres with zeros on the diagonal, tables from sources to targets
that are their rectangles, every profile, snap distances
and off-network points against the kind's default limit, geometry from start
to end, one leg per pair of stops, and an InputError for points that are not
coordinates. OSRM and Valhalla answer from the local replay server, in a toy
world whose roads cover central Helsinki only. The embedded OSRM
(``osrm-embedded``) routes the bundled extract and takes part wherever
``osrm-bindings`` imports (Python >= 3.12: ``scripts/test-osrm-embedded.sh``).

Kept fast: the providers are built once per module, on four points.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from doorstep.domain import Location, Profile
from doorstep.errors import InputError
from doorstep.network.choose import ROUTERS, RouterKind, open_provider
from doorstep.network.osm_provider import BUNDLED_PBF
from doorstep.network.osrm_embedded import require_osrm
from doorstep.network.provider import UNREACHABLE, TravelTimeProvider, both_ways
from network.replay_server import ReplayServer, World

POINTS = [
    Location(60.1699, 24.9384),
    Location(60.1668, 24.9441),
    Location(60.1725, 24.9470),
    Location(60.1650, 24.9500),
]
"""Street addresses in central Helsinki, inside the bundled extract."""

OFF = Location(60.2000, 24.9500)
"""About 2-3 km north of the bundled extract and of the replay world's roads."""

NOT_A_COORDINATE = Location(95.0, 24.94)

HELSINKI_ROADS = World(land=(60.16, 24.93, 60.18, 24.96))
"""The replay world's roads: central Helsinki, so that ``OFF`` lies far from them."""


def _osrm_embedded_installed() -> bool:
    """Whether the embedded OSRM can run here (Python >= 3.12 with the 'osrm' extra)."""
    try:
        require_osrm()
    except InputError:
        return False
    return True


EMBEDDED: tuple[RouterKind, ...] = ("osrm-embedded",) if _osrm_embedded_installed() else ()
"""The embedded OSRM joins wherever it imports: scripts/test-osrm-embedded.sh runs it on 3.12."""

KINDS: tuple[RouterKind, ...] = ("bundled", "straight", "osrm", "valhalla", *EMBEDDED)

SOURCES: dict[RouterKind, str] = {"osrm-embedded": str(BUNDLED_PBF)}
"""Sources of the kinds that need one and run without a server."""


@dataclass(frozen=True)
class Subject:
    """A provider under test, and what its router kind promises."""

    kind: RouterKind
    source: str
    provider: TravelTimeProvider
    server: ReplayServer | None

    @property
    def max_snap_m(self) -> float | None:
        """The kind's default snap limit (None: it does not attach points to roads)."""
        return ROUTERS[self.kind].max_snap_m

    @property
    def speeds_by_profile(self) -> bool:
        """Whether its speeds depend on the profile (the replay world's do not)."""
        return self.server is None


@pytest.fixture(scope="module")
def helsinki_server() -> Iterator[ReplayServer]:
    """One replay server for the module, with roads in central Helsinki only."""
    with ReplayServer(world=HELSINKI_ROADS) as server:
        yield server


@pytest.fixture(scope="module", params=KINDS)
def subject(request: pytest.FixtureRequest) -> Subject:
    """Each router kind's provider, built once per module the way both doors build it."""
    kind: RouterKind = request.param
    server = request.getfixturevalue("helsinki_server") if kind in ("osrm", "valhalla") else None
    source = server.url if server is not None else SOURCES.get(kind, "")
    return Subject(kind, source, open_provider(kind, source), server)


def test_provider_subclasses_the_protocol(subject: Subject) -> None:
    """Every provider names the protocol as its base, so the whole contract is explicit."""
    assert TravelTimeProvider in type(subject.provider).__mro__
    assert callable(subject.provider.route_geometry)


def test_matrices_are_square_whole_numbers_with_zero_diagonal(subject: Subject) -> None:
    """N points give N x N int64 durations and distances, 0 on the diagonal, > 0 elsewhere."""
    m = subject.provider.matrices(POINTS, Profile.VAN)
    n = len(POINTS)
    assert m.size == n
    for table in (m.durations, m.distances):
        assert table.shape == (n, n) and table.dtype == np.int64
        assert (np.diag(table) == 0).all()
        off_diagonal = table[~np.eye(n, dtype=bool)]
        assert (off_diagonal > 0).all() and (off_diagonal < UNREACHABLE).all()
    assert m.source and m.off_network == ()
    assert m.estimated == (subject.kind == "straight")


def test_no_point_and_one_point(subject: Subject) -> None:
    """No points give 0 x 0 matrices; one point gives [[0]]."""
    empty = subject.provider.matrices([], Profile.VAN)
    assert empty.durations.shape == empty.distances.shape == (0, 0)
    one = subject.provider.matrices(POINTS[:1], Profile.VAN)
    assert one.durations.tolist() == one.distances.tolist() == [[0]]


def test_units_are_seconds_and_metres(subject: Subject) -> None:
    """Distances are road metres (not below the crow-fly line), durations seconds at town speeds."""
    m = subject.provider.matrices(POINTS, Profile.VAN)
    snap = m.snap_m or (0.0,) * len(POINTS)
    for i, a in enumerate(POINTS):
        for j, b in enumerate(POINTS):
            if i == j:
                continue
            line = a.distance_m(b)
            metres, seconds = int(m.distances[i, j]), int(m.durations[i, j])
            assert line - snap[i] - snap[j] - 1 <= metres <= 4 * line + 1500
            assert 0.5 <= metres / seconds <= 30  # m/s: from walking pace to 108 km/h


def test_every_profile_is_answered_and_reaches_the_provider(subject: Subject) -> None:
    """Each profile gives a valid matrix; car, bike and foot are named apart in the source."""
    found = {profile: subject.provider.matrices(POINTS, profile) for profile in Profile}
    for m in found.values():
        assert m.durations.shape == (len(POINTS), len(POINTS))
        assert (np.diag(m.durations) == 0).all()
    assert len({found[p].source for p in (Profile.CAR, Profile.BIKE, Profile.FOOT)}) == 3
    if subject.speeds_by_profile:
        assert found[Profile.FOOT].durations.sum() > found[Profile.CAR].durations.sum()


def test_snap_distances_and_off_network_points(subject: Subject) -> None:
    """Snapping kinds report snap_m per point and list a point beyond their limit off-network."""
    m = subject.provider.matrices([*POINTS, OFF], Profile.VAN)
    off = len(POINTS)
    if subject.max_snap_m is None:
        assert m.snap_m == () and m.off_network == ()
        assert (m.durations[off, :off] < UNREACHABLE).all()
        return
    assert len(m.snap_m) == off + 1 and min(m.snap_m) >= 0
    assert max(m.snap_m[:off]) < subject.max_snap_m < m.snap_m[off]
    assert m.off_network == (off,)
    for table in (m.durations, m.distances):
        assert (table[off, :off] == UNREACHABLE).all() and (table[:off, off] == UNREACHABLE).all()
        assert table[off, off] == 0
        assert (table[:off, :off] < UNREACHABLE).all()


def test_a_table_is_the_rectangle_of_the_matrices(subject: Subject) -> None:
    """Sources x targets: the figures matrices gives those pairs, off-network points apart."""
    sources, targets = [POINTS[0], OFF], [*POINTS[1:], POINTS[0]]
    t = subject.provider.table(sources, targets, Profile.VAN)
    m = subject.provider.matrices([*sources, *targets], Profile.VAN)
    for got, whole in ((t.durations, m.durations), (t.distances, m.distances)):
        assert got.shape == (2, 4) and got.dtype == np.int64
        assert np.array_equal(got, whole[:2, 2:])
    assert t.durations[0, 3] == t.distances[0, 3] == 0  # the same point as source and target
    off = ((), ()) if subject.max_snap_m is None else ((1,), ())
    assert (t.off_sources, t.off_targets) == off
    assert t.source == m.source and t.estimated == m.estimated
    assert subject.provider.table([], POINTS, Profile.VAN).durations.shape == (0, 4)
    assert subject.provider.table(POINTS, [], Profile.VAN).distances.shape == (4, 0)


def test_both_ways_gives_the_two_rectangles(subject: Subject) -> None:
    """both_ways(a, b): a x b and b x a as matrices gives them, whichever way it asks."""
    first, second = [POINTS[0], OFF], POINTS[1:]
    ahead, back = both_ways(subject.provider, first, second, Profile.VAN)
    m = subject.provider.matrices([*first, *second], Profile.VAN)
    for got, whole in ((ahead, m.durations[:2, 2:]), (back, m.durations[2:, :2])):
        assert np.array_equal(got.durations, whole)
    assert np.array_equal(back.distances, m.distances[2:, :2])
    off = () if subject.max_snap_m is None else (1,)
    assert ahead.off_sources == back.off_targets == off
    assert ahead.off_targets == back.off_sources == ()


def test_geometry_runs_from_start_to_end(subject: Subject) -> None:
    """A leg's polyline has two points or more and begins and ends at (or near) its stops."""
    a, b = POINTS[0], POINTS[2]
    line = subject.provider.geometry(a, b, Profile.VAN)
    assert len(line) >= 2
    assert line[0].distance_m(a) < 50 and line[-1].distance_m(b) < 50


def test_route_geometry_gives_one_leg_per_pair_of_stops(subject: Subject) -> None:
    """route_geometry draws every leg, each from its stop to the next; under two stops, none."""
    legs = subject.provider.route_geometry(POINTS, Profile.VAN)
    assert len(legs) == len(POINTS) - 1
    for leg, (start, end) in zip(legs, itertools.pairwise(POINTS), strict=True):
        assert len(leg) >= 2
        assert leg[0].distance_m(start) < 50 and leg[-1].distance_m(end) < 50
    assert subject.provider.route_geometry(POINTS[:1], Profile.VAN) == []
    assert subject.provider.route_geometry([], Profile.VAN) == []


def test_points_that_are_not_coordinates_are_refused(subject: Subject) -> None:
    """A latitude beyond 90 is an InputError from every method, before any server is asked."""
    asked = len(subject.server.requests) if subject.server else 0
    with pytest.raises(InputError, match=r"location 1 .* not a WGS84 coordinate"):
        subject.provider.matrices([POINTS[0], NOT_A_COORDINATE], Profile.VAN)
    with pytest.raises(InputError, match="not a WGS84 coordinate"):
        subject.provider.geometry(POINTS[0], NOT_A_COORDINATE, Profile.VAN)
    with pytest.raises(InputError, match="not a WGS84 coordinate"):
        subject.provider.route_geometry([*POINTS, NOT_A_COORDINATE], Profile.VAN)
    with pytest.raises(InputError, match="not a WGS84 coordinate"):
        subject.provider.table(POINTS, [NOT_A_COORDINATE], Profile.VAN)
    assert (len(subject.server.requests) if subject.server else 0) == asked


def test_a_negative_snap_limit_is_refused(subject: Subject) -> None:
    """Asking any kind for a negative snap limit is an InputError, not a silent default."""
    with pytest.raises(InputError, match="snap limit"):
        open_provider(subject.kind, subject.source, max_snap_m=-1.0)
