"""Tenants: an integration key sees and hears only its own shop's orders; the depot sees all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from doorstep.api.security import Role
from doorstep.notify.outbox import enqueue
from doorstep.store import tables as t
from doorstep.store.database import transaction
from service_data import order

from .conftest import Service

CSV = (
    "order_id,kind,address,zip,city,lat,lon,window_start,window_end,service_min,parcels\n"
    "SHOPA-UP,delivery,Simonkatu 6,00100,Helsinki,60.168979,24.937229,10:00,14:00,6,1\n"
)


def shop_key(service: Service, admin: dict[str, str], **body: Any) -> dict[str, str]:
    """Headers with a new integration key made over the API (``body``: more of the request)."""
    r = service.client.post("/v1/keys", json={"role": "integration", **body}, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


def two_shops(service: Service, admin: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Keys of shops A and B; A has SHOPA-1 (one) and SHOPA-2 (bulk), B has SHOPB-1."""
    c = service.client
    a, b = shop_key(service, admin), shop_key(service, admin)
    assert c.post("/v1/orders", json=order("SHOPA-1", 1), headers=a).status_code == 201
    bulk = {"orders": [order("SHOPA-2", 2)]}
    assert c.post("/v1/orders/bulk", json=bulk, headers=a).status_code == 201
    assert c.post("/v1/orders", json=order("SHOPB-1", 3), headers=b).status_code == 201
    return a, b


def ids(response: Any) -> list[str]:
    """The order ids of a listing."""
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()]


def test_another_tenants_order_is_a_404_like_an_unknown_one(
    service: Service, admin: dict[str, str]
) -> None:
    """B cannot read, list, or get the events of A's orders: 404s shaped as for unknown ids."""
    c = service.client
    _, b = two_shops(service, admin)
    theirs = c.get("/v1/orders/SHOPA-1", headers=b)
    unknown = c.get("/v1/orders/NOPE-1", headers=b)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["code"] == unknown.json()["code"] == "not_found"
    assert "Simonkatu" not in theirs.text and "Testikatu" not in theirs.text
    assert set(theirs.json()) == set(unknown.json())
    assert ids(c.get("/v1/orders", headers=b)) == ["SHOPB-1"]
    assert ids(c.get("/v1/orders", headers=b, params={"status": "created"})) == ["SHOPB-1"]
    for parcel in ("SHOPA-1-1", "NOPE-1-1"):
        r = c.get(f"/v1/parcels/{parcel}/events", headers=b)
        assert r.status_code == 404 and r.json()["code"] == "not_found", parcel
    assert c.get("/v1/parcels/SHOPB-1-1/events", headers=b).json() == []


def test_a_tenant_sees_its_own_and_the_depot_sees_every_tenant(
    service: Service, admin: dict[str, str]
) -> None:
    """A reads its orders and events; planner, dispatcher and admin list and read both shops'."""
    c = service.client
    a, _ = two_shops(service, admin)
    assert ids(c.get("/v1/orders", headers=a)) == ["SHOPA-1", "SHOPA-2"]
    mine = c.get("/v1/orders/SHOPA-1", headers=a)
    assert mine.status_code == 200 and mine.json()["street"] == "Testikatu 2"
    assert c.get("/v1/parcels/SHOPA-1-1/events", headers=a).status_code == 200
    for depot in (service.key(Role.PLANNER), service.key(Role.DISPATCHER), admin):
        assert ids(c.get("/v1/orders", headers=depot)) == ["SHOPA-1", "SHOPA-2", "SHOPB-1"]
        assert c.get("/v1/orders/SHOPB-1", headers=depot).status_code == 200
        assert c.get("/v1/parcels/SHOPA-1-1/events", headers=depot).status_code == 200


def test_an_uploaded_manifest_belongs_to_the_uploading_tenant(
    service: Service, admin: dict[str, str]
) -> None:
    """Orders a shop uploads are its own: B neither lists nor reads them; a planner does."""
    c = service.client
    a, b = two_shops(service, admin)
    r = c.post("/v1/orders/upload", files={"file": ("orders.csv", CSV.encode())}, headers=a)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert c.get("/v1/orders/SHOPA-UP", headers=a).status_code == 200
    assert c.get("/v1/orders/SHOPA-UP", headers=b).status_code == 404
    assert "SHOPA-UP" not in ids(c.get("/v1/orders", headers=b))
    planner = service.key(Role.PLANNER)
    assert c.get("/v1/orders/SHOPA-UP", headers=planner).status_code == 200


