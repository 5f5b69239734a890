"""Benchmark: the demo day end to end (target <= 30 s): gate, matrices, solve, evaluate, outputs.

Each run is a fresh ``doorstep plan`` process on the Helsinki sample with the
default 10 s search, timed from start to exit (Python start-up, the gate, road
matrices for vans and bikes with a cold or warm cache, the search, break
placement, the evaluator, road geometry and every output file). A separate
in-process run prints how long each step took.

Usage::

    python bench/bench_demo.py [--runs 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "helsinki"


def one_run(out: Path, cache: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "doorstep",
            "plan",
            str(SAMPLE / "orders.csv"),
            "--fleet",
            str(SAMPLE / "fleet.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        env={**os.environ, "DOORSTEP_CACHE_DIR": str(cache)},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(result.stderr.decode()[-2000:])
    return elapsed


def steps(cache: Path) -> None:
    os.environ["DOORSTEP_CACHE_DIR"] = str(cache)
    from doorstep.plan.day import plan_day
    from doorstep.plan.outputs import write_outputs

    marks: list[tuple[str, float]] = [("start", time.perf_counter())]
    day = plan_day(
        SAMPLE / "orders.csv",
        SAMPLE / "fleet.csv",
        on_step=lambda name: marks.append((name, time.perf_counter())),
    )
    marks.append(("writing outputs", time.perf_counter()))
    with tempfile.TemporaryDirectory() as folder:
        write_outputs(day, Path(folder))
    marks.append(("end", time.perf_counter()))
    for (name, t0), (_, t1) in itertools.pairwise(marks[1:]):
        print(f"  {name}: {t1 - t0:.2f} s")
    k = day.evaluation.kpis
    print(
        f"  plan: {k.served}/{k.orders} served on {k.vehicles_used} routes, "
        f"{k.distance_km:.1f} km, feasible {day.evaluation.feasible}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache"
        cold = one_run(Path(folder) / "cold", cache)
        warm = [one_run(Path(folder) / f"run{i}", cache) for i in range(args.runs)]
        print(f"doorstep plan (demo day), cold cache: {cold:.2f} s")
        print(
            f"doorstep plan (demo day), warm cache, {args.runs} runs: median "
            f"{statistics.median(warm):.2f} s ({', '.join(f'{t:.2f}' for t in warm)})"
        )
        print("steps (in process, warm cache):")
        steps(cache)


if __name__ == "__main__":
    main()
