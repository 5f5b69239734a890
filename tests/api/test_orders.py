"""Orders over HTTP: one, in bulk (all or nothing), and manifest uploads through the gate."""

from __future__ import annotations

from pathlib import Path

from doorstep.api.security import Role
from service_data import order

from .conftest import Service

SAMPLE = Path(__file__).parents[2] / "examples" / "helsinki" / "orders.csv"


def test_one_order_gets_parcels_and_a_tracking_link(service: Service) -> None:
    """Three parcels get ids <order>-1..3 unless named; the tracking link is unguessable."""
    key = service.key(Role.INTEGRATION)
    c = service.client
    r = c.post("/v1/orders", json=order("A1", parcels=3), headers=key)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["parcel_ids"] == ["A1-1", "A1-2", "A1-3"]
    assert body["status"] == "created"
    token = body["tracking_url"].rsplit("/", 1)[1]
    assert len(token) >= 22 and token == body["tracking_token"]
    r = c.post("/v1/orders", json=order("A2", parcels=2, parcel_ids=["X9", "X8"]), headers=key)
    assert r.json()["parcel_ids"] == ["X9", "X8"]
    got = c.get("/v1/orders/A2", headers=key).json()
    assert {p["id"]: p["state"] for p in got["parcels"]} == {"X9": "created", "X8": "created"}


def test_bad_orders_are_refused_with_the_field_named(service: Service) -> None:
    """Impossible windows, wrong parcel ids and duplicate ids: 4xx, nothing written."""
    key = service.key(Role.PLANNER)
    c = service.client
    r = c.post("/v1/orders", json=order("B1", windows=[[3600, 1800]]), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "order_invalid"
    r = c.post("/v1/orders", json=order("B1", parcels=2, parcel_ids=["only-one"]), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "validation"
    r = c.post("/v1/orders", json=order("B1", lat=95), headers=key)
    assert r.json()["errors"][0]["field"] == "body.lat"
    assert c.post("/v1/orders", json=order("B1"), headers=key).status_code == 201
    r = c.post("/v1/orders", json=order("B1"), headers=key)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert c.get("/v1/orders", headers=key).json()[0]["id"] == "B1"


def test_bulk_is_all_or_nothing(service: Service) -> None:
    """One bad order in a bulk request writes none of them; a clean batch writes all."""
    key = service.key(Role.INTEGRATION)
    c = service.client
    batch = [order(f"C{k}", k) for k in range(5)]
    bad = [*batch, order("C9", windows=[[7200, 3600]])]
    r = c.post("/v1/orders/bulk", json={"orders": bad}, headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.orders[5]"
    assert c.get("/v1/orders", headers=key).json() == []
    duplicate = [*batch, order("C0")]
    assert c.post("/v1/orders/bulk", json={"orders": duplicate}, headers=key).status_code == 409
    r = c.post("/v1/orders/bulk", json={"orders": batch}, headers=key)
    assert r.status_code == 201 and r.json()["created"] == 5
    assert len(c.get("/v1/orders", headers=key).json()) == 5


def test_upload_goes_through_the_gate(service: Service) -> None:
    """The Helsinki sample: clean rows are imported, rows with errors listed and not imported."""
    key = service.key(Role.PLANNER)
    c = service.client
    with SAMPLE.open("rb") as handle:
        r = c.post("/v1/orders/upload", files={"file": ("orders.csv", handle)}, headers=key)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["rejected"] > 0 and report["accepted"] == len(report["imported"])
    assert report["accepted"] + report["rejected"] == report["rows"]
    errors = {f["row"] for f in report["findings"] if f["severity"] == "error"}
    assert len(errors) == report["rejected"]
    stored = c.get("/v1/orders?limit=1000", headers=key).json()
    assert len(stored) == report["accepted"]
    with SAMPLE.open("rb") as handle:
        again = c.post("/v1/orders/upload", files={"file": ("orders.csv", handle)}, headers=key)
    assert again.json()["accepted"] == 0
    assert {f["code"] for f in again.json()["findings"]} >= {"order_id_taken"}
    r = c.post("/v1/orders/upload", files={"file": ("orders.pdf", b"%PDF")}, headers=key)
    assert r.status_code == 415 and r.json()["code"] == "unsupported_format"
    r = c.post("/v1/orders/upload", files={"file": ("orders.csv", b"")}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "empty_input"
