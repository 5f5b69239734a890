"""Benchmark: does the dispatch monitor keep up with a 2,000-stop day (issue 15)?

Issue 15 asks that "the monitor keeps up with a day of 2,000 stops receiving an
event batch every second, with exception detection lagging <= 2 s at p99".

Set-up (not timed): a fresh SQLite file (migrated to head) gets the clean
2,000-order Helsinki day of ``bench_big_day.day_problem`` (25 vans, no breaks;
one parcel per order), planned by PyVRP with a short limit (``--plan-limit``,
default 10 s: about 1,985 stops on 25 routes), stored with ``save_routes``, the
routes published and the orders planned. The day is a fixed future date on the
Europe/Helsinki clock. Every delivery parcel is scanned at the depot, loaded
and out for delivery before 08:00 (at its route's start, 07:30 on this fleet),
and, so that the day is on time when the run begins, every stop planned before
09:00 is served at its planned times. These events go through the same
:func:`~doorstep.dispatch.ingest.ingest` the events API uses.

The run: a real :class:`~doorstep.service.monitor.Monitor` thread
(``monitor_interval_s=10``, ``router="straight"``) whose clock is the simulated
day: 09:00 plus 60 simulated seconds per wall second. For ``--seconds``
(default 60) a producer ingests one batch per wall second, in its own
transaction: the next stop of ``--stops-per-batch`` routes (default 16, taken
round robin, each route in stop order), each ``arrived_at_stop`` then
``delivered`` (``return_picked_up`` for a pickup), except the first delivery
stop of the batch, which gets ``failed_attempt`` (``not_home``): 32 events a
batch, one failure. After each commit it calls ``monitor.poke()`` as the API
does and notes the wall time of the commit for the failed order.

The monitor's ``run_once`` is wrapped: its wall time is recorded, and when a run
opens ``failed_attempt`` exceptions their orders are looked up. Detection lag
of a failed attempt = end of the first run that stored its exception minus the
commit of its batch. A failure still undetected when the run ends (after a
grace of 3 s) counts as a lag of infinity.

It prints the machine line, the set-up times, then one result line: failures
and how many were detected, lag p50/p99/max, monitor runs and their p50/p99/max
wall time, ingest batch latency p50/p99/max, and the exceptions open at the end
by kind. ``--profile`` then runs ``run_once`` once more at the end state under
cProfile and prints the top functions by cumulative time.

Usage::

    python bench/bench_monitor.py [--seconds 60] [--stops-per-batch 16]
        [--plan-limit 10] [--profile] [--out bench/results/monitor.csv]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import math
import pstats
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench_big_day import day_problem
from machine import describe

ZONE = ZoneInfo("Europe/Helsinki")
DAY = "2031-06-17"
"""A fixed future working day (a Tuesday)."""
START_S = 9 * 3600
"""The simulated clock when the run begins: 09:00."""
SPEEDUP = 60.0
"""Simulated seconds per wall second."""
PLAN_ID = "bench-monitor"
GRACE_S = 3.0
"""After the last batch, how long failures may still be detected."""


def at(seconds: float) -> datetime:
    """The moment ``seconds`` after midnight of :data:`DAY` in Helsinki."""
    midnight = datetime.combine(date.fromisoformat(DAY), datetime.min.time(), tzinfo=ZONE)
    return midnight + timedelta(seconds=seconds)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank (``nan`` when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Stop:
    """One stop the producer will serve."""

    order_id: str
    parcel_id: str
    pickup: bool
    planned_arrival_s: int
    planned_start_s: int
    service_s: int


@dataclass
class Day:
    """The stored day: each route's planned start and stops in visiting order."""

    starts: dict[str, int]
    routes: dict[str, list[Stop]]
    timings: dict[str, float] = field(default_factory=dict)


