"""Scan events over HTTP: idempotent, folded by event time, per-event rejections, effects."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from doorstep.api.security import Role
from doorstep.store import tables as t
from doorstep.store.database import transaction
from service_data import DEPOT, VEHICLE, order

from .conftest import Service

ZONE = ZoneInfo("Europe/Helsinki")
DAY = datetime.now(ZONE).date() + timedelta(days=2)
H = 3600


def at(hours: float) -> str:
    """A moment on DAY, ``hours`` after local midnight, as ISO text."""
    moment = datetime.combine(DAY, time(0), tzinfo=ZONE) + timedelta(hours=hours)
    return moment.isoformat()


def scan(event_id: str, parcel: str, kind: str, hours: float, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "parcel_id": parcel, "kind": kind, "at": at(hours), **extra}


def day_with_route(service: Service, orders: int = 3) -> dict[str, str]:
    """A fleet, ``orders`` orders O0.. and a published route for driver d1; planner headers."""
    planner = service.key(Role.PLANNER)
    c = service.client
    c.post("/v1/depots", json=DEPOT, headers=planner)
    c.post("/v1/vehicles", json=VEHICLE, headers=planner)
    c.post("/v1/drivers", json={"id": "d1", "vehicle_id": "van1"}, headers=planner)
    c.post("/v1/drivers", json={"id": "d2"}, headers=planner)
    bulk = {"orders": [order(f"O{k}", k + 1) for k in range(orders)]}
    assert c.post("/v1/orders/bulk", json=bulk, headers=planner).status_code == 201
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(t.Plan(id="p1", day=DAY.isoformat(), status="published"))
        db.add(
            t.Route(
                id="p1:van1",
                plan_id="p1",
                vehicle_id="van1",
                driver_id="d1",
                day=DAY.isoformat(),
                state="published",
                start_s=8 * H,
                end_s=12 * H,
                distance_m=10_000,
            )
        )
        db.flush()
        for k in range(orders):
            planned = 8 * H + (k + 1) * 600 + k * 180
            db.add(
                t.Stop(
                    route_id="p1:van1",
                    seq=k + 1,
                    order_id=f"O{k}",
                    leg_s=600,
                    service_s=180,
                    planned_arrival_s=planned,
                    planned_start_s=planned,
                    eta_s=planned,
                )
            )
    return planner


def stop(service: Service, order_id: str) -> t.Stop:
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        return db.scalars(select(t.Stop).where(t.Stop.order_id == order_id)).one()


def test_a_delivery_day_moves_parcels_orders_stops_and_routes(service: Service) -> None:
    """From depot scan to proof of delivery: states follow; the customer sees the proof."""
    planner = day_with_route(service, orders=1)
    c = service.client
    driver = service.key(Role.DRIVER, "d1")
    events = [
        scan("e1", "O0-1", "scanned_at_depot", 7.0),
        scan("e2", "O0-1", "loaded", 7.5),
        scan("e3", "O0-1", "out_for_delivery", 8.0),
        scan("e4", "O0-1", "arrived_at_stop", 8.2, position={"lat": 60.17, "lon": 24.94}),
        scan("e5", "O0-1", "delivered", 8.25, proof={"recipient_name": "Aino", "photo_ref": "p"}),
    ]
    r = c.post("/v1/events", json={"events": events}, headers=driver)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 5
    got = c.get("/v1/orders/O0", headers=planner).json()
    assert got["status"] == "delivered" and got["parcels"][0]["state"] == "delivered"
    s = stop(service, "O0")
    assert s.state == "done" and s.arrived_at is not None and s.finished_at is not None
    assert s.arrived_at.astimezone(ZONE).isoformat() == at(8.2)
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        assert db.get(t.Route, "p1:van1").state == "completed"  # type: ignore[union-attr]
    tracked = c.get(got["tracking_url"]).json()
    assert tracked["status"] == "delivered" and tracked["eta_window"] is None
    assert tracked["proof"] == {
        "at": at(8.25),
        "recipient_name": "Aino",
        "signature": False,
        "photo": True,
    }
    assert set(tracked) == {"status", "eta_window", "proof"}


def test_posting_again_is_a_no_op(service: Service) -> None:
    """The same batch twice: the second answer is all duplicates and nothing changes."""
    day_with_route(service, orders=1)
    c = service.client
    key = service.key(Role.DISPATCHER)
    batch = {"events": [scan("a", "O0-1", "scanned_at_depot", 7), scan("b", "O0-1", "loaded", 7.1)]}
    assert c.post("/v1/events", json=batch, headers=key).json()["accepted"] == 2
    again = c.post("/v1/events", json=batch, headers=key).json()
    assert again["duplicates"] == 2 and again["accepted"] == 0
    assert [x["status"] for x in again["results"]] == ["duplicate", "duplicate"]
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2


def test_late_events_fold_by_time_and_impossible_ones_alone_are_rejected(
    service: Service,
) -> None:
    """A late 'arrived' fits before 'delivered'; a failure after delivery is rejected alone."""
    planner = day_with_route(service, orders=2)
    c = service.client
    key = service.key(Role.DISPATCHER)
    first = [
        scan("1", "O0-1", "scanned_at_depot", 7),
        scan("2", "O0-1", "loaded", 7.2),
        scan("3", "O0-1", "out_for_delivery", 8),
        scan("5", "O0-1", "delivered", 8.5),
    ]
    assert c.post("/v1/events", json={"events": first}, headers=key).json()["accepted"] == 4
    late = [
        scan("4", "O0-1", "arrived_at_stop", 8.4),
        scan("6", "O0-1", "failed_attempt", 9, failure_reason="not_home"),
        scan("7", "O1-1", "scanned_at_depot", 7),
        scan("8", "nope", "loaded", 7),
        scan("9", "O1-1", "failed_attempt", 7.1),
    ]
    body = c.post("/v1/events", json={"events": late}, headers=key).json()
    assert [(x["status"], x["code"]) for x in body["results"]] == [
        ("accepted", None),
        ("rejected", "invalid_transition"),
        ("accepted", None),
        ("rejected", "unknown_parcel"),
        ("rejected", "failure_reason"),
    ]
    assert "delivered" in body["results"][1]["detail"]
    assert c.get("/v1/orders/O0", headers=planner).json()["status"] == "delivered"
    assert c.get("/v1/orders/O1", headers=planner).json()["status"] == "at_depot"
    late_stop = stop(service, "O0")
    assert late_stop.arrived_at.astimezone(ZONE).isoformat() == at(8.4)  # type: ignore[union-attr]
    # The late arrival does not move the finish: still the delivery's time.
    assert late_stop.finished_at.astimezone(ZONE).isoformat() == at(8.5)  # type: ignore[union-attr]
    history = c.get("/v1/parcels/O0-1/events", headers=planner).json()
    assert [e["event_id"] for e in history] == ["1", "2", "3", "4", "5"]


def test_a_driver_may_only_scan_parcels_on_their_routes(service: Service) -> None:
    """Driver d2 has no route: its scans are rejected; d1's are accepted."""
    day_with_route(service, orders=1)
    c = service.client
    events = {"events": [scan("x", "O0-1", "scanned_at_depot", 7)]}
    other = c.post("/v1/events", json=events, headers=service.key(Role.DRIVER, "d2")).json()
    assert other["results"][0]["code"] == "not_your_parcel"
    mine = c.post("/v1/events", json=events, headers=service.key(Role.DRIVER, "d1")).json()
    assert mine["accepted"] == 1
    r = c.post("/v1/events", json=events, headers=service.key(Role.PLANNER))
    assert r.status_code == 403


