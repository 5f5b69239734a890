"""One planning pipeline: ``doorstep plan`` and ``POST /v1/plans`` plan the same day alike.

The same orders (one manifest file), the same fleet, router, seed and search
limits must give the same routes from the command line and from the service,
whichever order the file or the database lists them in.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from doorstep.api.security import Role
from doorstep.cli import app as cli_app

from .conftest import Service
from .test_day import _wait_done

DAY = "2031-03-04"
ITERATIONS = 40

FLEET_CSV = """vehicle_id,depot_id,depot_lat,depot_lon,profile,shift_start,shift_end,\
capacity_parcels,capacity_kg,capacity_l,cost_fixed,cost_per_km,cost_per_hour
VAN-B,HEL-DEPOT,60.166160,24.952780,van,06:30,22:00,40,800,6000,60,0.35,32
VAN-A,HEL-DEPOT,60.166160,24.952780,van,06:00,22:00,40,800,6000,60,0.35,32
"""

VEHICLES: list[dict[str, Any]] = [
    {
        "id": vid,
        "depot_id": "HEL-DEPOT",
        "profile": "van",
        "capacity_parcels": 40,
        "capacity_g": 800_000,
        "capacity_ml": 6_000_000,
        "shift_start_s": start,
        "shift_end_s": 22 * 3600,
        "cost_fixed": 6000,
        "cost_per_km": 35,
        "cost_per_hour": 3200,
    }
    for vid, start in (("VAN-A", 6 * 3600), ("VAN-B", 6 * 3600 + 1800))
]


def _clean_manifest(rows: int) -> str:
    """``rows`` clean deliveries around central Helsinki, listed out of id order."""
    rng = random.Random(7)
    lines = ["order_id,address,zip,city,lat,lon,window_start,window_end,service_min,parcels"]
    ids = [f"SAME-{k:03d}" for k in range(rows)]
    rng.shuffle(ids)
    for k, ident in enumerate(ids):
        lat = 60.155 + 0.03 * rng.random()
        lon = 24.91 + 0.06 * rng.random()
        start = 8 + rng.randrange(8)
        lines.append(
            f"{ident},Testikatu {k + 1},00100,Helsinki,{lat:.6f},{lon:.6f},"
            f"{start:02d}:00,{start + 3:02d}:00,4,{1 + rng.randrange(3)}"
        )
    return "\n".join(lines) + "\n"


def _routes(routes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Vehicle id -> order ids in visiting order."""
    return {r["vehicle_id"]: [v["order_id"] for v in r["visits"]] for r in routes}


def test_cli_and_service_give_the_same_plan(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    """Same orders, fleet, router, seed and iterations: the same routes from both doors."""
    manifest = tmp_path / "orders.csv"
    manifest.write_text(_clean_manifest(80), encoding="utf-8")
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(FLEET_CSV, encoding="utf-8")
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        cli_app,
        [
            "plan", str(manifest), "--fleet", str(fleet), "--out", str(out), "--straight",
            "--iterations", str(ITERATIONS), "--time-limit", "60", "--seed", "3",
        ],
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert not document.get("rejected"), "the manifest must be clean for this comparison"

    c = service.client
    planner = service.key(Role.PLANNER)
    upload = c.post(
        "/v1/orders/upload",
        headers=planner,
        files={"file": ("orders.csv", manifest.read_bytes(), "text/csv")},
    )
    assert upload.status_code in (200, 201), upload.text
    depot = {"id": "HEL-DEPOT", "name": "", "lat": 60.166160, "lon": 24.952780}
    assert c.post("/v1/depots", json=depot, headers=planner).status_code == 201
    for vehicle in VEHICLES:
        assert c.post("/v1/vehicles", json=vehicle, headers=planner).status_code == 201
    created = c.post(
        "/v1/plans",
        json={"day": DAY, "seed": 3, "max_iterations": ITERATIONS, "time_limit_s": 60},
        headers=planner,
    )
    assert created.status_code == 202, created.text
    plan = _wait_done(service, created.json()["id"], planner)
    assert plan["status"] == "done", plan["error"]

    cli_routes = _routes(document["routes"])
    assert sum(len(v) for v in cli_routes.values()) > 0
    assert _routes(plan["routes"] or []) == cli_routes
    assert plan["summary"]["distance_km"] == document["summary"]["distance_km"]
    assert {u["order_id"] for u in plan["unassigned"] or []} == {
        u["order_id"] for u in document["unassigned"]
    }
