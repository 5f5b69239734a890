"""Failed parcels come back: planned again the next day, counted, returned to sender at last.

Through the service: a delivery fails on day 1, is offered first to day 2's
plan, published again, and a late scan of day 1 leaves day 2's stop alone; after
the last allowed attempt it is marked ``return_to_sender`` and no plan takes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.api.app import create_app
from doorstep.api.security import Role
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries.plans import load_orders
from service_data import DEPOT, VEHICLE, order, store_order

from .conftest import Service

ZONE = ZoneInfo("Europe/Helsinki")
DAY1, DAY2, DAY3 = "2026-01-15", "2026-01-16", "2026-01-17"
QUICK: dict[str, Any] = {"time_limit_s": 0.5, "max_iterations": 200}
MAX_ATTEMPTS = 2
PRIORITY = 7


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The app with two attempts allowed and a redelivery priority of 7."""
    settings = Settings(
        database_url=database_url,
        router="straight",
        dispatch_webhooks=False,
        webhook_allow_private=True,
        max_attempts=MAX_ATTEMPTS,
        redelivery_priority=PRIORITY,
        monitor_interval_s=0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client)


def _at(day: str, hour: float) -> str:
    moment = datetime.combine(datetime.fromisoformat(day).date(), clock(0), tzinfo=ZONE)
    return (moment + timedelta(hours=hour)).isoformat()


def _setup(service: Service) -> tuple[dict[str, str], dict[str, str]]:
    """One van carrying a single parcel, its driver d1, a webhook; orders A (far) and C (near).

    Returns the planner's and the driver's headers.
    """
    c = service.client
    planner = service.key(Role.PLANNER)
    assert c.post("/v1/depots", json=DEPOT, headers=planner).status_code == 201
    van = VEHICLE | {"capacity_parcels": 1}
    assert c.post("/v1/vehicles", json=van, headers=planner).status_code == 201
    driver = {"id": "d1", "name": "Driver 1", "vehicle_id": "van1"}
    assert c.post("/v1/drivers", json=driver, headers=planner).status_code == 201
    hook = {"url": "https://shop.example/hooks", "event_types": ["order.status_changed"]}
    assert c.post("/v1/webhooks", json=hook, headers=service.key(Role.ADMIN)).status_code == 201
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        store_order(db, order("A", 6))
        store_order(db, order("C", 1))
    return planner, service.key(Role.DRIVER, "d1")


def _plan(service: Service, planner: dict[str, str], day: str, **body: Any) -> dict[str, Any]:
    """Post a plan for ``day`` and wait until it is done or failed."""
    c = service.client
    r = c.post("/v1/plans", json=QUICK | {"day": day} | body, headers=planner)
    assert r.status_code == 202, r.text
    for _ in range(600):
        plan: dict[str, Any] = c.get(f"/v1/plans/{r.json()['id']}", headers=planner).json()
        if plan["status"] in ("done", "failed"):
            return plan
        time.sleep(0.05)
    raise AssertionError("the plan did not finish")


def _served(plan: dict[str, Any]) -> list[str]:
    return [v["order_id"] for route in plan["routes"] for v in route["visits"]]


def _plan_and_publish(service: Service, planner: dict[str, str], day: str, **body: Any) -> str:
    """Plan ``day`` and publish it; the id of its one route."""
    plan = _plan(service, planner, day, **body)
    assert plan["status"] == "done", plan
    r = service.client.post(f"/v1/plans/{plan['id']}/publish", headers=planner)
    assert r.status_code == 200, r.text
    (route,) = plan["routes"]
    return str(route["id"])


def _fail(service: Service, driver: dict[str, str], day: str) -> None:
    """Parcel A-1 is scanned at the depot on ``day``, goes out and fails at the door."""
    kinds = [
        ("scanned_at_depot", 7.0),
        ("loaded", 7.1),
        ("out_for_delivery", 8.0),
        ("arrived_at_stop", 9.2),
    ]
    events = [
        {"event_id": f"{day}-{kind}", "parcel_id": "A-1", "kind": kind, "at": _at(day, hour)}
        for kind, hour in kinds
    ]
    events.append(
        {
            "event_id": f"{day}-failed",
            "parcel_id": "A-1",
            "kind": "failed_attempt",
            "at": _at(day, 9.25),
            "failure_reason": "not_home",
        }
    )
    r = service.client.post("/v1/events", json={"events": events}, headers=driver)
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def _returned(service: Service, driver: dict[str, str], day: str) -> dict[str, Any]:
    """A-1 back at the depot at 18:00 of ``day``; the batch's answer."""
    event = {
        "event_id": f"{day}-returned",
        "parcel_id": "A-1",
        "kind": "returned_to_depot",
        "at": _at(day, 18),
    }
    r = service.client.post("/v1/events", json={"events": [event]}, headers=driver)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _order(service: Service, planner: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = service.client.get("/v1/orders/A", headers=planner).json()
    return body


def test_a_failed_delivery_is_planned_first_the_next_day(service: Service) -> None:
    """Day 2's plan takes A before the nearer new order C; publishing makes A planned again."""
    planner, driver = _setup(service)
    _plan_and_publish(service, planner, DAY1, order_ids=["A"])
    _fail(service, driver, DAY1)
    failed = _order(service, planner)
    assert (failed["status"], failed["attempts"]) == ("failed_attempt", 1)

    sessions = service.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as db:
        loaded = {o.id: o.priority for o in load_orders(db, None, redelivery_priority=PRIORITY)}
    assert loaded == {"A": PRIORITY, "C": 0}

    plan = _plan(service, planner, DAY2)
    assert plan["status"] == "done"
    # One parcel fits: without the redelivery priority the nearer C would be served.
    assert _served(plan) == ["A"] and [u["order_id"] for u in plan["unassigned"]] == ["C"]
    r = service.client.post(f"/v1/plans/{plan['id']}/publish", headers=planner)
    assert r.status_code == 200, r.text
    again = _order(service, planner)
    assert (again["status"], again["attempts"]) == ("planned", 1)
    with sessions() as db:
        changes = [
            m.payload["data"]
            for m in db.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id))
            if m.event_type == "order.status_changed" and m.payload["data"]["order_id"] == "A"
        ]
    assert changes[-1] == {"order_id": "A", "from": "failed_attempt", "to": "planned"}


