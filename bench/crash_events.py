"""Crash test: kill -9 the service under scan-event load, restart it, count what was lost.

A real ``doorstep serve`` (uvicorn, ``--workers``) runs on 127.0.0.1 on a fresh
database: a SQLite file, and PostgreSQL too when ``DOORSTEP_TEST_POSTGRES_URL``
(or ``--postgres-url``) is set. Everything is set up through the API: a depot,
vans, drivers, ``--orders`` orders, a planning job, the plan published, and a
webhook subscription to ``parcel.delivered`` (the sender is off, so its outbox
messages stay to be counted). Then:

* ``--clients`` threads post every parcel's day (depot scan, loaded, out for
  delivery, arrived, delivered) in batches of ``--batch`` events, the way
  drivers' apps do: a batch that gets no answer (the server died) or a 5xx/409 is
  sent again, unchanged, until it is answered. Every event a ``200`` answer calls
  ``accepted`` or ``duplicate`` is recorded as *acknowledged*.
* Meanwhile the whole server (its process group: master and workers) is killed
  with SIGKILL ``--kills`` times, ``--every`` seconds apart, and restarted.
* At the end the database is read directly: acknowledged events missing from
  it (must be 0), event ids stored more than once (0), stored events no client
  sent (0), parcels whose state is not the fold of their stored events (0),
  stored deliveries without exactly one outbox message (0).

The run is bounded by ``--deadline`` seconds of load. Exit status 1 if anything
was lost or duplicated.

Usage::

    python bench/crash_events.py [--orders 600] [--clients 4] [--kills 3] [--every 1.5]
        [--workers 2] [--postgres-url URL] [--out bench/results/crash_events.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("scanned_at_depot", "loaded", "out_for_delivery", "arrived_at_stop", "delivered")
FINAL = {
    "scanned_at_depot": "at_depot",
    "loaded": "loaded",
    "out_for_delivery": "out_for_delivery",
    "arrived_at_stop": "at_stop",
    "delivered": "delivered",
}
VANS = 4
_DOORSTEP = (sys.executable, "-m", "doorstep")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doorstep(*args: str, env: dict[str, str], cwd: str) -> str:
    """Run a ``doorstep`` command; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "doorstep", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


class Server:
    """``doorstep serve`` in its own process group, so SIGKILL takes master and workers."""

    def __init__(self, port: int, workers: int, env: dict[str, str], cwd: str, log: Path) -> None:
        self.port, self.workers, self.env, self.cwd, self.log = port, workers, env, cwd, log
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> float:
        """Start and wait until it answers; seconds it took."""
        began = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*_DOORSTEP, "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=2).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within 60 s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the whole process group (no shutdown, no flush)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        """End it gently (SIGTERM to the group), then for sure."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()


def seed(base: str, admin: dict[str, str], orders: int) -> str:
    """Depot, vans, drivers, orders, a plan for tomorrow, published; the plan's id."""
    c = httpx.Client(base_url=base, headers=admin, timeout=60)
    _ok(c.post("/v1/depots", json={"id": "hki", "name": "Depot", "lat": 60.1699, "lon": 24.9384}))
    for v in range(VANS):
        vehicle = {
            "id": f"van{v}",
            "depot_id": "hki",
            "capacity_parcels": orders,
            "shift_start_s": 8 * 3600,
            "shift_end_s": 20 * 3600,
        }
        _ok(c.post("/v1/vehicles", json=vehicle))
        _ok(c.post("/v1/drivers", json={"id": f"d{v}", "vehicle_id": f"van{v}"}))
    bulk = [
        {
            "id": f"O{k}",
            "street": f"Testikatu {k + 1}",
            "zip": "00100",
            "city": "Helsinki",
            "lat": 60.1699 + 0.0004 * (k % 40),
            "lon": 24.9384 + 0.0008 * (k // 40),
            "windows": [[8 * 3600, 20 * 3600]],
            "service_s": 60,
            "parcels": 1,
        }
        for k in range(orders)
    ]
    _ok(c.post("/v1/orders/bulk", json={"orders": bulk}))
    day = (date.today() + timedelta(days=1)).isoformat()
    plan = _ok(c.post("/v1/plans", json={"day": day, "time_limit_s": 3})).json()
    deadline = time.monotonic() + 120
    while (status := c.get(f"/v1/plans/{plan['id']}").json()["status"]) not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError("the planning job did not finish within 120 s")
        time.sleep(0.5)
    if status != "done":
        raise RuntimeError(f"the planning job ended {status}")
    _ok(c.post(f"/v1/plans/{plan['id']}/publish", json={}))
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["parcel.delivered"]}
    _ok(c.post("/v1/webhooks", json=hook))
    c.close()
    return str(plan["id"])


