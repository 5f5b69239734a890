"""A dispatcher's day through the service: a breakdown, its proposals, an accept, no parcel lost.

Run on SQLite and on PostgreSQL: publish two vans' routes, drivers scan until
11:00, one van breaks down, the exception appears on the next monitor run,
its hand-over proposal is accepted, and every parcel that was left on the
broken van is on the other van's new route version, once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from doorstep.api.security import Role
from service_data import DEPOT, VEHICLE, order

from .conftest import Service

ZONE = ZoneInfo("Europe/Helsinki")
DAY = datetime.now(ZONE).date() + timedelta(days=3)
H = 3600


def at(seconds: int) -> datetime:
    return datetime.combine(DAY, clock(0), tzinfo=ZONE) + timedelta(seconds=seconds)


def _wait_done(service: Service, plan_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = service.client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("the plan did not finish")


def published_day(service: Service) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Two vans, twelve orders with all-day windows, planned and published; dispatcher's key."""
    c = service.client
    planner = service.key(Role.PLANNER)
    c.post("/v1/depots", json=DEPOT, headers=planner)
    for van, driver in (("van1", "d1"), ("van2", "d2")):
        body = VEHICLE | {"id": van, "capacity_parcels": 8}
        assert c.post("/v1/vehicles", json=body, headers=planner).status_code == 201
        c.post("/v1/drivers", json={"id": driver, "vehicle_id": van}, headers=planner)
    for k in range(12):
        side = 1 if k % 2 else -1
        body = order(f"O{k:02d}", k, windows=[[8 * H, 16 * H]], lon=24.9384 + side * 0.002 * k)
        assert c.post("/v1/orders", json=body, headers=planner).status_code == 201
    plan = {"day": DAY.isoformat(), "time_limit_s": 1, "max_iterations": 300}
    created = c.post("/v1/plans", json=plan, headers=planner).json()
    done = _wait_done(service, created["id"], planner)
    assert done["status"] == "done" and not done["unassigned"], done
    assert c.post(f"/v1/plans/{done['id']}/publish", headers=planner).status_code == 200
    dispatcher = service.key(Role.DISPATCHER)
    routes = c.get(f"/v1/routes?day={DAY.isoformat()}", headers=dispatcher).json()
    assert len(routes) == 2, "capacity 8 for 12 parcels needs both vans"
    return dispatcher, routes


def scan_until_eleven(service: Service, route: dict[str, Any], delivered: int, tag: str) -> None:
    """Scan, load every parcel, leave at 08:00, deliver the first ``delivered`` stops by 11:00."""
    c = service.client
    headers = service.key(Role.DISPATCHER)
    stops = c.get(f"/v1/routes/{route['id']}", headers=headers).json()["stops"]
    events = []
    for stop in stops:
        for parcel in stop["parcel_ids"]:
            events.append(
                {"parcel_id": parcel, "kind": "scanned_at_depot", "at": at(6 * H).isoformat()}
            )
            events.append({"parcel_id": parcel, "kind": "loaded", "at": at(7 * H).isoformat()})
            events.append(
                {"parcel_id": parcel, "kind": "out_for_delivery", "at": at(8 * H).isoformat()}
            )
    for k, stop in enumerate(stops[:delivered]):
        for parcel in stop["parcel_ids"]:
            moment = at(9 * H + k * 600).isoformat()
            events.append({"parcel_id": parcel, "kind": "delivered", "at": moment})
    body = [{**e, "event_id": f"{tag}-{i}"} for i, e in enumerate(events)]
    result = c.post("/v1/events", json={"events": body}, headers=headers).json()
    assert result["accepted"] == len(body), result


def parcels_by_place(service: Service, headers: dict[str, str]) -> Counter[str]:
    """Each parcel id counted once per current route stop that holds it."""
    c = service.client
    seen: Counter[str] = Counter()
    for route in c.get(f"/v1/routes?day={DAY.isoformat()}", headers=headers).json():
        for stop in c.get(f"/v1/routes/{route['id']}", headers=headers).json()["stops"]:
            for parcel in stop["parcel_ids"]:
                seen[parcel] += 1
    return seen


