"""Attach stops to the nearest routable road segment, and say how far that was.

Each road segment is sampled every ``step_m`` metres into a k-d tree (in a
local flat projection, accurate to well under a metre across a city). A stop's
nearest samples name candidate segments; the stop is projected exactly onto
each candidate and the closest projection wins. With 25 m samples and 8
candidates the true nearest segment is found unless more than 8 samples of
other segments lie within 12.5 m of it, which only happens at complex
junctions, where any of them is as good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from doorstep.network.osm_graph import RoadGraph
from doorstep.units import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Snaps:
    """Where each stop meets the road.

    Attributes
    ----------
    tail, head
        The segment's end nodes; the stop lies ``fraction`` of the way from
        ``tail`` to ``head``.
    fraction
        Position along the segment, 0 at ``tail`` and 1 at ``head``.
    distance_m
        Straight-line distance from the stop to that point.
    lat, lon
        The point on the road.
    """

    tail: IntArray
    head: IntArray
    fraction: FloatArray
    distance_m: FloatArray
    lat: FloatArray
    lon: FloatArray


class Snapper:
    """Nearest-segment lookup over a road graph.

    Parameters
    ----------
    graph
        The road graph; segments are taken from its arcs, both directions once.
    step_m
        Spacing of the samples along each segment.
    candidates
        Nearest samples whose segments are checked exactly.
    """

    def __init__(self, graph: RoadGraph, step_m: float = 25.0, candidates: int = 8) -> None:
        n = graph.node_count
        low = np.minimum(graph.tail, graph.head).astype(np.int64)
        high = np.maximum(graph.tail, graph.head).astype(np.int64)
        _, first = np.unique(low * n + high, return_index=True)
        self._a = low[first]
        self._b = high[first]
        self._lat0 = float(np.radians(graph.lat.mean()))
        self._x, self._y = self._project(graph.lat, graph.lon)
        ax, ay = self._x[self._a], self._y[self._a]
        bx, by = self._x[self._b], self._y[self._b]
        length = np.hypot(bx - ax, by - ay)
        pieces = np.maximum(1, np.ceil(length / step_m)).astype(np.int64)
        segment = np.repeat(np.arange(self._a.shape[0]), pieces + 1)
        starts = np.repeat(np.cumsum(pieces + 1) - (pieces + 1), pieces + 1)
        t = (np.arange(segment.shape[0]) - starts) / pieces[segment]
        self._sample_segment = segment
        self._tree = cKDTree(
            np.column_stack(
                (ax[segment] + t * (bx - ax)[segment], ay[segment] + t * (by - ay)[segment])
            )
        )
        self._candidates = min(candidates, segment.shape[0])
        self._graph = graph

    def _project(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Local equirectangular metres."""
        x = np.radians(lon) * np.cos(self._lat0) * EARTH_RADIUS_M
        y = np.radians(lat) * EARTH_RADIUS_M
        return x, y

    def snap(self, lat: FloatArray, lon: FloatArray) -> Snaps:
        """The nearest segment of each point (``lat``/``lon`` in degrees)."""
        px, py = self._project(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
        _, idx = self._tree.query(np.column_stack((px, py)), k=self._candidates)
        idx = np.asarray(idx).reshape(px.shape[0], -1)
        seg = self._sample_segment[idx]  # (points, candidates)
        ax, ay = self._x[self._a[seg]], self._y[self._a[seg]]
        bx, by = self._x[self._b[seg]], self._y[self._b[seg]]
        dx, dy = bx - ax, by - ay
        denom = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
        t = np.clip(((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / denom, 0.0, 1.0)
        qx, qy = ax + t * dx, ay + t * dy
        dist = np.hypot(px[:, None] - qx, py[:, None] - qy)
        best = dist.argmin(axis=1)
        rows = np.arange(px.shape[0])
        chosen = seg[rows, best]
        fraction = t[rows, best]
        a, b = self._a[chosen], self._b[chosen]
        g = self._graph
        return Snaps(
            tail=a,
            head=b,
            fraction=fraction,
            distance_m=dist[rows, best],
            lat=g.lat[a] + fraction * (g.lat[b] - g.lat[a]),
            lon=g.lon[a] + fraction * (g.lon[b] - g.lon[a]),
        )
