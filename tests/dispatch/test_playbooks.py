"""Playbooks: a breakdown's stops handed over, a late route re-sequenced, costs by the evaluator."""

from __future__ import annotations

from dataclasses import replace

from doorstep.dispatch.day import DayState, RouteNow, StopNow
from doorstep.dispatch.exceptions import DayException, ExceptionKind, Severity, detect
from doorstep.dispatch.playbooks import DispatchContext, position, propose
from doorstep.domain.fleet import Depot, Fleet, Vehicle
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.domain.time_window import TimeWindow
from doorstep.network.straight_line import StraightLineProvider

H = 3600
M = 60
DEPOT = Location(60.17, 24.94)


def at(k: int, side: int) -> Location:
    return Location(60.17 + 0.004 * k, 24.94 + 0.01 * side)


def orders() -> dict[str, Order]:
    out = {}
    for side, prefix in ((1, "A"), (-1, "B")):
        for k in range(1, 7):
            out[f"{prefix}{k}"] = Order(
                f"{prefix}{k}", at(k, side), windows=(TimeWindow(8 * H, 16 * H),), service_s=120
            )
    return out


def fleet(standby: bool = False) -> Fleet:
    vans = [Vehicle(v, "D", shift=TimeWindow(8 * H, 17 * H)) for v in ("VAN-A", "VAN-B")]
    if standby:
        vans.append(Vehicle("VAN-C", "D", shift=TimeWindow(8 * H, 17 * H)))
    return Fleet((Depot("D", DEPOT),), tuple(vans))


def route(prefix: str, done: int, incident: dict[str, object] | None = None) -> RouteNow:
    """Route of ``prefix``'s six stops, the first ``done`` delivered by 09:00 + k * 10 min."""
    stops = []
    for k in range(1, 7):
        o = orders()[f"{prefix}{k}"]
        stop = StopNow(
            order_id=o.id,
            seq=k,
            leg_s=300,
            service_s=120,
            planned_arrival_s=8 * H + k * 420,
            eta_s=8 * H + k * 420,
            window_start_s=8 * H,
            window_end_s=16 * H,
            parcel_ids=(f"{o.id}-1",),
            loaded=(f"{o.id}-1",),
            location=(o.location.lat, o.location.lon),
        )
        if k <= done:
            stop = replace(stop, state="done", order_status="delivered", finished_s=9 * H + k * 600)
        stops.append(stop)
    return RouteNow(
        id=f"P1-VAN-{prefix}",
        vehicle_id=f"VAN-{prefix}",
        state="in_progress",
        start_s=8 * H,
        end_s=9 * H,
        shift_end_s=17 * H,
        stops=tuple(stops),
        departed_s=8 * H,
        incident=incident,
    )


def context(standby: bool = False) -> DispatchContext:
    return DispatchContext(
        orders(), fleet(standby), StraightLineProvider(), time_limit_s=0.5, max_iterations=200
    )


def test_the_vehicle_is_where_it_last_scanned_and_free_from_now() -> None:
    """Two stops done: at the second stop's place, free at the later of its finish and now."""
    r = route("A", done=2)
    start = position(r, 9 * H)
    assert start.location == orders()["A2"].location
    assert start.free_s == 9 * H + 1200
    assert position(r, 11 * H).free_s == 11 * H
    assert position(route("A", done=0), 7 * H).location is None


def test_a_breakdown_hands_every_stop_left_to_the_other_route() -> None:
    """VAN-A breaks at 11:00 after two stops: VAN-B takes the four left, nothing is lost."""
    incident = {"id": "i1", "kind": "breakdown", "at_s": 11 * H, "note": ""}
    state = DayState("2026-12-07", (route("A", 2, incident), route("B", 1)))
    exception = next(
        e for e in detect(state, 11 * H) if e.kind is ExceptionKind.VEHICLE_UNAVAILABLE
    )
    drafts = propose(state, exception, context(standby=True), 11 * H)
    kinds = [d.kind for d in drafts]
    assert kinds == ["hand_over", "standby_vehicle", "put_off"]
    hand_over = drafts[0]
    new_b = hand_over.change["routes"]["P1-VAN-B"]
    assert hand_over.change["routes"]["P1-VAN-A"] == []
    assert sorted(new_b) == ["A3", "A4", "A5", "A6", "B2", "B3", "B4", "B5", "B6"]
    assert hand_over.delta["stops_moved"] == 4
    assert hand_over.delta["orders_put_off"] == 0
    assert hand_over.delta["km"] > 0, "serving four more stops costs driving"
    assert hand_over.basis == {"P1-VAN-A": 1, "P1-VAN-B": 1}
    assert all(hand_over.change["visits"][i]["arrival_s"] >= 11 * H for i in new_b)
    standby = drafts[1]
    assert sorted(standby.change["standby"]["VAN-C"]) == ["A3", "A4", "A5", "A6"]
    assert drafts[2].change["put_off"] == ["A3", "A4", "A5", "A6"]