def _ok(response: httpx.Response) -> httpx.Response:
    if not response.is_success:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response


def batches(orders: int, size: int, clients: int) -> list[list[dict[str, Any]]]:
    """Per client, its batches: each parcel's five scans in time order, parcels in turn."""
    day = date.today() + timedelta(days=1)
    per_client: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    for k in range(orders):
        mine = per_client[k % clients]
        for step, kind in enumerate(KINDS):
            at = f"{day.isoformat()}T{8 + step:02d}:{k % 60:02d}:00+02:00"
            event: dict[str, Any] = {
                "event_id": f"crash-{k}-{step}",
                "parcel_id": f"O{k}-1",
                "kind": kind,
                "at": at,
            }
            if kind == "delivered":
                event["proof"] = {"recipient_name": "crash test"}
            mine.append(event)
    return [[events[i : i + size] for i in range(0, len(events), size)] for events in per_client]


class Load:
    """Clients posting their batches, retrying each until it is answered."""

    def __init__(self, base: str, key: dict[str, str], work: list[list[dict[str, Any]]]) -> None:
        self.base, self.key, self.work = base, key, work
        self.acknowledged: set[str] = set()
        self.rejected: Counter[str] = Counter()
        self.retries = 0
        self.lock = threading.Lock()

    def client(self, mine: list[list[dict[str, Any]]], deadline: float) -> None:
        with httpx.Client(base_url=self.base, headers=self.key, timeout=30) as http:
            for batch in mine:
                while time.monotonic() < deadline:
                    try:
                        response = http.post("/v1/events", json={"events": batch})
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 200:
                        break
                    with self.lock:
                        self.retries += 1
                    time.sleep(0.2)
                else:
                    return
                with self.lock:
                    for result in response.json()["results"]:
                        if result["status"] in ("accepted", "duplicate"):
                            self.acknowledged.add(result["event_id"])
                        else:
                            self.rejected[result["code"]] += 1

    def run(self, deadline: float) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self.client, args=(mine, deadline), daemon=True)
            for mine in self.work
        ]
        for thread in threads:
            thread.start()
        return threads


def count(url: str, sent: set[str], acknowledged: set[str]) -> dict[str, int]:
    """Read the database: what was lost, doubled or invented."""
    from sqlalchemy import func, select

    from doorstep.domain.events import ScanEvent, ScanKind, fold
    from doorstep.store import tables as t
    from doorstep.store.database import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as db:
        rows = db.execute(select(t.Event.event_id, t.Event.parcel_id, t.Event.kind, t.Event.at))
        stored = Counter[str]()
        history: dict[str, list[ScanEvent]] = {}
        for event_id, parcel_id, kind, at in rows:
            stored[event_id] += 1
            history.setdefault(parcel_id, []).append(
                ScanEvent(event_id, parcel_id, ScanKind(kind), at)
            )
        states = {p: state for p, state in db.execute(select(t.Parcel.id, t.Parcel.state))}
        messages = Counter(
            str(payload["data"]["event_id"])
            for (payload,) in db.execute(
                select(t.OutboxMessage.payload).where(
                    t.OutboxMessage.event_type == "parcel.delivered"
                )
            )
        )
        events_total = db.scalar(select(func.count()).select_from(t.Event)) or 0
    engine.dispose()
    delivered = {e for e in stored if e.endswith("-4")}
    return {
        "events_stored": events_total,
        "acknowledged_but_missing": len(acknowledged - set(stored)),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "stored_never_sent": len(set(stored) - sent),
        "parcels_state_not_the_fold": sum(
            1 for parcel, events in history.items() if states.get(parcel) != fold(events).value
        ),
        "deliveries_without_one_webhook_message": sum(
            1 for e in delivered if messages.get(e, 0) != 1
        ),
        "webhook_messages_for_no_stored_delivery": len(set(messages) - delivered),
    }


