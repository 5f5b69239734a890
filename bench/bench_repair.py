"""Benchmark: the repair engine, old code against new, side by side in one run.

Every backend hands its routes to one repair engine (``plan/repair.py``) that
judges each candidate route with the evaluator's ``schedule_route``; before
commit 6692a33 OR-Tools had its own integer ``_Checker`` and PyVRP its own
``plan/breaks.py``. This runs each code version (a ``src`` directory put first
on ``PYTHONPATH``, each measurement in a fresh process) on:

(a) the Helsinki demo day through the command line, ``doorstep plan
    examples/helsinki/orders.csv --fleet examples/helsinki/fleet.csv``
    (OR-Tools, breaks): served, routes, cost, wall time of the command;
(b) a generated clean Helsinki day (``scripts/make_sample_manifest.py``'s
    order generator, one van per 80 orders, the sample's van shifts and
    breaks) with OR-Tools at a longer limit: served, cost, repair time;
(c) PyVRP on the demo day and on the same day with 1-hour break windows,
    where every break is placed after the search (the break-placement path);
(d) the cost of one route check: ``_Checker.inspect`` (old) or
    ``check_route`` (new) on the demo day's routes, cut to 40 stops.

"repair" is the time spent in the backend's repair call (old: OR-Tools'
``_finish`` / ``breaks.place_breaks``; new: ``settle_routes`` /
``place_breaks``).

Usage::

    git worktree add /tmp/old fc8e87d     # read-only copy of the old code
    python bench/bench_repair.py --code old=/tmp/old/src --code new=src \\
        [--runs 3] [--orders 500] [--limit 20] [--pyvrp-seeds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "helsinki"
ORDERS_PER_VAN = 80

# (module, attribute) of the repair entry points, old and new code; whichever exist.
REPAIR_CALLS = [
    ("doorstep.plan.backends.ortools", "_finish"),
    ("doorstep.plan.backends.ortools.solver", "settle_routes"),
    ("doorstep.plan.backends.pyvrp", "place_breaks"),
    ("doorstep.plan.backends.vroom", "settle_routes"),
]


# ---------------------------------------------------------------- the generated day


def _manifest_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_sample_manifest", REPO / "scripts" / "make_sample_manifest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_day(n_orders: int, folder: Path, seed: int = 2026) -> tuple[Path, Path]:
    """Write a clean day of ``n_orders`` orders and one van per 80 of them.

    Parameters
    ----------
    n_orders
        How many orders.
    folder
        Where ``orders.csv`` and ``fleet.csv`` go.
    seed
        The generator's seed (the same files for the same seed).

    Returns
    -------
    tuple of Path
        The orders and fleet files.
    """
    gen_module = _manifest_script()
    rng = random.Random(seed)
    sites, bbox = gen_module.read_sites(gen_module.ADDRESSES)
    for site in sites:
        site.decide_units(rng)
    gen = gen_module.Generator(rng, sites, bbox)
    weights = [5 if s.multi_unit else 1 for s in sites]
    rows: list[dict[str, str]] = []
    while len(rows) < n_orders:
        site = rng.choices(sites, weights=weights)[0]
        if site.multi_unit and not site.units:
            continue
        rows.append(gen.order(site))
    for k, row in enumerate(rows):
        row["order_id"] = f"GEN-{k + 1:06d}"
    vans = [r for r in gen_module.fleet() if r["profile"] == "van"]
    fleet = []
    for k in range(max(1, round(n_orders / ORDERS_PER_VAN))):
        row = dict(vans[k % len(vans)])
        row["vehicle_id"] = f"VAN-{k + 1:02d}"
        fleet.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    orders, fleet_path = folder / "orders.csv", folder / "fleet.csv"
    gen_module.write(orders, gen_module.ORDER_COLUMNS, rows)
    gen_module.write(fleet_path, gen_module.FLEET_COLUMNS, fleet)
    return orders, fleet_path


# ---------------------------------------------------------------- worker (one code version)


def _timed_repairs() -> list[float]:
    """Wrap every repair entry point that exists; the list collects seconds per call."""
    spent: list[float] = []
    for module_name, attr in REPAIR_CALLS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, attr, None)
        if original is None:
            continue

        def timed(*args: Any, _f: Any = original, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - began)

        setattr(module, attr, timed)
    return spent


def _api() -> tuple[Any, Any, Any]:
    """build_problem, solve_problem, backend_named of whichever code is imported."""
    try:
        from doorstep.plan.pipeline import build_problem, solve_problem
        from doorstep.plan.registry import backend_named
    except ImportError:  # before the pipeline (fc8e87d)
        from doorstep.plan.day import (  # type: ignore[no-redef,attr-defined,unused-ignore]
            backend_named,
            build_problem,
            solve_problem,
        )
    return build_problem, solve_problem, backend_named


def _problem(orders: Path, fleet: Path, narrow: bool) -> Any:
    from doorstep.domain.fleet import Break
    from doorstep.domain.time_window import TimeWindow
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider

    build_problem, _, _ = _api()
    report = validate_files(orders, fleet)
    assert report.fleet is not None
    problem = build_problem(report.orders, report.fleet, OsmProvider())
    if not narrow:
        return problem
    tight = []
    for v in problem.fleet.vehicles:
        if v.break_ is None:
            tight.append(v)
            continue
        start = v.break_.window.start + 45 * 60
        tight.append(replace(v, break_=Break(TimeWindow(start, start + 3600), v.break_.duration_s)))
    return replace(problem, fleet=replace(problem.fleet, vehicles=tuple(tight)))


def work_cli(args: argparse.Namespace) -> dict[str, Any]:
    """(a): the command line in this process, repair timed."""
    spent = _timed_repairs()
    from doorstep.cli import app

    out = Path(args.out)
    argv = ["plan", str(args.orders), "--fleet", str(args.fleet), "--out", str(out)]
    with contextlib.suppress(SystemExit):
        app(args=argv, standalone_mode=False)
    summary = json.loads((out / "plan.json").read_text())["summary"]
    return {
        "served": summary["served"],
        "orders": summary["orders"],
        "routes": summary["vehicles_used"],
        "cost": summary["cost"],
        "penalty": summary["penalty"],
        "repair_s": sum(spent),
    }


def work_day(args: argparse.Namespace) -> dict[str, Any]:
    """(b), (c): one backend on one day through the planning API, repair timed."""
    from doorstep.plan.solver import SolveSettings

    problem = _problem(Path(args.orders), Path(args.fleet), args.narrow)
    spent = _timed_repairs()
    _, solve_problem, backend_named = _api()
    began = time.perf_counter()
    _, e = solve_problem(
        problem, backend_named(args.backend), SolveSettings(time_limit_s=args.limit, seed=args.seed)
    )
    return {
        "served": e.kpis.served,
        "orders": e.kpis.orders,
        "routes": e.kpis.vehicles_used,
        "cost": round(e.kpis.cost, 2),
        "penalty": round(e.kpis.penalty, 2),
        "feasible": e.feasible,
        "solve_s": time.perf_counter() - began,
        "repair_s": sum(spent),
    }


def work_check(args: argparse.Namespace) -> dict[str, Any]:
    """(d): microseconds per route check on the routes of a plan.json, cut to 40 stops."""
    from doorstep.plan.solver import RouteAssignment

    problem = _problem(Path(args.orders), Path(args.fleet), False)
    index = problem.order_index()
    vehicles = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
    plan = json.loads(Path(args.plan).read_text())
    routes = []
    for r in plan["routes"]:
        stops = tuple(index[s["order_id"]] for s in r["visits"])[:40]
        routes.append(RouteAssignment(vehicles[r["vehicle_id"]], stops, len(stops) // 2))
    try:
        from doorstep.plan.repair import check_route

        def check(route: Any) -> Any:
            return check_route(problem, route)

    except ImportError:  # old code: OR-Tools' integer checker
        from doorstep.plan.backends.ortools import _Checker  # type: ignore[attr-defined]

        checker = _Checker(problem)

        def check(route: Any) -> Any:
            return checker.inspect(route.vehicle, route.orders, route.break_after)

    reps = 0
    began = time.perf_counter()
    while time.perf_counter() - began < 2.0:
        for route in routes:
            check(route)
        reps += 1
    elapsed = time.perf_counter() - began
    return {
        "check_us": elapsed / (reps * len(routes)) * 1e6,
        "stops": statistics.mean(len(r.orders) for r in routes),
    }


# ---------------------------------------------------------------- driver


def _run(src: Path, argv: list[str]) -> tuple[dict[str, Any], float]:
    """One worker in a fresh process with ``src`` first on the path: (result, wall s)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--worker", *argv, "--result", handle.name],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=REPO,
        )
        wall = time.perf_counter() - began
        return json.loads(Path(handle.name).read_text()), wall


