"""Tests for the contraction hierarchy: every answer checked against plain Dijkstra."""

import itertools

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from doorstep.domain import Profile
from doorstep.network import cch
from doorstep.network.osm_graph import read_road_graph
from doorstep.network.osm_provider import BUNDLED_PBF


def random_graph(seed: int, n: int = 60) -> tuple[np.ndarray, ...]:
    """A random sparse directed graph with coordinates, some one-way arcs, parallel arcs."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(60, 60.05, n), rng.uniform(24, 24.1, n)
    tail, head = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
    both = rng.random(3 * n) < 0.6
    tail, head = np.concatenate((tail, head[both])), np.concatenate((head, tail[both]))
    weight = cch.pack(rng.integers(1, 10_000, tail.shape[0]), rng.integers(0, 5_000, tail.shape[0]))
    return lat, lon, tail.astype(np.int32), head.astype(np.int32), weight


def reference(n: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """All-pairs packed distances by scipy's Dijkstra (parallel arcs: the lightest; loops out)."""
    order = np.lexsort((weight, head, tail))
    t, h, w = tail[order], head[order], weight[order]
    first = np.r_[True, (t[1:] != t[:-1]) | (h[1:] != h[:-1])] & (t != h)
    # Packed weights exceed float precision, so compare via time and distance separately.
    time_ms, _dist_dm, _ = cch.unpack(w[first])
    best = dijkstra(csr_matrix((time_ms.astype(float), (t[first], h[first])), shape=(n, n)))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_many_to_many_equals_dijkstra_on_random_graphs(seed: int) -> None:
    """All-pairs travel times from the hierarchy equal scipy's Dijkstra, unreachable pairs too."""
    lat, lon, tail, head, weight = random_graph(seed)
    n = lat.shape[0]
    order = cch.nested_dissection_order(tail, head, lat, lon)
    metric = cch.customize(cch.build_topology(order, tail, head), weight)
    nodes = np.arange(n, dtype=np.int32)[:, None]
    zero = np.zeros((n, 1), np.int64)
    packed = cch.many_to_many(metric, nodes, zero, nodes, zero, batch=7)
    time_ms, _, reachable = cch.unpack(packed)
    expected = reference(n, tail, head, weight)
    assert np.array_equal(reachable, np.isfinite(expected))
    assert np.array_equal(time_ms[reachable], expected[reachable].astype(np.int64))


def test_any_order_gives_the_same_distances() -> None:
    """The order only changes speed: a random order answers exactly like the dissection."""
    lat, lon, tail, head, weight = random_graph(99)
    n = lat.shape[0]
    nodes = np.arange(n, dtype=np.int32)[:, None]
    zero = np.zeros((n, 1), np.int64)
    answers = []
    for order in (
        cch.nested_dissection_order(tail, head, lat, lon),
        np.random.default_rng(3).permutation(n),
    ):
        metric = cch.customize(cch.build_topology(order.astype(np.int32), tail, head), weight)
        answers.append(cch.many_to_many(metric, nodes, zero, nodes, zero))
    assert np.array_equal(answers[0], answers[1])


def test_start_slots_and_offsets() -> None:
    """A source attached to two nodes takes the cheaper one, offsets included."""
    lat, lon, tail, head, weight = random_graph(5)
    n = lat.shape[0]
    metric = cch.customize(
        cch.build_topology(cch.nested_dissection_order(tail, head, lat, lon), tail, head), weight
    )
    single = np.arange(n, dtype=np.int32)[:, None]
    zero = np.zeros((n, 1), np.int64)
    full = cch.many_to_many(metric, single, zero, single, zero)
    off_a, off_b = (
        cch.pack(np.array([500]), np.array([10]))[0],
        cch.pack(np.array([40]), np.array([3]))[0],
    )
    src = np.array([[3, 11]], np.int32)
    src_off = np.array([[off_a, off_b]], np.int64)
    tgt = np.array([[20, -1]], np.int32)
    got = cch.many_to_many(metric, src, src_off, tgt, np.zeros((1, 2), np.int64))[0, 0]
    expected = min(off_a + full[3, 20], off_b + full[11, 20])
    assert got == min(expected, cch.INF)


def test_shortest_path_weighs_what_the_matrix_says() -> None:
    """Unpacked paths use real arcs and add up to the matrix entry."""
    lat, lon, tail, head, weight = random_graph(2)
    n = lat.shape[0]
    metric = cch.customize(
        cch.build_topology(cch.nested_dissection_order(tail, head, lat, lon), tail, head), weight
    )
    nodes = np.arange(n, dtype=np.int32)[:, None]
    zero = np.zeros((n, 1), np.int64)
    packed = cch.many_to_many(metric, nodes, zero, nodes, zero)
    lightest: dict[tuple[int, int], int] = {}
    for t, h, w in zip(tail.tolist(), head.tolist(), weight.tolist(), strict=True):
        lightest[(t, h)] = min(lightest.get((t, h), cch.INF), w)
    checked = 0
    for s in range(0, n, 7):
        for t in range(0, n, 5):
            path = cch.shortest_path(metric, s, t)
            if packed[s, t] >= cch.INF:
                assert path is None
                continue
            assert path is not None and path[0] == s and path[-1] == t
            assert sum(lightest[(a, b)] for a, b in itertools.pairwise(path)) == packed[s, t]
            checked += 1
    assert checked > 20


def test_helsinki_pairs_agree_with_networkx() -> None:
    """Sampled car travel times on the bundled Helsinki graph equal networkx's Dijkstra."""
    graph = read_road_graph(BUNDLED_PBF, Profile.CAR)
    time_ms = graph.travel_ms()
    weight = cch.pack(time_ms, np.rint(graph.length_m * 10).astype(np.int64))
    order = cch.nested_dissection_order(graph.tail, graph.head, graph.lat, graph.lon)
    metric = cch.customize(cch.build_topology(order, graph.tail, graph.head), weight)
    g = nx.DiGraph()
    for t, h, w in zip(graph.tail.tolist(), graph.head.tolist(), time_ms.tolist(), strict=True):
        if not g.has_edge(t, h) or g[t][h]["weight"] > w:
            g.add_edge(t, h, weight=w)
    rng = np.random.default_rng(11)
    sources = rng.choice(graph.node_count, 15, replace=False).astype(np.int32)
    targets = rng.choice(graph.node_count, 40, replace=False).astype(np.int32)
    packed = cch.many_to_many(
        metric,
        sources[:, None],
        np.zeros((15, 1), np.int64),
        targets[:, None],
        np.zeros((40, 1), np.int64),
    )
    got, _, _ = cch.unpack(packed)
    for i, s in enumerate(sources.tolist()):
        lengths = nx.single_source_dijkstra_path_length(g, s, weight="weight")
        assert [lengths[t] for t in targets.tolist()] == got[i].tolist()


def test_pack_rejects_absurd_lengths() -> None:
    """Distances that would spill into the time bits are refused."""
    with pytest.raises(ValueError):
        cch.pack(np.array([1]), np.array([cch.DIST_MASK + 1]))


def test_decode_rounds_to_whole_seconds_and_metres() -> None:
    """Packed weights decode to rounded seconds and metres; INF to the unreachable marker."""
    packed = np.array(
        [
            [cch.pack(np.array([1_499]), np.array([14]))[0], cch.INF],
            [cch.pack(np.array([1_500]), np.array([15]))[0], 0],
        ]
    )
    seconds, metres = cch.decode(packed, 10**9)
    assert seconds.tolist() == [[1, 10**9], [2, 0]]
    assert metres.tolist() == [[1, 10**9], [2, 0]]
