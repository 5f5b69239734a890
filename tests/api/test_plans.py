"""Plans and routes over HTTP: jobs, results, publishing, driver scoping, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.api.app import create_app
from doorstep.api.routers import plans
from doorstep.api.security import Role
from doorstep.service import INTERRUPTED_BY_RESTART
from doorstep.service.planning import OWNER_KEY, Owner
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.units import format_clock
from service_data import DEPOT, VEHICLE, order, store_order

from .conftest import Service

DAY = "2026-01-15"
QUICK: dict[str, Any] = {"day": DAY, "time_limit_s": 0.5, "max_iterations": 200}
"""A short, reproducible search."""
FINAL = {"done", "failed", "published"}


def add_orders(service: Service, *bodies: dict[str, Any]) -> None:
    """Store orders directly (one parcel row per parcel)."""
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        for body in bodies:
            store_order(db, body)


def add_fleet(service: Service, planner: dict[str, str], vans: int = 1, **fields: Any) -> None:
    """The depot, ``vans`` vans (van1, van2...) and a driver per van (d1, d2...)."""
    c = service.client
    assert c.post("/v1/depots", json=DEPOT, headers=planner).status_code == 201
    for k in range(1, vans + 1):
        van = VEHICLE | {"id": f"van{k}"} | fields
        assert c.post("/v1/vehicles", json=van, headers=planner).status_code == 201
        driver = {"id": f"d{k}", "name": f"Driver {k}", "vehicle_id": f"van{k}"}
        assert c.post("/v1/drivers", json=driver, headers=planner).status_code == 201


def wait_for(
    service: Service, plan_id: str, headers: dict[str, str], timeout_s: float = 30
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll the plan until it is done or failed: its last state and every state seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = service.client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        seen.append(body)
        if body["status"] in FINAL:
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"plan {plan_id} still {seen[-1]['status']} after {timeout_s} s")


def plan_now(service: Service, planner: dict[str, str], **body: Any) -> dict[str, Any]:
    """Post a plan and wait for it to finish."""
    r = service.client.post("/v1/plans", json=QUICK | body, headers=planner)
    assert r.status_code == 202, r.text
    final, _ = wait_for(service, r.json()["id"], planner)
    return final


def test_a_plan_goes_queued_running_done_and_its_routes_match(service: Service) -> None:
    """202 queued, then running with progress, then done; the route's stops match its visits."""
    planner = service.key(Role.PLANNER)
    add_fleet(service, planner)
    add_orders(service, *(order(f"o{k}", k) for k in range(1, 5)))
    c = service.client
    r = c.post("/v1/plans", json={"day": DAY, "time_limit_s": 1.5}, headers=planner)
    assert r.status_code == 202
    created = r.json()
    assert created["status"] == "queued" and created["progress"] == 0
    assert r.headers["location"] == created["links"]["self"] == f"/v1/plans/{created['id']}"
    assert created["request"]["time_limit_s"] == 1.5 and created["request"]["order_ids"] is None

    dispatcher = service.key(Role.DISPATCHER)
    plan, seen = wait_for(service, created["id"], dispatcher)
    statuses = list(dict.fromkeys(s["status"] for s in seen))
    assert statuses in (["running", "done"], ["queued", "running", "done"])
    running = [s for s in seen if s["status"] == "running"]
    assert all(s["routes"] is None and s["summary"] is None for s in running)
    assert any(0 < s["progress"] < 1 and s["best_cost"] is not None for s in running)

    assert plan["progress"] == 1 and plan["error"] is None
    assert plan["summary"]["served"] == 4 and plan["unassigned"] == []
    assert plan["links"]["publish"] == f"/v1/plans/{plan['id']}/publish"
    (route,) = plan["routes"]
    assert (route["id"], route["state"], route["driver_id"]) == (
        f"{plan['id']}-van1",
        "planned",
        None,
    )
    assert all(v["eta_s"] == v["arrival_s"] and v["state"] == "pending" for v in route["visits"])

    detail = c.get(f"/v1/routes/{route['id']}", headers=dispatcher).json()
    assert (detail["start_s"], detail["end_s"]) == (route["start_s"], route["end_s"])
    assert detail["stop_count"] == len(detail["stops"]) == 4
    for stop, visit in zip(detail["stops"], route["visits"], strict=True):
        assert (stop["seq"], stop["order_id"]) == (visit["stop"], visit["order_id"])
        assert stop["planned_arrival_s"] == stop["eta_s"] == visit["arrival_s"]
        assert stop["planned_start_s"] == visit["start_s"]
        assert stop["address"] == visit["address"] and stop["lat"] == visit["lat"]
        assert stop["window"] == visit["window"] == "09:00-12:00"
        assert stop["eta"] == visit["arrival"]
        eta_at = datetime.fromisoformat(stop["eta_at"])
        assert eta_at.isoformat()[:10] == DAY and eta_at.utcoffset() is not None
        assert eta_at.utcoffset().total_seconds() == 2 * 3600  # Helsinki in winter
        assert eta_at.strftime("%H:%M") == stop["eta"]

    listed = c.get("/v1/plans", headers=dispatcher).json()
    assert [p["id"] for p in listed] == [plan["id"]] and "routes" not in listed[0]