def test_etas_follow_the_day_and_the_customer_sees_a_window(service: Service) -> None:
    """Stop 1 delivered at 10:00 (planned 08:10): stop 2 is expected 10:10, its window widens."""
    planner = day_with_route(service, orders=3)
    c = service.client
    key = service.key(Role.DISPATCHER)
    events = [
        scan("s", "O0-1", "scanned_at_depot", 7),
        scan("l", "O0-1", "loaded", 7.5),
        scan("o", "O0-1", "out_for_delivery", 8),
        scan("d", "O0-1", "delivered", 10),
    ]
    assert c.post("/v1/events", json={"events": events}, headers=key).json()["accepted"] == 4
    assert stop(service, "O1").eta_s == 10 * H + 600
    assert stop(service, "O2").eta_s == 10 * H + 600 + 180 + 600
    token = c.get("/v1/orders/O2", headers=planner).json()["tracking_token"]
    window = c.get(f"/v1/track/{token}").json()["eta_window"]
    half = timedelta(minutes=15 + 2)  # one stop still ahead
    eta = datetime.combine(DAY, time(0), tzinfo=ZONE) + timedelta(seconds=10 * H + 1380)
    assert window == {"start": (eta - half).isoformat(), "end": (eta + half).isoformat()}
    assert c.get("/v1/track/not-a-token").status_code == 404


def test_webhook_messages_are_written_with_the_events(service: Service) -> None:
    """A subscriber to deliveries and status changes gets outbox rows in the same transaction."""
    day_with_route(service, orders=1)
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(
            t.WebhookSubscription(
                id="w1",
                url="http://127.0.0.1:9/hook",
                event_types=["parcel.delivered", "order.status_changed"],
                secret="s",
            )
        )
    events = [
        scan("1", "O0-1", "scanned_at_depot", 7),
        scan("2", "O0-1", "loaded", 7.2),
        scan("3", "O0-1", "out_for_delivery", 8),
        scan("4", "O0-1", "delivered", 8.5),
    ]
    c = service.client
    c.post("/v1/events", json={"events": events}, headers=service.key(Role.DISPATCHER))
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        messages = list(db.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))
    kinds = [m.event_type for m in messages]
    assert kinds.count("parcel.delivered") == 1
    assert kinds.count("order.status_changed") == 1
    delivered = next(m for m in messages if m.event_type == "parcel.delivered")
    assert delivered.payload["data"]["order_id"] == "O0"
    changed = next(m for m in messages if m.event_type == "order.status_changed")
    assert changed.payload["data"] == {"order_id": "O0", "from": "created", "to": "delivered"}


