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
