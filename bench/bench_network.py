"""Benchmark: road-network preparation and travel-time matrices.

Targets (issue 3), on a synthetic city of about 200,000 road nodes written as a
real .pbf by ``bench/synthetic_city.py``: a 1,000 x 1,000 matrix in <= 2 s and
5,000 x 5,000 in <= 30 s, with <= 2 GB peak memory. Also measured: preparing
the bundled Helsinki extract and the large city, and the naive baselines
(networkx Dijkstra from every source; scipy's Dijkstra) for the ratio.

Every phase runs in a fresh Python process so its peak memory (maximum
resident set size) is its own. Matrix timings are of
``OsmProvider.matrices`` on random points near roads (snapping, hierarchy
sweeps, decoding), after a warm-up call that loads numba's compiled code;
each repetition uses new points and no matrix cache. The baselines are too
slow to run in full: they are timed on a sample of sources and scaled to
1,000 sources (a Dijkstra from each source costs the same whatever the
targets).

Usage::

    python bench/bench_network.py [--city PATH] [--reps 3] [--sizes 1000 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, reference_seconds

BENCH = Path(__file__).resolve().parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_prepare(pbf: Path, profile_name: str) -> dict[str, float]:
    """Read, order, build and customize, timing each step (no cache)."""
    import numpy as np

    from doorstep.domain.fleet import Profile
    from doorstep.network import cch
    from doorstep.network.osm_graph import read_road_graph

    profile = Profile(profile_name)
    t0 = time.perf_counter()
    graph = read_road_graph(pbf, profile)
    t1 = time.perf_counter()
    order = cch.nested_dissection_order(graph.tail, graph.head, graph.lat, graph.lon)
    t2 = time.perf_counter()
    topology = cch.build_topology(order, graph.tail, graph.head)
    t3 = time.perf_counter()
    weights = cch.pack(graph.travel_ms(), np.rint(graph.length_m * 10).astype(np.int64))
    metric = cch.customize(topology, weights)
    t4 = time.perf_counter()
    return {
        "nodes": graph.node_count,
        "arcs": graph.arc_count,
        "hierarchy_arcs": topology.arc_count,
        "kept_down_arcs": int(metric.q_dn.shape[0]),
        "read_s": t1 - t0,
        "order_s": t2 - t1,
        "topology_s": t3 - t2,
        "customize_s": t4 - t3,
        "total_s": t4 - t0,
        "peak_mb": _peak_mb(),
    }


def _random_points(graph: object, count: int, seed: int) -> list[object]:
    import numpy as np

    from doorstep.domain.location import Location

    rng = np.random.default_rng(seed)
    nodes = rng.choice(graph.node_count, count, replace=False)  # type: ignore[attr-defined]
    lat = graph.lat[nodes] + rng.normal(0, 0.0001, count)  # type: ignore[attr-defined]
    lon = graph.lon[nodes] + rng.normal(0, 0.0002, count)  # type: ignore[attr-defined]
    return [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]


def worker_matrix(
    pbf: Path, profile_name: str, cache: Path, size: int, reps: int
) -> dict[str, object]:
    """Median time of ``OsmProvider.matrices`` for ``size`` random points (network cached)."""
    from doorstep.domain.fleet import Profile
    from doorstep.network.cache import DiskCache
    from doorstep.network.osm_provider import OsmProvider

    profile = Profile(profile_name)
    provider = OsmProvider(pbf, cache=DiskCache(cache), cache_matrices=False)
    t0 = time.perf_counter()
    net = provider.network(profile)
    net.metric()
    load_s = time.perf_counter() - t0
    provider.matrices(_random_points(net.graph, 10, seed=0), profile)  # warm-up: numba code
    times = []
    unreachable = 0.0
    for rep in range(reps):
        points = _random_points(net.graph, size, seed=rep + 1)
        t0 = time.perf_counter()
        m = provider.matrices(points, profile)
        times.append(time.perf_counter() - t0)
        unreachable = float((m.durations >= 10**9).mean())
        del m
    return {
        "size": size,
        "times_s": times,
        "median_s": statistics.median(times),
        "load_s": load_s,
        "unreachable_share": unreachable,
        "peak_mb": _peak_mb(),
    }


def worker_baseline(
    pbf: Path, profile_name: str, nx_sources: int, scipy_sources: int
) -> dict[str, float]:
    """networkx and scipy Dijkstra from a sample of sources, on the same graph."""
    import networkx as nx
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from doorstep.domain.fleet import Profile
    from doorstep.network.osm_graph import read_road_graph

    graph = read_road_graph(pbf, Profile(profile_name))
    # Parallel arcs are merged carelessly here (last or summed weight): only the time counts.
    time_ms = graph.travel_ms()
    rng = np.random.default_rng(5)
    t0 = time.perf_counter()
    g = nx.DiGraph()
    g.add_weighted_edges_from(
        zip(graph.tail.tolist(), graph.head.tolist(), time_ms.tolist(), strict=True)
    )
    nx_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in rng.choice(graph.node_count, nx_sources, replace=False).tolist():
        nx.single_source_dijkstra_path_length(g, s, weight="weight")
    nx_each = (time.perf_counter() - t0) / nx_sources
    del g
    n = graph.node_count
    t0 = time.perf_counter()
    matrix = csr_matrix((time_ms.astype(float), (graph.tail, graph.head)), shape=(n, n))
    sources = rng.choice(n, scipy_sources, replace=False)
    dijkstra(matrix, indices=sources)
    scipy_each = (time.perf_counter() - t0) / scipy_sources
    return {
        "networkx_build_s": nx_build,
        "networkx_per_source_s": nx_each,
        "networkx_sources": nx_sources,
        "scipy_per_source_s": scipy_each,
        "scipy_sources": scipy_sources,
        "peak_mb": _peak_mb(),
    }


def _run(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{result.stderr[-3000:]}")
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, help="Large .pbf (default: generate one)")
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--profile", default="car")
    parser.add_argument("--networkx-sources", type=int, default=10)
    parser.add_argument("--scipy-sources", type=int, default=50)
    args = parser.parse_args()

    print(describe())
    references = [reference_seconds()]
    with tempfile.TemporaryDirectory() as folder:
        city = args.city
        if city is None:
            city = Path(folder) / "synthetic_city.osm.pbf"
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    str(BENCH / "synthetic_city.py"),
                    str(city),
                    "--nodes",
                    str(args.nodes),
                ],
                check=True,
                capture_output=True,
            )
            took = time.perf_counter() - t0
            print(f"synthetic city: {city.stat().st_size / 1e6:.1f} MB .pbf in {took:.1f} s")
        from doorstep.network.osm_provider import BUNDLED_PBF

        for name, pbf in (("bundled Helsinki", BUNDLED_PBF), ("synthetic city", city)):
            prep = _run("prepare", str(pbf), args.profile)
            print(
                f"prepare {name} ({args.profile}): {prep['nodes']:,} nodes, {prep['arcs']:,} arcs "
                f"-> {prep['hierarchy_arcs']:,} hierarchy arcs, "
                f"{prep['kept_down_arcs']:,} kept down; "
                f"read {prep['read_s']:.2f} s, order {prep['order_s']:.2f} s, "
                f"topology {prep['topology_s']:.2f} s, customize {prep['customize_s']:.2f} s, "
                f"total {prep['total_s']:.2f} s, peak {prep['peak_mb']:.0f} MB"
            )
        cache = Path(folder) / "cache"
        _run("matrix", str(city), args.profile, str(cache), "10", "1")  # prepares into the cache
        results = {}
        for size in args.sizes:
            result = _run("matrix", str(city), args.profile, str(cache), str(size), str(args.reps))
            results[size] = result
            times = ", ".join(f"{t:.2f}" for t in result["times_s"])  # type: ignore[attr-defined]
            print(
                f"matrix {size:,} x {size:,} on the synthetic city: "
                f"median {result['median_s']:.2f} s "
                f"({times}), peak {result['peak_mb']:.0f} MB, "
                f"unreachable pairs {100 * float(result['unreachable_share']):.2f}%, "  # type: ignore[arg-type]
                f"cached network loaded in {result['load_s']:.2f} s"
            )
        base = _run(
            "baseline", str(city), args.profile, str(args.networkx_sources), str(args.scipy_sources)
        )
        ours = float(results[args.sizes[0]]["median_s"])  # type: ignore[arg-type]
        size = args.sizes[0]
        nx_total = float(base["networkx_per_source_s"]) * size  # type: ignore[arg-type]
        sp_total = float(base["scipy_per_source_s"]) * size  # type: ignore[arg-type]
        print(
            f"baseline networkx Dijkstra from every source: "
            f"{base['networkx_per_source_s']:.2f} s per source "
            f"(timed on {base['networkx_sources']}), so {nx_total:.0f} s for {size:,} sources "
            f"(+ {base['networkx_build_s']:.1f} s to build the graph); ratio {nx_total / ours:.0f}x"
        )
        print(
            f"baseline scipy Dijkstra: {base['scipy_per_source_s'] * 1000:.0f} ms per source "
            f"(timed on {base['scipy_sources']}), so {sp_total:.0f} s for {size:,}; "
            f"ratio {sp_total / ours:.0f}x; baseline peak {base['peak_mb']:.0f} MB"
        )
    references.append(reference_seconds())
    loops = ", ".join(f"{r:.2f}" for r in references)
    print(f"reference loop (20M iterations) before/after: {loops} s")


def _worker(argv: list[str]) -> None:
    kind, pbf, profile = argv[0], Path(argv[1]), argv[2]
    if kind == "prepare":
        answer: object = worker_prepare(pbf, profile)
    elif kind == "matrix":
        answer = worker_matrix(pbf, profile, Path(argv[3]), int(argv[4]), int(argv[5]))
    else:
        answer = worker_baseline(pbf, profile, int(argv[3]), int(argv[4]))
    print(json.dumps(answer))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _worker(sys.argv[2:])
    else:
        main()
