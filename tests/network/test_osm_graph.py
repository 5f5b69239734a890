"""Tests for reading OpenStreetMap files into road graphs."""

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from doorstep.domain import Profile
from doorstep.errors import CorruptFileError, RoadNetworkError
from doorstep.network.osm_graph import RoadGraph, network_info, read_road_graph
from doorstep.network.osm_provider import BUNDLED_PBF
from osm_files import SQUARE_NODES, write_osm, write_square


def arcs(graph: RoadGraph) -> set[tuple[int, int]]:
    return set(zip(graph.tail.tolist(), graph.head.tolist(), strict=True))


def test_one_way_side_has_one_arc(tmp_path: Path) -> None:
    """The square's one-way side gives one arc for a car and two for a walker."""
    pbf = write_square(tmp_path / "square.osm.pbf")
    car = read_road_graph(pbf, Profile.CAR)
    assert car.node_count == 4 and car.arc_count == 7
    foot = read_road_graph(pbf, Profile.FOOT)
    assert foot.arc_count == 8
    lengths = car.length_m
    assert np.allclose(lengths, 100, atol=0.5)


def test_only_the_largest_strongly_connected_part_is_kept(tmp_path: Path) -> None:
    """A dead-end one-way spur cannot be left, so its node is dropped and counted."""
    nodes = {**SQUARE_NODES, 5: (60.171, 24.938)}
    ways = [
        ([1, 2, 3, 4, 1], {"highway": "residential"}),
        ([1, 5], {"highway": "residential", "oneway": "yes"}),
    ]
    graph = read_road_graph(write_osm(tmp_path / "spur.osm.pbf", nodes, ways), Profile.CAR)
    assert graph.node_count == 4 and graph.dropped_nodes == 1


@pytest.mark.parametrize("profile", list(Profile))
def test_bundled_helsinki_is_strongly_connected(profile: Profile) -> None:
    """Every profile's Helsinki graph is one strongly connected part with sane arcs."""
    graph = read_road_graph(BUNDLED_PBF, profile)
    n = graph.node_count
    adjacency = coo_matrix((np.ones(graph.arc_count), (graph.tail, graph.head)), shape=(n, n))
    assert connected_components(adjacency, directed=True, connection="strong")[0] == 1
    assert n > 1000
    assert (graph.length_m > 0).all() and (graph.length_m < 2000).all()
    assert (graph.lat > 60.16).all() and (graph.lat < 60.18).all()


def test_helsinki_car_graph_has_one_way_streets_and_foot_graph_does_not() -> None:
    """Central Helsinki has one-way streets for cars; on foot every arc has its reverse."""
    car = arcs(read_road_graph(BUNDLED_PBF, Profile.CAR))
    assert sum((h, t) not in car for t, h in car) > 50
    foot = arcs(read_road_graph(BUNDLED_PBF, Profile.FOOT))
    assert all((h, t) in foot for t, h in foot)


def test_network_info_of_bundled_extract() -> None:
    """Nodes, edges, km of road and the bounding box of central Helsinki."""
    info = network_info(BUNDLED_PBF)
    assert info.nodes > 5000 and info.edges > info.nodes
    assert 50 < info.road_km < 200
    min_lat, min_lon, max_lat, max_lon = info.bbox
    assert 60.15 < min_lat < max_lat < 60.19 and 24.92 < min_lon < max_lon < 24.97
    assert info.ways_per_class["residential"] > 0


def test_unreadable_and_roadless_files(tmp_path: Path) -> None:
    """A missing or corrupt file, and a file with no road for the profile, fail clearly."""
    with pytest.raises(CorruptFileError, match="no such file"):
        read_road_graph(tmp_path / "nope.osm.pbf", Profile.CAR)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"this is not a protobuf file at all" * 10)
    with pytest.raises(CorruptFileError):
        read_road_graph(junk, Profile.CAR)
    paths = write_osm(
        tmp_path / "paths.osm.pbf", SQUARE_NODES, [([1, 2, 3], {"highway": "footway"})]
    )
    with pytest.raises(RoadNetworkError, match="car"):
        read_road_graph(paths, Profile.CAR)
    assert read_road_graph(paths, Profile.FOOT).node_count == 3
