"""Benchmark: a multi-depot day split per depot, planned side by side, stage by stage.

Issue 19's target: 10 depots of 1,000 orders each on the local Ray in <= 5
minutes. This generates a clean Helsinki day with the order generator of
``scripts/make_sample_manifest.py`` (``bench_repair.write_day``, in runs of
2,000 orders), puts ``--depots`` depots at the centres of the orders' k-means
clusters (territories), gives each depot one van per 80 of its share of the
orders (the sample's van rows; breaks emptied unless ``--breaks``), and plans
it the way ``doorstep plan --solver depots`` does
(:func:`doorstep.plan.depots.build_split_problem`, then
:class:`~doorstep.plan.depots.DepotSplitSolver`), timing each stage:

* ``gate``: reading and validating the generated files;
* ``depot_matrices``: depots-to-orders travel, in chunks of orders;
* ``block_matrices``: each depot's own orders (and border orders) to each other;
* ``assignment``, ``solves``, ``balancing``, ``evaluation`` (the no-worse guard):
  inside the solver;
* ``final_evaluation``: explaining the orders left out and evaluating the plan.

It prints one row: orders, depots, vans, runner, stage times, wall time, peak
memory of this process and its children (Ray's processes included; sampled
every 0.2 s from ``/proc``), orders served, km, cost, feasibility and the
reasons of the orders left out. With ``--compare`` it also plans the same day
whole (full matrices, the base backend chosen for the whole day, same limit)
and adds its figures as ``whole_*`` (the peak memory then covers both).

Usage::

    python bench/bench_depots.py [--depots 10] [--per-depot 1000] [--limit 120]
        [--runner ray|serial] [--provider osm|straight] [--breaks] [--compare]
        [--out FILE.csv]

A small check run: ``--depots 3 --per-depot 200 --limit 20 --runner serial``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_repair import ORDERS_PER_VAN, _manifest_script, write_day
from machine import describe


def _kmeans(points: np.ndarray, k: int, rounds: int = 20) -> np.ndarray:
    """Centres of ``k`` clusters of ``points`` (farthest-point start, then Lloyd rounds)."""
    centres = [points[0]]
    for _ in range(1, k):
        gap = np.min([np.sum((points - c) ** 2, axis=1) for c in centres], axis=0)
        centres.append(points[int(np.argmax(gap))])
    c = np.array(centres)
    for _ in range(rounds):
        label = np.argmin(((points[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
        c = np.array(
            [points[label == j].mean(axis=0) if (label == j).any() else c[j] for j in range(k)]
        )
    return c


def write_depot_day(
    depots: int, per_depot: int, folder: Path, breaks: bool, seed: int = 2026
) -> tuple[Path, Path]:
    """Write a clean day of ``depots * per_depot`` orders and a fleet at ``depots`` depots.

    Parameters
    ----------
    depots
        How many depots (at the centres of the orders' clusters).
    per_depot
        Orders per depot on average; each depot gets one van per 80 of its
        cluster's orders.
    folder
        Where ``orders.csv`` and ``fleet.csv`` go.
    breaks
        Keep the sample vans' breaks.
    seed
        The order generator's seed.

    Returns
    -------
    tuple of Path
        The orders and fleet files.
    """
    rows = _order_rows(depots * per_depot, folder, seed)
    orders, fleet = folder / "orders.csv", folder / "fleet.csv"
    points = np.array([(float(r["lat"]), float(r["lon"])) for r in rows])
    centres = _kmeans(points, depots)
    label = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    gen = _manifest_script()
    vans = [r for r in gen.fleet() if r["profile"] == "van"]
    fleet_rows = []
    for d, (lat, lon) in enumerate(centres):
        share = int((label == d).sum())
        for k in range(max(1, math.ceil(share / ORDERS_PER_VAN))):
            row = dict(vans[k % len(vans)], vehicle_id=f"D{d + 1:02d}-VAN-{k + 1:02d}")
            row.update(
                depot_id=f"DEPOT-{d + 1:02d}", depot_lat=f"{lat:.6f}", depot_lon=f"{lon:.6f}"
            )
            if not breaks:
                row.update(break_start="", break_end="", break_min="")
            fleet_rows.append(row)
    gen.write(orders, gen.ORDER_COLUMNS, rows)
    gen.write(fleet, gen.FLEET_COLUMNS, fleet_rows)
    return orders, fleet


GENERATOR_CHUNK = 2000
"""Orders per run of the sample generator: it runs out of distinct windows per
address beyond a few thousand, so bigger days are several runs (other seeds)
put together; a stop repeated across runs is only a gate warning."""


def _order_rows(n: int, folder: Path, seed: int) -> list[dict[str, str]]:
    """``n`` generated order rows with ids ``GEN-000001``..., in runs of :data:`GENERATOR_CHUNK`."""
    rows: list[dict[str, str]] = []
    for k, start in enumerate(range(0, n, GENERATOR_CHUNK)):
        part = folder / f"part{k}"
        orders, _ = write_day(min(GENERATOR_CHUNK, n - start), part, seed + k)
        with orders.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    for k, row in enumerate(rows):
        row["order_id"] = f"GEN-{k + 1:06d}"
    return rows


class PeakMemory:
    """Samples the resident memory of this process and all its descendants (``/proc``)."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.every_s = every_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _tree_rss_mb())

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb())


