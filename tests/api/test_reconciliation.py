"""``GET /v1/reconciliation``: a scripted day accounted for parcel by parcel (SQLite, PostgreSQL).

Two vans are published (tests/api/test_dispatch.py's day): one van is scanned
out and delivers its first two stops by 11:00; the other's parcels are only
scanned at the depot, one of them loaded on the wrong van; an order on no
route is scanned too. The reconciliation at noon and after the shifts puts
every parcel in one bucket and lists exactly the gaps made.
"""

from __future__ import annotations

import json
from typing import Any

from docs_blocks import examples, unmarked_blocks
from doorstep.analytics.reconcile import gap_exceptions, reconcile
from doorstep.api.security import Role
from doorstep.service.exceptions import sync_exceptions
from doorstep.store.database import transaction
from doorstep.store.queries.reconcile import day_scans
from service_data import order

from .conftest import Service
from .test_dispatch import DAY, H, at, published_day, scan_until_eleven


def _stops(service: Service, route_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    stops: list[dict[str, Any]] = service.client.get(
        f"/v1/routes/{route_id}", headers=headers
    ).json()["stops"]
    return stops


def _post(service: Service, events: list[dict[str, Any]], headers: dict[str, str]) -> None:
    result = service.client.post("/v1/events", json={"events": events}, headers=headers).json()
    assert result["accepted"] == len(events), result


def _reconcile(service: Service, headers: dict[str, str], **query: str) -> dict[str, Any]:
    response = service.client.get(
        "/v1/reconciliation", params={"day": DAY.isoformat(), **query}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bucket(body: dict[str, Any], name: str) -> set[str]:
    return set(body["buckets"][name]["parcel_ids"])


def _anomaly(body: dict[str, Any], name: str) -> set[str]:
    return set(body["anomalies"][name]["parcel_ids"])


def _shape(value: Any) -> Any:
    """The keys of ``value`` at every depth (lists by their first item), not its values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else []
    return None


def test_a_day_is_reconciled_at_noon_and_after_the_shifts(service: Service) -> None:
    """Noon: each parcel in the bucket its scans reached and the gaps so far; 20:00: no terminal."""
    c = service.client
    dispatcher, (out, idle) = published_day(service)
    scan_until_eleven(service, out, 2, "a")
    out_stops = _stops(service, out["id"], dispatcher)
    delivered = {p for s in out_stops[:2] for p in s["parcel_ids"]}
    on_road = {p for s in out_stops[2:] for p in s["parcel_ids"]}
    idle_parcels = [p for s in _stops(service, idle["id"], dispatcher) for p in s["parcel_ids"]]
    wrong = idle_parcels[0]
    planner = service.key(Role.PLANNER)
    assert c.post("/v1/orders", json=order("O99", 3), headers=planner).status_code == 201
    events = [
        {"event_id": f"b-{p}", "parcel_id": p, "kind": "scanned_at_depot", "at": at(6 * H)}
        for p in [*idle_parcels, "O99-1"]
    ]
    events.append(
        {
            "event_id": "b-load",
            "parcel_id": wrong,
            "kind": "loaded",
            "at": at(7 * H),
            "vehicle_id": out["vehicle_id"],
        }
    )
    _post(service, [{**e, "at": e["at"].isoformat()} for e in events], dispatcher)

    noon = _reconcile(service, dispatcher, at=at(12 * H).isoformat())
    assert noon["parcels"] == 13
    assert sum(b["count"] for b in noon["buckets"].values()) == 13
    assert _bucket(noon, "manifest") == set()
    assert _bucket(noon, "at_depot") == {*idle_parcels[1:], "O99-1"}
    assert _bucket(noon, "loaded") == {wrong}
    assert _bucket(noon, "out_for_delivery") == on_road
    assert _bucket(noon, "terminal") == delivered
    outcomes = noon["buckets"]["terminal"]["outcomes"]
    assert set(outcomes["delivered"]["parcel_ids"]) == delivered
    assert _anomaly(noon, "at_depot_not_loaded") == set(idle_parcels[1:])
    assert _anomaly(noon, "wrong_vehicle") == {wrong}
    assert _anomaly(noon, "no_manifest") == {"O99-1"}
    for name in ("never_at_depot", "delivered_not_loaded", "no_terminal_scan", "delivered_twice"):
        assert noon["anomalies"][name]["count"] == 0, name
    assert noon["end_of_day"] is False
    item = noon["anomalies"]["wrong_vehicle"]["items"][0]
    assert item["route_id"] == idle["id"] and out["vehicle_id"] in item["note"]
    documented = json.loads(examples("reconciliation.md")["answer"])
    assert _shape(documented) == _shape(noon), "docs/reconciliation.md shows a real answer"
    assert unmarked_blocks("reconciliation.md", langs=("json",)) == 0

    evening = _reconcile(service, service.key(Role.PLANNER), at=at(20 * H).isoformat())
    assert evening["end_of_day"] is True
    assert _anomaly(evening, "no_terminal_scan") == on_road | set(idle_parcels)


def _sync_gaps(service: Service, moment: Any) -> None:
    """What the monitor's tick does with the gaps: reconcile, then sync the exceptions."""
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        report = reconcile(day_scans(db, DAY.isoformat(), "Europe/Helsinki", moment), moment)
        sync_exceptions(db, DAY.isoformat(), gap_exceptions(report, report.end_of_day), moment)


def test_end_of_day_gaps_open_missed_scan_exceptions_once(service: Service) -> None:
    """Synced after the shifts, the gaps open one missed_scan exception per anomaly, kept once."""
    dispatcher, (out, _) = published_day(service)
    scan_until_eleven(service, out, 2, "a")
    _sync_gaps(service, at(12 * H))
    day = DAY.isoformat()
    path = f"/v1/exceptions?day={day}"
    assert service.client.get(path, headers=dispatcher).json() == [], "not before the day's end"
    _sync_gaps(service, at(20 * H))
    _sync_gaps(service, at(21 * H))
    found = service.client.get(path, headers=dispatcher).json()
    assert sorted(e["details"]["scan"] for e in found) == ["never_at_depot", "no_terminal_scan"]
    assert {e["details"]["source"] for e in found} == {"reconciliation"}
    assert {(e["kind"], e["severity"], e["status"]) for e in found} == {
        ("missed_scan", "low", "open")
    }


def test_the_moment_defaults_to_now_and_stops_at_the_end_of_the_day(service: Service) -> None:
    """Without ``at``: the service's clock; a clock days later reconciles the whole day."""
    dispatcher, (out, _) = published_day(service)
    scan_until_eleven(service, out, 1, "a")
    service.app.state.clock = lambda: at(8 * H + 30 * 60)  # type: ignore[attr-defined]
    morning = _reconcile(service, dispatcher)
    assert morning["buckets"]["terminal"]["count"] == 0
    assert morning["at"].startswith(f"{DAY.isoformat()}T08:30:00")
    service.app.state.clock = lambda: at(100 * H)  # type: ignore[attr-defined]
    later = _reconcile(service, dispatcher)
    assert later["buckets"]["terminal"]["count"] > 0
    assert later["end_of_day"] is True
    assert later == _reconcile(service, dispatcher, at=at(24 * H).isoformat())


def test_a_superseded_route_version_is_not_counted_twice(service: Service) -> None:
    """After a hand-over makes new route versions, each parcel is counted once, on its new route."""
    c = service.client
    dispatcher, (broken, other) = published_day(service)
    scan_until_eleven(service, broken, 2, "a")
    scan_until_eleven(service, other, 2, "b")
    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat()}
    exception_id = c.post(
        f"/v1/routes/{broken['id']}/incidents", json=incident, headers=dispatcher
    ).json()["exception_id"]
    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")
    accepted = c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher)
    assert accepted.status_code == 200, accepted.text
    new_routes = set(accepted.json()["new_routes"])

    body = _reconcile(service, dispatcher, at=at(12 * H).isoformat())
    assert body["parcels"] == 12
    ids = [p for b in body["buckets"].values() for p in b["parcel_ids"]]
    assert len(ids) == len(set(ids)) == 12
    assert body["anomalies"]["no_manifest"]["count"] == 0
    evening = _reconcile(service, dispatcher, at=at(20 * H).isoformat())
    routes = {i["route_id"] for i in evening["anomalies"]["no_terminal_scan"]["items"]}
    assert routes and routes <= new_routes, "only current route versions are named"


def test_bad_input_answers_422(service: Service) -> None:
    """A malformed or missing day, and a moment without a time zone, answer 422 validation."""
    headers = service.key(Role.DISPATCHER)
    for params in (
        {"day": "2026-13-01"},
        {"day": "tomorrow"},
        {},
        {"day": "2026-05-04", "at": "2026-05-04T12:00:00"},
        {"day": "2026-05-04", "at": "noon"},
    ):
        response = service.client.get("/v1/reconciliation", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["code"] == "validation", params
    for extreme in ("9999-12-31", "0001-01-01"):
        response = service.client.get(
            "/v1/reconciliation", params={"day": extreme}, headers=headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "day_out_of_range"
    far = {"day": "2026-05-04", "at": "0001-01-01T00:00:00+23:59"}
    early = service.client.get("/v1/reconciliation", params=far, headers=headers)
    assert early.status_code == 200, early.text
    assert early.json()["at"].startswith("2026-05-04T00:00:00"), "before the day: its start"