def run(url: str, label: str, args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    """One database: seed, load with kills, count."""
    env = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_ROUTER": "straight",
        "DOORSTEP_DISPATCH_WEBHOOKS": "false",
        "DOORSTEP_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    env.pop("DOORSTEP_CONFIG", None)
    _doorstep("db", "upgrade", env=env, cwd=tmp)
    printed = _doorstep("keys", "create", "--role", "admin", env=env, cwd=tmp)
    match = re.search(r": (\S+)\s*$", printed)
    if match is None:
        raise RuntimeError(f"no key in: {printed!r}")
    admin = {"Authorization": f"Bearer {match.group(1)}"}
    server = Server(_free_port(), args.workers, env, tmp, Path(tmp) / f"server-{label}.log")
    restarts: list[float] = [server.start()]
    try:
        seed(server.base, admin, args.orders)
        work = batches(args.orders, args.batch, args.clients)
        sent = {e["event_id"] for mine in work for batch in mine for e in batch}
        load = Load(server.base, admin, work)
        began = time.monotonic()
        deadline = began + args.deadline
        threads = load.run(deadline)
        kills = 0
        while kills < args.kills and any(t.is_alive() for t in threads):
            time.sleep(args.every)
            if not any(t.is_alive() for t in threads):
                break
            server.kill()
            kills += 1
            time.sleep(0.3)  # clients meet a dead port for a moment
            restarts.append(server.start())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 1)
        finished = not any(t.is_alive() for t in threads)
        wall = time.monotonic() - began
    finally:
        server.stop()
    counts = count(url, sent, load.acknowledged)
    return {
        "database": label,
        "orders": args.orders,
        "events_sent": len(sent),
        "clients": args.clients,
        "server_workers": args.workers,
        "kills": kills,
        "finished_before_deadline": finished,
        "load_wall_s": round(wall, 1),
        "restart_s_max": round(max(restarts), 2),
        "batches_resent": load.retries,
        "acknowledged": len(load.acknowledged),
        "rejected": dict(load.rejected),
        **counts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=600, help="parcels (5 events each)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10, help="events per batch")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--every", type=float, default=1.5, help="seconds between kills")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds of load at most")
    parser.add_argument("--postgres-url", default=os.environ.get("DOORSTEP_TEST_POSTGRES_URL"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(describe())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'crash.db'}")]
        name = f"doorstep_crash_{uuid.uuid4().hex[:8]}"
        if args.postgres_url:
            sys.path.insert(0, str(ROOT / "tests"))
            from databases import create_database

            targets.append(("postgresql", create_database(args.postgres_url, name)))
        try:
            for label, url in targets:
                result = run(url, label, args, tmp)
                print(json.dumps(result, indent=2))
                results.append(result)
        finally:
            if args.postgres_url:
                from databases import drop_database

                drop_database(args.postgres_url, name)
    if args.out:
        args.out.write_text(json.dumps({"machine": describe(), "runs": results}, indent=2) + "\n")
    bad = [
        r
        for r in results
        if r["acknowledged_but_missing"]
        or r["stored_twice"]
        or r["stored_never_sent"]
        or r["parcels_state_not_the_fold"]
        or r["deliveries_without_one_webhook_message"]
        or r["webhook_messages_for_no_stored_delivery"]
        or not r["finished_before_deadline"]
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
