"""Benchmark: big clean Helsinki days planned by every backend within their time limits.

A time limit is a promise: every backend must stop within the limit plus a
small overhead at every size, and still hand back a plan serving what fits.
This generates clean Helsinki days with ``scripts/make_sample_manifest.py``'s
order generator (one van per 80 orders, the sample's van shifts), by default

* 1,000 orders, 13 vans, no breaks (the engine now chooses the decomposition), and
* 2,000 orders, 25 vans, with the sample's 30-minute breaks (it would choose
  VROOM; OR-Tools before the measurements in BENCHMARKS.md).

builds the travel-time matrices on the bundled roads (``OsmProvider``; cached
on disk after the first build, not timed) and plans each day with every
backend (``pyvrp``, ``ortools``, ``vroom``) at the day's time limit. It prints
one row per run: wall time of solve + explain + evaluate, the limit, the
overshoot (wall minus limit), orders served, cost plus drop penalties,
feasibility by the evaluator and the reasons given for the orders left out.

The promised bound (``docs/planning.md``): wall <= limit + 10% + 2 s
(:func:`promise_s`); the ``within`` column says whether a run kept it.

Usage::

    python bench/bench_big_day.py [--days 1000:60:nobreaks,2000:20:breaks]
        [--backends pyvrp,ortools,vroom] [--out bench/results/big_day.csv]
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_repair import ORDERS_PER_VAN, _manifest_script, write_day
from machine import describe


def day_problem(n_orders: int, breaks: bool, folder: Path) -> Any:
    """The planning problem of a generated clean day (matrices built or read from the cache).

    Parameters
    ----------
    n_orders
        How many orders.
    breaks
        Keep the sample vans' 30-minute breaks (else the break columns are emptied).
    folder
        Where the generated CSV files go.

    Returns
    -------
    Problem
        The day on the bundled Helsinki roads.
    """
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.pipeline import build_problem

    orders, fleet = write_day(n_orders, folder)
    gen = _manifest_script()
    vans = [r for r in gen.fleet() if r["profile"] == "van"]
    rows = []
    for k in range(math.ceil(n_orders / ORDERS_PER_VAN)):  # 13 vans for 1,000 orders
        row = dict(vans[k % len(vans)], vehicle_id=f"VAN-{k + 1:02d}")
        if not breaks:
            row.update(break_start="", break_end="", break_min="")
        rows.append(row)
    gen.write(fleet, gen.FLEET_COLUMNS, rows)
    report = validate_files(orders, fleet)
    assert report.fleet is not None, "the generated fleet must be clean"
    assert len(report.orders) == n_orders, "the generated orders must be clean"
    return build_problem(report.orders, report.fleet, OsmProvider())


def promise_s(limit: float) -> float:
    """The wall time a solve of ``limit`` seconds promises to stay within: limit + 10% + 2 s."""
    return 1.1 * limit + 2.0


def _pyvrp_breaks_in_search() -> Any:
    from doorstep.plan.backends.pyvrp import PyVrpSolver

    return PyVrpSolver(breaks="search")


def _pyvrp_breaks_after() -> Any:
    from doorstep.plan.backends.pyvrp import PyVrpSolver

    return PyVrpSolver(breaks="after")


def _decompose_vroom() -> Any:
    from doorstep.plan.decompose import DecomposeSolver

    return DecomposeSolver(base="vroom")


def _decompose_pyvrp() -> Any:
    from doorstep.plan.decompose import DecomposeSolver

    return DecomposeSolver(base="pyvrp")


VARIANTS = {
    "pyvrp-search": _pyvrp_breaks_in_search,
    "pyvrp-after": _pyvrp_breaks_after,
    "decompose-vroom": _decompose_vroom,
    "decompose-pyvrp": _decompose_pyvrp,
}
"""Backends in a named setting: PyVRP with its breaks planned inside the search or after
it; the decomposition with VROOM or PyVRP for the whole day and every part (by default it
chooses by the part's features)."""


def solver_named(name: str) -> Any:
    """A registry backend by name, or one of :data:`VARIANTS`."""
    from doorstep.plan.registry import backend_named

    return VARIANTS[name]() if name in VARIANTS else backend_named(name)


def run(problem: Any, backend: str, limit: float) -> dict[str, Any]:
    """Plan ``problem`` with ``backend`` at ``limit`` seconds; the row to print."""
    from doorstep.plan.pipeline import solve_problem
    from doorstep.plan.solver import SolveSettings

    began = time.perf_counter()
    assignment, e = solve_problem(
        problem, solver_named(backend), SolveSettings(time_limit_s=limit, seed=0)
    )
    wall = time.perf_counter() - began
    reasons = collections.Counter(u.code for u in e.plan.unassigned)
    return {
        "orders": len(problem.orders),
        "vehicles": len(problem.fleet.vehicles),
        "breaks": any(v.break_ is not None for v in problem.fleet.vehicles),
        "backend": backend,
        "limit_s": limit,
        "solve_s": round(assignment.runtime_s, 1),
        "wall_s": round(wall, 1),
        "overshoot_s": round(wall - limit, 1),
        "promise_s": round(promise_s(limit), 1),
        "within": wall <= promise_s(limit),
        "served": e.kpis.served,
        "cost_plus_penalty": round(e.kpis.cost + e.kpis.penalty, 2),
        "feasible": e.feasible,
        "left_out": " ".join(f"{k}:{n}" for k, n in sorted(reasons.items())),
    }


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        default="1000:60:nobreaks,2000:20:breaks",
        help="comma-separated ORDERS:LIMIT_S:breaks|nobreaks (default: %(default)s)",
    )
    parser.add_argument(
        "--backends",
        default="pyvrp,ortools,vroom",
        help="comma-separated backend names, or pyvrp-search / pyvrp-after (PyVRP with "
        "its breaks planned inside the search / after it)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(describe(), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.days.split(","):
            n, limit, kind = spec.split(":")
            began = time.perf_counter()
            problem = day_problem(int(n), kind == "breaks", Path(tmp) / n)
            print(f"{n} orders: problem built in {time.perf_counter() - began:.1f} s", flush=True)
            for backend in args.backends.split(","):
                row = run(problem, backend, float(limit))
                rows.append(row)
                print(row, flush=True)
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
