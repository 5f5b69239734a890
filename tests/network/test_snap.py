"""Tests for attaching stops to the nearest road segment."""

from pathlib import Path

import numpy as np
import pytest

from doorstep.domain import Profile
from doorstep.network.osm_graph import read_road_graph
from doorstep.network.osm_provider import BUNDLED_PBF
from doorstep.network.snap import Snapper
from doorstep.units import EARTH_RADIUS_M
from osm_files import DLAT, DLON, LAT0, LON0, write_square


def test_distance_to_a_side_of_the_square(tmp_path: Path) -> None:
    """A point 30 m south of the south side's middle snaps onto it, 30 m away, at half way."""
    graph = read_road_graph(write_square(tmp_path / "sq.osm.pbf"), Profile.CAR)
    snaps = Snapper(graph).snap(np.array([LAT0 - 0.3 * DLAT]), np.array([LON0 + 0.5 * DLON]))
    assert abs(snaps.distance_m[0] - 30) < 0.5
    ends = sorted((float(graph.lon[snaps.tail[0]]), float(graph.lon[snaps.head[0]])))
    assert ends == pytest.approx([LON0, LON0 + DLON], abs=1e-6)
    west_first = abs(graph.lon[snaps.tail[0]] - LON0) < 1e-6
    along = snaps.fraction[0] if west_first else 1 - snaps.fraction[0]
    assert abs(along - 0.5) < 0.01
    assert abs(snaps.lat[0] - LAT0) < 1e-7


def test_matches_brute_force_nearest_segment_in_helsinki() -> None:
    """For random points, the snap distance equals the exact minimum over all segments."""
    graph = read_road_graph(BUNDLED_PBF, Profile.BIKE)
    rng = np.random.default_rng(4)
    lat = rng.uniform(graph.lat.min(), graph.lat.max(), 60)
    lon = rng.uniform(graph.lon.min(), graph.lon.max(), 60)
    snaps = Snapper(graph).snap(lat, lon)
    lat0 = np.radians(graph.lat.mean())
    x = np.radians(graph.lon) * np.cos(lat0) * EARTH_RADIUS_M
    y = np.radians(graph.lat) * EARTH_RADIUS_M
    ax, ay, bx, by = x[graph.tail], y[graph.tail], x[graph.head], y[graph.head]
    for i in range(lat.shape[0]):
        px = np.radians(lon[i]) * np.cos(lat0) * EARTH_RADIUS_M
        py = np.radians(lat[i]) * EARTH_RADIUS_M
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        exact = np.hypot(px - ax - t * dx, py - ay - t * dy).min()
        assert abs(snaps.distance_m[i] - exact) < 0.01
