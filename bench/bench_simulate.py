"""Benchmark: 200 simulated days of the Helsinki demo plan (``doorstep simulate``).

Reads a plan.json (default ``demo-plan/plan.json``, the plan ``doorstep plan``
wrote for ``examples/helsinki``: 5 routes, 285 stops), simulates ``--runs``
days with the default model plus breakdowns at 0.02 per route-hour, and
measures, median of ``--repeat`` repetitions:

* the SimPy runs alone (``simulate_day`` for every run),
* the KPIs of all runs (facts tables + one ``compute_kpis`` query grouped by run),
* the whole ``simulate`` call (what the CLI does per plan).

Usage::

    python bench/bench_simulate.py [--plan demo-plan/plan.json] [--runs 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from doorstep.learn.risk import ConstantRisk
from doorstep.simulate.day import simulate_day
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import SimulationParameters
from doorstep.simulate.plan_input import read_plan
from doorstep.simulate.runner import kpis_of_runs, simulate
from machine import describe

DAY = date(2030, 6, 4)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", default="demo-plan/plan.json")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--monitor-every", type=int, default=10, help="minutes between monitor looks (0: off)"
    )
    args = parser.parse_args()
    plan = read_plan(args.plan)
    params = SimulationParameters(breakdown_rate=0.02, monitor_every_s=args.monitor_every * 60)
    risk = ConstantRisk()
    print(describe())
    print(
        f"plan: {args.plan}, {len(plan.routes)} routes, {plan.stops} stops; {args.runs} runs; "
        f"monitor every {args.monitor_every} min"
    )
    sims, kpis, whole = [], [], []
    for _ in range(args.repeat):
        began = time.perf_counter()
        results = [
            simulate_day(plan, DAY, Draws(0, r), params, risk) for r in range(1, args.runs + 1)
        ]
        middle = time.perf_counter()
        kpis_of_runs(results, "Europe/Helsinki")
        sims.append(middle - began)
        kpis.append(time.perf_counter() - middle)
        began = time.perf_counter()
        result = simulate(plan, args.runs, seed=0, day=DAY, params=params, risk=risk)
        whole.append(time.perf_counter() - began)
    for name, values in (("SimPy runs", sims), ("KPIs of all runs", kpis), ("simulate()", whole)):
        print(f"{name}: median {statistics.median(values):.2f} s over {args.repeat}")
    for name in ("on_time_rate", "first_attempt_success_rate", "overtime_h"):
        s = result.summary[name]
        print(f"{name}: mean {s.mean:.4f}, 95% CI {s.ci_low:.4f} .. {s.ci_high:.4f}")


if __name__ == "__main__":
    main()
