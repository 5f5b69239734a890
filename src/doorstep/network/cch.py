"""Customizable contraction hierarchy (CCH) with batched one-to-all sweeps for matrices.

Why this method (measured, see BENCHMARKS.md and docs/network.md): plain
Dijkstra from every source (scipy) needs ~50 s for a 1,000 x 1,000 matrix on a
200,000-node city; the available CCH bindings answer pairs one at a time and
cannot carry a second weight (distance) along the fastest path. Here:

1. **Order** (metric-independent): nested dissection by inertial flow, from
   RoutingKit (``routingkit_cch.compute_order_inertial``).
2. **Topology**: the chordal supergraph of the road graph under that order
   (each node's higher neighbours become a clique), stored as *upward* arcs
   ``v -> u`` (``rank(u) > rank(v)``) in rank space, with the elimination tree.
3. **Customization** (per metric: profile speeds, hour of day): every arc gets
   an up weight (travel ``v -> u``) and a down weight (travel ``u -> v``) by
   relaxing lower triangles in rank order. This is cheap, so a new departure
   hour costs a customization, not a new preparation.
4. **Query**: for a batch of sources, an upward search along each source's
   elimination-tree path, then one downward sweep over all nodes in falling
   rank that carries the whole batch at once (PHAST, Delling et al. 2011): the
   inner loop runs over the batch, so each arc is read once per batch. Batches
   run in parallel threads.

Weights are *packed*: ``time_ms << 28 | distance_dm``. Adding packed weights
adds both parts, and the minimum of packed weights is the fastest path, ties
broken by the shorter one, so one 64-bit integer carries the duration and the
distance of the fastest path.

The compiled code is cached in the user's cache folder, not next to this file
(:func:`doorstep.network.cache.jit`); ``doorstep network warm`` compiles it
ahead of the first plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from doorstep.network.cache import jit

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

DIST_BITS = 28
DIST_MASK = (1 << DIST_BITS) - 1
INF = 1 << 61
"""Packed weight of "no path"; two of them still add up within int64."""

BATCH = 32
"""Sources per downward sweep."""


def pack(time_ms: Int64Array, dist_dm: Int64Array) -> Int64Array:
    """Pack arc travel times (ms) and lengths (dm) into one weight each."""
    if np.any(dist_dm > DIST_MASK):
        raise ValueError("an arc is longer than 26,843 km")
    return (time_ms.astype(np.int64) << DIST_BITS) | dist_dm.astype(np.int64)


def unpack(packed: Int64Array) -> tuple[Int64Array, Int64Array, npt.NDArray[np.bool_]]:
    """Split packed weights into (time ms, distance dm, reachable)."""
    reachable = packed < INF
    return packed >> DIST_BITS, packed & DIST_MASK, reachable


@jit(parallel=True)
def _decode(packed: Int64Array, unreachable: int) -> tuple[Int64Array, Int64Array]:
    rows, cols = packed.shape
    seconds = np.empty((rows, cols), np.int64)
    metres = np.empty((rows, cols), np.int64)
    for i in numba.prange(rows):
        for j in range(cols):
            p = packed[i, j]
            if p >= INF:
                seconds[i, j] = unreachable
                metres[i, j] = unreachable
            else:
                seconds[i, j] = ((p >> DIST_BITS) + 500) // 1000
                metres[i, j] = ((p & DIST_MASK) + 5) // 10
    return seconds, metres


def decode(packed: Int64Array, unreachable: int) -> tuple[Int64Array, Int64Array]:
    """Whole seconds and whole metres of a packed matrix; ``unreachable`` where there is no path.

    Rounds halves up, without the temporaries of doing it with numpy (a 5,000 x
    5,000 matrix is 200 MB per array).
    """
    seconds, metres = _decode(np.ascontiguousarray(packed), unreachable)
    return seconds, metres


@dataclass(frozen=True, slots=True, eq=False)
class Topology:
    """The metric-independent part: order, upward arcs and elimination tree.

    Nodes are in *rank space*: node ``v`` of the road graph is ``rank[v]`` here.
    """

    rank: Int32Array
    first_up: Int64Array
    up_head: Int32Array
    parent: Int32Array
    input_arc: Int64Array
    """For each road-graph arc, the upward arc it lands on, + 0 if it runs
    upward (its weight is an up weight) or - 1 - index if it runs downward."""

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return int(self.rank.shape[0])

    @property
    def arc_count(self) -> int:
        """Number of upward arcs (original and shortcuts)."""
        return int(self.up_head.shape[0])

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The topology as named arrays, for :func:`numpy.savez`."""
        return {
            "rank": self.rank,
            "first_up": self.first_up,
            "up_head": self.up_head,
            "parent": self.parent,
            "input_arc": self.input_arc,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> Topology:
        """Rebuild a topology saved with :meth:`to_arrays`."""
        return cls(
            rank=np.asarray(arrays["rank"], dtype=np.int32),
            first_up=np.asarray(arrays["first_up"], dtype=np.int64),
            up_head=np.asarray(arrays["up_head"], dtype=np.int32),
            parent=np.asarray(arrays["parent"], dtype=np.int32),
            input_arc=np.asarray(arrays["input_arc"], dtype=np.int64),
        )


def nested_dissection_order(
    tail: Int32Array, head: Int32Array, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> Int32Array:
    """Contraction order (position -> node) by RoutingKit's inertial-flow nested dissection."""
    import routingkit_cch

    order = routingkit_cch.compute_order_inertial(
        int(lat.shape[0]), tail.tolist(), head.tolist(), lat.tolist(), lon.tolist()
    )
    return np.asarray(order, dtype=np.int32)


@jit()
def _find_arc(first_up: Int64Array, up_head: Int32Array, low: int, high: int) -> int:
    """Index of upward arc ``low -> high`` (binary search), or -1."""
    lo = first_up[low]
    hi = first_up[low + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        h = up_head[mid]
        if h < high:
            lo = mid + 1
        elif h > high:
            hi = mid
        else:
            return int(mid)
    return -1


@jit()
def _merge_sorted(a: Int32Array, b: Int32Array) -> Int32Array:
    """Union of two sorted arrays without duplicates."""
    out = np.empty(a.shape[0] + b.shape[0], np.int32)
    i = j = k = 0
    while i < a.shape[0] or j < b.shape[0]:
        if j >= b.shape[0] or (i < a.shape[0] and a[i] < b[j]):
            x = a[i]
            i += 1
        elif i >= a.shape[0] or b[j] < a[i]:
            x = b[j]
            j += 1
        else:
            x = a[i]
            i += 1
            j += 1
        out[k] = x
        k += 1
    return out[:k]


@jit()
def _chordal_fill(
    n: int, low: Int32Array, high: Int32Array
) -> tuple[Int64Array, Int32Array, Int32Array]:
    """Upward adjacency of the chordal supergraph, and the elimination tree.

    ``low``/``high`` are the rank-space ends of each undirected edge
    (``low < high``). Eliminating nodes in rank order, each node's higher
    neighbours (minus the lowest, its parent) are merged into its parent's
    list: that produces exactly the fill-in of the elimination game.
    """
    order = np.argsort(low * np.int64(n) + high)
    lo_sorted = low[order]
    hi_sorted = high[order]
    # Per-node sorted, deduplicated neighbour lists kept in growable buffers.
    start = np.zeros(n + 1, np.int64)
    for i in range(lo_sorted.shape[0]):
        start[lo_sorted[i] + 1] += 1
    for v in range(n):
        start[v + 1] += start[v]
    lists = numba.typed.List()
    for v in range(n):
        lists.append(np.unique(hi_sorted[start[v] : start[v + 1]]).astype(np.int32))
    parent = np.full(n, -1, np.int32)
    for v in range(n):
        up = lists[v]
        if up.shape[0] == 0:
            continue
        p = up[0]
        parent[v] = p
        if up.shape[0] > 1:
            lists[p] = _merge_sorted(lists[p], up[1:])
    first_up = np.zeros(n + 1, np.int64)
    for v in range(n):
        first_up[v + 1] = first_up[v] + lists[v].shape[0]
    up_head = np.empty(first_up[n], np.int32)
    for v in range(n):
        up_head[first_up[v] : first_up[v + 1]] = lists[v]
    return first_up, up_head, parent


def build_topology(order: Int32Array, tail: Int32Array, head: Int32Array) -> Topology:
    """The CCH topology of the graph ``tail -> head`` under contraction ``order``."""
    n = int(order.shape[0])
    rank = np.empty(n, np.int32)
    rank[order] = np.arange(n, dtype=np.int32)
    rt, rh = rank[tail], rank[head]
    proper = rt != rh
    low = np.minimum(rt, rh)[proper]
    high = np.maximum(rt, rh)[proper]
    first_up, up_head, parent = _chordal_fill(n, low.astype(np.int32), high.astype(np.int32))
    input_arc = _map_input_arcs(first_up, up_head, rt, rh)
    return Topology(rank, first_up, up_head, parent, input_arc)


@jit()
def _map_input_arcs(
    first_up: Int64Array, up_head: Int32Array, rt: Int32Array, rh: Int32Array
) -> Int64Array:
    out = np.empty(rt.shape[0], np.int64)
    for a in range(rt.shape[0]):
        t, h = rt[a], rh[a]
        if t == h:
            out[a] = np.iinfo(np.int64).min  # a loop: never useful
        elif t < h:
            out[a] = _find_arc(first_up, up_head, t, h)
        else:
            out[a] = -1 - _find_arc(first_up, up_head, h, t)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Metric:
    """A customized CCH: up and down weight of every upward arc, and their middle nodes.

    ``up``/``down`` are the basic customization's weights, and
    ``up_mid[e]``/``down_mid[e]`` the node a shortcut passes through, or -1
    when the weight is that of an original road arc (used to unpack paths).

    The ``q_*`` arrays are the *pruned* hierarchy used for matrices: after
    perfect customization every arc weighs the true shortest distance between
    its ends, and an arc direction that some other two-arc detour matches is
    dropped (Dibbelt, Strasser and Wagner 2016). ``q_up_*`` is a CSR of kept
    upward arcs by lower node; ``q_dn_*`` a CSR, by lower node ``v``, of kept
    downward arcs ``u -> v`` (``q_dn_from`` holds ``u``).
    """

    topology: Topology
    up: Int64Array
    down: Int64Array
    up_mid: Int32Array
    down_mid: Int32Array
    q_up_first: Int64Array
    q_up_head: Int32Array
    q_up: Int64Array
    q_dn_first: Int64Array
    q_dn_from: Int32Array
    q_dn: Int64Array


@jit()
def _customize(
    first_up: Int64Array,
    up_head: Int32Array,
    input_arc: Int64Array,
    weights: Int64Array,
) -> tuple[Int64Array, Int64Array, Int32Array, Int32Array]:
    m = up_head.shape[0]
    up = np.full(m, INF, np.int64)
    down = np.full(m, INF, np.int64)
    up_mid = np.full(m, -1, np.int32)
    down_mid = np.full(m, -1, np.int32)
    for a in range(input_arc.shape[0]):
        e = input_arc[a]
        if e == np.iinfo(np.int64).min:
            continue
        if e >= 0:
            if weights[a] < up[e]:
                up[e] = weights[a]
        else:
            e = -1 - e
            if weights[a] < down[e]:
                down[e] = weights[a]
    n = first_up.shape[0] - 1
    for v in range(n):
        begin, end = first_up[v], first_up[v + 1]
        for i in range(begin, end):
            u = up_head[i]
            # The higher neighbours of v above u all appear, in order, in u's list.
            e = first_up[u]
            for j in range(i + 1, end):
                w = up_head[j]
                while up_head[e] != w:
                    e += 1
                # u -> v -> w: down weight of (v, u), then up weight of (v, w).
                c = down[i] + up[j]
                if c < up[e]:
                    up[e] = c
                    up_mid[e] = v
                # w -> v -> u: down weight of (v, w), then up weight of (v, u).
                c = down[j] + up[i]
                if c < down[e]:
                    down[e] = c
                    down_mid[e] = v
    return up, down, up_mid, down_mid


@jit()
def _perfect(
    first_up: Int64Array, up_head: Int32Array, up: Int64Array, down: Int64Array
) -> tuple[Int64Array, Int64Array, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Perfect weights (true distances) and which arc directions are needed.

    Top-down: the shortest ``x -> y`` path starts with an upward arc ``x -> w``
    (basic weight) and continues with the true distance ``w -> y``, which the
    arc between ``w`` and ``y`` (both above ``x``) already holds.
    """
    pu = up.copy()
    pd = down.copy()
    n = first_up.shape[0] - 1
    for x in range(n - 1, -1, -1):
        begin, end = first_up[x], first_up[x + 1]
        for i in range(begin, end):
            u = up_head[i]
            e = first_up[u]
            for j in range(i + 1, end):
                w = up_head[j]
                while up_head[e] != w:
                    e += 1
                # Arc (x, u) over the upper node w; arc (x, w) over the middle node u.
                pu[i] = min(pu[i], up[j] + pd[e])
                pd[i] = min(pd[i], pu[e] + down[j])
                pu[j] = min(pu[j], up[i] + pu[e])
                pd[j] = min(pd[j], pd[e] + down[i])
    keep_up = pu < INF
    keep_dn = pd < INF
    for x in range(n - 1, -1, -1):
        begin, end = first_up[x], first_up[x + 1]
        for i in range(begin, end):
            u = up_head[i]
            e = first_up[u]
            for j in range(i + 1, end):
                w = up_head[j]
                while up_head[e] != w:
                    e += 1
                if pu[j] + pd[e] <= pu[i]:
                    keep_up[i] = False
                if pu[e] + pd[j] <= pd[i]:
                    keep_dn[i] = False
                if pu[i] + pu[e] <= pu[j]:
                    keep_up[j] = False
                if pd[e] + pd[i] <= pd[j]:
                    keep_dn[j] = False
    return pu, pd, keep_up, keep_dn


def _compress(
    first: Int64Array, other_end: Int32Array, weight: Int64Array, keep: npt.NDArray[np.bool_]
) -> tuple[Int64Array, Int32Array, Int64Array]:
    """The kept arcs of a CSR, as a smaller CSR."""
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    return kept_before[first], other_end[keep], weight[keep]


def customize(topology: Topology, weights: Int64Array) -> Metric:
    """Give the topology packed arc ``weights`` (one per road-graph arc, see :func:`pack`)."""
    if weights.shape[0] != topology.input_arc.shape[0]:
        raise ValueError("one weight per road-graph arc is needed")
    up, down, up_mid, down_mid = _customize(
        topology.first_up, topology.up_head, topology.input_arc, weights.astype(np.int64)
    )
    pu, pd, keep_up, keep_dn = _perfect(topology.first_up, topology.up_head, up, down)
    q_up = _compress(topology.first_up, topology.up_head, pu, keep_up)
    q_dn = _compress(topology.first_up, topology.up_head, pd, keep_dn)
    return Metric(topology, up, down, up_mid, down_mid, *q_up, *q_dn)


@jit()
def _chain(parent: Int32Array, starts: Int32Array, mark: npt.NDArray[np.bool_]) -> Int32Array:
    """All elimination-tree ancestors of ``starts`` (included), in rising rank."""
    out = []
    for s in starts:
        x = s
        while x != -1 and not mark[x]:
            mark[x] = True
            out.append(x)
            x = parent[x]
    nodes = np.array(out, dtype=np.int32)
    nodes.sort()
    for x in nodes:
        mark[x] = False
    return nodes


@jit()
def _restrict(
    parent: Int32Array,
    dn_first: Int64Array,
    dn_from: Int32Array,
    down: Int64Array,
    tgt_nodes: Int32Array,
) -> tuple[Int32Array, Int32Array, Int64Array, Int32Array, Int64Array]:
    """The part of the downward graph that can reach a target (RPHAST).

    Only elimination-tree ancestors of the targets can lie on a downward path
    to one, so the sweep runs over them alone, renumbered ``0..r-1`` in
    rising rank. Returns the local index of every node (-1 outside), the
    nodes, and the restricted downward CSR in local numbers.
    """
    n = parent.shape[0]
    local = np.full(n, -1, np.int32)
    mark = np.zeros(n, np.bool_)
    chain = _chain(parent, tgt_nodes.ravel()[tgt_nodes.ravel() >= 0].astype(np.int32), mark)
    r = chain.shape[0]
    for i in range(r):
        local[chain[i]] = i
    first = np.zeros(r + 1, np.int64)
    for i in range(r):
        v = chain[i]
        first[i + 1] = first[i] + dn_first[v + 1] - dn_first[v]
    src = np.empty(first[r], np.int32)
    weight = np.empty(first[r], np.int64)
    for i in range(r):
        v = chain[i]
        pos = first[i]
        for a in range(dn_first[v], dn_first[v + 1]):
            src[pos] = local[dn_from[a]]
            weight[pos] = down[a]
            pos += 1
    return local, chain, first, src, weight


@jit()
def _sweep_batch(
    up_first: Int64Array,
    up_head: Int32Array,
    up: Int64Array,
    parent: Int32Array,
    local: Int32Array,
    r_first: Int64Array,
    r_from: Int32Array,
    r_down: Int64Array,
    src_nodes: Int32Array,
    src_offsets: Int64Array,
    tgt_local: Int32Array,
    tgt_offsets: Int64Array,
    begin: int,
    end: int,
    out: Int64Array,
) -> None:
    """Distances from sources ``begin:end`` to every target, written into ``out``.

    ``src_nodes[i]`` holds the (up to two) rank-space nodes source ``i`` is
    attached to, -1 when unused, with ``src_offsets[i]`` the packed cost of
    getting there; ``tgt_*`` likewise (in local numbers) for leaving the road
    to reach a target.
    """
    n = up_first.shape[0] - 1
    r = r_first.shape[0] - 1
    k = end - begin
    dist = np.full((r, k), INF, np.int64)
    scratch = np.full(n, INF, np.int64)
    mark = np.zeros(n, np.bool_)
    for b in range(k):
        s = begin + b
        count = 0
        for q in range(src_nodes.shape[1]):
            if src_nodes[s, q] >= 0:
                count += 1
        starts = np.empty(count, np.int32)
        count = 0
        for q in range(src_nodes.shape[1]):
            x = src_nodes[s, q]
            if x >= 0:
                starts[count] = x
                count += 1
                scratch[x] = min(scratch[x], src_offsets[s, q])
        for x in _chain(parent, starts, mark):
            dx = scratch[x]
            scratch[x] = INF
            if dx >= INF:
                continue
            if local[x] >= 0:
                dist[local[x], b] = dx
            for i in range(up_first[x], up_first[x + 1]):
                u = up_head[i]
                scratch[u] = min(scratch[u], dx + up[i])
    for v in range(r - 1, -1, -1):
        for i in range(r_first[v], r_first[v + 1]):
            w = r_down[i]
            u = r_from[i]
            for b in range(k):
                dist[v, b] = min(dist[v, b], dist[u, b] + w)
    for t in range(tgt_local.shape[0]):
        for q in range(tgt_local.shape[1]):
            x = tgt_local[t, q]
            if x < 0:
                continue
            off = tgt_offsets[t, q]
            for b in range(k):
                c = dist[x, b] + off
                if c < out[begin + b, t]:
                    out[begin + b, t] = c


@jit(parallel=True)
def _many_to_many(
    up_first: Int64Array,
    up_head: Int32Array,
    up: Int64Array,
    dn_first: Int64Array,
    dn_from: Int32Array,
    down: Int64Array,
    parent: Int32Array,
    src_nodes: Int32Array,
    src_offsets: Int64Array,
    tgt_nodes: Int32Array,
    tgt_offsets: Int64Array,
    batch: int,
) -> Int64Array:
    local, _, r_first, r_from, r_down = _restrict(parent, dn_first, dn_from, down, tgt_nodes)
    tgt_local = np.full(tgt_nodes.shape, -1, np.int32)
    for t in range(tgt_nodes.shape[0]):
        for q in range(tgt_nodes.shape[1]):
            if tgt_nodes[t, q] >= 0:
                tgt_local[t, q] = local[tgt_nodes[t, q]]
    s = src_nodes.shape[0]
    out = np.full((s, tgt_nodes.shape[0]), INF, np.int64)
    batches = (s + batch - 1) // batch
    for b in numba.prange(batches):
        begin = b * batch
        end = min(s, begin + batch)
        _sweep_batch(
            up_first,
            up_head,
            up,
            parent,
            local,
            r_first,
            r_from,
            r_down,
            src_nodes,
            src_offsets,
            tgt_local,
            tgt_offsets,
            begin,
            end,
            out,
        )
    return out


def many_to_many(
    metric: Metric,
    src_nodes: Int32Array,
    src_offsets: Int64Array,
    tgt_nodes: Int32Array,
    tgt_offsets: Int64Array,
    batch: int = BATCH,
) -> Int64Array:
    """Packed fastest-path weight from every source to every target.

    Parameters
    ----------
    metric
        A customized hierarchy.
    src_nodes, tgt_nodes
        ``(count, slots)`` road-graph node ids each source starts from / each
        target is reached at; -1 marks an unused slot.
    src_offsets, tgt_offsets
        Packed cost of each slot (getting from the stop to that node, or from
        that node to the stop).
    batch
        Sources per sweep.

    Returns
    -------
    numpy.ndarray
        ``(sources, targets)`` packed weights; :data:`INF` where there is no path.
    """
    topo = metric.topology
    src = np.where(src_nodes >= 0, topo.rank[np.maximum(src_nodes, 0)], -1).astype(np.int32)
    tgt = np.where(tgt_nodes >= 0, topo.rank[np.maximum(tgt_nodes, 0)], -1).astype(np.int32)
    result: Int64Array = _many_to_many(
        metric.q_up_first,
        metric.q_up_head,
        metric.q_up,
        metric.q_dn_first,
        metric.q_dn_from,
        metric.q_dn,
        topo.parent,
        np.ascontiguousarray(src),
        np.ascontiguousarray(src_offsets, dtype=np.int64),
        np.ascontiguousarray(tgt),
        np.ascontiguousarray(tgt_offsets, dtype=np.int64),
        batch,
    )
    return result


@jit()
def _upward(
    first_up: Int64Array,
    up_head: Int32Array,
    parent: Int32Array,
    weights: Int64Array,
    start: int,
    mark: npt.NDArray[np.bool_],
) -> tuple[Int32Array, Int64Array, Int64Array]:
    """Upward search from ``start``: chain nodes, their distance and the arc used."""
    nodes = _chain(parent, np.array([start], np.int32), mark)
    n = first_up.shape[0] - 1
    dist = np.full(n, INF, np.int64)
    via = np.full(n, -1, np.int64)
    dist[start] = 0
    for x in nodes:
        if dist[x] >= INF:
            continue
        for i in range(first_up[x], first_up[x + 1]):
            u = up_head[i]
            c = dist[x] + weights[i]
            if c < dist[u]:
                dist[u] = c
                via[u] = i
    return nodes, dist[nodes], via[nodes]


def shortest_path(metric: Metric, source: int, target: int) -> list[int] | None:
    """Road-graph nodes of the fastest path from ``source`` to ``target`` (None: no path)."""
    topo = metric.topology
    s, t = int(topo.rank[source]), int(topo.rank[target])
    mark = np.zeros(topo.node_count, np.bool_)
    fn, fd, fv = _upward(topo.first_up, topo.up_head, topo.parent, metric.up, s, mark)
    bn, bd, bv = _upward(topo.first_up, topo.up_head, topo.parent, metric.down, t, mark)
    forward = {int(x): (int(d), int(v)) for x, d, v in zip(fn, fd, fv, strict=True)}
    backward = {int(x): (int(d), int(v)) for x, d, v in zip(bn, bd, bv, strict=True)}
    best, meet = INF, -1
    for x, (d, _) in forward.items():
        if x in backward and d + backward[x][0] < best:
            best, meet = d + backward[x][0], x
    if meet < 0:
        return None
    tail_of = np.repeat(np.arange(topo.node_count, dtype=np.int64), np.diff(topo.first_up))
    up_path: list[tuple[int, bool]] = []  # (arc, runs upward)
    x = meet
    while x != s:
        arc = forward[x][1]
        up_path.append((arc, True))
        x = int(tail_of[arc])
    up_path.reverse()
    x = meet
    while x != t:
        arc = backward[x][1]
        up_path.append((arc, False))
        x = int(tail_of[arc])
    ranks = [s]
    for arc, upward in up_path:
        ranks.extend(_unpack(metric, tail_of, arc, upward)[1:])
    order = np.empty(topo.node_count, np.int64)
    order[topo.rank] = np.arange(topo.node_count)
    return [int(order[r]) for r in ranks]


def _unpack(metric: Metric, tail_of: Int64Array, arc: int, upward: bool) -> list[int]:
    """Rank-space nodes along one hierarchy arc, in travel direction."""
    topo = metric.topology
    low, high = int(tail_of[arc]), int(topo.up_head[arc])
    mid = int(metric.up_mid[arc] if upward else metric.down_mid[arc])
    if mid < 0:
        return [low, high] if upward else [high, low]
    to_low = _find(topo, mid, low)
    to_high = _find(topo, mid, high)
    if upward:  # low -> mid -> high
        return _unpack(metric, tail_of, to_low, False) + _unpack(metric, tail_of, to_high, True)[1:]
    return _unpack(metric, tail_of, to_high, False) + _unpack(metric, tail_of, to_low, True)[1:]


def _find(topo: Topology, low: int, high: int) -> int:
    arc = int(_find_arc(topo.first_up, topo.up_head, low, high))
    if arc < 0:
        raise AssertionError(f"missing hierarchy arc {low} -> {high}")
    return arc