def test_an_id_another_tenant_uses_is_a_conflict_that_shows_nothing_of_it(
    service: Service, admin: dict[str, str]
) -> None:
    """B reusing A's order id: 409 conflict naming only the id; A's pickup is unknown to B."""
    c = service.client
    a, b = two_shops(service, admin)
    r = c.post("/v1/orders", json=order("SHOPA-1", 5), headers=b)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert "Testikatu 2" not in r.text and "tracking" not in r.text
    assert c.get("/v1/orders/SHOPA-1", headers=a).json()["street"] == "Testikatu 2"
    pickup = order("SHOPA-P", 6, kind="pickup")
    assert c.post("/v1/orders", json=pickup, headers=a).status_code == 201
    paired = order("SHOPB-2", 7, paired_pickup="SHOPA-P")
    r = c.post("/v1/orders", json=paired, headers=b)
    assert r.status_code == 422 and r.json()["code"] == "unknown_reference"
    assert r.json()["errors"][0]["field"] == "body.paired_pickup"
    assert c.post("/v1/orders", json={**paired, "id": "SHOPA-2B"}, headers=a).status_code == 201


def _messages(service: Service) -> dict[str, list[tuple[str, str | None]]]:
    """Subscription id -> (event type, order id) of each message queued for it."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        for m in db.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)):
            out.setdefault(m.subscription_id, []).append(
                (m.event_type, m.payload["data"].get("order_id"))
            )
    return out


def test_a_tenants_webhook_hears_only_of_its_own_orders(
    service: Service, admin: dict[str, str]
) -> None:
    """Scans of A's, B's and a depot order: each shop's subscription gets its own; admin's all."""
    c = service.client
    a, b = two_shops(service, admin)
    planner = service.key(Role.PLANNER)
    assert c.post("/v1/orders", json=order("DEPOT-1", 4), headers=planner).status_code == 201
    hook = {"url": "https://shop.example/hook", "event_types": ["*"]}
    subs = {
        name: c.post("/v1/webhooks", json=hook, headers=key).json()["id"]
        for name, key in (("a", a), ("b", b), ("admin", admin))
    }
    scans = [
        {"event_id": f"e-{o}", "parcel_id": f"{o}-1", "kind": "scanned_at_depot", "at": at}
        for o, at in (
            ("SHOPA-1", "2026-11-24T07:00:00Z"),
            ("SHOPB-1", "2026-11-24T07:01:00Z"),
            ("DEPOT-1", "2026-11-24T07:02:00Z"),
        )
    ]
    r = c.post("/v1/events", json={"events": scans}, headers=service.key(Role.DISPATCHER))
    assert r.json()["accepted"] == 3, r.text
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        # As plan publishing queues them: the tenant follows the payload's order_id.
        enqueue(db, "order.status_changed", {"order_id": "SHOPA-2", "from": "created", "to": "x"})
        enqueue(db, "plan.published", {"plan_id": "p1", "day": "2026-11-24", "routes": []})
    got = _messages(service)
    assert {order_id for _, order_id in got[subs["a"]]} == {"SHOPA-1", "SHOPA-2"}
    assert {order_id for _, order_id in got[subs["b"]]} == {"SHOPB-1"}
    assert {order_id for _, order_id in got[subs["admin"]]} == {
        "SHOPA-1",
        "SHOPA-2",
        "SHOPB-1",
        "DEPOT-1",
        None,
    }
    assert ("plan.published", None) in got[subs["admin"]]
    assert all(kind != "plan.published" for kind, _ in got[subs["a"]] + got[subs["b"]])


def test_a_key_made_without_a_tenant_is_a_tenant_of_its_own(
    service: Service, admin: dict[str, str]
) -> None:
    """No tenant: the key's id; a named tenant is shared by its keys; no other role has one."""
    c = service.client
    made = c.post("/v1/keys", json={"role": "integration"}, headers=admin).json()
    assert made["tenant"] == made["id"]
    first = shop_key(service, admin, tenant="shop-a")
    second = shop_key(service, admin, tenant="shop-a")
    other = shop_key(service, admin)
    assert c.post("/v1/orders", json=order("SA-1"), headers=first).status_code == 201
    assert c.get("/v1/orders/SA-1", headers=second).status_code == 200
    assert c.get("/v1/orders/SA-1", headers=other).status_code == 404
    r = c.post("/v1/keys", json={"role": "planner", "tenant": "shop-a"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "tenant_needs_integration"
    assert r.json()["errors"][0]["field"] == "body.tenant"
    r = c.post("/v1/keys", json={"role": "integration", "tenant": "shop a/1"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.tenant"
    planner_key = c.post("/v1/keys", json={"role": "planner"}, headers=admin).json()
    assert planner_key["tenant"] is None


def test_an_integration_key_stored_without_a_tenant_is_its_own(service: Service) -> None:
    """A key row with no tenant (as a migration could leave one) still sees only its own orders."""
    c = service.client
    shop = service.key(Role.INTEGRATION)
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        for row in db.scalars(select(t.ApiKey).where(t.ApiKey.role == "integration")):
            row.tenant = None
    planner = service.key(Role.PLANNER)
    assert c.post("/v1/orders", json=order("DEPOT-1"), headers=planner).status_code == 201
    assert c.post("/v1/orders", json=order("MINE-1", 1), headers=shop).status_code == 201
    assert ids(c.get("/v1/orders", headers=shop)) == ["MINE-1"]
    assert c.get("/v1/orders/DEPOT-1", headers=shop).status_code == 404
