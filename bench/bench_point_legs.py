"""Benchmark: one new point against a day's stops, as a square matrix and as two tables.

A slot offer needs the new point's row and column against every stop of the
days offered. Before, the service asked the provider for a square matrix over
the point and all those stops and kept one row and one column; now it asks
:func:`doorstep.network.provider.both_ways`, which on the bundled roads searches
from the point only (1 x N) and from the stops to it (N x 1).

For each N the same N random stops near the bundled Helsinki roads and one new
point are timed both ways, alternately, ``--repeat`` times (the bundled CCH
warmed up first); the figures are medians, with the peak of the arrays each way
(durations and distances, int64).

The same for a day in memory (:class:`doorstep.network.subset.DayMatrices`, what
dispatch re-plans slice) that gains the new point: a fresh day over all N + 1
locations, against :meth:`~doorstep.network.subset.DayMatrices.grown`.

Usage::

    python bench/bench_point_legs.py [--sizes 300 2000 6000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from machine import describe, reference_seconds


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    from doorstep.domain import Location, Profile
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.network.provider import both_ways
    from doorstep.network.subset import DayMatrices

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 2000, 6000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    loops = [reference_seconds()]
    provider = OsmProvider(cache_matrices=False)
    net = provider.network(Profile.VAN)
    rng = np.random.default_rng(7)
    provider.matrices([Location(60.1699, 24.9384), Location(60.1668, 24.9441)], Profile.VAN)
    for n in args.sizes:
        # Road nodes (the bundled extract has fewer than 6,000), each moved a few metres
        # at random: N + 1 distinct locations.
        nodes = rng.choice(net.graph.node_count, n + 1, replace=True)
        lat = net.graph.lat[nodes] + rng.normal(0, 1e-4, n + 1)
        lon = net.graph.lon[nodes] + rng.normal(0, 2e-4, n + 1)
        places = [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
        point, stops = places[0], places[1:]
        square, tables = [], []
        for _ in range(args.repeat):
            began = time.perf_counter()
            m = provider.matrices([point, *stops], Profile.VAN)
            square.append(time.perf_counter() - began)
            began = time.perf_counter()
            out, back = both_ways(provider, [point], stops, Profile.VAN)
            tables.append(time.perf_counter() - began)
        assert np.array_equal(out.durations[0], m.durations[0, 1:])
        assert np.array_equal(back.durations[:, 0], m.durations[1:, 0])
        a, b = statistics.median(square), statistics.median(tables)
        print(
            f"N = {n:,}: square {1000 * a:.1f} ms ({2 * 8 * (n + 1) ** 2 / 2**20:.0f} MB of "
            f"arrays), two tables {1000 * b:.1f} ms ({2 * 2 * 8 * n / 2**20:.2f} MB): "
            f"{a / b:.0f}x"
        )
        day = DayMatrices(provider, stops)
        day.full(Profile.VAN)
        fresh, grown = [], []
        for _ in range(args.repeat):
            began = time.perf_counter()
            DayMatrices(provider, [*stops, point]).full(Profile.VAN)
            fresh.append(time.perf_counter() - began)
            began = time.perf_counter()
            day.grown([point]).full(Profile.VAN)
            grown.append(time.perf_counter() - began)
        c, d = statistics.median(fresh), statistics.median(grown)
        print(
            f"      a day of {n:,} gains the point: fresh day {1000 * c:.1f} ms, "
            f"grown {1000 * d:.1f} ms: {c / d:.0f}x"
        )
    loops.append(reference_seconds())
    print("reference loop before/after: " + ", ".join(f"{r:.2f}" for r in loops) + " s")


if __name__ == "__main__":
    main()