def _median(rows: list[dict[str, Any]], key: str) -> Any:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    """Parse the arguments; run the worker, or every measurement and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=SRC")
    parser.add_argument("--runs", type=int, default=3, help="runs of (a)")
    parser.add_argument("--orders", type=int, default=500, help="orders of the day in (b)")
    parser.add_argument("--limit", type=float, default=20.0, help="time limit of (b), s")
    parser.add_argument("--big-runs", type=int, default=2, help="runs (seeds) of (b)")
    parser.add_argument("--pyvrp-seeds", type=int, default=2)
    parser.add_argument("--pyvrp-limit", type=float, default=10.0)
    parser.add_argument("--only", default="abcd", help="which parts to run, e.g. 'bd'")
    parser.add_argument("--worker", choices=["cli", "day", "check"])
    parser.add_argument("--result")
    parser.add_argument("--orders-csv", dest="orders_csv", default=str(SAMPLE / "orders.csv"))
    parser.add_argument("--fleet-csv", dest="fleet_csv", default=str(SAMPLE / "fleet.csv"))
    parser.add_argument("--out")
    parser.add_argument("--plan")
    parser.add_argument("--backend", default="ortools")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--narrow", action="store_true")
    args = parser.parse_args()
    if args.worker:
        args.orders, args.fleet = args.orders_csv, args.fleet_csv
        if args.worker == "day":
            args.limit = args.pyvrp_limit if args.backend == "pyvrp" else args.limit
        work = {"cli": work_cli, "day": work_day, "check": work_check}[args.worker]
        Path(args.result).write_text(json.dumps(work(args)))
        return

    sys.path.insert(0, str(REPO / "bench"))
    from machine import describe, reference_seconds

    codes = [(c.split("=", 1)[0], (REPO / c.split("=", 1)[1]).resolve()) for c in args.code]
    codes = codes or [("working tree", REPO / "src")]
    print(describe())
    print(f"reference loop: {reference_seconds():.2f} s")
    tmp = Path(tempfile.mkdtemp(prefix="bench_repair_"))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def record(part: str, label: str, row: dict[str, Any]) -> None:
        results.setdefault(part, {}).setdefault(label, []).append(row)
        print(f"  {part} {label}: {row}", flush=True)

    if "a" in args.only or "d" in args.only:
        for run in range(args.runs if "a" in args.only else 1):
            for label, src in codes:
                out = tmp / f"cli-{label}-{run}"
                row, wall = _run(src, ["cli", "--out", str(out)])
                row["wall_s"] = wall
                record("a", label, row)
    if "b" in args.only:
        orders, fleet = write_day(args.orders, tmp / "day")
        for seed in range(args.big_runs):
            for label, src in codes:
                argv = ["day", "--orders-csv", str(orders), "--fleet-csv", str(fleet)]
                argv += ["--limit", str(args.limit), "--seed", str(seed)]
                row, _ = _run(src, argv)
                record("b", label, row)
    if "c" in args.only:
        for narrow in (False, True):
            for seed in range(args.pyvrp_seeds):
                for label, src in codes:
                    argv = ["day", "--backend", "pyvrp", "--seed", str(seed)]
                    argv += ["--pyvrp-limit", str(args.pyvrp_limit)]
                    argv += ["--narrow"] if narrow else []
                    row, _ = _run(src, argv)
                    row["day"] = "1-hour break windows" if narrow else "demo day"
                    record("c", label, row)
    if "d" in args.only:
        plan = tmp / f"cli-{codes[-1][0]}-0" / "plan.json"
        for label, src in codes:
            row, _ = _run(src, ["check", "--plan", str(plan)])
            record("d", label, row)

    print()
    for part, title in [
        ("a", "(a) demo day, doorstep plan (OR-Tools, 10 s), median of runs"),
        ("b", f"(b) generated {args.orders}-order day, OR-Tools {args.limit:g} s"),
    ]:
        if part not in results:
            continue
        print(title)
        print("| code | runs | served | routes | cost | penalty | wall/solve s | repair s |")
        print("|---|---|---|---|---|---|---|---|")
        for label, rows in results[part].items():
            secs = "wall_s" if part == "a" else "solve_s"
            print(
                f"| {label} | {len(rows)} | {_median(rows, 'served')}/{rows[0]['orders']} | "
                f"{_median(rows, 'routes')} | {_median(rows, 'cost'):.2f} | "
                f"{_median(rows, 'penalty'):.2f} | {_median(rows, secs):.2f} | "
                f"{_median(rows, 'repair_s'):.3f} |"
            )
        print()
    if "c" in results:
        print(f"(c) PyVRP {args.pyvrp_limit:g} s, breaks placed after the search, per seed")
        print("| code | day | seed | served | routes | cost | penalty | feasible | repair s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, rows in results["c"].items():
            for k, r in enumerate(rows):
                print(
                    f"| {label} | {r['day']} | {k % args.pyvrp_seeds} | "
                    f"{r['served']}/{r['orders']} | {r['routes']} | {r['cost']:.2f} | "
                    f"{r['penalty']:.2f} | {r['feasible']} | {r['repair_s']:.3f} |"
                )
        print()
    if "d" in results:
        print("(d) one route check (demo day's routes cut to 40 stops)")
        print("| code | stops | us per check |")
        print("|---|---|---|")
        for label, rows in results["d"].items():
            print(f"| {label} | {rows[0]['stops']:.1f} | {rows[0]['check_us']:.1f} |")
    print(f"reference loop: {reference_seconds():.2f} s")
    with (tmp / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        for part, by_label in results.items():
            for label, rows in by_label.items():
                for r in rows:
                    writer.writerow([part, label, json.dumps(r)])
    print(f"raw rows: {tmp / 'results.csv'}")


if __name__ == "__main__":
    main()
