"""Benchmark: a breakdown at 11:00, and how soon the dispatcher gets a proposal.

Issue 15's targets: on the 300-order demo day a breakdown at 11:00 gets its
first proposal in <= 1 s (median), on a 2,000-order day in <= 5 s. Each day is
planned once (the demo day as ``doorstep plan`` would; the 2,000-order day of
``bench_big_day.py`` with breaks), then played to 11:00 by the plan: every stop
whose planned departure is before 11:00 is delivered, every parcel was loaded
and the vans left at their start. The van with the most stops left breaks
down at 11:00; :func:`doorstep.detect` finds the ``vehicle_unavailable``
exception and :func:`doorstep.dispatch.playbooks.proposals` answers it,
reusing the day's matrices (:class:`~doorstep.network.subset.DayMatrices`)
and starting from the published routes (warm start). Timed: the first proposal
(``hand_over``: the other routes take the stops left) and all of them
(``standby_vehicle`` when a van is free, ``put_off``). Each row checks the
first proposal: the stops left are all placed (or listed as put off), and the
evaluator finds the re-planned rest of the day feasible.

Usage::

    python bench/bench_replan.py [--days demo,2000] [--runs 5] [--limit 0.5]
        [--out bench/results/replan.csv]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
H = 3600


def demo_day() -> Any:
    """The Helsinki demo day through the gate, on the bundled roads."""
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.pipeline import build_problem, canonical

    example = ROOT / "examples" / "helsinki"
    report = validate_files(example / "orders.csv", example / "fleet.csv")
    assert report.fleet is not None
    orders, fleet = canonical(report.orders, report.fleet)
    return build_problem(orders, fleet, OsmProvider())


def big_day(folder: Path) -> Any:
    """The 2,000-order day of ``bench_big_day.py`` (25 vans with breaks)."""
    from bench_big_day import day_problem

    return day_problem(2000, True, folder)


def state_at(plan: Any, now_s: int) -> Any:
    """The planned day played to ``now_s``: stops left before then delivered."""
    from doorstep.dispatch.day import DayState, RouteNow, StopNow

    problem = plan.problem
    orders = {o.id: o for o in problem.orders}
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    routes = []
    for route in plan.evaluation.plan.routes:
        stops = []
        previous = route.start_s
        for k, visit in enumerate(route.visits, start=1):
            order = orders[visit.order_id]
            window = order.windows[0] if order.windows else None
            done = visit.departure_s <= now_s
            stops.append(
                StopNow(
                    order_id=order.id,
                    seq=k,
                    leg_s=max(0, visit.arrival_s - previous),
                    service_s=order.service_s,
                    planned_arrival_s=visit.arrival_s,
                    eta_s=visit.arrival_s,
                    window_start_s=None if window is None else window.start,
                    window_end_s=None if window is None else window.end,
                    state="done" if done else "pending",
                    order_status="delivered" if done else "planned",
                    arrived_s=visit.arrival_s if done else None,
                    finished_s=visit.departure_s if done else None,
                    parcel_ids=(f"{order.id}-1",),
                    loaded=(f"{order.id}-1",),
                    location=(order.location.lat, order.location.lon),
                )
            )
            previous = visit.departure_s
        routes.append(
            RouteNow(
                id=f"P-{route.vehicle_id}",
                vehicle_id=route.vehicle_id,
                state="in_progress",
                start_s=route.start_s,
                end_s=route.end_s,
                shift_end_s=vehicles[route.vehicle_id].shift.end,
                stops=tuple(stops),
                departed_s=route.start_s,
            )
        )
    return DayState("2026-12-07", tuple(routes))


def broken_at(state: Any, now_s: int) -> tuple[Any, Any]:
    """The state with the busiest van broken down at ``now_s``, and the exception."""
    from doorstep.dispatch.exceptions import ExceptionKind, detect

    busiest = max(state.routes, key=lambda r: sum(s.state == "pending" for s in r.stops))
    incident = {"id": "inc-1", "kind": "breakdown", "at_s": now_s, "note": ""}
    routes = tuple(replace(r, incident=incident) if r is busiest else r for r in state.routes)
    state = replace(state, routes=routes)
    found = [e for e in detect(state, now_s) if e.kind is ExceptionKind.VEHICLE_UNAVAILABLE]
    return state, found[0]


def run(name: str, problem: Any, runs: int, limit: float, plan_limit: float) -> dict[str, Any]:
    """Plan ``problem``, break a van at 11:00, time the proposals ``runs`` times."""
    from doorstep.dispatch.playbooks import DispatchContext, proposals
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.network.subset import DayMatrices
    from doorstep.plan.pipeline import PlanOptions, plan_problem

    began = time.perf_counter()
    plan = plan_problem(problem, PlanOptions(time_limit_s=plan_limit, with_geometry=False))
    planned_s = time.perf_counter() - began
    now_s = 11 * H
    state, exception = broken_at(state_at(plan, now_s), now_s)
    ctx = DispatchContext(
        {o.id: o for o in problem.orders},
        problem.fleet,
        DayMatrices.of_problem(problem, OsmProvider()),
        time_limit_s=limit,
    )
    firsts: list[float] = []
    alls: list[float] = []
    first = None
    for _ in range(runs):
        began = time.perf_counter()
        stream = proposals(state, exception, ctx, now_s)
        first = next(stream)
        firsts.append(time.perf_counter() - began)
        rest = list(stream)
        alls.append(time.perf_counter() - began)
    assert first is not None
    left = set(exception.order_ids)
    placed = {i for ids in first.change.get("routes", {}).values() for i in ids}
    return {
        "day": name,
        "orders": len(problem.orders),
        "routes": len(state.routes),
        "backend_plan_s": round(planned_s, 1),
        "stops_left_on_broken_van": len(left),
        "first_proposal": first.kind,
        "first_median_s": round(statistics.median(firsts), 2),
        "first_max_s": round(max(firsts), 2),
        "all_median_s": round(statistics.median(alls), 2),
        "proposals": 1 + len(rest),
        "left_placed": len(left & placed),
        "put_off": first.delta.get("orders_put_off"),
        "feasible": first.delta.get("feasible"),
        "km_delta": first.delta.get("km"),
        "late_stops_delta": first.delta.get("late_stops"),
        "replan_limit_s": limit,
    }


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="demo,2000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=float, default=0.5, help="re-plan search seconds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(describe(), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.days.split(","):
            problem = demo_day() if name == "demo" else big_day(Path(tmp))
            plan_limit = 10.0 if name == "demo" else 20.0
            row = run(name, problem, args.runs, args.limit, plan_limit)
            rows.append(row)
            print(row, flush=True)
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