def test_a_breakdown_is_detected_proposed_accepted_and_loses_no_parcel(service: Service) -> None:
    """Breakdown at 11:00: one exception, a hand-over proposal, new route versions, no loss."""
    c = service.client
    dispatcher, routes = published_day(service)
    broken, other = routes
    scan_until_eleven(service, broken, 2, "a")
    scan_until_eleven(service, other, 2, "b")
    before = parcels_by_place(service, dispatcher)
    assert set(before.values()) == {1}

    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat(), "note": "clutch"}
    reported = c.post(f"/v1/routes/{broken['id']}/incidents", json=incident, headers=dispatcher)
    assert reported.status_code == 201, reported.text
    exception_id = reported.json()["exception_id"]
    assert exception_id is not None

    service.app.state.monitor.run_once(at(11 * H + 90))  # type: ignore[attr-defined]
    open_now = c.get(f"/v1/exceptions?status=open&day={DAY.isoformat()}", headers=dispatcher).json()
    unavailable = [e for e in open_now if e["kind"] == "vehicle_unavailable"]
    assert [e["id"] for e in unavailable] == [exception_id], "one exception per cause, not per tick"
    assert "breakdown at 11:00" in unavailable[0]["sentence"]
    left = unavailable[0]["parcel_ids"]
    assert left, "the broken van still had parcels"

    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")
    assert hand_over["delta"]["orders_put_off"] == 0
    assert hand_over["delta"]["feasible"], "the evaluator finds the new rest of the day clean"
    assert hand_over["delta"]["stops_moved"] == len(unavailable[0]["order_ids"])
    accepted = c.post(
        f"/v1/proposals/{hand_over['id']}/accept",
        json={"reason": "van2 has room"},
        headers=dispatcher,
    )
    assert accepted.status_code == 200, accepted.text
    new_routes = accepted.json()["new_routes"]
    assert len(new_routes) == 2

    after = parcels_by_place(service, dispatcher)
    assert after == before, "every parcel on exactly one current route, none lost or doubled"
    current = {
        r["id"]: r for r in c.get(f"/v1/routes?day={DAY.isoformat()}", headers=dispatcher).json()
    }
    assert set(current) == set(new_routes)
    taker = next(r for r in new_routes if r.startswith(other["id"]))
    stops = c.get(f"/v1/routes/{taker}", headers=dispatcher).json()["stops"]
    held = {p for s in stops if s["state"] == "pending" for p in s["parcel_ids"]}
    assert set(left) <= held
    old = c.get(f"/v1/routes/{broken['id']}", headers=dispatcher).json()
    assert old["state"] == "superseded"

    resolved = c.get(f"/v1/exceptions/{exception_id}", headers=dispatcher).json()
    assert resolved["status"] == "resolved"
    assert any("accepted" in h["what"] for h in resolved["history"])
    log = c.get(f"/v1/decisions?day={DAY.isoformat()}", headers=dispatcher).json()
    assert [(d["proposal_id"], d["decision"], d["reason"]) for d in log] == [
        (hand_over["id"], "accepted", "van2 has room")
    ]
    again = c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher)
    assert again.status_code == 409


def test_a_proposal_on_changed_routes_is_stale(service: Service) -> None:
    """Two proposals on the same route: the second accept answers 409 stale_proposal."""
    c = service.client
    dispatcher, routes = published_day(service)
    broken, other = routes
    scan_until_eleven(service, broken, 1, "a")
    scan_until_eleven(service, other, 1, "b")
    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat()}
    exception_id = c.post(
        f"/v1/routes/{broken['id']}/incidents", json=incident, headers=dispatcher
    ).json()["exception_id"]
    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    first = next(p for p in proposals if p["kind"] == "put_off")
    second = next(p for p in proposals if p["kind"] == "hand_over")
    assert c.post(f"/v1/proposals/{first['id']}/accept", headers=dispatcher).status_code == 200
    late = c.post(f"/v1/proposals/{second['id']}/accept", headers=dispatcher)
    assert late.status_code == 409
    assert late.json()["code"] in ("stale_proposal", "proposal_closed")


