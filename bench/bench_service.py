"""Benchmark: the service under load on loopback: scan-event ingestion and tracking reads.

A real ``doorstep serve`` (uvicorn, ``--workers``) runs on a fresh database
(SQLite file, or PostgreSQL with ``--postgres-url``) holding twice ``--routes`` published
routes of 100 stops each (one parcel per order): half for each events phase. Then:

* **Events flat out.** ``--clients`` threads post batches back to back: the
  most the server sustains (events accepted / wall time). This also warms the
  server up for the next run.
* **Events at a steady rate.** Batches of 100 events are sent on a fixed
  schedule (``--rate`` events per second, default 2,000: 20 batches a second)
  from a pool of client threads; each batch is one route's next 20 parcels going
  depot scan -> loaded -> out for delivery -> arrived -> delivered, the way a
  driver's app and the depot scanners would send them. Latency is measured from
  each batch's scheduled time, so a server that falls behind shows it. The two
  runs use different parcels (alternate batches).
* **Tracking.** Customers' ``GET /v1/track/{token}`` over all orders for
  ``--seconds``, with wrk when it is installed (Debian package ``wrk``), else a
  Python client.

Usage::

    python bench/bench_service.py [--postgres-url URL] [--routes 100] [--workers 2]
        [--clients 4] [--rate 2000] [--seconds 10] [--out bench/results/service_sqlite.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from machine import describe
from serving import wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
STOPS = 100
BATCH = 100
KINDS = ("scanned_at_depot", "loaded", "out_for_delivery", "arrived_at_stop", "delivered")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, routes: int) -> tuple[str, list[str]]:
    """Migrate, create a key and the day's published routes; return (key, tracking tokens)."""
    from doorstep.api.security import Role, create_key
    from doorstep.store import tables as t
    from doorstep.store.convert import new_tracking_token
    from doorstep.store.database import make_engine, session_factory, transaction, upgrade

    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    day = (date.today() + timedelta(days=1)).isoformat()
    tokens: list[str] = []
    with transaction(sessions) as db:
        key, _ = create_key(db, Role.ADMIN, "bench")
        db.add(t.Depot(id="D", lat=60.17, lon=24.94))
        db.add(t.Plan(id="P", day=day, status="published"))
        db.flush()
        for r in range(routes):
            db.add(t.Vehicle(id=f"V{r}", depot_id="D"))
        db.flush()
        for r in range(routes):
            db.add(
                t.Route(
                    id=f"P:V{r}",
                    plan_id="P",
                    vehicle_id=f"V{r}",
                    day=day,
                    state="published",
                    start_s=8 * 3600,
                    end_s=17 * 3600,
                    distance_m=40_000,
                )
            )
        db.flush()
        orders, parcels, stops = [], [], []
        for r in range(routes):
            for k in range(STOPS):
                oid = f"O{r}-{k}"
                token = new_tracking_token()
                tokens.append(token)
                orders.append(
                    {
                        "id": oid,
                        "lat": 60.17 + k * 1e-4,
                        "lon": 24.94 + r * 1e-4,
                        "windows": [[9 * 3600, 17 * 3600]],
                        "skills": [],
                        "tracking_token": token,
                        "status": "planned",
                    }
                )
                parcels.append({"id": f"{oid}-1", "order_id": oid})
                planned = 8 * 3600 + (k + 1) * 300
                stops.append(
                    {
                        "route_id": f"P:V{r}",
                        "seq": k + 1,
                        "order_id": oid,
                        "leg_s": 180,
                        "service_s": 120,
                        "planned_arrival_s": planned,
                        "planned_start_s": planned,
                        "eta_s": planned,
                    }
                )
        db.execute(t.Order.__table__.insert(), orders)
        db.execute(t.Parcel.__table__.insert(), parcels)
        db.execute(t.Stop.__table__.insert(), stops)
    engine.dispose()
    return key, tokens


def batches(routes: int) -> list[dict[str, Any]]:
    """Every route's parcels through the day, 100 events per batch, routes interleaved."""
    start = datetime.now(UTC) + timedelta(days=1)
    out = []
    per = BATCH // len(KINDS)
    # Drivers work side by side: every route's first batch, then every route's second...
    for first in range(0, STOPS, per):
        for r in range(routes):
            events = []
            for k in range(first, first + per):
                for step, kind in enumerate(KINDS):
                    moment = start + timedelta(minutes=5 * k + step)
                    event: dict[str, Any] = {
                        "event_id": f"{r}-{k}-{step}",
                        "parcel_id": f"O{r}-{k}-1",
                        "kind": kind,
                        "at": moment.isoformat(),
                    }
                    if kind == "delivered":
                        event["proof"] = {"recipient_name": "bench"}
                    events.append(event)
            out.append({"events": events})
    return out


def _summary(latencies: list[float], accepted: int, errors: int, wall: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "batches": len(ordered),
        "events_accepted": accepted,
        "errors": errors,
        "wall_s": round(wall, 2),
        "events_per_s": round(accepted / wall, 1),
        "latency_ms_median": round(1000 * statistics.median(ordered), 1),
        "latency_ms_p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
        "latency_ms_max": round(1000 * ordered[-1], 1),
    }