def test_an_order_no_vehicle_can_serve_comes_back_unassigned_with_a_reason(
    service: Service,
) -> None:
    """An order needing a skill no van has is listed in unassigned with code and sentence."""
    planner = service.key(Role.PLANNER)
    add_fleet(service, planner)
    add_orders(service, order("plain", 1), order("frozen", 2, skills=["freezer"]))
    plan = plan_now(service, planner, order_ids=["plain", "frozen"])
    assert plan["status"] == "done"
    assert plan["unassigned"] == [
        {
            "order_id": "frozen",
            "code": "no_skill",
            "reason": "No vehicle has the skills it needs (freezer).",
        }
    ]
    assert [v["order_id"] for v in plan["routes"][0]["visits"]] == ["plain"]
    assert plan["violations"] == [] and plan["summary"]["unassigned"] == 1


def test_a_plan_that_cannot_run_fails_with_a_readable_error(service: Service) -> None:
    """No orders: failed, saying so; no vehicles: failed, saying so."""
    planner = service.key(Role.PLANNER)
    plan = plan_now(service, planner)
    assert plan["status"] == "failed" and plan["error"].startswith("no orders to plan")
    assert plan["routes"] is None and plan["finished_at"] is not None

    add_orders(service, order("o1", 1))
    plan = plan_now(service, planner)
    assert plan["status"] == "failed" and plan["error"].startswith("no vehicles to plan with")


def test_a_new_plan_records_this_process_as_its_owner(service: Service) -> None:
    """The stored request names the process that runs the plan; the API does not show it."""
    planner = service.key(Role.PLANNER)
    r = service.client.post("/v1/plans", json=QUICK, headers=planner)
    assert r.status_code == 202
    plan_id = r.json()["id"]
    assert OWNER_KEY not in r.json()["request"]
    final, _ = wait_for(service, plan_id, planner)
    assert OWNER_KEY not in final["request"] and final["request"]["seed"] == 0
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        stored = db.get_one(t.Plan, plan_id).request
    assert stored[OWNER_KEY] == Owner.current().as_json()


