"""The tracking link: expiry after the order ended, and never blocking the event loop."""

from __future__ import annotations

import inspect
from datetime import timedelta

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from doorstep.api.app import create_app
from doorstep.api.routers import events, fleet, keys, orders, plans, track, webhooks
from doorstep.api.security import Role
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction

from .conftest import Service

ROUTERS = (events, fleet, keys, orders, plans, track, webhooks)


def _delivered_order(service: Service, ident: str, days_ago: float) -> str:
    """An order delivered (with a recipient's name) ``days_ago``; returns its tracking link."""
    key = service.key(Role.PLANNER)
    created = service.client.post(
        "/v1/orders", json={"id": ident, "lat": 60.17, "lon": 24.94}, headers=key
    ).json()
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.add(
            t.Event(
                event_id=f"ev-{ident}",
                parcel_id=created["parcel_ids"][0],
                kind="delivered",
                at=t.utcnow() - timedelta(days=days_ago),
                proof={"recipient_name": "Aino"},
            )
        )
        db.get(t.Order, ident).status = "delivered"  # type: ignore[union-attr]
    url: str = created["tracking_url"]
    return url


def test_a_link_expires_after_the_order_ended(service: Service) -> None:
    """30 days (the default) after delivery the link is the same 404 as an unknown one."""
    fresh = _delivered_order(service, "o-fresh", days_ago=29)
    old = _delivered_order(service, "o-old", days_ago=31)
    r = service.client.get(fresh)
    assert r.status_code == 200 and r.json()["proof"]["recipient_name"] == "Aino"
    expired = service.client.get(old)
    unknown = service.client.get("/v1/track/" + "0" * 32)
    assert expired.status_code == unknown.status_code == 404
    assert expired.json() == unknown.json()


def test_an_open_order_does_not_expire(service: Service) -> None:
    """An old delivery scan does not expire a link while the order is still going."""
    url = _delivered_order(service, "o-open", days_ago=100)
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.get(t.Order, "o-open").status = "out_for_delivery"  # type: ignore[union-attr]
    assert service.client.get(url).status_code == 200


def test_the_time_to_live_is_a_setting(database_url: str) -> None:
    """tracking_ttl_days shortens (or lengthens) how long a link works."""
    settings = Settings(
        database_url=database_url, router="straight", dispatch_webhooks=False, tracking_ttl_days=1
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        service = Service(client)
        url = _delivered_order(service, "o1", days_ago=2)
        assert service.client.get(url).status_code == 404


def test_no_endpoint_runs_on_the_event_loop() -> None:
    """Every endpoint is a plain def (run in the thread pool): none can block the loop."""
    routes = [r for m in ROUTERS for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 20
    assert [r.path for r in routes if inspect.iscoroutinefunction(r.endpoint)] == []


def test_a_pool_timeout_is_a_503_not_a_500(database_url: str) -> None:
    """With every connection taken, tracking answers 503 database_busy after the pool timeout."""
    settings = Settings(
        database_url=database_url,
        router="straight",
        dispatch_webhooks=False,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.2,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        with engine.connect():
            r = client.get("/v1/track/" + "0" * 32)
            guarded = client.get("/v1/orders", headers={"X-API-Key": "ds_" + "x" * 40})
        assert r.status_code == 503 and r.json()["code"] == "database_busy"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert guarded.status_code == 503 and guarded.json()["code"] == "database_busy"
        assert client.get("/v1/track/" + "0" * 32).status_code == 404
