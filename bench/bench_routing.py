"""Benchmark: the route engine on Solomon and Li & Lim, against PyVRP called directly.

For every instance, two processes run at the same time (one per core, so both
see the same machine load): Doorstep's engine (``doorstep.plan.benchmark``:
reader, planning model, PyVRP backend, evaluator) and PyVRP on its own, given
the instance the plain way (one vehicle type with the instance's fleet size,
every client required, coordinates x 1000 rounded as PyVRP's ``exact``
rounding does, default solver parameters). Both are scored by the same
arithmetic: Euclidean distance in double precision along the routes found.
Gaps are to the best known solutions in ``BKS.json``.

Usage::

    python bench/bench_routing.py FOLDER [--objective distance|vehicles] [--time-limit 10]
        [--limit N] [--out results.csv]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from machine import describe, reference_seconds


def _real_distance(points: list[tuple[float, float]], routes: list[list[int]]) -> float:
    total = 0.0
    for route in routes:
        stops = [0, *route, 0]
        total += sum(math.dist(points[a], points[b]) for a, b in itertools.pairwise(stops))
    return total


def run_doorstep(path: str, objective: str, time_limit: float, seed: int) -> dict[str, object]:
    from doorstep.plan.backends.pyvrp import PyVrpSolver
    from doorstep.plan.benchmark import solve_instance
    from doorstep.plan.problem import Objective

    r = solve_instance(Path(path), PyVrpSolver(), Objective(objective), time_limit, seed)
    return {"vehicles": r.vehicles, "distance": r.distance, "feasible": r.feasible}


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
    result = m.solve(MaxRuntime(time_limit), seed=seed, display=False)
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--objective", default="distance", choices=["distance", "vehicles"])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    bks = json.loads((args.folder / "BKS.json").read_text())
    files = sorted(p for p in args.folder.glob("*.txt"))[: args.limit]
    print(describe())
    ref = [reference_seconds()]
    rows = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        for f in files:
            ours = pool.submit(run_doorstep, str(f), args.objective, args.time_limit, args.seed)
            theirs = pool.submit(run_pyvrp, str(f), args.objective, args.time_limit, args.seed)
            a, b = ours.result(), theirs.result()
            key = f.stem + ("_distance" if args.objective == "distance" else "")
            entry = bks.get(key) or bks.get(key.upper())
            best = float(entry["best_known_cost"]) if entry else float("nan")
            row = {
                "instance": f.stem,
                "bks": best,
                "bks_vehicles": entry.get("solved_with_vehicles") if entry else None,
                "doorstep_vehicles": a["vehicles"],
                "doorstep_distance": round(float(a["distance"]), 3),
                "doorstep_gap_pct": round(100 * (float(a["distance"]) - best) / best, 3),
                "doorstep_feasible": a["feasible"],
                "pyvrp_vehicles": b["vehicles"],
                "pyvrp_distance": round(float(b["distance"]), 3),
                "pyvrp_gap_pct": round(100 * (float(b["distance"]) - best) / best, 3),
                "pyvrp_feasible": b["feasible"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    ref.append(reference_seconds())
    for who in ("doorstep", "pyvrp"):
        over = [r for r in rows if r["bks_vehicles"] and r[f"{who}_vehicles"] > r["bks_vehicles"]]
        under = [r for r in rows if r["bks_vehicles"] and r[f"{who}_vehicles"] < r["bks_vehicles"]]
        scored = [
            r for r in rows if args.objective == "distance" or (r not in over and r not in under)
        ]
        gaps = [r[f"{who}_gap_pct"] for r in scored if not math.isnan(r[f"{who}_gap_pct"])]
        print(
            f"{who}: {len(rows)} instances, gap over {len(gaps)} "
            f"{'(those with the BKS vehicle count) ' if args.objective == 'vehicles' else ''}"
            f"mean {statistics.mean(gaps):.3f}%, median {statistics.median(gaps):.3f}%, "
            f"worst {max(gaps):.3f}%, feasible {sum(bool(r[f'{who}_feasible']) for r in rows)}/"
            f"{len(rows)}, more vehicles than BKS on {len(over)}, fewer on {len(under)}"
        )
    print(f"reference loop before/after: {ref[0]:.2f}, {ref[1]:.2f} s")
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
