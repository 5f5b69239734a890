"""Benchmark: the first `doorstep plan` on a fresh install, with and without `network warm`.

Each repetition starts from an empty cache folder (``DOORSTEP_CACHE_DIR``: road
networks, matrices and numba's compiled code) and times whole processes:

1. ``cold``: ``doorstep plan`` of the demo day on the empty cache (numba
   compiles the hierarchy code, the roads are prepared, matrices computed);
2. on a second empty cache, ``doorstep network warm`` (what ``make install``
   runs), then
3. ``after warm``: ``doorstep plan`` (compiled code loaded, roads and matrices
   still to do), then
4. ``all warm``: ``doorstep plan`` again (everything from the cache).

Every plan uses the default 10 s search, so the differences are start-up costs.
Wall time is from start to exit; CPU is the child's user + system time.

Usage::

    python bench/bench_cold_start.py [--runs 2] [--time-limit 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "helsinki"
DOORSTEP = [sys.executable, "-m", "doorstep"]


def timed(args: list[str], cache: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``doorstep`` process using ``cache``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["DOORSTEP_CACHE_DIR"] = str(cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([*DOORSTEP, *args], capture_output=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(result.stderr.decode()[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def plan(out: Path, cache: Path, time_limit: float) -> tuple[float, float]:
    """One ``doorstep plan`` of the demo day."""
    args = ["plan", str(SAMPLE / "orders.csv"), "--fleet", str(SAMPLE / "fleet.csv")]
    args += ["--out", str(out), "--time-limit", str(time_limit)]
    return timed(args, cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
    print(describe())
    figures: dict[str, list[tuple[float, float]]] = {
        "cold": [],
        "doorstep network warm": [],
        "after warm": [],
        "all warm": [],
    }
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            figures["cold"].append(plan(root / "cold", root / "cache-cold", args.time_limit))
            cache = root / "cache"
            figures["doorstep network warm"].append(timed(["network", "warm"], cache))
            figures["after warm"].append(plan(root / "a", cache, args.time_limit))
            figures["all warm"].append(plan(root / "b", cache, args.time_limit))
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in figures.items()))
    print(f"doorstep plan of the demo day, --time-limit {args.time_limit:g}, {args.runs} runs:")
    for name, values in figures.items():
        walls = [w for w, _ in values]
        cpus = [c for _, c in values]
        print(
            f"  {name:<22} wall median {statistics.median(walls):5.1f} s "
            f"(min {min(walls):.1f}, max {max(walls):.1f}), "
            f"cpu median {statistics.median(cpus):5.1f} s"
        )


if __name__ == "__main__":
    main()
