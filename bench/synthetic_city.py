"""Generate a large synthetic city road network as an OSM ``.pbf`` file, for routing benchmarks.

The city is built offline and deterministically from a seed:

* a jittered, gently warped street grid with blocks of 80-120 m around ``centre``;
  about 7% of the residential segments are taken out of the car network (half of
  them removed, half turned into footways/cycleways/paths), so blocks are irregular
  but the network stays essentially connected;
* a road hierarchy on the grid lines: every 20th line ``primary``, every 10th
  ``secondary``, every 5th ``tertiary``, the rest ``residential`` (``unclassified``
  in the outskirts), scattered ``living_street`` stretches and a ``pedestrian``
  zone in the centre;
* a ``motorway`` ring road built from two one-way carriageways, joined to the grid
  by a few ``motorway_link`` interchanges, and two radial ``trunk`` roads with
  ``trunk_link`` junctions; both are grade-separated (they share no node with the
  streets they cross);
* ``service`` driveways and parking aisles into the blocks (some ``access=private``),
  footways and cycleways across some blocks, a few roundabouts, ``track`` s leaving
  the city, ``traffic_signals`` at major crossings;
* realistic tags: one-way pairs (``oneway=yes``, a handful of ``oneway=-1``),
  ``maxspeed``, ``lanes``, ``ref``, ``surface``, ``name``, ``motor_vehicle=no``...

Streets are split into OSM ways of a few blocks each; intersections share node
ids, so the graph is connected. Nodes are written first, then ways, both with
positive increasing ids, and only nodes that some way references are written.
The same arguments always give a byte-identical file.

Usage::

    python bench/synthetic_city.py OUT.osm.pbf [--nodes 200000] [--seed 7]
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Way

M_PER_DEG = 6_371_008.8 * math.pi / 180.0  # metres per degree of latitude (mean Earth radius)

CAR_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "service",
        "living_street",
    }
)
NO_ACCESS = frozenset({"private", "no"})

# Way-referenced nodes per grid intersection (shape, driveway, ring, ... nodes); measured.
_NODES_PER_GRID_NODE = 1.48

_BLOCK_M = (80.0, 120.0)  # block side, uniform
_JITTER_M = 3.0  # std of the per-node position noise (clipped at 2.5 sigma)
_WARP_M = 20.0  # amplitude of the low-frequency warp of the whole grid
_P_REMOVE = 0.035  # residential segment removed altogether
_P_NO_CAR = 0.07  # ... or turned into a footway/cycleway/path (cumulative)
_P_LIVING = 0.03  # share of residential segments tagged living_street (2-4 in a row)
_P_SHAPE = 0.08  # segment gets 1-2 intermediate shape nodes
_P_SPUR = 0.06  # segment gets a driveway/parking aisle (residential-like streets)
_P_ONEWAY_PAIR = 0.05  # a residential/tertiary line starts a one-way pair
_P_BLOCK_PATH = 0.03  # a footway or cycleway crosses the block diagonally
_RING_NODE_M = 180.0  # spacing of the motorway carriageway nodes
_RING_JUNCTION_M = 3000.0  # spacing of the ring interchanges
_TRUNK_NODE_M = 200.0
_TRUNK_JUNCTION_EVERY = 8  # trunk nodes between trunk_link junctions

_STEMS = (
    "Koivu",
    "Kuusi",
    "Mänty",
    "Tammi",
    "Vaahtera",
    "Pihlaja",
    "Lehmus",
    "Saarni",
    "Haapa",
    "Leppä",
    "Kataja",
    "Paju",
    "Tuomi",
    "Omena",
    "Kirsikka",
    "Luumu",
    "Kivi",
    "Hiekka",
    "Meri",
    "Järvi",
    "Joki",
    "Lahti",
    "Niemi",
    "Saari",
    "Ranta",
    "Mäki",
    "Laakso",
    "Kallio",
    "Metsä",
    "Pelto",
    "Niitty",
    "Kaari",
    "Portti",
    "Tori",
    "Tähti",
    "Kuu",
    "Sammal",
    "Kaisla",
    "Kanerva",
    "Puola",
)
_ROW_SUFFIXES = ("katu", "kuja", "polku", "rinne", "kaari", "raitti", "vainio", "piha", "kulma")
_COL_SUFFIXES = ("tie", "linja", "tanhua", "penger", "kaarre", "ahde", "laita", "reuna", "mutka")
_TRUNK_NAMES = (("Länsiväylä", "51"), ("Itäväylä", "170"))
_MAJOR = ("primary", "secondary", "tertiary")
_RANK = {"primary": 3, "secondary": 2, "tertiary": 1}


def _line_classes(n: int, offset: int) -> list[str]:
    out = []
    for k in range(n):
        m = (k + offset) % 20
        if m == 0:
            out.append("primary")
        elif m == 10:
            out.append("secondary")
        elif m % 5 == 0:
            out.append("tertiary")
        else:
            out.append("residential")
    return out


def _oneway_dirs(classes: list[str], rng: np.random.Generator) -> list[int]:
    """+1/-1 for the two lines of each one-way pair (opposite directions), 0 elsewhere."""
    dirs = [0] * len(classes)
    u = rng.random(len(classes))
    k = 1
    while k < len(classes) - 2:
        ok = classes[k] in ("residential", "tertiary") and classes[k + 1] in (
            "residential",
            "tertiary",
        )
        if ok and u[k] < _P_ONEWAY_PAIR:
            dirs[k], dirs[k + 1] = 1, -1
            k += 3
        else:
            k += 1
    return dirs


class _City:
    """Node coordinates (metres east/north of the centre) and ways, ids from 1."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.xs: list[float] = [0.0]  # index 0 unused: node id == index
        self.ys: list[float] = [0.0]
        self.node_tags: dict[int, dict[str, str]] = {}
        self.ways: list[tuple[list[int], dict[str, str]]] = []
        self.first_reverse_done = False

    def node(self, x: float, y: float) -> int:
        self.xs.append(x)
        self.ys.append(y)
        return len(self.xs) - 1

    def way(self, refs: list[int], tags: dict[str, str]) -> None:
        self.ways.append((refs, tags))

    # -- the grid streets ------------------------------------------------------------------

    def street_line(
        self,
        stops: list[int],
        horizontal: bool,
        cls: str,
        name: str,
        ref: str | None,
        oneway: int,
        ped_r2: float,
        outer: tuple[float, float],
        roundabouts: dict[int, tuple[int, int, int, int]],
    ) -> None:
        rng, xs, ys = self.rng, self.xs, self.ys
        nseg = len(stops) - 1
        u_drop = rng.random(nseg)
        u_aux = rng.random(nseg)
        u_shape = rng.random(nseg)
        u_spur = rng.random(nseg)
        caps = rng.integers(3, 14, size=nseg) * (3 if cls in ("primary", "secondary") else 1)
        ox, oy = outer
        hw: list[str | None] = []
        living = 0  # segments left in the current living-street stretch
        for s in range(nseg):
            a, c = stops[s], stops[s + 1]
            mx, my = (xs[a] + xs[c]) * 0.5, (ys[a] + ys[c]) * 0.5
            if cls in ("residential", "tertiary") and mx * mx + my * my < ped_r2:
                hw.append("pedestrian")
            elif cls != "residential":
                hw.append(cls)
            elif oneway == 0 and u_drop[s] < _P_REMOVE:
                hw.append(None)
            elif oneway == 0 and u_drop[s] < _P_NO_CAR:
                v = u_aux[s]
                hw.append("footway" if v < 0.45 else "cycleway" if v < 0.8 else "path")
            elif living or u_drop[s] > 1.0 - _P_LIVING / 3:
                living = living - 1 if living else 1 + int(u_aux[s] * 3)  # 2-4 segments
                hw.append("living_street")
            elif abs(mx) > ox or abs(my) > oy:
                hw.append("unclassified")
            else:
                hw.append("residential")

        s = 0
        while s < nseg:
            h = hw[s]
            if h is None:
                s += 1
                continue
            cap = int(caps[s])
            e = s + 1
            while e < nseg and hw[e] == h and e - s < cap and stops[e] not in roundabouts:
                e += 1
            refs = [stops[s]]
            for t in range(s, e):
                a, c = stops[t], stops[t + 1]
                spur_p = _P_SPUR if h in ("residential", "unclassified", "living_street") else 0.02
                if h != "pedestrian" and u_spur[t] < spur_p:
                    refs.append(self._spur(a, c, u_spur[t] < spur_p * 0.5))
                elif u_shape[t] < _P_SHAPE:
                    self._shape(refs, a, c, u_shape[t] < _P_SHAPE * 0.5, u_aux[t])
                refs.append(c)
            if refs[0] in roundabouts:
                refs[0] = roundabouts[refs[0]][0 if horizontal else 1]  # leaves east / north
            if refs[-1] in roundabouts:
                refs[-1] = roundabouts[refs[-1]][2 if horizontal else 3]  # arrives west / south
            self.way(refs, self._street_tags(h, cls, name, ref, oneway, refs))
            s = e

    def _street_tags(
        self, h: str, cls: str, name: str, ref: str | None, oneway: int, refs: list[int]
    ) -> dict[str, str]:
        rng = self.rng
        tags = {"highway": h}
        if h in ("footway", "cycleway", "path"):
            if h == "cycleway":
                tags["foot"] = "designated"
            elif h == "path":
                tags["bicycle"] = "yes"
            tags["surface"] = "asphalt" if rng.random() < 0.7 else "fine_gravel"
            return tags
        tags["name"] = name
        u = rng.random()
        if h == "primary":
            if ref:
                tags["ref"] = ref
            tags["lanes"] = "4" if u < 0.5 else "2"
            if u < 0.6:
                tags["maxspeed"] = "50" if u < 0.4 else "60"
            tags["surface"] = "asphalt"
        elif h == "secondary":
            if u < 0.5:
                tags["maxspeed"] = "40" if u < 0.2 else "50"
            tags["surface"] = "asphalt"
        elif h == "tertiary":
            if u < 0.2:
                tags["maxspeed"] = "40" if u < 0.1 else "30"
        elif h in ("pedestrian", "living_street"):
            tags["surface"] = "paving_stones"
        elif h == "residential":
            if u < 0.1:
                tags["maxspeed"] = "30"
            elif u < 0.106:
                tags["motor_vehicle"] = "no"
            elif u < 0.11:
                tags["access"] = "private"
        if oneway and h not in ("pedestrian", "living_street"):
            if oneway > 0:
                tags["oneway"] = "yes"
            elif not self.first_reverse_done or rng.random() < 0.04:
                self.first_reverse_done = True
                tags["oneway"] = "-1"
            else:
                refs.reverse()
                tags["oneway"] = "yes"
        return tags

    def _shape(self, refs: list[int], a: int, c: int, single: bool, u: float) -> None:
        """1-2 shape nodes on a gentle bow of up to 7 m between intersections a and c."""
        xs, ys = self.xs, self.ys
        dx, dy = xs[c] - xs[a], ys[c] - ys[a]
        length = math.hypot(dx, dy) or 1.0
        px, py = -dy / length, dx / length
        bow = (u - 0.5) * 14.0
        for t in (0.5,) if single else (1 / 3, 2 / 3):
            off = bow * math.sin(math.pi * t)
            refs.append(self.node(xs[a] + t * dx + off * px, ys[a] + t * dy + off * py))

    def _spur(self, a: int, c: int, left: bool) -> int:
        """A mid-block node on a-c and a driveway or parking aisle from it into the block."""
        rng, xs, ys = self.rng, self.xs, self.ys
        dx, dy = xs[c] - xs[a], ys[c] - ys[a]
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        px, py = (-uy, ux) if left else (uy, -ux)
        t = 0.3 + 0.4 * rng.random()
        mid = self.node(xs[a] + t * dx, ys[a] + t * dy)
        depth = 20.0 + 12.0 * rng.random()
        x1, y1 = xs[mid] + depth * px, ys[mid] + depth * py
        refs = [mid, self.node(x1, y1)]
        u = rng.random()
        tags = {"highway": "service"}
        if u < 0.5:
            tags["service"] = "driveway"
        elif u < 0.75:
            tags["service"] = "parking_aisle"
            refs.append(self.node(x1 + 18.0 * ux, y1 + 18.0 * uy))
        if rng.random() < 0.15:
            tags["access"] = "private"
        self.way(refs, tags)
        return mid

    def roundabout(self, centre: int, major: str) -> tuple[int, int, int, int]:
        """An 8-node roundabout around a grid intersection; returns its E, N, W, S nodes."""
        cx, cy = self.xs[centre], self.ys[centre]
        ring = [
            self.node(cx + 14.0 * math.cos(k * math.pi / 4), cy + 14.0 * math.sin(k * math.pi / 4))
            for k in range(8)
        ]
        # counter-clockwise, as for right-hand traffic; closed way
        self.way([*ring, ring[0]], {"highway": major, "junction": "roundabout"})
        return ring[0], ring[2], ring[4], ring[6]


