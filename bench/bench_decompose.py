"""Benchmark: the decomposition search on Gehring-Homberger VRPTW instances, against PyVRP direct.

For every instance (``bench/data/homberger``: four with 1,000 customers, two
each with 400 and 600; README there) two runs are made side by side, one per
core: Doorstep's ``decompose`` backend (reader, planning model, decomposition
over the PyVRP backend, evaluator: what ``doorstep solve --solver decompose``
runs; its parts run one after the other in its own process unless
``--runner default``) and PyVRP called directly, exactly as
``bench/bench_routing.py`` calls it (one vehicle type, every client required,
coordinates x 1000, default parameters). The objective is vehicles first, then
distance; both are scored by the same arithmetic (Euclidean distance in double
precision along the routes) and compared with the best known in ``BKS.json``.

Every finished run is appended to ``OUT.jsonl`` at once, and runs already in it
are not repeated, so a long benchmark can be stopped and resumed.

Usage::

    python bench/bench_decompose.py [--folder bench/data/homberger] [--instances r1_10_1,...]
        [--time-limit 60] [--solvers decompose,pyvrp] [--target-size 200]
        [--first-share 0.4] [--rounds 12] [--runner serial|default] [--jobs 2] --out results.csv

The decomposition's options default to ``DecomposeSolver``'s own.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from bench_routing import _bks, _done, engine_row, run_pyvrp, summarise
from doorstep.plan.decompose import FIRST_SHARE, ROUNDS, TARGET_SIZE
from machine import describe, reference_seconds

SOLVERS = ("decompose", "pyvrp")
HERE = Path(__file__).parent / "data" / "homberger"


def run_decompose(
    path: str,
    time_limit: float,
    seed: int,
    target_size: int,
    first_share: float,
    rounds: int,
    runner: str,
) -> dict[str, object]:
    """Doorstep's decomposition over PyVRP, scored on the instance's real distances."""
    from doorstep.plan.benchmark import solve_instance
    from doorstep.plan.decompose import DecomposeSolver
    from doorstep.plan.parallel import SerialRunner, default_runner
    from doorstep.plan.problem import Objective

    solver = DecomposeSolver(
        base="pyvrp",
        runner=SerialRunner() if runner == "serial" else default_runner(),
        target_size=target_size,
        first_share=first_share,
        rounds=rounds,
    )
    r = solve_instance(Path(path), solver, Objective.VEHICLES, time_limit, seed)
    return engine_row(path, r)


def run(solver: str, path: str, args: argparse.Namespace) -> dict[str, object]:
    """One solver on one instance (in a worker process)."""
    if solver == "pyvrp":
        return run_pyvrp(path, "vehicles", args.time_limit, args.seed)
    return run_decompose(
        path,
        args.time_limit,
        args.seed,
        args.target_size,
        args.first_share,
        args.rounds,
        args.runner,
    )


def _ahead(row: dict[str, object]) -> bool:
    """Whether decompose beat PyVRP direct on this instance (vehicles, then distance)."""
    mine = (int(row["decompose_vehicles"]), float(row["decompose_distance"]))  # type: ignore[call-overload]
    theirs = (int(row["pyvrp_vehicles"]), float(row["pyvrp_distance"]))  # type: ignore[call-overload]
    return mine < theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=HERE)
    parser.add_argument("--instances", help="comma-separated names (default: every .txt)")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--target-size", type=int, default=TARGET_SIZE)
    parser.add_argument("--first-share", type=float, default=FIRST_SHARE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--runner", default="serial", choices=["serial", "default"])
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one per core)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    solvers = [s for s in args.solvers.split(",") if s]
    if unknown := set(solvers) - set(SOLVERS):
        parser.error(f"unknown solvers {sorted(unknown)}; choose from {', '.join(SOLVERS)}")
    files = sorted(args.folder.glob("*.txt"))
    if args.instances:
        wanted = args.instances.split(",")
        files = [f for f in files if f.stem in wanted]
    journal = args.out.with_suffix(".jsonl")
    done = _done(journal)
    print(describe())
    print(
        f"time limit {args.time_limit} s, target size {args.target_size}, first share "
        f"{args.first_share}, {args.rounds} rounds, runner {args.runner}; "
        f"{len(done)} runs already in {journal}"
    )
    ref = [reference_seconds()]
    pending: list[tuple[str, str, Future[dict[str, object]]]] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, journal.open("a") as log:
        for f in files:
            for who in solvers:
                if (f.stem, who) not in done:
                    pending.append((f.stem, who, pool.submit(run, who, str(f), args)))
        for stem, who, task in pending:
            entry = {"instance": stem, "solver": who, **task.result()}
            done[(stem, who)] = entry
            log.write(json.dumps(entry) + "\n")
            log.flush()
            print(json.dumps(entry), flush=True)
    ref.append(reference_seconds())
    rows = []
    for f in files:
        best, vehicles = _bks(args.folder, f.stem, "vehicles")
        row: dict[str, object] = {"instance": f.stem, "bks": best, "bks_vehicles": vehicles}
        for who in solvers:
            r = done[(f.stem, who)]
            distance = float(r["distance"])  # type: ignore[arg-type]
            row[f"{who}_vehicles"] = r["vehicles"]
            row[f"{who}_distance"] = round(distance, 3)
            row[f"{who}_gap_pct"] = round(100 * (distance - best) / best, 3)
            row[f"{who}_feasible"] = r["feasible"]
            row[f"{who}_seconds"] = round(float(r["seconds"]), 2)  # type: ignore[arg-type]
        if set(SOLVERS) <= set(solvers):
            row["decompose_ahead"] = _ahead(row)
        rows.append(row)
        print(json.dumps(row))
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for line in summarise(rows, solvers, "vehicles"):
        print(json.dumps(line))
    print(f"reference loop before/after: {ref[0]:.2f}, {ref[1]:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
