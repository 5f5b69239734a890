"""Tests for the synthetic city generator of the benchmarks (bench/synthetic_city.py)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import osmium
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "synthetic_city.py"
CENTRE = (60.17, 24.94)
TARGET = 2_000
CLASSES = {
    "residential",
    "tertiary",
    "secondary",
    "primary",
    "motorway",
    "motorway_link",
    "trunk",
    "service",
    "living_street",
    "footway",
    "cycleway",
    "pedestrian",
    "track",
}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthetic_city", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


synthetic_city = _load()


class _City:
    """What a small city file contains, read back with pyosmium."""

    def __init__(self, path: Path) -> None:
        self.nodes: dict[int, tuple[float, float]] = {}
        self.node_order: list[int] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        for obj in osmium.FileProcessor(str(path)):
            if obj.is_node():
                self.nodes[obj.id] = (obj.location.lat, obj.location.lon)
                self.node_order.append(obj.id)
            elif obj.is_way():
                refs = [n.ref for n in obj.nodes]
                self.ways.append((obj.id, refs, dict(obj.tags)))


SmallCity = tuple[Path, dict[str, int], _City]


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> SmallCity:
    path = tmp_path_factory.mktemp("city") / "small.osm.pbf"
    counts = synthetic_city.write_synthetic_city(path, target_nodes=TARGET, seed=7, centre=CENTRE)
    return path, counts, _City(path)


def test_node_count_near_target_and_counts_match_file(small_city: SmallCity) -> None:
    """About target_nodes nodes (within 30%); the returned counts describe the file."""
    _, counts, city = small_city
    assert abs(counts["nodes"] - TARGET) <= 0.3 * TARGET
    assert counts["nodes"] == len(city.nodes)
    assert counts["ways"] == len(city.ways)
    assert 0.8 * counts["nodes"] <= counts["road_nodes"] <= counts["nodes"]
    assert counts["car_arcs"] > counts["road_nodes"]


def test_ids_positive_increasing_and_refs_exist(small_city: SmallCity) -> None:
    """Node and way ids are positive and increasing; every way node was written, and is used."""
    _, _, city = small_city
    assert city.node_order[0] > 0
    assert city.node_order == sorted(set(city.node_order))
    way_ids = [wid for wid, _, _ in city.ways]
    assert way_ids[0] > 0
    assert way_ids == sorted(set(way_ids))
    referenced = {ref for _, refs, _ in city.ways for ref in refs}
    assert referenced <= city.nodes.keys()
    assert referenced == city.nodes.keys()
    assert all(len(refs) >= 2 for _, refs, _ in city.ways)


def test_every_highway_class_appears(small_city: SmallCity) -> None:
    """The road hierarchy is there, from motorway to track, with its usual tags."""
    _, _, city = small_city
    classes = {tags.get("highway") for _, _, tags in city.ways}
    assert classes >= CLASSES
    assert {"maxspeed", "name", "oneway"} <= {key for _, _, tags in city.ways for key in tags}
    assert any(tags.get("access") == "private" for _, _, tags in city.ways)


def test_some_ways_are_oneway(small_city: SmallCity) -> None:
    """Motorway carriageways and some streets are one-way; streets show both directions."""
    _, _, city = small_city
    oneway = [tags for _, _, tags in city.ways if tags.get("oneway") in ("yes", "-1")]
    assert any(tags["highway"] == "motorway" for tags in oneway)
    assert any(tags["highway"] in ("residential", "tertiary") for tags in oneway)
    assert all(
        tags.get("oneway") == "yes" for _, _, tags in city.ways if tags["highway"] == "motorway"
    )


def test_streets_share_intersection_nodes(small_city: SmallCity) -> None:
    """Ways are joined at shared nodes, and long streets span several intersections."""
    _, _, city = small_city
    uses: dict[int, int] = {}
    for _, refs, _ in city.ways:
        for ref in set(refs):
            uses[ref] = uses.get(ref, 0) + 1
    shared = sum(1 for n in uses.values() if n >= 2)
    assert shared > 0.5 * len(city.nodes)
    primary = [refs for _, refs, tags in city.ways if tags["highway"] == "primary"]
    assert max(len(refs) for refs in primary) >= 5


def test_coordinates_near_the_centre(small_city: SmallCity) -> None:
    """All nodes lie within 5 km of the centre, and the city is spread around it."""
    _, _, city = small_city
    lat0, lon0 = CENTRE
    kx = 111_195.0 * math.cos(math.radians(lat0))
    dists = [
        math.hypot((lat - lat0) * 111_195.0, (lon - lon0) * kx) for lat, lon in city.nodes.values()
    ]
    assert max(dists) < 5_000
    assert min(dists) < 200
    lats = [lat for lat, _ in city.nodes.values()]
    lons = [lon for _, lon in city.nodes.values()]
    assert min(lats) < lat0 < max(lats)
    assert min(lons) < lon0 < max(lons)


def test_same_seed_same_bytes(small_city: SmallCity, tmp_path: Path) -> None:
    """The same seed writes a byte-identical file; another seed writes a different city."""
    path, counts, _ = small_city
    again = tmp_path / "again.osm.pbf"
    assert synthetic_city.write_synthetic_city(again, target_nodes=TARGET, seed=7) == counts
    assert again.read_bytes() == path.read_bytes()
    other = tmp_path / "other.osm.pbf"
    synthetic_city.write_synthetic_city(other, target_nodes=TARGET, seed=8)
    assert other.read_bytes() != path.read_bytes()


def test_cli_prints_counts_and_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command line writes the file and reports the counts and the file size."""
    out = tmp_path / "cli.osm.pbf"
    assert synthetic_city.main([str(out), "--nodes", "500", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "nodes" in printed and "road_nodes" in printed
    assert f"{out.stat().st_size:,} bytes" in printed
