"""``GET /v1/routes/{id}/audit`` on SQLite and PostgreSQL: a scripted day, explained.

A route leaves 29 minutes late, takes a minute more on its first leg, then
drives and serves exactly as planned: every stop is 30 minutes late, 29 of
them late departure and 1 the first leg; its last stop fails
and carries its reason. A breakdown's hand-over adds stops to the other van's
route: they are measured against the version that added them.
"""

from __future__ import annotations

from typing import Any

from doorstep.api.security import Role

from .conftest import Service
from .test_dispatch import DAY, H, at, published_day, scan_until_eleven

LATE = 30 * 60
EARLY = 60
"""The van leaves ``LATE - EARLY`` late; the first leg takes ``EARLY`` more than planned
(the first stop may be at the depot's door: a scan there at the very moment the van
leaves would come before it)."""


def _post(service: Service, events: list[dict[str, Any]], tag: str) -> None:
    body = [{**e, "event_id": f"{tag}-{k}"} for k, e in enumerate(events)]
    result = service.client.post(
        "/v1/events", json={"events": body}, headers=service.key(Role.DISPATCHER)
    ).json()
    rejected = [r for r in result["results"] if r["status"] != "accepted"]
    assert not rejected, rejected


def _drive_late(service: Service, route: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    """Leave late, reach the first stop ``LATE`` late, then keep to the plan; the last fails."""
    detail = service.client.get(f"/v1/routes/{route['id']}", headers=headers).json()
    stops = detail["stops"]
    events: list[dict[str, Any]] = []
    for stop in stops:
        for parcel in stop["parcel_ids"]:
            events += [
                {"parcel_id": parcel, "kind": "scanned_at_depot", "at": at(6 * H).isoformat()},
                {"parcel_id": parcel, "kind": "loaded", "at": at(7 * H).isoformat()},
                {
                    "parcel_id": parcel,
                    "kind": "out_for_delivery",
                    "at": at(detail["start_s"] + LATE - EARLY).isoformat(),
                },
            ]
    for k, stop in enumerate(stops):
        arrived = at(stop["planned_arrival_s"] + LATE).isoformat()
        finished = at(stop["planned_start_s"] + stop["service_s"] + LATE).isoformat()
        for parcel in stop["parcel_ids"]:
            events.append({"parcel_id": parcel, "kind": "arrived_at_stop", "at": arrived})
            if k == len(stops) - 1:
                events.append(
                    {
                        "parcel_id": parcel,
                        "kind": "failed_attempt",
                        "at": finished,
                        "failure_reason": "not_home",
                    }
                )
            else:
                events.append({"parcel_id": parcel, "kind": "delivered", "at": finished})
    _post(service, events, f"late-{route['id']}")
    return list(stops)


def test_a_late_departure_explains_every_stop(service: Service) -> None:
    """29 min late out, 1 min slow on the first leg, then as planned: each stop 30 min late."""
    dispatcher, routes = published_day(service)
    route = routes[0]
    stops = _drive_late(service, route, dispatcher)
    answer = service.client.get(f"/v1/routes/{route['id']}/audit", headers=dispatcher)
    assert answer.status_code == 200, answer.text
    audit = answer.json()
    assert audit["departure_s"] - audit["planned_departure_s"] == LATE - EARLY
    assert [s["order_id"] for s in audit["stops"]] == [s["order_id"] for s in stops]
    assert audit["late_stops"] == len(stops) and audit["failed_stops"] == 1
    for stop in audit["stops"]:
        assert stop["late"] and stop["late_because"] == ["behind_plan"]
        assert stop["lateness_s"] == LATE
        causes = [(c["cause"], c["seconds"]) for c in stop["causes"]]
        assert causes == [("late_departure", LATE - EARLY), ("driving", EARLY)]
        (leg,) = stop["causes"][1]["parts"]
        assert leg["what"] == f"depot -> {stops[0]['order_id']}"
        assert stop["planned_seq"] == stop["actual_seq"] == stop["seq"]
        assert not stop["actual"]["arrival_inferred"]
    failed = audit["stops"][-1]
    assert failed["state"] == "failed"
    assert failed["failure"] == {
        "reason": "not_home",
        "attempts": 1,
        "earlier_attempts": [],
        "findings": [],
    }
    assert all(s["failure"] is None for s in audit["stops"][:-1])


def test_who_may_read_an_audit(service: Service) -> None:
    """Planners, dispatchers and the route's own driver read it; another driver gets 404."""
    dispatcher, routes = published_day(service)
    mine = next(r for r in routes if r["driver_id"] == "d1")
    c = service.client
    path = f"/v1/routes/{mine['id']}/audit"
    assert c.get(path, headers=service.key(Role.DRIVER, "d1")).status_code == 200
    assert c.get(path, headers=service.key(Role.PLANNER)).status_code == 200
    other = c.get(path, headers=service.key(Role.DRIVER, "d2"))
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert c.get("/v1/routes/nope/audit", headers=dispatcher).status_code == 404
    assert c.get(path, headers=service.key(Role.INTEGRATION)).status_code == 403
    before = c.get(path, headers=dispatcher).json()
    assert before["departure_s"] is None and before["late_stops"] == 0
    assert all(s["actual"]["arrival_s"] is None for s in before["stops"])


def test_stops_added_by_a_hand_over_are_measured_against_their_version(service: Service) -> None:
    """After a hand-over the taker's audit is of version 2, added stops planned in 2, sums exact."""
    c = service.client
    dispatcher, routes = published_day(service)
    broken, other = routes
    scan_until_eleven(service, broken, 2, "a")
    scan_until_eleven(service, other, 2, "b")
    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat(), "note": "clutch"}
    assert (
        c.post(
            f"/v1/routes/{broken['id']}/incidents", json=incident, headers=dispatcher
        ).status_code
        == 201
    )
    service.app.state.monitor.run_once(at(11 * H + 90))  # type: ignore[attr-defined]
    exceptions = c.get(f"/v1/exceptions?status=open&day={DAY.isoformat()}", headers=dispatcher)
    exception = next(e for e in exceptions.json() if e["kind"] == "vehicle_unavailable")
    proposals = c.get(f"/v1/exceptions/{exception['id']}/proposals", headers=dispatcher).json()
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")
    accepted = c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher)
    assert accepted.status_code == 200, accepted.text
    taker = next(r for r in accepted.json()["new_routes"] if r.startswith(other["id"]))
    stops = c.get(f"/v1/routes/{taker}", headers=dispatcher).json()["stops"]
    events = []
    for k, stop in enumerate(s for s in stops if s["state"] == "pending"):
        moment = at(12 * H + k * 900).isoformat()
        for parcel in stop["parcel_ids"]:
            events.append({"parcel_id": parcel, "kind": "delivered", "at": moment})
    _post(service, events, "taker")

    audit = c.get(f"/v1/routes/{other['id']}/audit", headers=dispatcher).json()
    assert audit["route_id"] == taker and audit["version"] == 2
    added = set(exception["order_ids"])
    by_order = {s["order_id"]: s for s in audit["stops"]}
    assert added <= set(by_order)
    assert all(by_order[o]["planned_in"] == 2 for o in added)
    assert all(s["planned_in"] == 1 for o, s in by_order.items() if o not in added)
    late = [s for s in audit["stops"] if s["late"]]
    assert late, "delivering from noon on makes the afternoon late"
    for stop in late:
        assert sum(c["seconds"] for c in stop["causes"]) == stop["lateness_s"]
        assert all(c["cause"] != "remainder" for c in stop["causes"])
    first_v1_after_added = [
        s
        for s in late
        if s["planned_in"] == 1 and s["actual_seq"] > min(by_order[o]["actual_seq"] for o in added)
    ]
    for stop in first_v1_after_added:
        assert "added_stops" in {c["cause"] for c in stop["causes"]}


def test_a_failed_stop_shows_the_gate_findings_of_its_order(service: Service) -> None:
    """The warnings an order was imported with come back with its failed stop."""
    from sqlalchemy import update

    from doorstep.store import tables as t
    from doorstep.store.database import transaction

    dispatcher, routes = published_day(service)
    route = routes[0]
    stops = _drive_late(service, route, dispatcher)
    warning = {"code": "phone_invalid", "severity": "warning", "field": "phone", "message": "m"}
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        db.execute(
            update(t.Order).where(t.Order.id == stops[-1]["order_id"]).values(findings=[warning])
        )
    audit = service.client.get(f"/v1/routes/{route['id']}/audit", headers=dispatcher).json()
    assert audit["stops"][-1]["failure"]["findings"] == [warning]
