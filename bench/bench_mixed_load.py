"""Benchmark: mixed load on one service: 20 clients posting scans, a customer, a planner.

A real ``doorstep serve`` (uvicorn) runs on 127.0.0.1 over a fresh SQLite file
(and, with ``DOORSTEP_TEST_POSTGRES_URL`` or ``--postgres-url``, a fresh
PostgreSQL database) holding a published plan (``bench_service.prepare``). For
``--seconds`` (default 20) at once:

* ``--posters`` clients (default 20) post batches of scan events back to back
  (each batch is one route's next 20 parcels through five scans, as a driver's
  app would send them);
* one anonymous customer reads ``GET /v1/track/{token}`` back to back;
* one planner lists ``GET /v1/orders?limit=100`` back to back.

It prints, for each kind of client, requests, p50/p99/max latency and the 5xx
count, plus the events accepted per second and the machine's load average
(1, 5, 15 minutes) when the load began. ``--routes`` (default 200: 20,000
orders, 1,000 batches, 100,000 events) must give the posters work for the whole
run: ``posting_ran_out_s`` is when the last batch was taken (``null`` when
work was left), and a run whose posters ran out early measures tracking partly
without the load, so it says so. Before issue 14's fix, one tracking
request held the event loop while it waited for a database connection: the
whole service stalled for the 30 s pool timeout and answered 500s.

Usage::

    python bench/bench_mixed_load.py [--seconds 20] [--posters 20] [--workers 1]
        [--routes 200] [--postgres-url URL] [--out bench/results/mixed_load.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench_service import ROOT, _free_port, batches, prepare
from machine import describe
from serving import wait_until_serving


class Tally:
    """Latencies and status codes of one kind of client."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.server_errors = 0
        self.other_errors = 0
        self.accepted = 0
        self.lock = threading.Lock()

    def add(self, took: float, response: httpx.Response | None, accepted: int = 0) -> None:
        """Record one request."""
        with self.lock:
            self.latencies.append(took)
            if response is None:
                self.other_errors += 1
            elif response.status_code >= 500:
                self.server_errors += 1
            elif response.status_code >= 400 and response.status_code != 404:
                self.other_errors += 1
            self.accepted += accepted

    def summary(self, wall: float) -> dict[str, Any]:
        """Counts and latency percentiles (ms)."""
        ordered = sorted(self.latencies) or [0.0]
        return {
            "requests": len(self.latencies),
            "per_s": round(len(self.latencies) / wall, 1),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
            "max_ms": round(1000 * ordered[-1], 1),
            "5xx": self.server_errors,
            "other_errors": self.other_errors,
        }


def _timed(client: httpx.Client, method: str, url: str, **kw: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    try:
        response = client.request(method, url, **kw)
    except httpx.HTTPError:
        response = None
    return time.perf_counter() - began, response


def run(base: str, key: str, tokens: list[str], work: list[dict[str, Any]], args: Any) -> dict:
    """All three kinds of client at once for ``args.seconds``."""
    headers = {"Authorization": f"Bearer {key}"}
    stop = time.monotonic() + args.seconds
    posters, tracker, planner = Tally(), Tally(), Tally()
    queue = iter(work)
    queue_lock = threading.Lock()
    ran_out: list[float] = []

    def post() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while time.monotonic() < stop:
                with queue_lock:
                    body = next(queue, None)
                    if body is None and not ran_out:
                        ran_out.append(time.perf_counter() - began)
                if body is None:
                    return
                took, response = _timed(client, "POST", "/v1/events", json=body)
                ok = response is not None and response.status_code == 200
                posters.add(took, response, response.json()["accepted"] if ok else 0)

    def track() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            for token in itertools.cycle(tokens):
                if time.monotonic() >= stop:
                    return
                tracker.add(*_timed(client, "GET", f"/v1/track/{token}"))

    def plan() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for page in itertools.cycle(range(20)):
                if time.monotonic() >= stop:
                    return
                url = f"/v1/orders?limit=100&offset={100 * page}"
                planner.add(*_timed(client, "GET", url))

    threads = [threading.Thread(target=post) for _ in range(args.posters)]
    threads += [threading.Thread(target=track), threading.Thread(target=plan)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if ran_out:
        print(f"warning: the posters ran out of work after {ran_out[0]:.1f} s; raise --routes")
    return {
        "wall_s": round(wall, 1),
        "posting_ran_out_s": round(ran_out[0], 1) if ran_out else None,
        "events_per_s": round(posters.accepted / wall, 1),
        "posting": posters.summary(wall),
        "tracking": tracker.summary(wall),
        "listing_orders": planner.summary(wall),
    }


def bench(url: str, label: str, args: Any, tmp: str) -> dict[str, Any]:
    """Seed ``url``, start the server on it, run the mixed load, stop the server."""
    key, tokens = prepare(url, args.routes)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DOORSTEP_DATABASE_URL": url, "DOORSTEP_ROUTER": "straight"}
    command = [sys.executable, "-m", "doorstep", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(args.workers)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(base)
        load = os.getloadavg()  # other work on the machine skews every figure
        result = {"load_average": [round(x, 2) for x in load]}
        result |= run(base, key, tokens, batches(args.routes), args)
    finally:
        server.terminate()
        server.wait(30)
    print(f"{label}:", json.dumps(result))
    return {"database": label, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--posters", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--routes", type=int, default=200, help="published routes of 100 stops")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("DOORSTEP_TEST_POSTGRES_URL"), help="a server"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(describe())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args, tmp))
        if args.postgres_url:
            sys.path.insert(0, str(ROOT / "tests"))
            from databases import create_database, drop_database

            name = f"doorstep_bench_{uuid.uuid4().hex[:8]}"
            url = create_database(args.postgres_url, name)
            try:
                results.append(bench(url, "postgresql", args, tmp))
            finally:
                drop_database(args.postgres_url, name)
    if args.out:
        document = {"machine": describe(), "posters": args.posters, "results": results}
        args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
