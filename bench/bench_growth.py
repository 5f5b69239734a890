"""Benchmark: how time and memory grow with the day, stage by stage, from 300 to 5,000 orders.

Each size runs in its own process (memory from a fresh start) through the
pipeline every door uses: the gate (``validate_files``), the travel-time
matrices on the bundled roads (``plan_orders``' first step; the network's CCH
cache warm), the solve (the automatic choice of backend, at the size's limit),
explaining and evaluating, route geometry, and the outputs (``write_outputs``:
plan.json, GeoJSON, map, route CSVs). For each stage: seconds, and the peak
resident memory of the process during it (``VmHWM`` after resetting it through
``/proc/self/clear_refs``: Linux only).

Days: ``bench_repair.write_day`` (the sample generator, one van per 80 orders, the
sample vans with their breaks), in runs of 2,000 orders above that
(``bench_depots._order_rows``), one depot.

Usage::

    python bench/bench_growth.py [--sizes 300,1000,2000,5000] [--limits 10,30,50,150]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import describe

HERE = Path(__file__).parent


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def write_files(n: int, folder: Path) -> tuple[Path, Path]:
    """A clean day of ``n`` orders and one van per 80 (the sample's vans, breaks kept)."""
    from bench_depots import _order_rows
    from bench_repair import ORDERS_PER_VAN, _manifest_script

    rows = _order_rows(n, folder, 2026)
    orders = folder / "orders.csv"
    with orders.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    gen = _manifest_script()
    vans = [r for r in gen.fleet() if r["profile"] == "van"]
    fleet = folder / "fleet.csv"
    vehicles = [
        dict(vans[k % len(vans)], vehicle_id=f"VAN-{k + 1:02d}")
        for k in range(math.ceil(n / ORDERS_PER_VAN))
    ]
    gen.write(fleet, gen.FLEET_COLUMNS, vehicles)
    return orders, fleet


def one_size(n: int, limit: float) -> dict[str, Any]:
    """Plan a day of ``n`` orders, timing each stage (run in a fresh process)."""
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.outputs import write_outputs
    from doorstep.plan.pipeline import PlanOptions, plan_orders

    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        orders, fleet = write_files(n, folder)
        provider = OsmProvider()
        _reset_peak()
        began = time.perf_counter()
        report = validate_files(orders, fleet)
        stages["gate"] = [time.perf_counter() - began, _peak_mb()]
        assert report.fleet is not None and len(report.orders) == n, "a clean day"
        marks: list[tuple[str, float, float]] = []

        def step(name: str) -> None:
            marks.append((name, time.perf_counter(), _peak_mb()))
            _reset_peak()

        _reset_peak()
        began = time.perf_counter()
        day = plan_orders(
            report.orders, report.fleet, provider, PlanOptions(time_limit_s=limit), on_step=step
        )
        ended, peak = time.perf_counter(), _peak_mb()
        names = ["(before)", *(m[0] for m in marks)]
        times = [began, *(m[1] for m in marks), ended]
        peaks = [m[2] for m in marks] + [peak]
        for k, name in enumerate(names):
            key = "matrices" if name.startswith("travel times") else name
            key = "solve, explain, evaluate" if name.startswith("solving") else key
            if name == "(before)":
                key = "canonical order"
            stages[key] = [times[k + 1] - times[k], peaks[k]]
        _reset_peak()
        began = time.perf_counter()
        write_outputs(day, folder / "out")
        stages["outputs"] = [time.perf_counter() - began, _peak_mb()]
        kpis, backend = day.evaluation.kpis, day.backend
    total = sum(s[0] for s in stages.values())
    return {
        "orders": n,
        "limit_s": limit,
        "backend": backend,
        "served": kpis.served,
        "routes": kpis.vehicles_used,
        "total_s": round(total, 1),
        "peak_mb": round(max(s[1] for s in stages.values())),
        "stages": {k: [round(v[0], 2), round(v[1])] for k, v in stages.items()},
    }


def main() -> None:
    """Each size in a fresh process; print one JSON line per size, then a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,1000,2000,5000")
    parser.add_argument("--limits", default="10,30,50,150")
    parser.add_argument("--one", nargs=2, type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(int(args.one[0]), args.one[1])), flush=True)
        return
    print(describe(), flush=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    limits = [float(s) for s in args.limits.split(",")]
    for n, limit in zip(sizes, limits, strict=True):
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), str(limit)],
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE,
        )
        print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