def store_day(url: str, plan_limit: float, folder: Path) -> Day:
    """Migrate ``url`` and store the planned, published 2,000-order day.

    Parameters
    ----------
    url
        SQLite URL of a fresh file.
    plan_limit
        PyVRP's time limit (seconds).
    folder
        Where the generated CSV files go.

    Returns
    -------
    Day
        The stored routes (in id order) and how long each step took.
    """
    from doorstep.plan.pipeline import PlanOptions, plan_problem
    from doorstep.store.database import upgrade
    from doorstep.store.queries.plans import route_rows

    timings: dict[str, float] = {}
    began = time.perf_counter()
    upgrade(url)
    problem = day_problem(2000, False, folder)
    timings["problem_s"] = time.perf_counter() - began
    began = time.perf_counter()
    plan = plan_problem(problem, PlanOptions(time_limit_s=plan_limit, backend="pyvrp"))
    timings["plan_s"] = time.perf_counter() - began
    began = time.perf_counter()
    rows = route_rows(PLAN_ID, DAY, plan)
    _write_rows(url, problem, rows)
    timings["store_s"] = time.perf_counter() - began
    kinds = {o.id: o.kind.value for o in problem.orders}
    routes = {
        route.id: [
            Stop(
                order_id=s.order_id,
                parcel_id=f"{s.order_id}-1",
                pickup=kinds[s.order_id] != "delivery",
                planned_arrival_s=s.planned_arrival_s,
                planned_start_s=s.planned_start_s,
                service_s=s.service_s,
            )
            for s in stops
        ]
        for route, stops in sorted(rows, key=lambda r: r[0].id)
    }
    return Day({route.id: route.start_s for route, _ in rows}, routes, timings)


def _write_rows(url: str, problem: Any, rows: list[tuple[Any, list[Any]]]) -> None:
    """Store depots, vans, the routed orders (one parcel each, ``planned``) and published routes."""
    from doorstep.store import tables as t
    from doorstep.store.convert import order_row
    from doorstep.store.database import make_engine, session_factory, transaction

    engine = make_engine(url)
    sessions = session_factory(engine)
    orders = {o.id: o for o in problem.orders}
    routed = sorted(stop.order_id for _, stops in rows for stop in stops)
    with transaction(sessions) as db:
        for d in problem.fleet.depots:
            db.add(t.Depot(id=d.id, name=d.name, lat=d.location.lat, lon=d.location.lon))
        db.flush()
        db.add_all(_vehicle_row(v) for v in problem.fleet.vehicles)
        db.add(t.Plan(id=PLAN_ID, day=DAY, status="published", published_at=at(6 * 3600)))
        db.flush()
        for oid in routed:
            row = order_row(orders[oid])
            row.status = "planned"
            db.add(row)
        db.flush()
        db.add_all(t.Parcel(id=f"{oid}-1", order_id=oid) for oid in routed)
        for route, stops in rows:
            route.state = "published"
            db.add(route)
            db.flush()
            db.add_all(stops)
    engine.dispose()


def _vehicle_row(v: Any) -> Any:
    """The stored row of a domain vehicle (no break: the day is planned without)."""
    from doorstep.store import tables as t

    return t.Vehicle(
        id=v.id,
        depot_id=v.depot_id,
        profile=v.profile.value,
        capacity_parcels=v.capacity.parcels,
        shift_start_s=v.shift.start,
        shift_end_s=v.shift.end,
        cost_fixed=v.costs.fixed,
        cost_per_km=v.costs.per_km,
        cost_per_hour=v.costs.per_hour,
        skills=sorted(v.skills),
    )


def event(stop: Stop, kind: str, seconds: float, reason: str | None = None) -> Any:
    """A scan of ``stop``'s parcel at ``seconds`` after midnight (its id names both)."""
    from doorstep.dispatch.ingest import EventIn
    from doorstep.domain.events import FailureReason, ScanKind

    return EventIn(
        event_id=f"{stop.parcel_id}:{kind}",
        parcel_id=stop.parcel_id,
        kind=ScanKind(kind),
        at=at(seconds),
        failure_reason=None if reason is None else FailureReason(reason),
    )


def visit(stop: Stop, arrived_s: float, finished_s: float, fail: bool = False) -> list[Any]:
    """The two scans of a visit: arrival, then delivered / picked up / failed (not home)."""
    if fail:
        last = event(stop, "failed_attempt", finished_s, "not_home")
    else:
        last = event(stop, "return_picked_up" if stop.pickup else "delivered", finished_s)
    return [event(stop, "arrived_at_stop", arrived_s), last]