def test_a_batch_racing_its_own_copy_is_told_to_retry(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the insert meets the same event from a concurrent request: 409, nothing stored."""
    from sqlalchemy.exc import IntegrityError

    from doorstep.api.routers import events as events_router

    day_with_route(service, orders=1)

    def racing(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("INSERT INTO events", {}, Exception("duplicate key"))

    monkeypatch.setattr(events_router, "ingest", racing)
    body = {"events": [scan("r1", "O0-1", "scanned_at_depot", 7)]}
    r = service.client.post("/v1/events", json=body, headers=service.key(Role.DISPATCHER))
    assert r.status_code == 409 and r.json()["code"] == "concurrent_batch"


def test_one_unreadable_event_is_rejected_alone_and_the_rest_kept(service: Service) -> None:
    """An unknown failure_reason, a non-object and a missing id: each rejected, naming the field."""
    day_with_route(service, orders=1)
    key = service.key(Role.DISPATCHER)
    events = [
        scan("ok1", "O0-1", "scanned_at_depot", 7),
        scan("bad", "O0-1", "failed_attempt", 7.05, failure_reason="dog_ate_it"),
        "not an event",
        {"parcel_id": "O0-1", "kind": "loaded", "at": at(7.1)},
        scan("ok2", "O0-1", "loaded", 7.1),
    ]
    r = service.client.post("/v1/events", json={"events": events}, headers=key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    assert [(x["event_id"], x["status"], x["code"], x["field"]) for x in body["results"]] == [
        ("ok1", "accepted", None, None),
        ("bad", "rejected", "invalid_event", "body.events[1].failure_reason"),
        (None, "rejected", "invalid_event", "body.events[2]"),
        (None, "rejected", "invalid_event", "body.events[3].event_id"),
        ("ok2", "accepted", None, None),
    ]
    assert "not_home" in body["results"][1]["detail"]
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2


def test_a_batch_that_is_not_a_batch_is_still_a_422(service: Service) -> None:
    """No events, too many, or not a list: the whole request is refused as before."""
    key = service.key(Role.DISPATCHER)
    for body in ({"events": []}, {"events": "x"}, {}, {"events": [{}] * 1001}):
        r = service.client.post("/v1/events", json=body, headers=key)
        assert r.status_code == 422 and r.json()["code"] == "validation", body


def test_an_event_id_reused_for_another_event_is_refused(service: Service) -> None:
    """The same id with other content is event_id_reused and changes nothing; a resend: no-op."""
    planner = day_with_route(service, orders=1)
    c = service.client
    key = service.key(Role.DISPATCHER)
    first = scan("e1", "O0-1", "scanned_at_depot", 7)
    assert c.post("/v1/events", json={"events": [first]}, headers=key).json()["accepted"] == 1
    reused = scan("e1", "O0-1", "loaded", 7.5)
    body = c.post("/v1/events", json={"events": [first, reused]}, headers=key).json()
    assert [(x["status"], x["code"]) for x in body["results"]] == [
        ("duplicate", None),
        ("rejected", "event_id_reused"),
    ]
    assert c.get("/v1/orders/O0", headers=planner).json()["parcels"][0]["state"] == "at_depot"


def test_the_examples_of_the_scan_events_documentation_run(service: Service) -> None:
    """docs/service.md's event batches give exactly the answers printed under them."""
    from docs_blocks import examples, unmarked_blocks

    docs = {name: json.loads(text) for name, text in examples("service.md", "Scan events").items()}
    assert set(docs) == {
        "events-request",
        "events-answer",
        "events-rejected-request",
        "events-rejected-answer",
    }
    assert unmarked_blocks("service.md", "Scan events", ("json", "python")) == 0
    c = service.client
    planner = service.key(Role.PLANNER)
    bulk = {"orders": [order(f"A{k}", k) for k in (17, 18, 19)]}
    assert c.post("/v1/orders/bulk", json=bulk, headers=planner).status_code == 201
    key = service.key(Role.DISPATCHER)
    kinds = ("scanned_at_depot", "loaded", "out_for_delivery")
    earlier = [
        {
            "event_id": f"seed-{p}-{kind}",
            "parcel_id": p,
            "kind": kind,
            "at": f"2026-11-24T0{h}:00:00+02:00",
        }
        for p in ("A17-1", "A18-1", "A19-1")
        for h, kind in enumerate(kinds, start=7)
    ]
    earlier.append(
        {
            "event_id": "seed-A18",
            "parcel_id": "A18-1",
            "kind": "delivered",
            "at": "2026-11-24T10:00:00+02:00",
        }
    )
    assert c.post("/v1/events", json={"events": earlier}, headers=key).json()["accepted"] == 10

    answer = c.post("/v1/events", json=docs["events-request"], headers=key)
    assert answer.status_code == 200 and answer.json() == docs["events-answer"]
    rejected = c.post("/v1/events", json=docs["events-rejected-request"], headers=key)
    assert rejected.status_code == 200 and rejected.json() == docs["events-rejected-answer"]