def run_events(base: str, key: str, work: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """Post every batch back to back from ``clients`` threads: the most the server sustains."""
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    accepted = errors = 0
    lock = threading.Lock()
    queue = list(reversed(work))

    def worker() -> None:
        nonlocal accepted, errors
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                began = time.perf_counter()
                response = client.post("/v1/events", json=body)
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    if response.status_code == 200:
                        accepted += response.json()["accepted"]
                    else:
                        errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _summary(latencies, accepted, errors, time.perf_counter() - began)


def run_events_at_rate(
    base: str, key: str, work: list[dict[str, Any]], rate: float
) -> dict[str, Any]:
    """Send batch k at ``k * BATCH / rate`` seconds; latency from that scheduled time."""
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    accepted = errors = 0
    lock = threading.Lock()
    local = threading.local()

    def send(body: dict[str, Any], due: float) -> None:
        nonlocal accepted, errors
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        response = local.client.post("/v1/events", json=body)
        took = time.perf_counter() - due
        with lock:
            latencies.append(took)
            if response.status_code == 200:
                accepted += response.json()["accepted"]
            else:
                errors += 1

    interval = BATCH / rate
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for k, body in enumerate(work):
            due = began + k * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(send, body, due)
    summary = _summary(latencies, accepted, errors, time.perf_counter() - began)
    summary["target_events_per_s"] = rate
    return summary


WRK_SCRIPT = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", "/v1/track/" .. tokens[i])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"errors\\": %%d, \\"non2xx\\": %%d, " ..
    "\\"p50_ms\\": %%.2f, \\"p99_ms\\": %%.2f}\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
"""


def run_tracking(base: str, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """Tracking reads for ``seconds``: wrk if installed, else Python threads."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        with tempfile.TemporaryDirectory() as tmp:
            token_file = Path(tmp) / "tokens.txt"
            token_file.write_text("\n".join(tokens))
            script = Path(tmp) / "track.lua"
            script.write_text(WRK_SCRIPT % token_file)
            result = subprocess.run(
                [wrk, "-t2", f"-c{clients * 4}", f"-d{int(seconds)}s", "-s", str(script), base],
                capture_output=True,
                text=True,
                check=True,
            )
        line = next(x for x in result.stdout.splitlines() if x.startswith("JSON "))
        stats = json.loads(line[5:])
        return {
            "tool": f"wrk, {clients * 4} connections",
            "requests": stats["requests"],
            "requests_per_s": round(stats["requests"] / seconds, 1),
            "errors": stats["errors"] + stats["non2xx"],
            "latency_ms_median": round(stats["p50_ms"], 2),
            "latency_ms_p99": round(stats["p99_ms"], 2),
        }
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        nonlocal failures
        with httpx.Client(base_url=base, timeout=30) as client:
            i = offset
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                response = client.get(f"/v1/track/{tokens[i % len(tokens)]}")
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    failures += response.status_code != 200
                i += clients

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return {
        "tool": f"python httpx, {clients} threads",
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / seconds, 1),
        "errors": failures,
        "latency_ms_median": round(1000 * statistics.median(ordered), 2),
        "latency_ms_p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create a database on")
    parser.add_argument("--routes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--server-log", help="write the server's log here")
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres_url:
            sys.path.insert(0, str(ROOT / "tests"))
            from databases import create_database, drop_database

            name = f"doorstep_bench_{uuid.uuid4().hex[:8]}"
            url = create_database(args.postgres_url, name)
            label = "postgresql"
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            label = "sqlite"
        began = time.perf_counter()
        key, tokens = prepare(url, 2 * args.routes)
        print(
            f"{label}: {len(tokens)} orders on {2 * args.routes} routes in "
            f"{time.perf_counter() - began:.1f} s"
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DOORSTEP_DATABASE_URL": url,
            "DOORSTEP_ROUTER": "straight",
        }
        log = Path(args.server_log).open("w") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "doorstep",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_until_serving(base)
            work = batches(2 * args.routes)
            # Flat out first: it also warms the server (pools, caches) for the steady run.
            events = run_events(base, key, work[::2], args.clients)
            print("events flat out:", json.dumps(events))
            steady = run_events_at_rate(base, key, work[1::2], args.rate)
            print("events at a steady rate:", json.dumps(steady))
            tracking = run_tracking(base, tokens, args.clients, args.seconds)
            print("tracking:", json.dumps(tracking))
        finally:
            server.terminate()
            server.wait(30)
            if not isinstance(log, int):
                log.close()
        if args.postgres_url:
            drop_database(args.postgres_url, name)
    result = {
        "machine": describe(),
        "database": label,
        "workers": args.workers,
        "clients": args.clients,
        "routes": args.routes,
        "events_steady": steady,
        "events_flat_out": events,
        "tracking": tracking,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
