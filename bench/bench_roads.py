"""Benchmark: Doorstep's own hierarchy (bundled CCH) against the embedded OSRM, on one network.

Issue 19's target: a 5,000 x 5,000 road matrix (durations and distances) on a
metropolitan network in <= 30 s and <= 4 GB. Measured for both providers on the
same ``.pbf`` (default: the synthetic city of ``bench/synthetic_city.py``,
about 200,000 road nodes, a real ``.pbf`` written offline; ``--city`` takes
any extract): preparation time and peak memory from a cold cache, 1,000 x
1,000 and 5,000 x 5,000 matrices through each provider's ``matrices`` (time,
peak memory), and the agreement of their travel times on the same points
(median and 95th percentile of ``|osrm - cch| / cch`` over the pairs both
reach, and the share of pairs only one of them reaches).

Every phase runs in a fresh Python process, so its peak memory (maximum
resident set size, tools run by the phase included) is its own. Points are
random road nodes of the CCH graph, moved a few metres off the road, chosen
once per size and given to both providers.

An OSRM table that takes longer than ``--osrm-timeout`` seconds is stopped
and reported as not finished; larger sizes are then not tried for OSRM (its
MLD table costs about one search of the whole graph per source and per
target, so time grows with sources + targets). The OSRM side needs
``osrm-bindings`` (Python >= 3.12): run it with the venv of
``scripts/test-osrm-embedded.sh``::

    .venv312/bin/python bench/bench_roads.py [--city PATH] [--nodes 200000]
        [--sizes 200 1000 5000] [--algorithm mld] [--osrm-timeout 600]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, reference_seconds

BENCH = Path(__file__).resolve().parent


def _peak_mb() -> float:
    """Peak resident memory of this process and of the largest tool it ran (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tools = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, tools) / 1024


def worker_prepare_cch(pbf: Path, cache: Path) -> dict[str, float]:
    """Read, order, build and customize the CCH into an empty cache."""
    from doorstep.domain.fleet import Profile
    from doorstep.network.cache import DiskCache
    from doorstep.network.osm_provider import OsmProvider

    t0 = time.perf_counter()
    provider = OsmProvider(pbf, cache=DiskCache(cache, max_bytes=1 << 40))
    net = provider.network(Profile.CAR)
    net.metric()
    return {
        "seconds": time.perf_counter() - t0,
        "nodes": net.graph.node_count,
        "arcs": net.graph.arc_count,
        "peak_mb": _peak_mb(),
    }


def worker_prepare_osrm(pbf: Path, root: Path, algorithm: str) -> dict[str, float]:
    """Extract and partition + customize (MLD) or contract (CH) with OSRM's own tools."""
    from doorstep.domain.fleet import Profile
    from doorstep.network.osrm_embedded import prepare_dataset

    t0 = time.perf_counter()
    dataset = prepare_dataset(pbf, Profile.CAR, algorithm=algorithm, root=root)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in dataset.parent.iterdir())
    return {"seconds": seconds, "disk_mb": size / 2**20, "peak_mb": _peak_mb()}


def _points(path: Path) -> list[object]:
    import numpy as np

    from doorstep.domain.location import Location

    coords = np.load(path)
    return [Location(float(a), float(b)) for a, b in coords]


def worker_matrix_cch(
    pbf: Path, cache: Path, size: int, points: Path, out: Path
) -> dict[str, object]:
    """Choose ``size`` points near roads, then time ``OsmProvider.matrices`` on them."""
    import numpy as np

    from doorstep.domain.fleet import Profile
    from doorstep.network.cache import DiskCache
    from doorstep.network.osm_provider import OsmProvider

    provider = OsmProvider(pbf, cache=DiskCache(cache, max_bytes=1 << 40), cache_matrices=False)
    net = provider.network(Profile.CAR)
    net.metric()
    rng = np.random.default_rng(size)
    nodes = rng.choice(net.graph.node_count, size, replace=False)
    lat = net.graph.lat[nodes] + rng.normal(0, 0.0001, size)
    lon = net.graph.lon[nodes] + rng.normal(0, 0.0002, size)
    np.save(points, np.column_stack((lat, lon)))
    located = _points(points)
    provider.matrices(located[:10], Profile.CAR)  # warm-up: numba's compiled code
    t0 = time.perf_counter()
    m = provider.matrices(located, Profile.CAR)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    np.savez(out, durations=m.durations.astype(np.int32), distances=m.distances.astype(np.int32))
    return {"seconds": seconds, "peak_mb": _peak_mb()}


def worker_matrix_osrm(
    pbf: Path, root: Path, algorithm: str, points: Path, out: Path
) -> dict[str, object]:
    """Time ``OsrmEmbeddedProvider.matrices`` on the points."""
    import numpy as np

    from doorstep.domain.fleet import Profile
    from doorstep.network.osrm_embedded import OsrmEmbeddedProvider

    provider = OsrmEmbeddedProvider(pbf, algorithm=algorithm, cache_dir=root)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    provider.engine(Profile.CAR)
    load_s = time.perf_counter() - t0
    located = _points(points)
    provider.matrices(located[:10], Profile.CAR)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    m = provider.matrices(located, Profile.CAR)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    np.savez(out, durations=m.durations.astype(np.int32), distances=m.distances.astype(np.int32))
    return {"seconds": seconds, "load_s": load_s, "peak_mb": _peak_mb()}


