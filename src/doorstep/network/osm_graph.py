"""Read an OpenStreetMap ``.pbf`` file into a routable directed graph for one profile.

Every node of a routable way is kept (no simplification), so a stop can be
attached to the exact segment it lies on and maps follow the road's shape.
Only the largest strongly connected part is kept: a stop snapped onto an
isolated fragment (a private car park, a closed courtyard) could reach
nothing. How many nodes were dropped is reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from doorstep.domain.fleet import Profile
from doorstep.errors import CorruptFileError, RoadNetworkError
from doorstep.network.profiles import ROAD_CLASSES, speeds_for, way_access
from doorstep.units import haversine_array_m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True, eq=False)
class RoadGraph:
    """A directed road graph: nodes with coordinates, arcs with length and speed.

    Attributes
    ----------
    lat, lon
        Node coordinates in degrees.
    tail, head
        Arc end nodes (indices into ``lat``/``lon``).
    length_m
        Arc length in metres (great-circle between its end nodes).
    speed_kmh
        Arc travel speed for the profile.
    road_class
        Index into :data:`doorstep.network.profiles.ROAD_CLASSES`.
    dropped_nodes
        Routable nodes left out because they are not in the largest strongly
        connected part.
    """

    lat: FloatArray
    lon: FloatArray
    tail: IntArray
    head: IntArray
    length_m: FloatArray
    speed_kmh: FloatArray
    road_class: npt.NDArray[np.int8]
    profile: Profile
    dropped_nodes: int = 0

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return int(self.lat.shape[0])

    @property
    def arc_count(self) -> int:
        """Number of directed arcs."""
        return int(self.tail.shape[0])

    def travel_ms(self, multipliers: FloatArray | None = None) -> npt.NDArray[np.int64]:
        """Travel time of every arc in milliseconds (at least 1).

        ``multipliers``, one per road class, scales the speeds (time of day).
        """
        speed = self.speed_kmh
        if multipliers is not None:
            speed = speed * multipliers[self.road_class]
        ms = self.length_m / (speed / 3.6) * 1000.0
        return np.maximum(1, np.rint(ms)).astype(np.int64)

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The graph as named arrays, for :func:`numpy.savez`."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "tail": self.tail,
            "head": self.head,
            "length_m": self.length_m,
            "speed_kmh": self.speed_kmh,
            "road_class": self.road_class,
            "dropped_nodes": np.array(self.dropped_nodes),
        }

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, npt.NDArray[np.generic]], profile: Profile
    ) -> RoadGraph:
        """Rebuild a graph saved with :meth:`to_arrays`."""
        return cls(
            lat=np.asarray(arrays["lat"], dtype=np.float64),
            lon=np.asarray(arrays["lon"], dtype=np.float64),
            tail=np.asarray(arrays["tail"], dtype=np.int32),
            head=np.asarray(arrays["head"], dtype=np.int32),
            length_m=np.asarray(arrays["length_m"], dtype=np.float64),
            speed_kmh=np.asarray(arrays["speed_kmh"], dtype=np.float64),
            road_class=np.asarray(arrays["road_class"], dtype=np.int8),
            profile=profile,
            dropped_nodes=int(np.asarray(arrays["dropped_nodes"])),
        )


def _highway_ways(path: Path) -> osmium.FileProcessor:
    """Ways with a ``highway`` tag, their node locations filled in."""
    if not path.is_file():
        raise CorruptFileError(
            f"{path}: no such file", hint="Give the path of an OpenStreetMap .pbf file."
        )
    return (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )


def read_road_graph(
    path: Path, profile: Profile, speeds: Mapping[str, float] | None = None
) -> RoadGraph:
    """Build the routable graph of ``profile`` from the OSM file at ``path``.

    Parameters
    ----------
    path
        An OpenStreetMap ``.pbf`` (or ``.osm``) file.
    profile
        The vehicle profile, which decides the usable ways and their speeds.
    speeds
        Road class -> km/h overrides of the profile's defaults.

    Raises
    ------
    CorruptFileError
        The file is missing or cannot be read as OSM data.
    RoadNetworkError
        The file holds no road the profile may use.
    """
    table = speeds_for(profile, speeds)
    index: dict[int, int] = {}
    lats: list[float] = []
    lons: list[float] = []
    tails: list[int] = []
    heads: list[int] = []
    arc_speed: list[float] = []
    arc_class: list[int] = []
    try:
        for way in _highway_ways(path):
            if not isinstance(way, osmium.osm.Way):
                continue
            access = way_access(way.tags, profile, table)
            if access is None:
                continue
            ids: list[int] = []
            for ref in way.nodes:
                location = ref.location
                if not location.valid():
                    continue
                node = index.get(ref.ref)
                if node is None:
                    node = index[ref.ref] = len(lats)
                    lats.append(location.lat)
                    lons.append(location.lon)
                ids.append(node)
            for a, b in itertools.pairwise(ids):
                if a == b:
                    continue
                if access.forward:
                    tails.append(a)
                    heads.append(b)
                    arc_speed.append(access.speed_kmh)
                    arc_class.append(access.road_class)
                if access.backward:
                    tails.append(b)
                    heads.append(a)
                    arc_speed.append(access.speed_kmh)
                    arc_class.append(access.road_class)
    except RuntimeError as error:
        raise CorruptFileError(
            f"{path}: cannot be read as OpenStreetMap data ({error})",
            hint="Give an OpenStreetMap .pbf extract, such as one from download.geofabrik.de.",
        ) from error
    if not tails:
        raise RoadNetworkError(
            f"{path}: no road that the {profile.value} profile may use",
            hint="Check that the file covers your area and holds highway=* ways.",
        )
    return _largest_component(
        np.array(lats),
        np.array(lons),
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(arc_speed, dtype=np.float64),
        np.array(arc_class, dtype=np.int8),
        profile,
    )


def _largest_component(
    lat: FloatArray,
    lon: FloatArray,
    tail: IntArray,
    head: IntArray,
    speed: FloatArray,
    road_class: npt.NDArray[np.int8],
    profile: Profile,
) -> RoadGraph:
    """Keep the largest strongly connected part, renumbered, parallel arcs kept."""
    n = lat.shape[0]
    adjacency = coo_matrix((np.ones(tail.shape[0]), (tail, head)), shape=(n, n)).tocsr()
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    biggest = np.bincount(labels).argmax()
    keep = labels == biggest
    new_id = np.cumsum(keep) - 1
    arcs = keep[tail] & keep[head]
    t, h = new_id[tail[arcs]].astype(np.int32), new_id[head[arcs]].astype(np.int32)
    la, lo = lat[keep], lon[keep]
    return RoadGraph(
        lat=la,
        lon=lo,
        tail=t,
        head=h,
        length_m=haversine_array_m(la[t], lo[t], la[h], lo[h]),
        speed_kmh=speed[arcs],
        road_class=road_class[arcs],
        profile=profile,
        dropped_nodes=int(n - keep.sum()),
    )


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """What a road file holds: the figures ``doorstep network info`` prints."""

    path: Path
    nodes: int
    edges: int
    road_km: float
    bbox: tuple[float, float, float, float]
    """(min_lat, min_lon, max_lat, max_lon)"""
    ways_per_class: dict[str, int]


def network_info(path: Path) -> NetworkInfo:
    """Count the road nodes, edges (segments between nodes) and km of road in ``path``.

    Only ways whose ``highway`` is in
    :data:`~doorstep.network.profiles.ROAD_CLASSES` count.
    """
    known = set(ROAD_CLASSES)
    nodes: set[int] = set()
    lat_a: list[float] = []
    lon_a: list[float] = []
    lat_b: list[float] = []
    lon_b: list[float] = []
    per_class: dict[str, int] = {}
    try:
        for way in _highway_ways(path):
            if not isinstance(way, osmium.osm.Way):
                continue
            highway = way.tags.get("highway")
            if highway not in known or highway is None:
                continue
            per_class[highway] = per_class.get(highway, 0) + 1
            points = [(r.ref, r.location) for r in way.nodes if r.location.valid()]
            nodes.update(ref for ref, _ in points)
            for (_, a), (_, b) in itertools.pairwise(points):
                lat_a.append(a.lat)
                lon_a.append(a.lon)
                lat_b.append(b.lat)
                lon_b.append(b.lon)
    except RuntimeError as error:
        raise CorruptFileError(f"{path}: cannot be read as OpenStreetMap data ({error})") from error
    if not lat_a:
        raise RoadNetworkError(f"{path}: holds no roads (no highway=* way with two nodes)")
    la, lo = np.array(lat_a + lat_b), np.array(lon_a + lon_b)
    lengths = haversine_array_m(lat_a, lon_a, lat_b, lon_b)
    return NetworkInfo(
        path=path,
        nodes=len(nodes),
        edges=len(lat_a),
        road_km=float(lengths.sum() / 1000.0),
        bbox=(float(la.min()), float(lo.min()), float(la.max()), float(lo.max())),
        ways_per_class=dict(sorted(per_class.items(), key=lambda kv: -kv[1])),
    )
