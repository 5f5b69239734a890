"""Benchmark: days with driver breaks, PyVRP (breaks after or inside its search) against OR-Tools.

PyVRP has no breaks. ``pyvrp-after`` shortens each shift by its break,
searches, then places every break where the evaluator finds it best
(``plan/repair.py``), dropping the fewest stops it must and offering them to
other routes. ``pyvrp-search`` (``pyvrp``'s default since issue 19) gives each
vehicle a break stop planned inside the search. OR-Tools models breaks inside
its search. This runs them on the Helsinki demo day (4 vans and 3 cargo bikes,
each with a 30-minute break in a 2.5-hour window) and on the same day with
1-hour break windows, at the same time limit and seeds, and compares what a
planner would: orders served, cost plus penalties, vehicles, km, feasibility by
the evaluator, and wall time (break placement included).

Usage::

    python bench/bench_breaks.py [--time-limit 10] [--seeds 3]
        [--backends pyvrp,pyvrp-search,ortools] [--out bench/results/breaks.csv]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from dataclasses import replace
from pathlib import Path

from bench_big_day import solver_named
from machine import describe

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "helsinki"


def problems() -> dict[str, object]:
    from doorstep.domain.fleet import Break
    from doorstep.domain.time_window import TimeWindow
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.pipeline import build_problem

    report = validate_files(SAMPLE / "orders.csv", SAMPLE / "fleet.csv")
    assert report.fleet is not None
    demo = build_problem(report.orders, report.fleet, OsmProvider())
    tight = []
    for v in demo.fleet.vehicles:
        if v.break_ is None:
            tight.append(v)
            continue
        start = v.break_.window.start + 45 * 60
        tight.append(replace(v, break_=Break(TimeWindow(start, start + 3600), v.break_.duration_s)))
    narrow = replace(demo, fleet=replace(demo.fleet, vehicles=tuple(tight)))
    return {"demo day": demo, "1-hour break windows": narrow}


def main() -> None:
    from doorstep.plan.pipeline import solve_problem
    from doorstep.plan.solver import SolveSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--backends",
        default="pyvrp,ortools",
        help="comma-separated backends; pyvrp-search / pyvrp-after: PyVRP with its breaks "
        "planned inside the search / after it (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    backends = args.backends.split(",")
    print(describe())
    rows = []
    for name, problem in problems().items():
        for backend in backends:
            for seed in range(args.seeds):
                began = time.perf_counter()
                _, e = solve_problem(
                    problem,  # type: ignore[arg-type]
                    solver_named(backend),
                    SolveSettings(time_limit_s=args.time_limit, seed=seed),
                )
                row = {
                    "day": name,
                    "backend": backend,
                    "seed": seed,
                    "served": e.kpis.served,
                    "orders": e.kpis.orders,
                    "vehicles": e.kpis.vehicles_used,
                    "km": round(e.kpis.distance_km, 2),
                    "cost_plus_penalty": round(e.kpis.cost + e.kpis.penalty, 2),
                    "feasible": e.feasible,
                    "seconds": round(time.perf_counter() - began, 2),
                }
                rows.append(row)
                print(row, flush=True)
    for name in {r["day"] for r in rows}:
        for backend in backends:
            mine = [r for r in rows if r["day"] == name and r["backend"] == backend]
            print(
                f"{name}, {backend}: served median {statistics.median(r['served'] for r in mine)}"
                f"/{mine[0]['orders']}, cost+penalty median "
                f"{statistics.median(r['cost_plus_penalty'] for r in mine):.2f}, km median "
                f"{statistics.median(r['km'] for r in mine):.1f}, seconds median "
                f"{statistics.median(r['seconds'] for r in mine):.1f}, "
                f"feasible {sum(bool(r['feasible']) for r in mine)}/{len(mine)}"
            )
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
