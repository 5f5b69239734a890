"""Benchmark: the route engine on Solomon and Li & Lim, against PyVRP, OR-Tools and VROOM.

For every instance four runs are made, two at a time (one per core, so each
sees the same machine): Doorstep's engine (``doorstep.plan.benchmark``: reader,
planning model, PyVRP backend, evaluator; what ``doorstep solve`` runs), PyVRP
on its own (given the instance the plain way: one vehicle type with the
instance's fleet size, every client required, coordinates x 1000 rounded as
PyVRP's ``exact`` rounding does, default solver parameters), and the engine
with its OR-Tools and VROOM backends. All are scored by the same arithmetic:
Euclidean distance in double precision along the routes found. Gaps are to
the best known solutions in ``BKS.json``.

Every finished run is appended to ``OUT.jsonl`` at once, and runs already in it
are not repeated, so a long benchmark can be stopped and resumed.

Usage::

    python bench/bench_routing.py FOLDER [--objective distance|vehicles] [--time-limit 10]
        [--solvers doorstep,pyvrp,ortools,vroom] [--limit N] --out results.csv
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import statistics
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from machine import describe, reference_seconds

SOLVERS = ("doorstep", "pyvrp", "ortools", "vroom")
"""Columns: the engine (PyVRP backend), PyVRP direct, the OR-Tools and VROOM backends."""


def _real_distance(points: list[tuple[float, float]], routes: list[list[int]]) -> float:
    total = 0.0
    for route in routes:
        stops = [0, *route, 0]
        total += sum(math.dist(points[a], points[b]) for a, b in itertools.pairwise(stops))
    return total


def run_engine(
    backend: str, path: str, objective: str, time_limit: float, seed: int
) -> dict[str, object]:
    """Doorstep's engine with one backend, scored on the instance's real distances."""
    from doorstep.plan.benchmark import solve_instance
    from doorstep.plan.problem import Objective
    from doorstep.plan.registry import backend_named

    r = solve_instance(Path(path), backend_named(backend), Objective(objective), time_limit, seed)
    return engine_row(path, r)


def engine_row(path: str, r: Any) -> dict[str, object]:
    """A Doorstep run (``solve_instance``'s result) scored on the instance's real distances."""
    from doorstep.io.instances import read_instance

    inst = read_instance(path)
    points = [(inst.depots[0].location.lon, inst.depots[0].location.lat)] + [
        (o.location.lon, o.location.lat) for o in inst.orders
    ]
    number = {o.id: i + 1 for i, o in enumerate(inst.orders)}
    routes = [[number[o] for o in route] for route in r.routes]
    return {
        "vehicles": r.vehicles,
        "distance": _real_distance(points, routes),
        "feasible": r.feasible,
        "seconds": r.runtime_s,
    }


def run_pyvrp(path: str, objective: str, time_limit: float, seed: int) -> dict[str, object]:
    """PyVRP alone, from the parsed instance, with its default parameters."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    from doorstep.io.instances import read_instance

    inst = read_instance(path)
    scale = 1000
    depot = inst.depots[0]
    points = [(depot.location.lon, depot.location.lat)] + [
        (o.location.lon, o.location.lat) for o in inst.orders
    ]
    m = pyvrp.Model()
    locs = [m.add_location(round(x * scale), round(y * scale)) for x, y in points]
    d = m.add_depot(
        locs[0],
        tw_early=inst.vehicles[0].shift.start * scale,
        tw_late=inst.vehicles[0].shift.end * scale,
    )
    cap = inst.vehicles[0].capacity.parcels
    fixed = 10**9 if objective == "vehicles" else 0
    m.add_vehicle_type(
        len(inst.vehicles),
        capacity=cap,
        start_depot=d,
        end_depot=d,
        fixed_cost=fixed,
        tw_early=inst.vehicles[0].shift.start * scale,
        tw_late=inst.vehicles[0].shift.end * scale,
    )
    index = {o.id: i for i, o in enumerate(inst.orders)}
    paired = {index[o.paired_pickup]: i for i, o in enumerate(inst.orders) if o.paired_pickup}
    in_pair = set(paired) | set(paired.values())
    kinds: dict[tuple[str, int], int] = {}
    for i, o in enumerate(inst.orders):
        if i in in_pair:
            continue
        w = o.windows[0]
        m.add_client(
            locs[i + 1],
            delivery=o.demand.parcels,
            service_duration=o.service_s * scale,
            tw_early=w.start * scale,
            tw_late=w.end * scale,
        )
        kinds[("client", len(kinds))] = i
    ship = []
    for p, dl in paired.items():
        po, do = inst.orders[p], inst.orders[dl]
        m.add_shipment(
            locs[p + 1],
            locs[dl + 1],
            pickup_tw_early=po.windows[0].start * scale,
            pickup_tw_late=po.windows[0].end * scale,
            pickup_service_duration=po.service_s * scale,
            delivery_tw_early=do.windows[0].start * scale,
            delivery_tw_late=do.windows[0].end * scale,
            delivery_service_duration=do.service_s * scale,
            amount=do.demand.parcels,
        )
        ship.append((p, dl))
    for a in range(len(points)):
        for b in range(len(points)):
            if a != b:
                dist = round(math.dist(points[a], points[b]) * scale)
                m.add_edge(locs[a], locs[b], distance=dist, duration=dist)
    clients = [i for (_, _), i in sorted(kinds.items(), key=lambda kv: kv[0][1])]
    started = time.perf_counter()
    result = m.solve(MaxRuntime(time_limit), seed=seed, display=False)
    seconds = time.perf_counter() - started
    routes = []
    for route in result.best.routes():
        stops = []
        for act in route.schedule():
            if act.is_client():
                stops.append(clients[act.idx] + 1)
            elif act.is_shipment():
                p, dl = ship[act.idx]
                stops.append((p if act.is_pickup() else dl) + 1)
        routes.append(stops)
    return {
        "vehicles": len(routes),
        "distance": _real_distance(points, routes),
        "feasible": bool(result.best.is_feasible() and result.best.is_complete()),
        "seconds": seconds,
    }


def run(solver: str, path: str, objective: str, time_limit: float, seed: int) -> dict[str, object]:
    """One solver on one instance (in a worker process)."""
    if solver == "pyvrp":
        return run_pyvrp(path, objective, time_limit, seed)
    backend = "pyvrp" if solver == "doorstep" else solver
    return run_engine(backend, path, objective, time_limit, seed)


def _bks(folder: Path, stem: str, objective: str) -> tuple[float, int | None]:
    table = json.loads((folder / "BKS.json").read_text())
    key = stem + ("_distance" if objective == "distance" else "")
    entry = table.get(key) or table.get(key.upper())
    if not entry:
        return float("nan"), None
    vehicles = entry.get("solved_with_vehicles")
    return float(entry["best_known_cost"]), int(vehicles) if vehicles else None


def _done(journal: Path) -> dict[tuple[str, str], dict[str, object]]:
    if not journal.is_file():
        return {}
    runs = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return {(str(r["instance"]), str(r["solver"])): r for r in runs}


def summarise(
    rows: list[dict[str, object]], solvers: list[str], objective: str
) -> list[dict[str, object]]:
    """Mean, median and worst gap per solver, plus the mean over instances all solved alike.

    Under "vehicles first" a distance gap only means something with the
    best-known vehicle count, so gaps are taken over those instances and the
    others are counted; ``common`` is the mean over the instances where every
    solver has that count, and ``with_pyvrp`` the pair comparison: this solver
    and PyVRP direct over the instances where both have it.
    """

    def scored(row: dict[str, object], who: str) -> bool:
        if objective == "distance":
            return True
        return row["bks_vehicles"] is not None and row[f"{who}_vehicles"] == row["bks_vehicles"]

    common = [r for r in rows if all(scored(r, w) for w in solvers)]
    out = []
    for who in solvers:
        gaps = [float(r[f"{who}_gap_pct"]) for r in rows if scored(r, who)]
        pair = [r for r in rows if scored(r, who) and "pyvrp" in solvers and scored(r, "pyvrp")]
        bks = [r for r in rows if r["bks_vehicles"] is not None]
        out.append(
            {
                "solver": who,
                "instances": len(rows),
                "gap_instances": len(gaps),
                "mean_gap_pct": round(statistics.mean(gaps), 3) if gaps else None,
                "median_gap_pct": round(statistics.median(gaps), 3) if gaps else None,
                "worst_gap_pct": round(max(gaps), 3) if gaps else None,
                "common_instances": len(common),
                "common_mean_gap_pct": round(
                    statistics.mean(float(r[f"{who}_gap_pct"]) for r in common),
                    3,
                )
                if common
                else None,
                "with_pyvrp_instances": len(pair),
                "with_pyvrp_mean_gap_pct": round(
                    statistics.mean(float(r[f"{who}_gap_pct"]) for r in pair), 3
                )
                if pair
                else None,
                "pyvrp_on_those_mean_gap_pct": round(
                    statistics.mean(float(r["pyvrp_gap_pct"]) for r in pair), 3
                )
                if pair
                else None,
                "vehicles": sum(int(r[f"{who}_vehicles"]) for r in rows),
                "over_bks": sum(int(r[f"{who}_vehicles"]) > int(r["bks_vehicles"]) for r in bks),
                "under_bks": sum(int(r[f"{who}_vehicles"]) < int(r["bks_vehicles"]) for r in bks),
                "feasible": sum(bool(r[f"{who}_feasible"]) for r in rows),
                "mean_seconds": round(statistics.mean(float(r[f"{who}_seconds"]) for r in rows), 2),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--objective", default="distance", choices=["distance", "vehicles"])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    solvers = [s for s in args.solvers.split(",") if s]
    if unknown := set(solvers) - set(SOLVERS):
        parser.error(f"unknown solvers {sorted(unknown)}; choose from {', '.join(SOLVERS)}")
    files = sorted(p for p in args.folder.glob("*.txt"))[: args.limit]
    journal = args.out.with_suffix(".jsonl")
    done = _done(journal)
    print(describe())
    print(f"{len(done)} runs already in {journal}")
    ref = [reference_seconds()]
    pending: list[tuple[str, str, Future[dict[str, object]]]] = []
    with ProcessPoolExecutor(max_workers=2) as pool, journal.open("a") as log:
        for f in files:
            for who in solvers:
                if (f.stem, who) not in done:
                    task = pool.submit(run, who, str(f), args.objective, args.time_limit, args.seed)
                    pending.append((f.stem, who, task))
        for stem, who, task in pending:
            entry = {"instance": stem, "solver": who, **task.result()}
            done[(stem, who)] = entry
            log.write(json.dumps(entry) + "\n")
            log.flush()
            print(json.dumps(entry), flush=True)
    ref.append(reference_seconds())
    rows = []
    for f in files:
        best, vehicles = _bks(args.folder, f.stem, args.objective)
        row: dict[str, object] = {"instance": f.stem, "bks": best, "bks_vehicles": vehicles}
        for who in solvers:
            r = done[(f.stem, who)]
            distance = float(r["distance"])
            row[f"{who}_vehicles"] = r["vehicles"]
            row[f"{who}_distance"] = round(distance, 3)
            row[f"{who}_gap_pct"] = round(100 * (distance - best) / best, 3)
            row[f"{who}_feasible"] = r["feasible"]
            row[f"{who}_seconds"] = round(float(r["seconds"]), 2)
        rows.append(row)
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for line in summarise(rows, solvers, args.objective):
        print(json.dumps(line))
    print(f"reference loop before/after: {ref[0]:.2f}, {ref[1]:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