def morning(day: Day) -> tuple[list[Any], dict[str, int]]:
    """The scans before 09:00, and each route's first stop left to serve.

    Delivery parcels: at the depot an hour before the route starts, loaded half
    an hour before, out for delivery at its start (never after 07:59). Stops
    whose planned visit ends before 09:00 are served at their planned times
    (arriving after the departure scan, for a stop at the depot itself).
    """
    events: list[Any] = []
    served: dict[str, int] = {}
    for route_id, stops in day.routes.items():
        leave = min(day.starts[route_id], 8 * 3600 - 60)
        for stop in stops:
            if not stop.pickup:
                events.append(event(stop, "scanned_at_depot", leave - 3600))
                events.append(event(stop, "loaded", leave - 1800))
                events.append(event(stop, "out_for_delivery", leave))
        done = 0
        for stop in stops:
            if stop.planned_start_s + stop.service_s >= START_S - 60:
                break
            arrived = max(stop.planned_arrival_s, leave + 1)  # a stop at the depot
            events.extend(visit(stop, arrived, stop.planned_start_s + stop.service_s))
            done += 1
        served[route_id] = done
    return events, served


def ingest_batch(
    sessions: Any, settings: Any, events: Sequence[Any], now: datetime
) -> Counter[str]:
    """Ingest ``events`` in one transaction as the events API does; outcome counts."""
    from doorstep.dispatch.ingest import ingest
    from doorstep.store.database import transaction

    with transaction(sessions) as db:
        outcomes = ingest(
            db,
            events,
            timezone=ZONE,
            now=now,
            notice_s=round(settings.eta_notice_min * 60),
            max_attempts=settings.max_attempts,
        )
    counts = Counter(o.status for o in outcomes)
    counts.update(o.code for o in outcomes if o.code)
    return counts


def make_monitor_class() -> type:
    """A :class:`~doorstep.service.monitor.Monitor` whose runs are timed and watched."""
    from sqlalchemy import select

    from doorstep.service.monitor import Monitor
    from doorstep.store import tables as t
    from doorstep.store.database import transaction

    class TimedMonitor(Monitor):
        """Records each run's wall time, and when each failed order's exception appeared."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.runs: list[tuple[float, float]] = []
            self.detected: dict[str, float] = {}

        def run_once(self, now: datetime | None = None) -> Any:
            began = time.perf_counter()
            out = super().run_once(now)
            ended = time.perf_counter()
            self.runs.append((began, ended))
            opened = [i for synced in out.values() for i in synced.opened]
            if opened:
                with transaction(self.sessions) as db:
                    found = db.execute(
                        select(t.DispatchException.kind, t.DispatchException.order_ids).where(
                            t.DispatchException.id.in_(opened)
                        )
                    ).all()
                for kind, order_ids in found:
                    if kind == "failed_attempt":
                        for oid in order_ids:
                            self.detected.setdefault(oid, ended)
            return out

    return TimedMonitor


@dataclass
class Produced:
    """What the producer did: commit times of failures, batch latencies, outcomes."""

    failed_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    late_batches: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def produce(
    day: Day,
    served: dict[str, int],
    sessions: Any,
    settings: Any,
    monitor: Any,
    clock: Callable[[], datetime],
    seconds: float,
    per_batch: int,
) -> Produced:
    """One batch a wall second for ``seconds``: ``per_batch`` routes' next stops, one failing."""
    out = Produced()
    cursor = deque(day.routes)
    began = time.perf_counter()
    k = 0
    while k < seconds:
        due = began + k
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.5:
            out.late_batches += 1
        now = clock()
        now_s = (now - at(0)).total_seconds()
        events: list[Any] = []
        failed: str | None = None
        for _ in range(len(cursor)):
            if len(events) >= 2 * per_batch:
                break
            route_id = cursor[0]
            cursor.rotate(-1)
            stops = day.routes[route_id]
            if served[route_id] >= len(stops):
                continue
            stop = stops[served[route_id]]
            served[route_id] += 1
            fail = failed is None and not stop.pickup
            failed = stop.order_id if fail else failed
            events.extend(visit(stop, now_s - 20, now_s - 5, fail))
        if not events:
            break
        started = time.perf_counter()
        out.outcomes.update(ingest_batch(sessions, settings, events, now))
        committed = time.perf_counter()
        out.latencies.append(committed - started)
        if failed is not None:
            out.failed_at[failed] = committed
        monitor.poke()
        k += 1
    return out