def _plan(target_nodes: int, seed: int) -> tuple[_City, dict[str, int]]:
    rng = np.random.default_rng(seed)
    city = _City(rng)

    grid = max(target_nodes / _NODES_PER_GRID_NODE, 144.0)
    nx = max(12, round(math.sqrt(grid * 1.1)))
    ny = max(12, round(grid / nx))

    xs_line = np.concatenate([[0.0], np.cumsum(rng.uniform(*_BLOCK_M, nx - 1))])
    ys_line = np.concatenate([[0.0], np.cumsum(rng.uniform(*_BLOCK_M, ny - 1))])
    xs_line -= xs_line.mean()
    ys_line -= ys_line.mean()
    gx, gy = np.meshgrid(xs_line, ys_line)  # shape (ny, nx)
    phase = rng.uniform(0.0, 2 * math.pi, 2)
    wave = rng.uniform(1500.0, 2500.0, 2)
    gx = gx + _WARP_M * np.sin(2 * math.pi * gy / wave[0] + phase[0])
    gy = gy + _WARP_M * np.sin(2 * math.pi * gx / wave[1] + phase[1])
    gx += np.clip(rng.normal(0.0, _JITTER_M, gx.shape), -2.5 * _JITTER_M, 2.5 * _JITTER_M)
    gy += np.clip(rng.normal(0.0, _JITTER_M, gy.shape), -2.5 * _JITTER_M, 2.5 * _JITTER_M)
    city.xs.extend(gx.ravel().tolist())
    city.ys.extend(gy.ravel().tolist())

    def gid(i: int, j: int) -> int:
        return 1 + j * nx + i

    half_x, half_y = float(xs_line[-1]), float(ys_line[-1])
    half = min(half_x, half_y)
    ped_r = max(250.0, 0.02 * half)
    row_cls = _line_classes(ny, int(rng.integers(20)))
    col_cls = _line_classes(nx, int(rng.integers(20)))
    row_dir = _oneway_dirs(row_cls, rng)
    col_dir = _oneway_dirs(col_cls, rng)

    # roundabouts at a few tertiary/secondary crossings outside the pedestrian zone
    in_ped = gx**2 + gy**2 < (ped_r + 150.0) ** 2
    rb_ok = np.zeros((ny, nx), dtype=bool)
    for j in range(1, ny - 1):
        if row_cls[j] in ("secondary", "tertiary") and row_dir[j] == 0:
            for i in range(1, nx - 1):
                if col_cls[i] in ("secondary", "tertiary") and col_dir[i] == 0:
                    rb_ok[j, i] = not in_ped[j, i]
    cand = np.flatnonzero(rb_ok)
    n_rb = min(len(cand), max(1, (nx * ny) // 15_000))
    roundabouts: dict[int, tuple[int, int, int, int]] = {}
    for flat in sorted(rng.choice(cand, n_rb, replace=False).tolist()):
        j, i = divmod(flat, nx)
        major = max(row_cls[j], col_cls[i], key=_RANK.__getitem__)
        roundabouts[gid(i, j)] = city.roundabout(gid(i, j), major)

    for j in range(ny):
        if row_cls[j] in ("primary", "secondary"):
            for i in range(nx):
                if col_cls[i] in ("primary", "secondary") and gid(i, j) not in roundabouts:
                    city.node_tags[gid(i, j)] = {"highway": "traffic_signals"}

    outer = (0.9 * half_x, 0.9 * half_y)
    primaries = 0
    for horizontal, classes, dirs, n_lines, n_stops, suffixes in (
        (True, row_cls, row_dir, ny, nx, _ROW_SUFFIXES),
        (False, col_cls, col_dir, nx, ny, _COL_SUFFIXES),
    ):
        for k in range(n_lines):
            if horizontal:
                stops = [gid(i, k) for i in range(n_stops)]
            else:
                stops = [gid(k, j) for j in range(n_stops)]
            stem = _STEMS[k % len(_STEMS)]
            name = stem + suffixes[(k // len(_STEMS)) % len(suffixes)]
            ref = None
            if classes[k] == "primary":
                primaries += 1
                ref = str(100 + primaries)
            city.street_line(
                stops,
                horizontal,
                classes[k],
                name,
                ref,
                dirs[k],
                ped_r * ped_r,
                outer,
                roundabouts,
            )

    # footways and cycleways across blocks, corner to corner
    u_block = rng.random((ny - 1, nx - 1))
    for j, i in zip(*np.nonzero(u_block < _P_BLOCK_PATH), strict=True):
        a, c = gid(int(i), int(j)), gid(int(i) + 1, int(j) + 1)
        if a in roundabouts or c in roundabouts:
            continue
        mid = city.node(
            (city.xs[a] + city.xs[c]) / 2 + rng.normal(0, 6), (city.ys[a] + city.ys[c]) / 2
        )
        kind = "footway" if rng.random() < 0.7 else "cycleway"
        city.way([a, mid, c], {"highway": kind, "surface": "asphalt"})

    # link targets: grid crossings on tertiary or bigger streets, away from the centre
    major_row = np.array([c in _MAJOR for c in row_cls])
    major_col = np.array([c in _MAJOR for c in col_cls])
    target_ok = (major_row[:, None] | major_col[None, :]) & ~in_ped
    for g in roundabouts:
        j, i = divmod(g - 1, nx)
        target_ok[j, i] = False

    def nearest_target(x: float, y: float) -> int:
        d = np.where(target_ok, (gx - x) ** 2 + (gy - y) ** 2, np.inf)
        j, i = divmod(int(np.argmin(d)), nx)
        return gid(i, j)

    trunk_starts = _ring_road(city, 0.55 * half, nearest_target)
    for (start, heading), (name, ref) in zip(trunk_starts, _TRUNK_NAMES, strict=True):
        _trunk(city, start, heading, half_x, half_y, name, ref, nearest_target)

    # tracks leaving the city from its edge
    edge = (
        [(gid(i, 0), 0.0, -1.0) for i in range(nx)]
        + [(gid(i, ny - 1), 0.0, 1.0) for i in range(nx)]
        + [(gid(0, j), -1.0, 0.0) for j in range(ny)]
        + [(gid(nx - 1, j), 1.0, 0.0) for j in range(ny)]
    )
    n_tracks = max(4, len(edge) // 30)
    for e in sorted(rng.choice(len(edge), n_tracks, replace=False).tolist()):
        g, ux, uy = edge[e]
        refs = [g]
        x, y = city.xs[g], city.ys[g]
        for _ in range(int(rng.integers(3, 6))):
            step, side = rng.uniform(60.0, 140.0), rng.normal(0.0, 25.0)
            x, y = x + step * ux - side * uy, y + step * uy + side * ux
            refs.append(city.node(x, y))
        city.way(refs, {"highway": "track", "tracktype": f"grade{int(rng.integers(1, 5))}"})

    return city, {"grid_nx": nx, "grid_ny": ny, "roundabouts": len(roundabouts)}


def _ring_road(
    city: _City, radius: float, nearest_target: Callable[[float, float], int]
) -> list[tuple[int, float]]:
    """Two one-way motorway carriageways round the centre with a few interchanges.

    Returns, for the two trunk roads, (start, heading) pairs: the grid node of an
    interchange and the direction (radians from east) of the interchange seen from
    the centre, which the trunk follows out of town.
    """
    rng = city.rng
    circumference = 2 * math.pi * radius
    k_nodes = max(24, round(circumference / _RING_NODE_M))
    n_junctions = max(3, round(circumference / _RING_JUNCTION_M))
    theta0 = rng.uniform(0.0, 2 * math.pi)
    phase = rng.uniform(0.0, 2 * math.pi)
    jitter = rng.uniform(-0.2, 0.2, k_nodes)
    outer, inner, mids = [], [], []
    for k in range(k_nodes):
        th = theta0 + 2 * math.pi * (k + jitter[k]) / k_nodes
        r = radius * (1.0 + 0.04 * math.sin(3 * th + phase))
        c, s = math.cos(th), math.sin(th)
        outer.append(city.node((r + 12.0) * c, (r + 12.0) * s))
        inner.append(city.node((r - 12.0) * c, (r - 12.0) * s))
        mids.append((r * c, r * s))
    junctions = sorted({round(n * k_nodes / n_junctions) % k_nodes for n in range(n_junctions)})

    def tags(n: int) -> dict[str, str]:
        return {
            "highway": "motorway",
            "oneway": "yes",
            "ref": "101",
            "name": "Kehätie",
            "maxspeed": "80" if n % 2 else "100",
            "lanes": "3" if n % 3 == 0 else "2",
        }

    # the outer carriageway runs counter-clockwise, the inner one clockwise (right-hand traffic)
    for n, ka in enumerate(junctions):
        kb = junctions[(n + 1) % len(junctions)]
        span = [(ka + d) % k_nodes for d in range((kb - ka) % k_nodes + 1)]
        city.way([outer[k] for k in span], tags(n))
        city.way([inner[k] for k in reversed(span)], tags(n + 1))

    def link(a: int, b: int) -> None:
        xa, ya, xb, yb = city.xs[a], city.ys[a], city.xs[b], city.ys[b]
        mid = city.node((xa + xb) / 2 + rng.normal(0, 8), (ya + yb) / 2 + rng.normal(0, 8))
        city.way([a, mid, b], {"highway": "motorway_link", "oneway": "yes"})

    starts = []
    for n, k in enumerate(junctions):
        target = nearest_target(*mids[k])
        before, after = (k - 1) % k_nodes, (k + 1) % k_nodes
        link(outer[before], target)
        link(target, outer[after])
        link(inner[after], target)
        link(target, inner[before])
        if n in (0, len(junctions) // 2):
            mx, my = mids[k]
            starts.append((target, math.atan2(my, mx)))
    return starts


def _trunk(
    city: _City,
    start: int,
    heading: float,
    half_x: float,
    half_y: float,
    name: str,
    ref: str,
    nearest_target: Callable[[float, float], int],
) -> None:
    """A two-way trunk road from a ring interchange out past the edge of the grid."""
    rng, xs, ys = city.rng, city.xs, city.ys
    x0, y0 = xs[start], ys[start]
    ux, uy = math.cos(heading), math.sin(heading)
    # distance to 600 m beyond the edge of the grid along (ux, uy)
    reach = min(
        (half_x + 600.0 - x0 * math.copysign(1, ux)) / abs(ux) if abs(ux) > 1e-9 else math.inf,
        (half_y + 600.0 - y0 * math.copysign(1, uy)) / abs(uy) if abs(uy) > 1e-9 else math.inf,
    )
    n_nodes = max(3, round(reach / _TRUNK_NODE_M))
    refs = [start]
    for k in range(1, n_nodes + 1):
        d = reach * k / n_nodes
        wobble = 30.0 * math.sin(d / 900.0)
        refs.append(city.node(x0 + d * ux - wobble * uy, y0 + d * uy + wobble * ux))
    cut = list(range(0, len(refs), _TRUNK_JUNCTION_EVERY))
    if cut[-1] != len(refs) - 1:
        cut.append(len(refs) - 1)
    for n, (a, b) in enumerate(itertools.pairwise(cut)):
        tags = {"highway": "trunk", "name": name, "ref": ref, "lanes": "2"}
        tags["maxspeed"] = "80" if n % 2 == 0 else "70"
        city.way(refs[a : b + 1], tags)
    for a in cut[1:]:
        p = refs[a]
        if abs(xs[p]) < half_x - 100.0 and abs(ys[p]) < half_y - 100.0:
            g = nearest_target(xs[p], ys[p])
            mid = city.node((xs[p] + xs[g]) / 2 + rng.normal(0, 8), (ys[p] + ys[g]) / 2)
            city.way([p, mid, g], {"highway": "trunk_link"})


def _car_arcs(refs: list[int], tags: dict[str, str]) -> int:
    """Directed arcs a car may use on a way (0 if not car-routable)."""
    if tags.get("highway") not in CAR_HIGHWAYS:
        return 0
    if tags.get("access") in NO_ACCESS or tags.get("motor_vehicle") in NO_ACCESS:
        return 0
    oneway = tags.get("oneway") in ("yes", "1", "true", "-1") or tags.get("junction") in (
        "roundabout",
        "circular",
    )
    return (len(refs) - 1) * (1 if oneway else 2)


def write_synthetic_city(
    path: Path,
    *,
    target_nodes: int = 200_000,
    seed: int = 7,
    centre: tuple[float, float] = (60.17, 24.94),
) -> dict[str, int]:
    """Write a synthetic city of about ``target_nodes`` way nodes to ``path`` (OSM PBF).

    ``centre`` is (lat, lon) in degrees. Returns counts: ``nodes`` (written, all of
    them referenced by some way), ``ways``, ``road_nodes`` (nodes on car-routable
    ways) and ``car_arcs`` (directed node-to-node arcs a car may use).
    """
    city, _ = _plan(target_nodes, seed)
    lat0, lon0 = centre
    xs = np.asarray(city.xs)
    ys = np.asarray(city.ys)
    lat = (lat0 + ys / M_PER_DEG).tolist()
    lon = (lon0 + xs / (M_PER_DEG * math.cos(math.radians(lat0)))).tolist()

    used = np.zeros(len(city.xs), dtype=bool)
    road = np.zeros(len(city.xs), dtype=bool)
    car_arcs = 0
    for refs, tags in city.ways:
        used[refs] = True
        arcs = _car_arcs(refs, tags)
        if arcs:
            road[refs] = True
            car_arcs += arcs
    ids = np.flatnonzero(used)

    header = osmium.io.Header()
    header.set("generator", "doorstep bench/synthetic_city.py")
    lon_used, lat_used = np.asarray(lon)[ids], np.asarray(lat)[ids]
    header.add_box(
        osmium.osm.Box(
            osmium.osm.Location(float(lon_used.min()), float(lat_used.min())),
            osmium.osm.Location(float(lon_used.max()), float(lat_used.max())),
        )
    )
    node_tags = city.node_tags
    path = Path(path)
    with osmium.SimpleWriter(str(path), header=header, overwrite=True) as writer:
        node = Node()
        for i in ids.tolist():
            node.id = i
            node.location = (lon[i], lat[i])
            node.tags = node_tags.get(i)
            writer.add_node(node)
        way = Way()
        for wid, (refs, tags) in enumerate(city.ways, start=1):
            way.id = wid
            way.nodes = refs
            way.tags = tags
            writer.add_way(way)
    return {
        "nodes": len(ids),
        "ways": len(city.ways),
        "road_nodes": int(road.sum()),
        "car_arcs": car_arcs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output file, e.g. city.osm.pbf")
    parser.add_argument("--nodes", type=int, default=200_000, help="target way-node count")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = write_synthetic_city(args.out, target_nodes=args.nodes, seed=args.seed)
    elapsed = time.perf_counter() - started
    for key, value in counts.items():
        print(f"{key:>10}: {value:,}")
    print(f"{'file':>10}: {args.out} ({args.out.stat().st_size:,} bytes)")
    print(f"{'time':>10}: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
