"""Exception detection: each type's trigger, its sentence, and its cause staying the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from doorstep.dispatch.day import DayState, RequestNow, RouteNow, StopNow
from doorstep.dispatch.exceptions import ExceptionKind, Severity, Thresholds, detect

H = 3600
M = 60


def stop(k: int, **kwargs: object) -> StopNow:
    """Stop ``k`` of a route leaving at 08:00: 10-minute legs, 5-minute service, 1-hour windows."""
    arrival = 8 * H + k * 15 * M - 5 * M
    fields: dict[str, object] = {
        "order_id": f"O{k}",
        "seq": k,
        "leg_s": 10 * M,
        "service_s": 5 * M,
        "planned_arrival_s": arrival,
        "eta_s": arrival,
        "window_start_s": arrival - 30 * M,
        "window_end_s": arrival + 30 * M,
        "parcel_ids": (f"O{k}-1",),
    }
    fields.update(kwargs)
    return StopNow(**fields)  # type: ignore[arg-type]


def route(n: int = 6, **kwargs: object) -> RouteNow:
    """A published route of ``n`` stops, planned 08:00-09:40, shift until 17:00."""
    fields: dict[str, object] = {
        "id": "P1-VAN-02",
        "vehicle_id": "VAN-02",
        "state": "published",
        "start_s": 8 * H,
        "end_s": 8 * H + n * 15 * M + 10 * M,
        "shift_end_s": 17 * H,
        "stops": tuple(stop(k) for k in range(1, n + 1)),
    }
    fields.update(kwargs)
    return RouteNow(**fields)  # type: ignore[arg-type]


def day(*routes: RouteNow, requests: tuple[RequestNow, ...] = ()) -> DayState:
    return DayState("2026-12-07", routes, requests)


def kinds(found: list) -> list[str]:  # type: ignore[type-arg]
    return [e.kind.value for e in found]


def test_a_route_on_time_has_no_exception() -> None:
    """A published route before its start, and one running to plan, raise nothing."""
    assert detect(day(route()), 7 * H + 50 * M) == []
    loaded = tuple(replace(s, loaded=s.parcel_ids) for s in route().stops)
    started = route(state="in_progress", departed_s=8 * H, stops=loaded)
    assert detect(day(started), 8 * H + 5 * M) == []


def test_late_departure_names_the_delay_and_the_worst_stop() -> None:
    """42 minutes late: the sentence gives the delay and the stops that will miss windows."""
    found = detect(day(route()), 8 * H + 42 * M)
    assert kinds(found) == ["late_departure"]
    late = found[0]
    assert late.cause == "late_departure:P1-VAN-02"
    assert "42 minutes ago" in late.sentence
    assert late.details["late_min"] == 42
    assert late.details["at_risk"], "stops late by 42 - 30 minutes miss their window"
    assert late.severity is Severity.HIGH
    assert "the worst O" in late.sentence


def test_late_departure_waits_for_its_threshold() -> None:
    """Ten minutes late is within the default 15; with a 5-minute threshold it is not."""
    assert detect(day(route()), 8 * H + 10 * M) == []
    strict = Thresholds(late_departure_min=5)
    assert kinds(detect(day(route()), 8 * H + 10 * M, strict)) == ["late_departure"]


def test_a_late_departure_becomes_running_late_once_out() -> None:
    """Left at 08:50: no longer late_departure, but running_late names the stops at risk."""
    loaded = tuple(replace(s, loaded=s.parcel_ids) for s in route().stops)
    out = route(state="in_progress", departed_s=8 * H + 50 * M, stops=loaded)
    found = detect(day(out), 8 * H + 51 * M)
    assert kinds(found) == ["running_late"]
    assert found[0].order_ids, "the stops at risk are named"
    assert all(r["late_min"] > 5 for r in found[0].details["at_risk"])


def test_same_cause_on_the_next_tick() -> None:
    """Detecting twice gives the same causes (the monitor keeps one exception per cause)."""
    first = detect(day(route()), 8 * H + 42 * M)
    second = detect(day(route()), 8 * H + 47 * M)
    assert [e.cause for e in first] == [e.cause for e in second]


def test_a_breakdown_is_vehicle_unavailable_with_its_stops_left() -> None:
    """A reported breakdown names what is left and silences running_late for that route."""
    stops = list(route().stops)
    stops[0] = replace(stops[0], state="done", finished_s=8 * H + 16 * M, loaded=("O1-1",))
    incident = {"id": "inc1", "kind": "breakdown", "at_s": 11 * H, "note": "gearbox"}
    broken = route(
        state="in_progress",
        departed_s=8 * H,
        stops=tuple(replace(s, loaded=s.parcel_ids) for s in stops),
        incident=incident,
    )
    found = detect(day(broken), 11 * H + 1 * M)
    assert kinds(found) == ["vehicle_unavailable"]
    assert found[0].order_ids == ("O2", "O3", "O4", "O5", "O6")
    assert found[0].parcel_ids == ("O2-1", "O3-1", "O4-1", "O5-1", "O6-1")
    assert "breakdown at 11:00" in found[0].sentence


def test_missed_scans_of_each_kind() -> None:
    """Not loaded, passed without a scan, delivered never loaded, nothing by shift end."""
    stops = list(route().stops)
    stops[0] = replace(stops[0], state="done", order_status="delivered", finished_s=8 * H + 16 * M)
    stops[2] = replace(stops[2], state="done", order_status="delivered", loaded=("O3-1",))
    stops[2] = replace(stops[2], finished_s=8 * H + 46 * M)
    out = route(state="in_progress", departed_s=8 * H, stops=tuple(stops))
    found = detect(day(out), 9 * H + 10 * M, Thresholds(running_late_min=600))
    scans = {e.details["scan"]: e for e in found if e.kind is ExceptionKind.MISSED_SCAN}
    assert set(scans) == {"not_loaded", "stop_passed", "delivered_not_loaded"}
    assert scans["stop_passed"].order_ids == ("O2",)
    assert scans["delivered_not_loaded"].parcel_ids == ("O1-1",)
    late = detect(day(out), 17 * H + 20 * M, Thresholds(running_late_min=6000))
    assert "no_terminal_scan" in {e.details.get("scan") for e in late}


def test_failed_attempt_and_prolonged_stop() -> None:
    """A failed stop waiting for another attempt, and a stop taking far too long."""
    stops = list(route().stops)
    stops[0] = replace(
        stops[0],
        state="failed",
        order_status="failed_attempt",
        finished_s=8 * H + 12 * M,
        failure_reason="not_home",
    )
    stops[1] = replace(stops[1], state="arrived", arrived_s=8 * H + 25 * M)
    loaded = tuple(replace(s, loaded=s.parcel_ids) for s in stops)
    out = route(state="in_progress", departed_s=8 * H, stops=loaded)
    found = detect(day(out), 8 * H + 50 * M, Thresholds(running_late_min=600))
    by_kind = {e.kind: e for e in found}
    assert "not home" in by_kind[ExceptionKind.FAILED_ATTEMPT].sentence
    assert by_kind[ExceptionKind.FAILED_ATTEMPT].cause == "failed_attempt:O1:1"
    assert by_kind[ExceptionKind.PROLONGED_STOP].details["spent_min"] == 25
    assert detect(day(out), 8 * H + 30 * M, Thresholds(running_late_min=600)) != found


def test_customer_requests_and_a_datetime_clock() -> None:
    """A request is an exception; ``now`` may be an aware datetime on the day's clock."""
    request = RequestNow("rq1", "O3", "time_window", "customer", {"window": [1, 2]}, "P1-VAN-02")
    state = day(route(), requests=(request,))
    zone = ZoneInfo("Europe/Helsinki")
    found = detect(state, datetime(2026, 12, 7, 7, 0, tzinfo=zone))
    assert kinds(found) == ["customer_request"]
    assert "another time window" in found[0].sentence


def test_a_pickups_parcels_are_not_missing_a_load_scan() -> None:
    """A customer return is collected on the way: its parcels are never loaded at the depot."""
    stops = tuple(replace(s, kind="pickup") for s in route().stops)
    out = route(state="in_progress", departed_s=8 * H, stops=stops)
    found = detect(day(out), 8 * H + 30 * M, Thresholds(running_late_min=600))
    assert [e.details.get("scan") for e in found] == []