def summarise(monitor: Any, produced: Produced, first_run_s: float) -> dict[str, Any]:
    """The result row: detection lag, monitor run times, ingest latency (ms)."""
    lags = [
        monitor.detected[oid] - committed if oid in monitor.detected else math.inf
        for oid, committed in produced.failed_at.items()
    ]
    runs = [end - start for start, end in monitor.runs[1:]]  # the first run is the warm-up

    def ms(values: Sequence[float], q: float) -> float:
        return round(1000 * percentile(values, q), 1)

    return {
        "batches": len(produced.latencies),
        "events_accepted": produced.outcomes["accepted"],
        "events_rejected": produced.outcomes["rejected"],
        "late_batches": produced.late_batches,
        "failures": len(lags),
        "detected": sum(math.isfinite(x) for x in lags),
        "lag_p50_ms": ms(lags, 0.5),
        "lag_p99_ms": ms(lags, 0.99),
        "lag_max_ms": ms(lags, 1.0),
        "p99_within_2s": percentile(lags, 0.99) <= 2.0,
        "monitor_first_run_ms": round(1000 * first_run_s, 1),
        "monitor_runs": len(runs),
        "run_p50_ms": ms(runs, 0.5),
        "run_p99_ms": ms(runs, 0.99),
        "run_max_ms": ms(runs, 1.0),
        "ingest_p50_ms": ms(produced.latencies, 0.5),
        "ingest_p99_ms": ms(produced.latencies, 0.99),
        "ingest_max_ms": ms(produced.latencies, 1.0),
    }


def open_exceptions(sessions: Any) -> str:
    """Unresolved exceptions of the day by kind, as ``kind:count`` words."""
    from sqlalchemy import func, select

    from doorstep.store import tables as t
    from doorstep.store.database import transaction

    with transaction(sessions) as db:
        rows = db.execute(
            select(t.DispatchException.kind, func.count())
            .where(t.DispatchException.day == DAY, t.DispatchException.status != "resolved")
            .group_by(t.DispatchException.kind)
        ).all()
    return " ".join(f"{kind}:{n}" for kind, n in sorted(rows))


def profile_run(monitor: Any, now: datetime, top: int = 25) -> str:
    """``run_once`` at ``now`` under cProfile: the top functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    monitor.run_once(now)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Set the day up, run the producer against the monitor thread, and summarise."""
    from doorstep.settings import Settings
    from doorstep.store.database import make_engine, session_factory

    url = f"sqlite:///{folder / 'monitor.db'}"
    day = store_day(url, args.plan_limit, folder)
    stops = sum(len(s) for s in day.routes.values())
    print(f"day {DAY}: {stops} stops on {len(day.routes)} routes; set-up {_rounded(day.timings)}")
    settings = Settings(database_url=url, monitor_interval_s=10, router="straight")
    engine = make_engine(url)
    sessions = session_factory(engine)
    events, served = morning(day)
    began = time.perf_counter()
    counts: Counter[str] = Counter()
    for k in range(0, len(events), 2000):
        counts.update(ingest_batch(sessions, settings, events[k : k + 2000], at(START_S - 60)))
    print(
        f"morning: {len(events)} scans ingested in {time.perf_counter() - began:.1f} s "
        f"({dict(counts)}); {sum(served.values())} stops served before 09:00",
        flush=True,
    )
    wall0 = time.perf_counter()

    def clock() -> datetime:
        return at(START_S + (time.perf_counter() - wall0) * SPEEDUP)

    monitor = make_monitor_class()(sessions, settings, clock)
    monitor.run_once()
    first_run_s = monitor.runs[0][1] - monitor.runs[0][0]
    print(f"first monitor run: {first_run_s:.2f} s; open: {open_exceptions(sessions)}", flush=True)
    monitor.start()
    try:
        produced = produce(
            day, served, sessions, settings, monitor, clock, args.seconds, args.stops_per_batch
        )
        deadline = time.perf_counter() + GRACE_S
        while time.perf_counter() < deadline and set(produced.failed_at) - set(monitor.detected):
            time.sleep(0.05)
    finally:
        monitor.stop()
    row = summarise(monitor, produced, first_run_s)
    row["open_at_end"] = open_exceptions(sessions)
    print(row, flush=True)
    if args.profile:
        print(profile_run(monitor, clock()), flush=True)
    engine.dispose()
    return row


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in timings.items()}


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="wall seconds of batches")
    parser.add_argument("--stops-per-batch", type=int, default=16)
    parser.add_argument("--plan-limit", type=float, default=10.0, help="PyVRP time limit (s)")
    parser.add_argument("--profile", action="store_true", help="cProfile one run_once at the end")
    parser.add_argument("--out", type=Path, help="write the result row as CSV")
    args = parser.parse_args()
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        row = run(args, Path(tmp))
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)


if __name__ == "__main__":
    main()
