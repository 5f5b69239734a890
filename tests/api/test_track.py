"""The tracking link: expiry after the order ended, and never blocking the event loop."""

from __future__ import annotations

import inspect
import threading
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import anyio.to_thread
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from doorstep.api.app import create_app
from doorstep.api.routers import events, fleet, keys, orders, plans, track, webhooks
from doorstep.api.security import Role
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from service_data import order, store_order

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


OWN_THREADS = {"/v1/track/{token}"}
"""The async endpoints: each does its I/O in threads of its own limiter (checked below)."""


def test_no_endpoint_runs_on_the_event_loop() -> None:
    """Every endpoint is a plain def, or async with its I/O in threads of its own limiter."""
    routes = [r for m in ROUTERS for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 20
    coroutines = [r for r in routes if inspect.iscoroutinefunction(r.endpoint)]
    assert {r.path for r in coroutines} == OWN_THREADS
    for route in coroutines:
        source = inspect.getsource(route.endpoint)
        assert "to_thread.run_sync(" in source and "limiter=" in source, route.path


def _answered_within(service: Service, url: str) -> tuple[int, float]:
    """GET ``url``; its status and how long it took."""
    began = time.monotonic()
    status = service.client.get(url).status_code
    return status, time.monotonic() - began


def test_tracking_does_not_queue_in_the_shared_thread_pool(service: Service) -> None:
    """With the shared thread pool full (other endpoints' work), a tracking link still answers."""
    portal = service.client.portal
    assert portal is not None
    limiter = portal.call(anyio.to_thread.current_default_thread_limiter)
    tokens = limiter.total_tokens
    release = threading.Event()
    portal.call(setattr, limiter, "total_tokens", 1)
    try:
        held = portal.start_task_soon(anyio.to_thread.run_sync, release.wait)
        while limiter.borrowed_tokens < 1:
            time.sleep(0.01)
        threading.Timer(3.0, release.set).start()  # the old plain def waited for this
        status, took = _answered_within(service, "/v1/track/" + "0" * 32)
        release.set()
        held.result(timeout=10)
    finally:
        release.set()
        portal.call(setattr, limiter, "total_tokens", tokens)
    assert status == 404
    assert took < 2.0


def test_a_slow_tracking_query_leaves_the_loop_free(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a tracking query is slow, the event loop still answers other requests at once."""
    started, release = threading.Event(), threading.Event()

    def slow(connection: object, token: str) -> None:
        started.set()
        release.wait(timeout=3.0)  # on the loop, this would hold every request for 3 s

    monkeypatch.setattr(track, "find_tracked", slow)
    tracking: list[int] = []
    reader = threading.Thread(
        target=lambda: tracking.append(service.client.get("/v1/track/abc").status_code)
    )
    reader.start()
    try:
        assert started.wait(timeout=10)
        status, took = _answered_within(service, "/v1/orders")  # 401 from the guard
        still_reading = not release.is_set() and reader.is_alive()
    finally:
        release.set()
        reader.join(timeout=10)
    assert status == 401 and took < 2.0 and still_reading
    assert tracking == [404]


def test_a_pool_timeout_is_a_503_not_a_500(database_url: str) -> None:
    """With every connection taken, a request answers 503 database_busy after the pool timeout."""
    settings = Settings(
        database_url=database_url,
        router="straight",
        dispatch_webhooks=False,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.2,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        with state.engine.connect():
            guarded = client.get("/v1/orders", headers={"X-API-Key": "ds_" + "x" * 40})
        with ExitStack() as held:
            for _ in range(track.TRACKING_THREADS):
                held.enter_context(state.tracking_engine.connect())
            r = client.get("/v1/track/" + "0" * 32)
        assert r.status_code == 503 and r.json()["code"] == "database_busy"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert guarded.status_code == 503 and guarded.json()["code"] == "database_busy"
        assert client.get("/v1/track/" + "0" * 32).status_code == 404


def test_tracking_has_connections_of_its_own(database_url: str) -> None:
    """With every connection of the service's pool taken, a tracking link still answers."""
    settings = Settings(
        database_url=database_url,
        router="straight",
        dispatch_webhooks=False,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=5.0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        shared = client.app.state.engine  # type: ignore[attr-defined]
        with shared.connect():
            status, took = _answered_within(Service(client), "/v1/track/" + "0" * 32)
    assert status == 404 and took < 2.0


TOMORROW = date.today() + timedelta(days=1)


def _order_on_route(service: Service, eta_s: int, window_start_s: int | None) -> str:
    """Order o-eta, pending on a published route of tomorrow with ``eta_s``; its tracking link."""
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        store_order(db, order("o-eta"))
        db.add(t.Plan(id="p1", day=TOMORROW.isoformat(), status="published"))
        db.add(
            t.Route(
                id="p1:van1",
                plan_id="p1",
                vehicle_id="van1",
                day=TOMORROW.isoformat(),
                state="published",
                start_s=8 * 3600,
                end_s=17 * 3600,
                distance_m=0,
            )
        )
        db.flush()
        db.add(
            t.Stop(
                route_id="p1:van1",
                seq=1,
                order_id="o-eta",
                leg_s=600,
                service_s=180,
                window_start_s=window_start_s,
                window_end_s=None if window_start_s is None else window_start_s + 2 * 3600,
                planned_arrival_s=eta_s,
                planned_start_s=eta_s,
                eta_s=eta_s,
            )
        )
        token = db.get_one(t.Order, "o-eta").tracking_token
    return f"/v1/track/{token}"


def _clock(service: Service, seconds: int) -> str:
    """Clock time ``seconds`` after midnight of TOMORROW in the service's zone, as ISO text."""
    zone = ZoneInfo(service.app.state.settings.timezone)  # type: ignore[attr-defined]
    return (
        datetime.combine(TOMORROW, dt_time(0), tzinfo=zone) + timedelta(seconds=seconds)
    ).isoformat()


def test_the_eta_window_never_opens_before_the_promised_window(service: Service) -> None:
    """ETA 09:40 for a window opening at 10:00: the customer sees 10:00-10:15, not 09:25-09:55."""
    url = _order_on_route(service, eta_s=9 * 3600 + 40 * 60, window_start_s=10 * 3600)
    window = service.client.get(url).json()["eta_window"]
    assert window == {
        "start": _clock(service, 10 * 3600),
        "end": _clock(service, 10 * 3600 + 15 * 60),
    }


def test_the_eta_window_is_cut_at_the_window_opening() -> None:
    """An ETA just after the opening shows from the opening; without a window, +-15 minutes."""
    opens = 10 * 3600
    assert track.eta_window(opens + 5 * 60, 0, opens) == (opens, opens + 20 * 60)
    assert track.eta_window(opens + 30 * 60, 1, opens) == (opens + 13 * 60, opens + 47 * 60)
    assert track.eta_window(opens, 0, None) == (opens - 15 * 60, opens + 15 * 60)
