"""Benchmark: delivery-slot offers against a published 300-order Helsinki day (issue 17).

Target: ``POST /v1/slots`` answers in <= 100 ms at p95 against a 300-order day.

Set-up (not timed): the Helsinki demo day (``examples/helsinki``: 300 orders,
7 vans with breaks) through the gate, planned on the bundled roads
(``doorstep plan``'s pipeline, PyVRP, ``--plan-limit`` seconds), stored in a
fresh SQLite file with its ``plan.json`` document and published. The same
day is stored for three consecutive days, so a request asks about three
published days.

Timed: ``--requests`` slot requests (default 200) at random points in
Helsinki (a random address of the day moved up to ~300 m each way, seed
``--seed``; the bundled map covers the day's area only), one parcel of 2 kg,
three minutes at the door, three days, through
:func:`doorstep.service.slots.slot_offers` in its own session, as the API
handler calls it (``--api`` times the HTTP handler with FastAPI's TestClient
instead). The first request of each day loads the day (reported apart, as
"cold"); the others reuse the cached day and ask the router only for the new
point's row and column.

Usage::

    python bench/bench_slots.py [--requests 200] [--plan-limit 10] [--seed 1] [--api]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Europe/Helsinki")
FIRST_DAY = date(2031, 6, 17)
DAYS = 3
JITTER = 0.0027
"""Degrees of latitude (~300 m; twice as many of longitude) a request moves off an address."""


def demo_plan(limit: float) -> Any:
    """The Helsinki demo day through the gate, planned on the bundled roads."""
    from doorstep.gate.validate import validate_files
    from doorstep.network.osm_provider import OsmProvider
    from doorstep.plan.pipeline import PlanOptions, build_problem, canonical, plan_problem

    example = ROOT / "examples" / "helsinki"
    report = validate_files(example / "orders.csv", example / "fleet.csv")
    assert report.fleet is not None
    orders, fleet = canonical(report.orders, report.fleet)
    problem = build_problem(orders, fleet, OsmProvider())
    return plan_problem(problem, PlanOptions(time_limit_s=limit, backend="pyvrp"))


def store(url: str, plan: Any) -> None:
    """Store the fleet, the routed orders and the plan's routes, published, on each day."""
    from doorstep.plan.outputs.plan_json import plan_document
    from doorstep.store import tables as t
    from doorstep.store.convert import order_row
    from doorstep.store.database import make_engine, session_factory, transaction, upgrade
    from doorstep.store.queries.plans import route_rows

    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    problem = plan.problem
    with transaction(sessions) as db:
        for d in problem.fleet.depots:
            db.add(t.Depot(id=d.id, name=d.name, lat=d.location.lat, lon=d.location.lon))
        db.flush()
        for v in problem.fleet.vehicles:
            brk = v.break_
            db.add(
                t.Vehicle(
                    id=v.id,
                    depot_id=v.depot_id,
                    profile=v.profile.value,
                    capacity_parcels=v.capacity.parcels,
                    capacity_g=v.capacity.weight_g,
                    capacity_ml=v.capacity.volume_ml,
                    shift_start_s=v.shift.start,
                    shift_end_s=v.shift.end,
                    break_start_s=brk.window.start if brk else None,
                    break_end_s=brk.window.end if brk else None,
                    break_s=brk.duration_s if brk else None,
                    cost_fixed=v.costs.fixed,
                    cost_per_km=v.costs.per_km,
                    cost_per_hour=v.costs.per_hour,
                    skills=sorted(v.skills),
                )
            )
        db.flush()
        document = plan_document(plan)
        for k in range(DAYS):
            day = (FIRST_DAY + timedelta(days=k)).isoformat()
            plan_id = f"bench-slots-{k}"
            db.add(t.Plan(id=plan_id, day=day, status="published", document=document))
            db.flush()
            rows = route_rows(plan_id, day, plan)
            for _, stops in rows:
                for stop in stops:
                    row = order_row(next(o for o in problem.orders if o.id == stop.order_id))
                    row.id = f"{k}-{row.id}"
                    row.status = "planned"
                    db.add(row)
                    stop.order_id = row.id
            db.flush()
            for route, stops in rows:
                route.state = "published"
                db.add(route)
                db.flush()
                db.add_all(stops)
    engine.dispose()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) by the nearest-rank rule."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    """Set the day up, time the requests, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--plan-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api", action="store_true", help="time POST /v1/slots (TestClient)")
    args = parser.parse_args()

    from doorstep.service.slots import SlotRequest, clear_cache, slot_offers
    from doorstep.settings import Settings
    from doorstep.store.database import make_engine, session_factory

    print(describe())
    began = time.perf_counter()
    plan = demo_plan(args.plan_limit)
    served = sum(len(r.visits) for r in plan.evaluation.plan.routes)
    print(
        f"planned: {served} stops on {len(plan.evaluation.plan.routes)} routes "
        f"in {time.perf_counter() - began:.1f} s"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-slots-"))
    url = f"sqlite:///{folder / 'slots.db'}"
    store(url, plan)
    settings = Settings(database_url=url)
    now = datetime.combine(FIRST_DAY - timedelta(days=1), datetime.min.time(), ZONE)
    now = now.replace(hour=20)
    rng = random.Random(args.seed)
    homes = [o.location for o in plan.problem.orders]
    points = []
    for _ in range(args.requests):
        home = rng.choice(homes)  # a random address of the day's area, moved up to ~300 m
        points.append(
            (
                home.lat + rng.uniform(-JITTER, JITTER),
                home.lon + rng.uniform(-2 * JITTER, 2 * JITTER),
            )
        )
    clear_cache()
    timings: list[float] = []
    offered: list[int] = []
    refused = 0
    if args.api:
        from fastapi.testclient import TestClient

        from doorstep.api.app import create_app
        from doorstep.api.security import Role, create_key
        from doorstep.store.database import transaction

        app = create_app(settings.model_copy(update={"monitor_interval_s": 0}))
        with TestClient(app) as client:
            app.state.clock = lambda: now
            with transaction(app.state.sessions) as db:
                secret, _ = create_key(db, Role.INTEGRATION, "bench")
            headers = {"Authorization": f"Bearer {secret}"}
            for lat, lon in points:
                body = {"lat": lat, "lon": lon, "weight_g": 2000, "service_s": 180, "days": 3}
                started = time.perf_counter()
                answer = client.post("/v1/slots", json=body, headers=headers)
                timings.append(time.perf_counter() - started)
                if answer.status_code == 200:
                    offered.append(len(answer.json()))
                else:
                    refused += 1
    else:
        from doorstep.service.refusal import RefusedError

        sessions = session_factory(make_engine(url))
        for lat, lon in points:
            request = SlotRequest(lat=lat, lon=lon, weight_g=2000, service_s=180, days=DAYS)
            started = time.perf_counter()
            with sessions() as db:
                try:
                    offered.append(len(slot_offers(db, request, settings, now)))
                except RefusedError:
                    refused += 1
            timings.append(time.perf_counter() - started)
    cold, warm = timings[0], [s * 1000 for s in timings[1:]]
    print(
        f"requests: {len(timings)} ({'API' if args.api else 'service'}), "
        f"refused (off the road network): {refused}, "
        f"slots offered per request: median {statistics.median(offered) if offered else 0}"
    )
    print(f"first request (loads {DAYS} days): {cold * 1000:.0f} ms")
    print(
        f"latency of the rest: p50 {percentile(warm, 0.5):.1f} ms, "
        f"p95 {percentile(warm, 0.95):.1f} ms, max {max(warm):.1f} ms"
    )


if __name__ == "__main__":
    main()