def test_a_late_scan_of_day_one_leaves_day_twos_stop_alone(service: Service) -> None:
    """returned_to_depot at 18:00 of day 1, sent after day 2 is published: day 2's stop stays."""
    planner, driver = _setup(service)
    _plan_and_publish(service, planner, DAY1, order_ids=["A"])
    _fail(service, driver, DAY1)
    route2 = _plan_and_publish(service, planner, DAY2, order_ids=["A"])

    answer = _returned(service, driver, DAY1)
    assert answer["accepted"] == 1, answer
    detail = service.client.get(f"/v1/routes/{route2}", headers=planner).json()
    assert detail["state"] == "published"
    assert [(s["order_id"], s["state"]) for s in detail["stops"]] == [("A", "pending")]
    assert _order(service, planner)["attempts"] == 1


def test_after_the_last_attempt_the_order_goes_back_to_the_sender(service: Service) -> None:
    """The second failure (max_attempts 2) makes A return_to_sender; no plan takes it again."""
    planner, driver = _setup(service)
    _plan_and_publish(service, planner, DAY1, order_ids=["A"])
    _fail(service, driver, DAY1)
    _returned(service, driver, DAY1)
    assert _order(service, planner)["status"] == "returned_to_depot"
    _plan_and_publish(service, planner, DAY2, order_ids=["A"])
    _fail(service, driver, DAY2)

    last = _order(service, planner)
    assert (last["status"], last["attempts"]) == ("return_to_sender", 2)
    _returned(service, driver, DAY2)
    assert _order(service, planner)["status"] == "return_to_sender"
    listed = service.client.get("/v1/orders?status=return_to_sender", headers=planner).json()
    assert [o["id"] for o in listed] == ["A"]

    plan = _plan(service, planner, DAY3)
    assert _served(plan) == ["C"] and plan["unassigned"] == []
    r = service.client.post(
        "/v1/plans", json=QUICK | {"day": DAY3, "order_ids": ["A"]}, headers=planner
    )
    assert r.status_code == 409 and r.json()["code"] == "orders_closed", r.text


def test_the_attempts_of_an_order_are_listed_day_by_day(service: Service) -> None:
    """GET /v1/orders/A/attempts: each visit with its route, day, outcome, reason and time."""
    planner, driver = _setup(service)
    c = service.client
    assert c.get("/v1/orders/A/attempts", headers=planner).json() == []
    route1 = _plan_and_publish(service, planner, DAY1, order_ids=["A"])
    _fail(service, driver, DAY1)
    route2 = _plan_and_publish(service, planner, DAY2, order_ids=["A"])
    _returned(service, driver, DAY1)  # late: the first attempt ends back at the depot
    events = [
        {"event_id": "d2-1", "parcel_id": "A-1", "kind": "scanned_at_depot", "at": _at(DAY2, 7)},
        {"event_id": "d2-2", "parcel_id": "A-1", "kind": "loaded", "at": _at(DAY2, 7.1)},
        {"event_id": "d2-3", "parcel_id": "A-1", "kind": "out_for_delivery", "at": _at(DAY2, 8)},
        {"event_id": "d2-4", "parcel_id": "A-1", "kind": "delivered", "at": _at(DAY2, 9.5)},
    ]
    assert c.post("/v1/events", json={"events": events}, headers=driver).json()["accepted"] == 4

    history = c.get("/v1/orders/A/attempts", headers=planner).json()
    assert history == [
        {
            "attempt": 1,
            "route_id": route1,
            "day": DAY1,
            "outcome": "returned_to_depot",
            "failure_reason": "not_home",
            "at": history[0]["at"],
        },
        {
            "attempt": 2,
            "route_id": route2,
            "day": DAY2,
            "outcome": "delivered",
            "failure_reason": None,
            "at": history[1]["at"],
        },
    ]
    assert datetime.fromisoformat(history[0]["at"]) == datetime.fromisoformat(_at(DAY1, 18))
    assert datetime.fromisoformat(history[1]["at"]) == datetime.fromisoformat(_at(DAY2, 9.5))
    done = _order(service, planner)
    assert (done["status"], done["attempts"]) == ("delivered", 1)
    assert c.get("/v1/orders/nope/attempts", headers=planner).status_code == 404
