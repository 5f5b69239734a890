"""A one-depot day too big for its square: held sparse against held dense, side by side.

Plans one generated Helsinki day (one depot, the sample's vans with their
breaks, one per 80 orders) through ``plan_orders`` with the decomposition,
its matrices built two ways, each in a fresh process:

- ``sparse``: the depot's row and column held, every other pair asked from the
  roads when read (``doorstep.plan.sparse``; what the automatic choice builds
  from ``SPARSE_MIN_ORDERS`` orders on one depot);
- ``dense``: the whole square (what it built before).

Reports orders served, routes, km, cost and penalties, wall time from the
first matrix to the evaluated plan, the pipeline's stages, the Doorstep
process's peak resident memory, and the peak of the whole process tree (the
local Ray's workers included, sampled every 0.2 s).

Usage::

    python bench/bench_sparse.py --orders 10000 --limit 180
    python bench/bench_sparse.py --orders 20000 --limit 360 --builds sparse
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
from typing import Any

from machine import describe

HERE = Path(__file__).parent


def one_run(orders: int, limit: float, build: str) -> dict[str, Any]:
    """Plan the day once with ``build`` matrices (run in a fresh process)."""
    import doorstep.plan.registry as registry
    from bench_depots import PeakMemory
    from bench_growth import write_files
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.pipeline import PlanOptions, plan_orders

    registry.SPARSE_MIN_ORDERS = 1 if build == "sparse" else 10**9
    with tempfile.TemporaryDirectory() as tmp:
        order_file, fleet_file = write_files(orders, Path(tmp))
        report = validate_files(order_file, fleet_file)
        assert report.fleet is not None and len(report.orders) == orders, "a clean day"
        provider = OsmProvider()
        marks: list[tuple[str, float]] = []
        options = PlanOptions(time_limit_s=limit, backend="decompose", with_geometry=False)
        began = time.perf_counter()
        with PeakMemory() as tree:
            day = plan_orders(
                report.orders,
                report.fleet,
                provider,
                options,
                on_step=lambda name: marks.append((name, time.perf_counter())),
            )
        ended = time.perf_counter()
    stamps = [*(m[1] for m in marks), ended]
    stages: dict[str, float] = {}
    for (name, at), until in zip(marks, stamps[1:], strict=True):
        key = "matrices" if name.startswith("travel times") else "solve, explain, evaluate"
        stages[key] = round(stages.get(key, 0.0) + until - at, 1)
    k = day.evaluation.kpis
    return {
        "orders": orders,
        "limit_s": limit,
        "build": build,
        "dense": day.problem.dense,
        "served": k.served,
        "routes": k.vehicles_used,
        "km": round(k.distance_km, 1),
        "cost_eur": round(k.cost, 2),
        "penalty_eur": round(k.penalty, 2),
        "feasible": day.evaluation.feasible,
        "wall_s": round(ended - began, 1),
        "stages": stages,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "peak_tree_mb": round(tree.peak_mb),
    }


def main() -> None:
    """Each build in a fresh process; one JSON line per run, then a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=180.0)
    parser.add_argument("--builds", default="sparse,dense", help="comma-separated: sparse, dense")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.orders, args.limit, args.one)))
        return
    print(describe())
    rows = []
    for build in args.builds.split(","):
        command = [sys.executable, __file__, "--orders", str(args.orders)]
        command += ["--limit", str(args.limit), "--one", build]
        out = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{build}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    print()
    head = ["build", "served", "routes", "km", "cost + penalties (EUR)", "wall", "stages"]
    head += ["peak, doorstep", "peak, with Ray"]
    print("| " + " | ".join(head) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        stages = ", ".join(f"{k} {v} s" for k, v in r["stages"].items())
        total = r["cost_eur"] + r["penalty_eur"]
        print(
            f"| {r['build']} | {r['served']:,} | {r['routes']} | {r['km']:,} | "
            f"{r['cost_eur']:,.0f} + {r['penalty_eur']:,.0f} = {total:,.0f} | {r['wall_s']} s | "
            f"{stages} | {r['peak_mb'] / 1024:.2f} GB | {r['peak_tree_mb'] / 1024:.2f} GB |"
        )


if __name__ == "__main__":
    main()
