"""A whole day through the service: upload, plan, publish, scan, track, signed webhooks.

One test, run on SQLite and on PostgreSQL, that follows the issue's "done when":
a planner uploads orders and plans and publishes; the driver's app reads its
route and posts the day's events; a customer follows a parcel; the shop's
endpoint receives signed webhooks.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from doorstep.api.security import Role
from doorstep.notify.sender import WebhookSender
from doorstep.notify.signing import verify
from doorstep.settings import Settings
from receiver import Receiver
from service_data import DEPOT, VEHICLE

from .conftest import Service

ZONE = ZoneInfo("Europe/Helsinki")
DAY = datetime.now(ZONE).date() + timedelta(days=2)
SAMPLE = Path(__file__).parents[2] / "examples" / "helsinki" / "orders.csv"
SECRET = "shop-secret-0123456789"


def _manifest(rows: int) -> bytes:
    """The header and the first ``rows`` deliveries of the Helsinki sample."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    deliveries = [line for line in lines[1:] if ",delivery," in line][:rows]
    return "\n".join([lines[0], *deliveries]).encode()


def _at(seconds: int) -> str:
    moment = datetime.combine(DAY, clock(0), tzinfo=ZONE) + timedelta(seconds=seconds)
    return moment.isoformat()


def _wait_done(service: Service, plan_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = service.client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("the plan did not finish")


def test_a_day_from_upload_to_proof_of_delivery(service: Service, database_url: str) -> None:
    """Every role does its part; states, ETAs, tracking and webhooks follow."""
    c = service.client
    planner = service.key(Role.PLANNER)
    shop = service.key(Role.INTEGRATION)
    receiver = Receiver()
    try:
        hook = {
            "url": receiver.url,
            "event_types": ["plan.published", "parcel.delivered"],
            "secret": SECRET,
        }
        assert c.post("/v1/webhooks", json=hook, headers=shop).status_code == 201

        c.post("/v1/depots", json=DEPOT, headers=planner)
        c.post("/v1/vehicles", json=VEHICLE | {"shift_end_s": 21 * 3600}, headers=planner)
        c.post("/v1/drivers", json={"id": "d1", "vehicle_id": "van1"}, headers=planner)
        upload = c.post(
            "/v1/orders/upload", files={"file": ("day.csv", _manifest(4))}, headers=shop
        )
        assert upload.status_code == 200, upload.text
        assert upload.json()["accepted"] == 4

        body = {"day": DAY.isoformat(), "time_limit_s": 1, "max_iterations": 300}
        created = c.post("/v1/plans", json=body, headers=planner)
        assert created.status_code == 202, created.text
        plan = _wait_done(service, created.json()["id"], planner)
        assert plan["status"] == "done" and not plan["unassigned"], plan
        published = c.post(f"/v1/plans/{plan['id']}/publish", headers=planner)
        assert published.status_code == 200, published.text

        driver = service.key(Role.DRIVER, "d1")
        (route,) = c.get(f"/v1/routes?day={DAY.isoformat()}", headers=driver).json()
        stops = c.get(f"/v1/routes/{route['id']}", headers=driver).json()["stops"]
        assert len(stops) == 4
        first, second = stops[0], stops[1]
        arrival = first["planned_arrival_s"] + 20 * 60  # twenty minutes late
        parcel = f"{first['order_id']}-1"
        events = [
            {
                "event_id": "d1-1",
                "parcel_id": parcel,
                "kind": "scanned_at_depot",
                "at": _at(6 * 3600),
            },
            {"event_id": "d1-2", "parcel_id": parcel, "kind": "loaded", "at": _at(6 * 3600 + 60)},
            {
                "event_id": "d1-3",
                "parcel_id": parcel,
                "kind": "out_for_delivery",
                "at": _at(route["start_s"]),
            },
            {
                "event_id": "d1-4",
                "parcel_id": parcel,
                "kind": "arrived_at_stop",
                "at": _at(arrival),
            },
            {
                "event_id": "d1-5",
                "parcel_id": parcel,
                "kind": "delivered",
                "at": _at(arrival + 120),
                "proof": {"recipient_name": "Aino", "signature_ref": "sig/1"},
            },
        ]
        result = c.post("/v1/events", json={"events": events}, headers=driver).json()
        assert result["accepted"] == 5, result

        orders = {o["id"]: o for o in c.get("/v1/orders", headers=planner).json()}
        delivered = c.get(orders[first["order_id"]]["tracking_url"]).json()
        assert delivered["status"] == "delivered"
        assert delivered["proof"]["recipient_name"] == "Aino" and delivered["proof"]["signature"]
        waiting = c.get(orders[second["order_id"]]["tracking_url"]).json()
        assert waiting["status"] == "planned" and waiting["eta_window"] is not None
        moved = c.get(f"/v1/routes/{route['id']}", headers=driver).json()["stops"]
        assert moved[0]["state"] == "done"
        # The late first stop pushes the second one: leg from the actual finish.
        assert moved[1]["eta_s"] == arrival + 120 + second["leg_s"]

        settings = Settings(
            database_url=database_url,
            router="straight",
            dispatch_webhooks=False,
            webhook_allow_private=True,
        )
        sender = WebhookSender(service.app.state.sessions, settings)  # type: ignore[attr-defined]
        sender.run_once()
        types = {}
        for got in receiver.received:
            assert verify(SECRET, got.body, got.headers["doorstep-signature"])
            types[got.headers["doorstep-event"]] = json.loads(got.body)
        # The shop hears of its own orders; plan messages go to the depot's subscriptions.
        assert set(types) == {"parcel.delivered"}
        assert types["parcel.delivered"]["data"]["order_id"] == first["order_id"]
    finally:
        receiver.close()