def test_a_driver_reports_only_on_its_own_route(service: Service) -> None:
    """Another driver's route answers 404; a planner may not report at all (403)."""
    c = service.client
    _, routes = published_day(service)
    mine = next(r for r in routes if r["driver_id"] == "d1")
    theirs = next(r for r in routes if r["driver_id"] == "d2")
    driver = service.key(Role.DRIVER, "d1")
    incident = {"kind": "accident", "at": at(10 * H).isoformat()}
    assert (
        c.post(f"/v1/routes/{theirs['id']}/incidents", json=incident, headers=driver).status_code
        == 404
    )
    assert (
        c.post(f"/v1/routes/{mine['id']}/incidents", json=incident, headers=driver).status_code
        == 201
    )
    planner = service.key(Role.PLANNER)
    assert (
        c.post(f"/v1/routes/{mine['id']}/incidents", json=incident, headers=planner).status_code
        == 403
    )


@pytest.mark.parametrize("source", ["customer", "shop"])
def test_a_customer_request_becomes_an_exception(service: Service, source: str) -> None:
    """A window change asked through the tracking link or by the shop is a customer_request."""
    c = service.client
    dispatcher, _ = published_day(service)
    planner = service.key(Role.PLANNER)
    orders = {o["id"]: o for o in c.get("/v1/orders", headers=planner).json()}
    body = {"kind": "time_window", "window": [13 * H, 15 * H]}
    if source == "customer":
        url = orders["O03"]["tracking_url"] + "/requests"
        made = c.post(url, json=body)
    else:
        made = c.post("/v1/orders/O03/requests", json=body, headers=planner)
    assert made.status_code == 201, made.text
    service.app.state.monitor.run_once(at(7 * H))  # type: ignore[attr-defined]
    found = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    requests = [e for e in found if e["kind"] == "customer_request"]
    assert len(requests) == 1 and requests[0]["order_ids"] == ["O03"]
    proposals = c.get(f"/v1/exceptions/{requests[0]['id']}/proposals", headers=dispatcher).json()
    assert proposals[0]["kind"] == "change_window", proposals[0]["sentence"]
    done = c.post(f"/v1/proposals/{proposals[0]['id']}/accept", headers=dispatcher)
    assert done.status_code == 200, done.text
    order = c.get("/v1/orders/O03", headers=planner).json()
    assert order["windows"] == [[13 * H, 15 * H]]
    on_route = [
        s
        for r in c.get(f"/v1/routes?day={DAY.isoformat()}", headers=dispatcher).json()
        for s in c.get(f"/v1/routes/{r['id']}", headers=dispatcher).json()["stops"]
        if s["order_id"] == "O03"
    ]
    assert [(s["window_start_s"], s["window_end_s"]) for s in on_route] == [(13 * H, 15 * H)]
    assert 13 * H <= on_route[0]["planned_start_s"] <= 15 * H


def _broken_day(service: Service) -> tuple[dict[str, str], str, list[dict[str, Any]]]:
    """A published day with van 1 broken down at 11:00: the dispatcher, the exception, routes."""
    c = service.client
    dispatcher, routes = published_day(service)
    scan_until_eleven(service, routes[0], 1, "a")
    scan_until_eleven(service, routes[1], 1, "b")
    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat()}
    made = c.post(f"/v1/routes/{routes[0]['id']}/incidents", json=incident, headers=dispatcher)
    return dispatcher, made.json()["exception_id"], routes


def _snapshot(service: Service, headers: dict[str, str]) -> list[tuple[str, str, int]]:
    routes = service.client.get(f"/v1/routes?day={DAY.isoformat()}", headers=headers).json()
    return sorted((r["id"], r["state"], r["stop_count"]) for r in routes)