def test_a_late_route_gets_notices_and_a_resequence() -> None:
    """A route out an hour late: tell customers, re-sequence, or share with the other route."""
    late = replace(route("A", 0), departed_s=9 * H + 30 * M)
    state = DayState("2026-12-07", (late, route("B", 0)))
    exception = DayException(
        ExceptionKind.RUNNING_LATE, "running_late:P1-VAN-A", Severity.MEDIUM, "", late.id
    )
    drafts = propose(state, exception, context(), 9 * H + 31 * M)
    assert [d.kind for d in drafts] == ["notify_customers", "resequence", "hand_over"]
    notices = drafts[0].change["etas"]
    assert set(notices) == {"A1", "A2", "A3", "A4", "A5", "A6"}
    assert all(eta >= 9 * H + 30 * M for eta in notices.values())
    assert sorted(drafts[1].change["routes"]["P1-VAN-A"]) == ["A1", "A2", "A3", "A4", "A5", "A6"]


def test_missed_scans_get_a_put_off_or_a_resequence() -> None:
    """Parcels never loaded are put off; a stop passed without a scan goes back on the route."""
    base = route("A", 0)
    stops = list(base.stops)
    stops[0] = replace(stops[0], loaded=())
    stops[2] = replace(stops[2], state="done", order_status="delivered", finished_s=9 * H)
    out = replace(base, stops=tuple(stops))
    state = DayState("2026-12-07", (out,))
    found = {
        e.details["scan"]: e
        for e in detect(state, 9 * H + 30 * M)
        if e.kind is ExceptionKind.MISSED_SCAN
    }
    (put_off,) = propose(state, found["not_loaded"], context(), 9 * H + 30 * M)
    assert put_off.kind == "put_off" and put_off.change["put_off"] == ["A1"]
    (resequence,) = propose(state, found["stop_passed"], context(), 9 * H + 30 * M)
    assert resequence.kind == "resequence"
    new = resequence.change["routes"]["P1-VAN-A"]
    assert sorted(new) == ["A1", "A2", "A4", "A5", "A6"]
    assert resequence.delta["feasible"]


def _request(kind: str, **details: object) -> DayException:
    return DayException(
        ExceptionKind.CUSTOMER_REQUEST,
        f"customer_request:{kind}",
        Severity.MEDIUM,
        "",
        "P1-VAN-A",
        ("A3",),
        details={"kind": kind, **details},
    )


def test_a_new_address_passes_the_gate_then_goes_on_the_route() -> None:
    """A nearby address the gate accepts is proposed at its new place; a bad one is refused."""
    state = DayState("2026-12-07", (route("A", 1),))
    new = {"address": "Mannerheimintie 5", "zip": "00100", "city": "Helsinki"}
    good = propose(state, _request("address", **new, lat=60.1702, lon=24.9402), context(), 9 * H)
    assert [d.kind for d in good] == ["change_address"]
    assert good[0].change["addresses"]["A3"]["lat"] == 60.1702
    assert "A3" in good[0].change["routes"]["P1-VAN-A"]
    bad = propose(state, _request("address", **new, lat=95.0, lon=24.94), context(), 9 * H)
    assert [d.kind for d in bad] == ["refuse"]
    assert "gate" in bad[0].sentence


def test_a_failed_attempt_follows_the_customers_stated_wish() -> None:
    """Nobody home, but the customer asked for a neighbour: that retry comes first."""
    from doorstep.dispatch.day import RequestNow

    stops = list(route("A", 2).stops)
    stops[1] = replace(stops[1], state="failed", order_status="failed_attempt", attempt=1)
    out = replace(route("A", 2), stops=tuple(stops))
    wish = RequestNow("rq1", "A2", "neighbour", "customer", {"note": "flat 4, Virtanen"})
    state = DayState("2026-12-07", (out,), (wish,))
    failed = next(e for e in detect(state, 10 * H) if e.kind is ExceptionKind.FAILED_ATTEMPT)
    drafts = propose(state, failed, context(), 10 * H)
    assert [d.kind for d in drafts] == ["retry_as_asked", "retry_today", "next_day"]
    assert drafts[0].change["notes"] == {"A2": "Neighbour: flat 4, Virtanen"}
    assert "neighbour (flat 4, Virtanen)" in drafts[0].sentence
    plain = replace(state, requests=())
    assert [d.kind for d in propose(plain, failed, context(), 10 * H)] == [
        "retry_today",
        "next_day",
    ]


def test_a_breakdown_after_every_other_shift_has_ended_puts_the_stops_off() -> None:
    """At 17:30 every other shift is over: no standby proposal, the hand-over puts off.

    (Found by the day simulator: the re-plan called the solver with no vehicle, and a
    standby vehicle whose shift had ended raised an error.)
    """
    incident = {"id": "i1", "kind": "breakdown", "at_s": 17 * H, "note": ""}
    state = DayState("2026-12-07", (route("A", 2, incident), route("B", 1)))
    exception = next(
        e for e in detect(state, 17 * H + 30 * M) if e.kind is ExceptionKind.VEHICLE_UNAVAILABLE
    )
    drafts = propose(state, exception, context(standby=True), 17 * H + 30 * M)
    assert "standby_vehicle" not in [d.kind for d in drafts], "VAN-C's shift is over too"
    hand_over = next(d for d in drafts if d.kind == "hand_over")
    assert hand_over.change["routes"]["P1-VAN-A"] == []
    assert {"A3", "A4", "A5", "A6"} <= set(hand_over.change["put_off"])