def _tree_rss_mb() -> float:
    """Resident MB of this process and its descendants."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        parent[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0])
    mine = {os.getpid()}
    grew = True
    while grew:
        more = {p for p, pp in parent.items() if pp in mine and p not in mine}
        mine |= more
        grew = bool(more)
    return sum(rss.get(p, 0) for p in mine) / 1024


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Generate, gate, build, solve and evaluate one day; the row to print."""
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.network.straight_line import StraightLineProvider
    from doorstep.plan.depots import DepotSplitSolver, build_split_problem
    from doorstep.plan.evaluator import evaluate
    from doorstep.plan.parallel import RayRunner, Runner, SerialRunner
    from doorstep.plan.pipeline import canonical
    from doorstep.plan.reasons import explain
    from doorstep.plan.solver import SolveSettings

    orders_path, fleet_path = write_depot_day(args.depots, args.per_depot, folder, args.breaks)
    stages: dict[str, float] = {}
    began = time.perf_counter()
    report = validate_files(orders_path, fleet_path)
    assert report.fleet is not None, "the generated fleet must be clean"
    orders, fleet = canonical(report.orders, report.fleet)
    stages["gate"] = time.perf_counter() - began
    provider = (
        OsmProvider(cache_matrices=False) if args.provider == "osm" else StraightLineProvider()
    )
    marks: list[tuple[str, float]] = []
    mark = time.perf_counter()
    problem = build_split_problem(
        orders, fleet, provider, on_step=lambda s: marks.append((s, time.perf_counter()))
    )
    done = time.perf_counter()
    first_block = next((t for s, t in marks if s.startswith("travel times, depot ")), done)
    stages["depot_matrices"] = first_block - mark
    stages["block_matrices"] = done - first_block
    runner: Runner = RayRunner() if args.runner == "ray" else SerialRunner()
    solver = DepotSplitSolver(base=args.base, runner=runner)
    assignment = solver.solve(problem, SolveSettings(time_limit_s=args.limit, seed=0))
    stages.update(solver.stages)
    mark = time.perf_counter()
    e = evaluate(problem, assignment, explain(problem, assignment))
    stages["final_evaluation"] = time.perf_counter() - mark
    wall = time.perf_counter() - began
    reasons = collections.Counter(u.code for u in e.plan.unassigned)
    broken = collections.Counter(v.code for v in e.violations)
    whole = _whole_day(orders, fleet, provider, args) if args.compare else {}
    return {
        "orders": len(problem.orders),
        "depots": len(fleet.depots),
        "vans": len(fleet.vehicles),
        "runner": args.runner,
        "workers": runner.workers,
        "provider": args.provider,
        "breaks": args.breaks,
        "limit_s": args.limit,
        **{f"{k}_s": round(v, 1) for k, v in stages.items()},
        "wall_s": round(wall, 1),
        "served": e.kpis.served,
        "vehicles_used": e.kpis.vehicles_used,
        "km": round(e.kpis.distance_km, 1),
        "cost": round(e.kpis.cost, 2),
        "feasible": e.feasible,
        "violations": " ".join(f"{k}:{n}" for k, n in sorted(broken.items())),
        "left_out": " ".join(f"{k}:{n}" for k, n in sorted(reasons.items())),
        **whole,
    }


def _whole_day(orders: Any, fleet: Any, provider: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The same day planned whole (full matrices, one backend, same limit), for comparison."""
    from doorstep.plan.pipeline import build_problem, solve_problem
    from doorstep.plan.registry import choose_backend
    from doorstep.plan.solver import SolveSettings

    began = time.perf_counter()
    problem = build_problem(orders, fleet, provider)
    matrices = time.perf_counter() - began
    solver = choose_backend(problem, args.base)
    _, e = solve_problem(problem, solver, SolveSettings(time_limit_s=args.limit, seed=0))
    return {
        "whole_backend": solver.name,
        "whole_matrices_s": round(matrices, 1),
        "whole_wall_s": round(time.perf_counter() - began, 1),
        "whole_served": e.kpis.served,
        "whole_km": round(e.kpis.distance_km, 1),
        "whole_cost": round(e.kpis.cost, 2),
        "whole_feasible": e.feasible,
    }


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depots", type=int, default=10)
    parser.add_argument("--per-depot", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=120.0, help="solve seconds in all")
    parser.add_argument("--runner", choices=("ray", "serial"), default="ray")
    parser.add_argument("--provider", choices=("osm", "straight"), default="osm")
    parser.add_argument("--base", default=None, help="backend per depot (default: chosen)")
    parser.add_argument("--breaks", action="store_true", help="keep the vans' breaks")
    parser.add_argument(
        "--compare", action="store_true", help="also plan the day whole (small days only)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as tmp, PeakMemory() as memory:
        row = run(args, Path(tmp))
    row["peak_mb"] = round(memory.peak_mb)
    print(row, flush=True)
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)


if __name__ == "__main__":
    main()