def test_two_conflicting_accepts_at_once_one_wins(service: Service) -> None:
    """Two dispatchers accept two proposals on the same route at the same moment: one 200."""
    c = service.client
    dispatcher, exception_id, _ = _broken_day(service)
    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    ids = [p["id"] for p in proposals if p["kind"] in ("hand_over", "put_off")]
    barrier = threading.Barrier(len(ids))

    def accept(proposal_id: str) -> int:
        barrier.wait()
        return c.post(f"/v1/proposals/{proposal_id}/accept", headers=dispatcher).status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        codes = sorted(pool.map(accept, ids))
    assert codes == [200, 409]
    log = c.get(f"/v1/decisions?day={DAY.isoformat()}", headers=dispatcher).json()
    assert len(log) == 1


def test_an_accept_that_fails_half_way_changes_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the first new route version rolls the whole accept back."""
    from doorstep.service import proposals as rules

    c = service.client
    dispatcher, exception_id, _ = _broken_day(service)
    before = _snapshot(service, dispatcher)
    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")
    real = rules._new_version
    calls: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> str:
        calls.append("x")
        if len(calls) == 2:
            raise RuntimeError("the process died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(rules, "_new_version", failing)
    assert c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher).status_code == 500
    assert _snapshot(service, dispatcher) == before
    again = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    assert {p["id"]: p["status"] for p in again}[hand_over["id"]] == "open"
    monkeypatch.setattr(rules, "_new_version", real)
    assert c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher).status_code == 200


def test_a_late_departure_becomes_running_late_and_is_resequenced(service: Service) -> None:
    """Not out 20 minutes after the start: late_departure; out at 15:55: running_late instead."""
    c = service.client
    dispatcher, routes = published_day(service)
    route = routes[0]
    monitor = service.app.state.monitor  # type: ignore[attr-defined]
    monitor.run_once(at(route["start_s"] + 20 * 60))
    opened = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    late = [e for e in opened if e["kind"] == "late_departure" and e["route_id"] == route["id"]]
    assert len(late) == 1 and "has not left" in late[0]["sentence"]

    stops = c.get(f"/v1/routes/{route['id']}", headers=dispatcher).json()["stops"]
    events = [
        {"event_id": f"x-{k}-{n}", "parcel_id": p, "kind": kind, "at": at(when).isoformat()}
        for k, s in enumerate(stops)
        for p in s["parcel_ids"]
        for n, (kind, when) in enumerate(
            (("scanned_at_depot", 6 * H), ("loaded", 7 * H), ("out_for_delivery", 15 * H + 55 * 60))
        )
    ]
    assert c.post("/v1/events", json={"events": events}, headers=dispatcher).json()["rejected"] == 0
    monitor.run_once(at(15 * H + 56 * 60))
    now = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    by_kind = {e["kind"]: e for e in now if e["route_id"] == route["id"]}
    assert by_kind["late_departure"]["status"] == "resolved"
    running = by_kind["running_late"]
    assert running["status"] == "open" and running["order_ids"]
    moved = c.get(f"/v1/routes/{route['id']}", headers=dispatcher).json()["stops"]
    assert all(s["eta_s"] >= 15 * H + 55 * 60 for s in moved), "the monitor moved the ETAs"
    proposals = c.get(f"/v1/exceptions/{running['id']}/proposals", headers=dispatcher).json()
    kinds = [p["kind"] for p in proposals]
    assert "notify_customers" not in kinds, "the monitor already told them (eta.changed)"
    resequence = next(p for p in proposals if p["kind"] == "resequence")
    accepted = c.post(f"/v1/proposals/{resequence['id']}/accept", headers=dispatcher).json()
    assert accepted["decision"] == "accepted" and len(accepted["new_routes"]) == 1


def test_a_failed_attempt_is_put_to_the_next_day_and_stays_decided(service: Service) -> None:
    """A not-home scan opens failed_attempt; next_day accepted resolves it for good."""
    c = service.client
    dispatcher, routes = published_day(service)
    scan_until_eleven(service, routes[0], 1, "a")
    stops = c.get(f"/v1/routes/{routes[0]['id']}", headers=dispatcher).json()["stops"]
    second = stops[1]
    failed = [
        {
            "event_id": f"f-{p}",
            "parcel_id": p,
            "kind": "failed_attempt",
            "failure_reason": "not_home",
            "at": at(10 * H).isoformat(),
        }
        for p in second["parcel_ids"]
    ]
    assert c.post("/v1/events", json={"events": failed}, headers=dispatcher).json()["accepted"]
    monitor = service.app.state.monitor  # type: ignore[attr-defined]
    monitor.run_once(at(10 * H + 60))
    found = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    (attempt,) = [e for e in found if e["kind"] == "failed_attempt"]
    assert attempt["order_ids"] == [second["order_id"]] and "not home" in attempt["sentence"]
    proposals = c.get(f"/v1/exceptions/{attempt['id']}/proposals", headers=dispatcher).json()
    next_day = next(p for p in proposals if p["kind"] == "next_day")
    assert c.post(f"/v1/proposals/{next_day['id']}/accept", headers=dispatcher).status_code == 200
    monitor.run_once(at(10 * H + 120))
    after = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    attempts = [e for e in after if e["kind"] == "failed_attempt"]
    assert [e["status"] for e in attempts] == ["resolved"], "decided: not opened again"
    planner = service.key(Role.PLANNER)
    order = c.get(f"/v1/orders/{second['order_id']}", headers=planner).json()
    assert order["status"] == "failed_attempt" and order["attempts"] == 1


def test_a_shop_moves_an_order_to_another_address(service: Service) -> None:
    """An address request passes the gate, is proposed on its route, and moves the order."""
    c = service.client
    dispatcher, _ = published_day(service)
    shop = service.key(Role.PLANNER)
    body = {
        "kind": "address",
        "address": "Mannerheimintie 5",
        "zip": "00100",
        "city": "Helsinki",
        "lat": 60.1702,
        "lon": 24.9402,
    }
    assert c.post("/v1/orders/O04/requests", json=body, headers=shop).status_code == 201
    no_place = {"kind": "address", "address": "Somewhere 1"}
    refused = c.post("/v1/orders/O04/requests", json=no_place, headers=shop)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_address"
    service.app.state.monitor.run_once(at(7 * H))  # type: ignore[attr-defined]
    found = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    (request,) = [e for e in found if e["kind"] == "customer_request"]
    proposals = c.get(f"/v1/exceptions/{request['id']}/proposals", headers=dispatcher).json()
    assert [p["kind"] for p in proposals] == ["change_address"]
    assert (
        c.post(f"/v1/proposals/{proposals[0]['id']}/accept", headers=dispatcher).status_code == 200
    )
    order = c.get("/v1/orders/O04", headers=shop).json()
    assert (order["lat"], order["lon"]) == (60.1702, 60.1702 and 24.9402)
    assert "Mannerheimintie 5" in order["street"] or order.get("address", "").startswith(
        "Mannerheimintie"
    )


def test_gaps_in_the_scan_chain_open_missed_scans_once_the_day_is_over(service: Service) -> None:
    """After the last shift, parcels never scanned at the depot become a missed_scan, once."""
    c = service.client
    dispatcher, routes = published_day(service)
    scan_until_eleven(service, routes[0], 2, "a")  # the other van's parcels are never scanned
    monitor = service.app.state.monitor  # type: ignore[attr-defined]
    monitor.run_once(at(16 * H))
    early = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    assert not [e for e in early if e["details"].get("source") == "reconciliation"]
    monitor.run_once(at(21 * H))
    monitor.run_once(at(21 * H + 60))
    found = c.get(f"/v1/exceptions?day={DAY.isoformat()}", headers=dispatcher).json()
    gaps = [e for e in found if e["details"].get("source") == "reconciliation"]
    scans = {e["details"]["scan"] for e in gaps}
    assert "never_at_depot" in scans
    assert len(gaps) == len(scans), "one exception per kind of gap, not per run"
    never = next(e for e in gaps if e["details"]["scan"] == "never_at_depot")
    stops = c.get(f"/v1/routes/{routes[1]['id']}", headers=dispatcher).json()["stops"]
    assert set(never["parcel_ids"]) >= {p for s in stops for p in s["parcel_ids"]}
