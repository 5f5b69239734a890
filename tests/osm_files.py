"""Write small OpenStreetMap files for tests, with pyosmium."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import osmium

# A 100 m square block near Helsinki, corners 1-4 counter-clockwise from the south-west:
# 4 --- 3
# |     |
# 1 --- 2     with 2 -> 3 one-way (north only).
LAT0, LON0 = 60.17, 24.94
DLAT = 100 / 111_195  # 100 m north
DLON = 100 / (111_195 * 0.4975)  # 100 m east at 60.17 N
SQUARE_NODES: dict[int, tuple[float, float]] = {
    1: (LAT0, LON0),
    2: (LAT0, LON0 + DLON),
    3: (LAT0 + DLAT, LON0 + DLON),
    4: (LAT0 + DLAT, LON0),
}
SQUARE_WAYS: list[tuple[list[int], dict[str, str]]] = [
    ([1, 2], {"highway": "residential"}),
    ([2, 3], {"highway": "residential", "oneway": "yes"}),
    ([3, 4], {"highway": "residential"}),
    ([4, 1], {"highway": "residential"}),
]


def write_osm(
    path: Path,
    nodes: Mapping[int, tuple[float, float]],
    ways: Sequence[tuple[list[int], Mapping[str, str]]],
) -> Path:
    """Write ``nodes`` (id -> (lat, lon)) and ``ways`` ((node ids, tags)) to ``path``."""
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for node_id in sorted(nodes):
            lat, lon = nodes[node_id]
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat)))
        for way_id, (refs, tags) in enumerate(ways, start=1):
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=dict(tags)))
    return path


def write_square(path: Path, oneway: bool = True) -> Path:
    """The square block, with or without its one-way side."""
    ways = (
        SQUARE_WAYS if oneway else [(refs, {"highway": "residential"}) for refs, _ in SQUARE_WAYS]
    )
    return write_osm(path, SQUARE_NODES, ways)
