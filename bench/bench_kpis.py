"""Benchmark: KPIs of 90 days of 5,000 parcels (450,000 parcels, ~2 million scans) with DuckDB.

The facts are generated as Parquet files shaped like
:mod:`doorstep.analytics.facts` (the same schemas): 90 days, 40 vans a day each
with its driver (40 drivers), about 113 stops a route (4,500 stops and 5,000
parcels a day: one stop in ten has two parcels), 60 zip codes, 20,000
customers, windows of two hours, departures 0-20 minutes late, 3% failed
attempts by seven reasons (a third of them redelivered on a later day), 1% of
pickups, and the scans of every parcel (depot, loaded, out, arrived, delivered
or failed, some returned: about 4.5 a parcel). Deterministic (seeded).

Timed: :func:`doorstep.analytics.kpis.compute_kpis` over the Parquet
directory, grouped by driver and by area (every KPI of the module in one SQL
statement plus the failures-by-reason query), each the median of ``--runs``
fresh runs. Target: <= 2 s each.

Usage::

    python bench/bench_kpis.py [--days 90] [--parcels 5000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from doorstep.analytics.facts import SCHEMAS, WEEKDAYS
from doorstep.analytics.kpis import compute_kpis
from machine import describe

VANS = 40
ZIPS = 60
CUSTOMERS = 20_000
REASONS = np.array(
    [
        "not_home",
        "no_access",
        "address_not_found",
        "refused",
        "damaged",
        "unsafe",
        "business_closed",
    ]
)
FIRST_DAY = date(2030, 1, 7)
GROUPING = ("day", "weekday", "weekday_num", "hour", "route_id", "vehicle_id", "driver_id")
GROUPING += ("depot_id", "order_id", "zip", "customer")
SCANS = np.array(
    [
        "scanned_at_depot",
        "loaded",
        "out_for_delivery",
        "arrived_at_stop",
        "delivered",
        "returned_to_depot",
    ]
)


def _day_stops(rng: np.random.Generator, day: date, parcels: int, epoch0: int) -> dict:
    """One day's stop columns (numpy arrays), about ``parcels`` parcels."""
    n = int(parcels / 1.1)
    van = np.sort(rng.integers(0, VANS, n))
    seq = np.zeros(n, dtype=np.int64)
    counts = np.bincount(van, minlength=VANS)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq = np.arange(n) - np.repeat(starts, counts) + 1
    per_stop = 1 + (rng.random(n) < 0.1).astype(np.int64)
    leg = rng.integers(60, 400, n)
    service = rng.integers(120, 300, n)
    route_start = np.full(VANS, 8 * 3600)
    planned = np.empty(n, dtype=np.int64)
    for v in range(VANS):
        idx = slice(starts[v], starts[v] + counts[v])
        planned[idx] = route_start[v] + np.cumsum(leg[idx] + service[idx]) - service[idx]
    window_start = (planned // 7200) * 7200
    delay = rng.integers(0, 1200, VANS)
    drift = rng.normal(0, 600, n).astype(np.int64)
    arrived = planned + delay[van] + drift
    kind = np.where(rng.random(n) < 0.01, "pickup", "delivery")
    failed = rng.random(n) < 0.03
    finished = arrived + service + rng.integers(-60, 240, n)
    outcome = np.where(
        failed, "failed_attempt", np.where(kind == "pickup", "picked_up", "delivered")
    )
    last = np.repeat(starts + counts - 1, counts)
    end = planned[last] + service[last] + 1800
    zips = rng.integers(0, ZIPS, n)
    customer = rng.integers(0, CUSTOMERS, n)
    weekday = day.isoweekday()
    return {
        "day": np.full(n, day.isoformat()),
        "weekday": np.full(n, WEEKDAYS[weekday - 1]),
        "weekday_num": np.full(n, weekday),
        "hour": finished // 3600,
        "route_id": np.char.add(f"{day.isoformat()}-van", van.astype(str)),
        "vehicle_id": np.char.add("van", van.astype(str)),
        "driver_id": np.char.add("driver", van.astype(str)),
        "depot_id": np.full(n, "hki"),
        "order_id": np.char.add(f"{day.isoformat()}-o", np.arange(n).astype(str)),
        "zip": np.char.add("00", (100 + zips * 10).astype(str)),
        "customer": np.char.add(np.char.add("c", customer.astype(str)), "@example.com"),
        "route_version": np.ones(n, dtype=np.int64),
        "seq": seq,
        "kind": kind,
        "parcels": per_stop,
        "window_start_s": window_start,
        "window_end_s": window_start + 7200,
        "planned_arrival_s": planned,
        "planned_start_s": planned,
        "planned_service_s": service,
        "leg_s": leg,
        "route_start_s": np.full(n, 8 * 3600),
        "route_end_s": end,
        "route_distance_m": np.full(n, 80_000),
        "shift_end_s": np.full(n, 17 * 3600),
        "cost_fixed": np.full(n, 5000),
        "cost_per_km": np.full(n, 40),
        "cost_per_hour": np.full(n, 2500),
        "departure_s": (8 * 3600 + delay)[van],
        "eta_departure_s": planned + delay[van],
        "arrived_s": arrived,
        "finished_s": finished,
        "outcome": outcome,
        "failure_reason": np.where(failed, REASONS[rng.integers(0, len(REASONS), n)], None),
        "attempt": 1 + (rng.random(n) < 0.01).astype(np.int64),
        "_failed": failed,
        "_epoch": epoch0 + finished,
    }


def _tables(days: int, parcels: int, seed: int = 16) -> dict[str, pa.Table]:
    """The stops, parcels and events facts of ``days`` days."""
    rng = np.random.default_rng(seed)
    stops, parcel_tables, events = [], [], []
    for k in range(days):
        day = FIRST_DAY + timedelta(days=k)
        epoch0 = int((day - date(1970, 1, 1)).total_seconds()) - 2 * 3600
        cols = _day_stops(rng, day, parcels, epoch0)
        failed, epoch = cols.pop("_failed"), cols.pop("_epoch")
        stops.append(pa.table({name: cols[name] for name in SCHEMAS["stops"].names}))
        rows = np.repeat(np.arange(len(failed)), cols["parcels"])
        m = len(rows)
        group = {name: cols[name][rows] for name in GROUPING}
        p_failed = failed[rows]
        redelivered = rng.random(m) < 0.01
        pickup = cols["kind"][rows] == "pickup"
        done = ~p_failed
        parcel_tables.append(
            pa.table(
                group
                | {
                    "parcel_id": np.char.add(
                        np.char.add(group["order_id"], "-"), np.arange(m).astype(str)
                    ),
                    "kind": cols["kind"][rows],
                    "prior_failures": redelivered.astype(np.int64),
                    "failures": p_failed.astype(np.int64),
                    "failure_reason": cols["failure_reason"][rows],
                    "attempted": np.ones(m, dtype=bool),
                    "delivered": done & ~pickup,
                    "picked_up": done & pickup,
                    "returned": p_failed,
                    "done_epoch_s": np.where(done, epoch[rows], None),
                    "first_failed_epoch_s": np.where(
                        done & redelivered, epoch[rows] - 86_400, None
                    ),
                },
                schema=SCHEMAS["parcels"],
            )
        )
        scans = 4 + p_failed.astype(np.int64) + (rng.random(m) < 0.5)
        who = np.repeat(np.arange(m), scans)
        nth = np.arange(len(who)) - np.repeat(np.cumsum(scans) - scans, scans)
        events.append(
            pa.table(
                {
                    "seq": np.arange(len(who)),
                    "parcel_id": parcel_tables[-1]["parcel_id"].to_numpy(zero_copy_only=False)[who],
                    "kind": SCANS[np.minimum(nth, len(SCANS) - 1)],
                    "day": np.full(len(who), day.isoformat()),
                    "clock_s": cols["finished_s"][rows][who],
                }
            )
        )
    return {
        "stops": pa.concat_tables(stops),
        "parcels": pa.concat_tables(parcel_tables),
        "events": pa.concat_tables(events),
    }


def _median(directory: Path, group_by: str, runs: int) -> tuple[float, int]:
    times, groups = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        groups = len(compute_kpis(directory, group_by))
        times.append(time.perf_counter() - started)
    return statistics.median(times), groups


def main() -> None:
    """Generate the facts, write them as Parquet, time the grouped KPI queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--parcels", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="Write the Parquet files here.")
    args = parser.parse_args()
    print(describe())
    started = time.perf_counter()
    tables = _tables(args.days, args.parcels)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            pq.write_table(table, directory / f"{name}.parquet")
        size = sum(p.stat().st_size for p in directory.glob("*.parquet"))
        print(
            f"{args.days} days: {tables['stops'].num_rows:,} stops, "
            f"{tables['parcels'].num_rows:,} parcels, {tables['events'].num_rows:,} scans; "
            f"generated in {generated:.1f} s, {size / 1e6:.0f} MB of Parquet"
        )
        for group_by in ("driver", "area"):
            seconds, groups = _median(directory, group_by, args.runs)
            verdict = "ok" if seconds <= 2.0 else "OVER the 2 s target"
            print(
                f"compute_kpis(by {group_by}): {groups} groups, median of {args.runs} "
                f"{seconds * 1000:.0f} ms ({verdict})"
            )


if __name__ == "__main__":
    main()