def agreement(cch: Path, osrm: Path) -> dict[str, float]:
    """Median and 95th percentile relative difference of durations and distances."""
    import numpy as np

    a, b = np.load(cch), np.load(osrm)
    result: dict[str, float] = {}
    for name in ("durations", "distances"):
        ours, theirs = a[name].astype(np.float64), b[name].astype(np.float64)
        off = ~np.eye(ours.shape[0], dtype=bool)
        ok_ours, ok_theirs = ours < 10**9, theirs < 10**9
        both = off & ok_ours & ok_theirs & (ours > 0)
        rel = np.abs(theirs[both] - ours[both]) / ours[both]
        result[f"{name}_median"] = float(np.median(rel))
        result[f"{name}_p95"] = float(np.percentile(rel, 95))
        result[f"{name}_ratio_median"] = float(np.median(theirs[both] / ours[both]))
        result["only_one_reaches"] = float((off & (ok_ours != ok_theirs)).sum() / off.sum())
    return result


def _run(*args: str, timeout: float | None = None) -> dict[str, object]:
    try:
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "worker", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": True}
    if result.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{result.stderr[-3000:]}")
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _load() -> str:
    with open("/proc/loadavg", encoding="utf-8") as handle:
        return " ".join(handle.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, help="the .pbf (default: generate a synthetic city)")
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--algorithm", choices=("mld", "ch"), default="mld")
    parser.add_argument(
        "--osrm-timeout", type=float, default=600, help="seconds before an OSRM table is stopped"
    )
    args = parser.parse_args()

    print(describe())
    print(f"load average at start: {_load()}")
    references = [reference_seconds()]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        city = args.city
        if city is None:
            city = work / "synthetic_city.osm.pbf"
            t0 = time.perf_counter()
            script = str(BENCH / "synthetic_city.py")
            subprocess.run(
                [sys.executable, script, str(city), "--nodes", str(args.nodes)],
                check=True,
                capture_output=True,
            )
            took = time.perf_counter() - t0
            print(f"synthetic city: {city.stat().st_size / 1e6:.1f} MB .pbf in {took:.1f} s")
        cch_cache, osrm_root = work / "cch", work / "osrm"
        cch = _run("prepare-cch", str(city), str(cch_cache))
        print(
            f"prepare CCH (car): {cch['nodes']:,} nodes, {cch['arcs']:,} arcs: "
            f"{cch['seconds']:.1f} s, peak {cch['peak_mb']:.0f} MB"
        )
        alg = args.algorithm.upper()
        osrm = _run("prepare-osrm", str(city), str(osrm_root), args.algorithm)
        print(
            f"prepare OSRM {alg} (car): {osrm['seconds']:.1f} s, peak {osrm['peak_mb']:.0f} MB, "
            f"{osrm['disk_mb']:.0f} MB on disk   [load {_load()}]"
        )
        osrm_finished = True
        for size in args.sizes:
            points, ours, theirs = (work / f"{name}{size}.npz" for name in ("p", "cch", "osrm"))
            points = points.with_suffix(".npy")
            a = _run("matrix-cch", str(city), str(cch_cache), str(size), str(points), str(ours))
            print(
                f"matrix {size:,} x {size:,} CCH: {a['seconds']:.2f} s, "
                f"peak {a['peak_mb']:.0f} MB   [load {_load()}]"
            )
            if not osrm_finished:
                print(f"matrix {size:,} x {size:,} OSRM {alg}: not tried (a smaller one timed out)")
                continue
            b = _run(
                "matrix-osrm",
                *(str(city), str(osrm_root), args.algorithm, str(points), str(theirs)),
                timeout=args.osrm_timeout,
            )
            if b.get("timeout"):
                osrm_finished = False
                print(
                    f"matrix {size:,} x {size:,} OSRM {alg}: not finished in "
                    f"{args.osrm_timeout:.0f} s   [load {_load()}]"
                )
                continue
            print(
                f"matrix {size:,} x {size:,} OSRM {alg}: {b['seconds']:.2f} s, "
                f"peak {b['peak_mb']:.0f} MB, engine loaded in {b['load_s']:.2f} s   "
                f"[load {_load()}]"
            )
            agree = agreement(ours, theirs)
            print(
                f"agreement {size:,} x {size:,}: durations |osrm - cch| / cch median "
                f"{100 * agree['durations_median']:.1f}%, p95 {100 * agree['durations_p95']:.1f}% "
                f"(osrm / cch median {agree['durations_ratio_median']:.2f}); distances median "
                f"{100 * agree['distances_median']:.1f}%, p95 {100 * agree['distances_p95']:.1f}% "
                f"(ratio {agree['distances_ratio_median']:.2f}); pairs only one reaches "
                f"{100 * agree['only_one_reaches']:.2f}%"
            )
    references.append(reference_seconds())
    loops = ", ".join(f"{r:.2f}" for r in references)
    print(f"reference loop (20M iterations) before/after: {loops} s; load at end: {_load()}")


def _worker(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    answer: object
    if kind == "prepare-cch":
        answer = worker_prepare_cch(Path(rest[0]), Path(rest[1]))
    elif kind == "prepare-osrm":
        answer = worker_prepare_osrm(Path(rest[0]), Path(rest[1]), rest[2])
    elif kind == "matrix-cch":
        answer = worker_matrix_cch(
            Path(rest[0]), Path(rest[1]), int(rest[2]), Path(rest[3]), Path(rest[4])
        )
    else:
        answer = worker_matrix_osrm(
            Path(rest[0]), Path(rest[1]), rest[2], Path(rest[3]), Path(rest[4])
        )
    print(json.dumps(answer))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _worker(sys.argv[2:])
    else:
        main()