def test_requests_are_checked_before_a_job_is_queued(service: Service) -> None:
    """Bad time limits, objectives and unknown ids are 422s naming the field; roles apply."""
    planner = service.key(Role.PLANNER)
    c = service.client
    for bad in ({"time_limit_s": 0}, {"time_limit_s": 601}, {"objective": "fastest"}, {"x": 1}):
        r = c.post("/v1/plans", json={"day": DAY} | bad, headers=planner)
        assert r.status_code == 422 and r.json()["code"] == "validation", bad
    r = c.post("/v1/plans", json={"day": DAY, "order_ids": ["nope"]}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "unknown_orders"
    assert r.json()["errors"] == [{"field": "body.order_ids[0]", "message": "unknown order"}]
    r = c.post("/v1/plans", json={"day": DAY, "vehicle_ids": ["ghost"]}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "unknown_vehicles"
    assert c.get("/v1/plans", headers=planner).json() == []

    r = c.post("/v1/plans", json={"day": DAY}, headers=service.key(Role.DISPATCHER))
    assert r.status_code == 403
    r = c.get("/v1/plans", headers=service.key(Role.DRIVER, _driver(service)))
    assert r.status_code == 403
    r = c.get("/v1/routes", headers=service.key(Role.INTEGRATION))
    assert r.status_code == 403
    assert c.get("/v1/plans/nope", headers=planner).json()["code"] == "not_found"


def test_finished_orders_cannot_be_planned_again(service: Service) -> None:
    """A delivered order or a collected return named in order_ids is a 409 naming it."""
    planner = service.key(Role.PLANNER)
    add_orders(
        service,
        order("open", 1),
        order("done", 2),
        order("back", 3),
        order("failed", 4),
    )
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.get_one(t.Order, "done").status = "delivered"
        back = db.get_one(t.Order, "back")
        back.kind, back.status = "pickup", "returned_to_depot"
        db.get_one(t.Order, "failed").status = "failed_attempt"
    ids = ["open", "done", "failed", "back"]
    r = service.client.post("/v1/plans", json=QUICK | {"order_ids": ids}, headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "orders_closed", r.text
    assert r.json()["errors"] == [
        {"field": "body.order_ids[1]", "message": "order is delivered"},
        {"field": "body.order_ids[3]", "message": "order is returned_to_depot"},
    ]
    assert service.client.get("/v1/plans", headers=planner).json() == []
    ids = ["open", "failed"]
    r = service.client.post("/v1/plans", json=QUICK | {"order_ids": ids}, headers=planner)
    assert r.status_code == 202, r.text


def test_deliveries_out_of_attempts_cannot_be_planned_again(service: Service) -> None:
    """Return to sender, or failed with all 3 attempts used: 409; attempts left: it is open."""
    planner = service.key(Role.PLANNER)
    add_orders(service, order("rts", 1), order("used", 2), order("left", 3))
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.get_one(t.Order, "rts").status = "return_to_sender"
        used = db.get_one(t.Order, "used")
        used.status, used.attempts = "returned_to_depot", 3
        left = db.get_one(t.Order, "left")
        left.status, left.attempts = "failed_attempt", 2
    ids = ["left", "rts", "used"]
    r = service.client.post("/v1/plans", json=QUICK | {"order_ids": ids}, headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "orders_closed", r.text
    assert r.json()["errors"] == [
        {"field": "body.order_ids[1]", "message": "order is return_to_sender"},
        {"field": "body.order_ids[2]", "message": "order is returned_to_depot"},
    ]
    r = service.client.post("/v1/plans", json=QUICK | {"order_ids": ["left"]}, headers=planner)
    assert r.status_code == 202, r.text


def _driver(service: Service, driver_id: str = "lone") -> str:
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(t.Driver(id=driver_id, name="Lone"))
    return driver_id


def test_publish_assigns_drivers_and_refuses_what_it_cannot_do(service: Service) -> None:
    """409 before done, 422 unknown driver; then routes, orders and plan become published."""
    planner = service.key(Role.PLANNER)
    c = service.client
    add_fleet(service, planner)
    add_orders(service, order("o1", 1), order("o2", 2))
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(t.Plan(id="busy", day=DAY, status="running", request={}))
        db.add(
            t.WebhookSubscription(id="s", url="https://x.example", event_types=["*"], secret="s")
        )
    r = c.post("/v1/plans/busy/publish", headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "plan_not_done"

    plan = plan_now(service, planner, vehicle_ids=["van1"], order_ids=["o1", "o2"])
    assert plan["status"] == "done"
    url = f"/v1/plans/{plan['id']}/publish"
    r = c.post(url, json={"assignments": {"van1": "nobody"}}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "unknown_driver"
    assert r.json()["errors"] == [{"field": "body.assignments.van1", "message": "unknown driver"}]
    r = c.post(url, json={"assignments": {"van9": "d1"}}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "vehicle_not_in_plan"
    assert c.post(url, headers=service.key(Role.DISPATCHER)).status_code == 403

    r = c.post(url, json={"assignments": {"van1": _driver(service)}}, headers=planner)
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["published_at"] is not None
    (route,) = published["routes"]
    assert (route["state"], route["driver_id"]) == ("published", "lone")
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        assert {db.get_one(t.Order, i).status for i in ("o1", "o2")} == {"planned"}
        messages = list(db.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))
    kinds = [m.event_type for m in messages]
    assert kinds == ["plan.done", "order.status_changed", "order.status_changed", "plan.published"]
    assert {m.payload["data"]["order_id"] for m in messages[1:3]} == {"o1", "o2"}
    assert messages[1].payload["data"]["to"] == "planned"
    assert messages[3].payload["data"]["routes"] == [
        {"route_id": route["id"], "vehicle_id": "van1", "driver_id": "lone"}
    ]
    r = c.post(url, headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "plan_not_done"

    add_orders(service, order("o3", 3))
    again = plan_now(service, planner)
    assert [v["order_id"] for v in again["routes"][0]["visits"]] == ["o3"]
    r = c.post(f"/v1/plans/{again['id']}/publish", headers=planner)
    assert r.status_code == 200 and r.json()["routes"][0]["driver_id"] == "d1"


def test_publish_refuses_a_route_nobody_drives(service: Service) -> None:
    """422 route_without_driver names the van with no driver; the plan stays done."""
    planner = service.key(Role.PLANNER)
    c = service.client
    assert c.post("/v1/depots", json=DEPOT, headers=planner).status_code == 201
    assert c.post("/v1/vehicles", json=VEHICLE | {"id": "van1"}, headers=planner).status_code == 201
    add_orders(service, order("o1", 1))
    plan = plan_now(service, planner)
    assert plan["status"] == "done"
    r = c.post(f"/v1/plans/{plan['id']}/publish", headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "route_without_driver"
    assert r.json()["errors"] == [{"field": "body.assignments.van1", "message": "no driver"}]
    after = c.get(f"/v1/plans/{plan['id']}", headers=planner).json()
    assert after["status"] == "done" and after["routes"][0]["state"] == "planned"


def test_publish_refuses_one_driver_on_two_routes(service: Service) -> None:
    """422 driver_assigned_twice when an assignment gives a driver a second route."""
    planner = service.key(Role.PLANNER)
    c = service.client
    add_fleet(service, planner, vans=2, cost_fixed=0)  # both vans used (see below)
    add_orders(service, order("a", 1, parcels=30), order("b", 2, parcels=30))
    plan = plan_now(service, planner)
    assert plan["status"] == "done" and len(plan["routes"]) == 2
    url = f"/v1/plans/{plan['id']}/publish"
    r = c.post(url, json={"assignments": {"van2": "d1"}}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "driver_assigned_twice"
    assert "'d1'" in r.json()["detail"]
    after = c.get(f"/v1/plans/{plan['id']}", headers=planner).json()
    assert after["status"] == "done"
    assert {(r["state"], r["driver_id"]) for r in after["routes"]} == {("planned", None)}


def test_publish_refuses_orders_another_plan_has_published(service: Service) -> None:
    """409 orders_already_published when an order is on a published route of another plan."""
    planner = service.key(Role.PLANNER)
    c = service.client
    add_fleet(service, planner)
    add_orders(service, order("o1", 1), order("o2", 2))
    first = plan_now(service, planner, order_ids=["o1"])
    assert c.post(f"/v1/plans/{first['id']}/publish", headers=planner).status_code == 200
    second = plan_now(service, planner, order_ids=["o1", "o2"])
    assert second["status"] == "done"
    r = c.post(f"/v1/plans/{second['id']}/publish", headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "orders_already_published"
    assert "o1" in r.json()["detail"] and "o2" not in r.json()["detail"]
    after = c.get(f"/v1/plans/{second['id']}", headers=planner).json()
    assert after["status"] == "done" and after["routes"][0]["state"] == "planned"
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        assert db.get_one(t.Order, "o2").status == "created"


def test_drivers_see_only_their_own_published_routes(service: Service) -> None:
    """Before publishing a driver sees nothing; after, its own route only; others' are 404."""
    planner = service.key(Role.PLANNER)
    c = service.client
    # Two orders of 30 parcels need both 50-parcel vans. With a fixed cost per van the
    # PyVRP backend overloads one van instead (its capacity penalty is bounded below
    # that cost), so these vans cost nothing to take out.
    add_fleet(service, planner, vans=2, cost_fixed=0)
    add_orders(service, order("a", 1, parcels=30), order("b", 2, parcels=30))
    plan = plan_now(service, planner)
    assert plan["status"] == "done" and len(plan["routes"]) == 2
    d1 = service.key(Role.DRIVER, "d1")
    assert c.get(f"/v1/routes?day={DAY}", headers=d1).json() == []
    hidden = c.get(f"/v1/routes/{plan['routes'][0]['id']}", headers=d1)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"

    assert c.post(f"/v1/plans/{plan['id']}/publish", headers=planner).status_code == 200
    dispatcher = service.key(Role.DISPATCHER)
    every = c.get(f"/v1/routes?day={DAY}", headers=dispatcher).json()
    assert sorted((r["vehicle_id"], r["driver_id"]) for r in every) == [
        ("van1", "d1"),
        ("van2", "d2"),
    ]
    mine = c.get(f"/v1/routes?day={DAY}", headers=d1).json()
    assert [(r["vehicle_id"], r["driver_id"], r["stop_count"]) for r in mine] == [("van1", "d1", 1)]
    assert c.get("/v1/routes?day=2026-01-16", headers=d1).json() == []
    theirs = next(r["id"] for r in every if r["driver_id"] == "d2")
    r = c.get(f"/v1/routes/{theirs}", headers=d1)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = c.get(f"/v1/routes/{mine[0]['id']}", headers=d1)
    assert r.status_code == 200 and [s["parcels"] for s in r.json()["stops"]] == [30]


def test_a_restart_keeps_done_plans_and_marks_interrupted_ones(service: Service) -> None:
    """After a restart a done plan reads the same; one left running says it was interrupted.

    A plan a live worker process owns (here: this process) is not touched by
    another worker starting.
    """
    planner = service.key(Role.PLANNER)
    add_fleet(service, planner)
    add_orders(service, order("o1", 1))
    done = plan_now(service, planner)
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(t.Plan(id="crashed", day=DAY, status="running", request={}))
        live = {OWNER_KEY: Owner.current().as_json()}
        db.add(t.Plan(id="live", day=DAY, status="running", request=live))

    settings = service.app.state.settings  # type: ignore[attr-defined]
    with TestClient(create_app(settings), raise_server_exceptions=False) as again:
        after = again.get(f"/v1/plans/{done['id']}", headers=planner).json()
        assert after["status"] == "done" and after["routes"] == done["routes"]
        assert after["summary"] == done["summary"]
        crashed = again.get("/v1/plans/crashed", headers=planner).json()
        assert (crashed["status"], crashed["error"]) == ("failed", INTERRUPTED_BY_RESTART)
        alive = again.get("/v1/plans/live", headers=planner).json()
        assert (alive["status"], alive["error"]) == ("running", None)


def test_stopping_planning_keeps_the_event_loop_serving() -> None:
    """While the planning worker winds down, other coroutines keep running."""

    class SlowJobs:
        def __init__(self) -> None:
            self.stopped = False

        def shutdown(self) -> None:
            time.sleep(0.5)
            self.stopped = True

    app = FastAPI()
    jobs = SlowJobs()
    app.state.planning = jobs

    async def stop_while_ticking() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        await plans.stop_planning(app)
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        return ticks

    assert asyncio.run(stop_while_ticking()) >= 10
    assert jobs.stopped and app.state.planning is None


def test_locks_and_warm_starts_are_checked_and_kept(service: Service) -> None:
    """Locks and a warm start (routes or a plan id) reach the job; unknown ids are 422s."""
    planner = service.key(Role.PLANNER)
    c = service.client
    add_fleet(service, planner, vans=2)
    add_orders(service, *(order(f"o{k}", k) for k in range(1, 5)))
    bad: list[tuple[dict[str, Any], str, str]] = [
        (
            {"locks": [{"order_id": "nope", "vehicle_id": "van1"}]},
            "unknown_orders",
            "body.locks[0].order_id",
        ),
        (
            {"locks": [{"order_id": "o1", "vehicle_id": "ghost"}]},
            "unknown_vehicles",
            "body.locks[0].vehicle_id",
        ),
        (
            {"order_ids": ["o2"], "locks": [{"order_id": "o1", "vehicle_id": "van1"}]},
            "lock_outside_plan",
            "body.locks[0].order_id",
        ),
        ({"warm_start": {"ghost": ["o1"]}}, "unknown_vehicles", "body.warm_start.ghost"),
        ({"warm_start": {"van1": ["o1", "nope"]}}, "unknown_orders", "body.warm_start.van1[1]"),
        ({"warm_start": "plan_nope"}, "unknown_plan", "body.warm_start"),
    ]
    for body, code, field in bad:
        r = c.post("/v1/plans", json=QUICK | body, headers=planner)
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert c.get("/v1/plans", headers=planner).json() == []

    locks = [{"order_id": "o3", "vehicle_id": "van2"}, {"order_id": "o4", "vehicle_id": "van2"}]
    plan = plan_now(service, planner, locks=locks)
    assert plan["status"] == "done", plan["error"]
    assert plan["request"]["locks"] == [lock | {"position": None} for lock in locks]
    routes = {r["vehicle_id"]: [v["order_id"] for v in r["visits"]] for r in plan["routes"]}
    assert {"o3", "o4"} <= set(routes["van2"])

    again = plan_now(service, planner, warm_start=plan["id"])
    assert again["status"] == "done", again["error"]
    assert again["request"]["warm_start"] == routes
    given = plan_now(service, planner, warm_start={"van1": ["o2", "o1"]})
    assert given["status"] == "done" and given["request"]["warm_start"] == {"van1": ["o2", "o1"]}


def test_a_done_plan_shows_one_money_cost(service: Service) -> None:
    """Done: cost and best_cost are summary.cost; search_objective is the search's own score."""
    planner = service.key(Role.PLANNER)
    add_fleet(service, planner)
    add_orders(service, order("o1", 1), order("o2", 2))
    plan = plan_now(service, planner)
    assert plan["cost"] == plan["best_cost"] == plan["summary"]["cost"]
    assert plan["search_objective"] is not None
    assert plan["summary"]["search_objective"] == plan["search_objective"]


def test_a_driver_sees_parcels_contact_and_break_on_the_route(service: Service) -> None:
    """The route view lists each stop's parcel ids, contact and notes, and the planned break."""
    planner = service.key(Role.PLANNER)
    c = service.client
    van = {"break_start_s": 10 * 3600, "break_end_s": 11 * 3600, "break_s": 1800}
    add_fleet(service, planner, **van)
    contact = {"name": "Aino", "phone": "+358 40 123 4567", "email": "aino@example.fi"}
    early = order("o1", 1, parcels=2, windows=[[9 * 3600, 9 * 3600 + 1800]], notes="Door B")
    late = order("o2", 2, windows=[[12 * 3600, 13 * 3600]], parcel_ids=["BOX-9"], **contact)
    for body in (early, late):
        assert c.post("/v1/orders", json=body, headers=planner).status_code == 201
    plan = plan_now(service, planner)
    (route,) = plan["routes"]
    r = c.post(f"/v1/plans/{plan['id']}/publish", headers=planner)
    assert r.status_code == 200, r.text
    driver = service.key(Role.DRIVER, "d1")
    detail = c.get(f"/v1/routes/{route['id']}", headers=driver).json()
    stops = {s["order_id"]: s for s in detail["stops"]}
    assert stops["o1"]["parcel_ids"] == ["o1-1", "o1-2"] and stops["o1"]["notes"] == "Door B"
    assert stops["o2"]["parcel_ids"] == ["BOX-9"] and stops["o2"]["contact"] == contact
    assert stops["o1"]["contact"] == {"name": "", "phone": "", "email": ""}
    assert detail["break"] == route["break"] and detail["break"]["duration_s"] == 1800
    assert detail["break"]["start"] == format_clock(detail["break"]["start_s"])
