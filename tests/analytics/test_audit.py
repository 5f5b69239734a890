"""Plan versus actual: hand-built routes whose causes of lateness are known, and a property."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from docs_blocks import examples
from doorstep.analytics.audit import (
    ActualStop,
    PlannedStop,
    PlanVersion,
    RouteAudit,
    RouteRecord,
    StopAudit,
    audit_route,
    explain,
    references,
    route_dict,
    visits_of,
)

H = 3600
M = 60


def plan(
    orders: list[str],
    *,
    start: int = 8 * H,
    leg: int = 10 * M,
    service: int = 5 * M,
    window_end: int | None = None,
    version: int = 1,
    route_id: str = "R",
) -> PlanVersion:
    """A version whose stops are ``leg`` apart with ``service`` at each, no waiting."""
    stops = []
    clock = start
    for o in orders:
        clock += leg
        stops.append(
            PlannedStop(o, leg, service, clock, clock, window_start_s=None, window_end_s=window_end)
        )
        clock += service
    return PlanVersion(
        route_id if version == 1 else f"{route_id}.v{version}", version, start, tuple(stops)
    )


def served(visits: list[tuple[str, int, int]]) -> tuple[ActualStop, ...]:
    """Stops done at ``(order, arrived, finished)``, seq as given."""
    return tuple(
        ActualStop(o, k, "done", arrived_s=a, finished_s=f)
        for k, (o, a, f) in enumerate(visits, start=1)
    )


def record(
    versions: list[PlanVersion], stops: tuple[ActualStop, ...], departure: int | None
) -> RouteRecord:
    return RouteRecord(
        versions[-1].route_id,
        "2026-03-10",
        "van1",
        "d1",
        "completed",
        tuple(versions),
        stops,
        departure,
    )


def causes(stop: StopAudit) -> dict[str, int]:
    return {c.cause: c.seconds for c in stop.causes}


def stop_of(audit: RouteAudit, order_id: str) -> StopAudit:
    return next(s for s in audit.stops if s.order_id == order_id)


def test_late_departure_only() -> None:
    """Leaving 20 minutes late and driving as planned: all 20 minutes are late departure."""
    v1 = plan(["A", "B", "C"])
    late = 20 * M
    stops = served(
        [(s.order_id, s.planned_arrival_s + late, s.planned_finish_s + late) for s in v1.stops]
    )
    audit = audit_route(record([v1], stops, 8 * H + late))
    for stop in audit.stops:
        assert stop.late and stop.lateness_s == late
        assert causes(stop) == {"late_departure": late}


def test_a_slow_leg_only() -> None:
    """The leg A -> B took 25 minutes more: B and C are late by it, named as that leg."""
    v1 = plan(["A", "B", "C"])
    extra = 25 * M
    a, b, c = v1.stops
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s),
            ("B", b.planned_arrival_s + extra, b.planned_finish_s + extra),
            ("C", c.planned_arrival_s + extra, c.planned_finish_s + extra),
        ]
    )
    audit = audit_route(record([v1], stops, 8 * H))
    assert not stop_of(audit, "A").late
    for order_id in ("B", "C"):
        stop = stop_of(audit, order_id)
        assert stop.late and causes(stop) == {"driving": extra}
        (driving,) = stop.causes
        assert [(p.what, p.seconds) for p in driving.parts] == [("A -> B", extra)]


def test_long_service_only() -> None:
    """A's service took 30 minutes instead of 5: the later stops are late by 25, as service."""
    v1 = plan(["A", "B", "C"])
    extra = 25 * M
    a, b, c = v1.stops
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s + extra),
            ("B", b.planned_arrival_s + extra, b.planned_finish_s + extra),
            ("C", c.planned_arrival_s + extra, c.planned_finish_s + extra),
        ]
    )
    audit = audit_route(record([v1], stops, 8 * H))
    stop = stop_of(audit, "C")
    assert causes(stop) == {"service": extra}
    assert [(p.what, p.seconds) for p in stop.causes[0].parts] == [("A", extra)]


def test_waiting_counts_apart_from_service() -> None:
    """Arriving at A before its window opens and waiting 20 minutes is waiting, not service."""
    v1 = plan(["A", "B"])
    a, b = v1.stops
    early_window = PlannedStop(
        "A",
        a.leg_s,
        a.service_s,
        a.planned_arrival_s,
        a.planned_start_s,
        window_start_s=a.planned_arrival_s + 20 * M,
    )
    v1 = PlanVersion(v1.route_id, 1, v1.start_s, (early_window, b))
    wait = 20 * M
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s + wait),
            ("B", b.planned_arrival_s + wait, b.planned_finish_s + wait),
        ]
    )
    stop = stop_of(audit_route(record([v1], stops, 8 * H)), "B")
    assert causes(stop) == {"waiting": wait}


def test_out_of_sequence() -> None:
    """C served before B (legs as planned in length): B's lateness is all out of sequence."""
    v1 = plan(["A", "B", "C"])
    a = v1.stops[0]
    leg, service = 10 * M, 5 * M
    c_arrival = a.planned_finish_s + leg
    b_arrival = c_arrival + service + leg
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s),
            ("C", c_arrival, c_arrival + service),
            ("B", b_arrival, b_arrival + service),
        ]
    )
    audit = audit_route(record([v1], stops, 8 * H), tolerance_s=0)
    b = stop_of(audit, "B")
    assert b.late and b.lateness_s == leg + service
    assert causes(b) == {"out_of_sequence": leg + service}
    assert (b.planned_seq, b.actual_seq) == (2, 3)
    assert stop_of(audit, "C").lateness_s == -(leg + service)


def test_an_added_stop() -> None:
    """Version 2 adds X between A and B: B and C are late by X's driving and service."""
    v1 = plan(["A", "B", "C"])
    a, b, c = v1.stops
    leg, service = 10 * M, 5 * M
    x_arrival = a.planned_finish_s + leg
    extra = leg + service  # one more leg and one more service
    v2_stops = (
        a,
        PlannedStop("X", leg, service, x_arrival, x_arrival),
        PlannedStop("B", leg, service, b.planned_arrival_s + extra, b.planned_start_s + extra),
        PlannedStop("C", leg, service, c.planned_arrival_s + extra, c.planned_start_s + extra),
    )
    v2 = PlanVersion("R.v2", 2, v1.start_s, v2_stops)
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s),
            ("X", x_arrival, x_arrival + service),
            ("B", b.planned_arrival_s + extra, b.planned_finish_s + extra),
            ("C", c.planned_arrival_s + extra, c.planned_finish_s + extra),
        ]
    )
    audit = audit_route(record([v1, v2], stops, 8 * H), tolerance_s=0)
    for order_id in ("B", "C"):
        stop = stop_of(audit, order_id)
        assert stop.planned_in == 1 and stop.lateness_s == extra
        assert causes(stop) == {"added_stops": extra}
    x = stop_of(audit, "X")
    assert x.planned_in == 2 and x.lateness_s == 0 and not x.late


def test_a_removed_stop_is_time_gained() -> None:
    """B handed over to another route: C arrives early by B's leg and service (removed_stops)."""
    v1 = plan(["A", "B", "C"])
    a, _, c = v1.stops
    v2 = PlanVersion("R.v2", 2, v1.start_s, (a, c))
    gained = 15 * M
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s),
            ("C", c.planned_arrival_s - gained, c.planned_finish_s - gained),
        ]
    )
    audit = audit_route(record([v1, v2], stops, 8 * H))
    assert audit.removed == ("B",) and not stop_of(audit, "C").late
    reference = references([v1, v2])["C"][1]
    visits = visits_of(stops, {s.order_id: s for s in v2.stops})
    lateness, found = explain(reference, visits, "C", 8 * H, removed=["B"])
    assert lateness == -gained
    assert {c.cause: c.seconds for c in found} == {"removed_stops": -gained}


def test_finished_after_the_window_is_late_within_tolerance() -> None:
    """A stop 5 minutes behind plan that finishes after its window closed is late all the same."""
    v1 = plan(["A"], window_end=8 * H + 12 * M)
    a = v1.stops[0]
    stops = served([("A", a.planned_arrival_s + 5 * M, a.planned_finish_s + 5 * M)])
    stop = audit_route(record([v1], stops, 8 * H + 5 * M)).stops[0]
    assert stop.late_because == ("finished_after_window",)
    assert causes(stop) == {"late_departure": 5 * M}


def test_a_missing_arrival_scan_is_inferred() -> None:
    """Only a delivered scan: arrival is the finish less the planned service, and flagged."""
    v1 = plan(["A", "B"])
    a, b = v1.stops
    stops = (
        ActualStop("A", 1, "done", finished_s=a.planned_finish_s),
        ActualStop("B", 2, "done", finished_s=b.planned_finish_s + 30 * M),
    )
    audit = audit_route(record([v1], stops, 8 * H))
    stop = stop_of(audit, "B")
    assert stop.arrival_inferred and stop.arrived_s == b.planned_arrival_s + 30 * M
    assert causes(stop) == {"driving": 30 * M}


def test_a_failed_stop_carries_its_reason_and_earlier_attempts() -> None:
    """A failed stop's reason, attempts and earlier attempts reach the JSON."""
    v1 = plan(["A"])
    a = v1.stops[0]
    earlier = (
        {
            "attempt": 1,
            "route_id": "OLD",
            "day": "2026-03-09",
            "outcome": "failed_attempt",
            "failure_reason": "not_home",
            "at": None,
        },
    )
    stops = (
        ActualStop(
            "A",
            1,
            "failed",
            a.planned_arrival_s,
            a.planned_finish_s,
            failure_reason="not_home",
            attempts=2,
            earlier_attempts=earlier,
        ),
    )
    body = route_dict(audit_route(record([v1], stops, 8 * H)))
    failure = body["stops"][0]["failure"]
    assert failure == {
        "reason": "not_home",
        "attempts": 2,
        "earlier_attempts": list(earlier),
        "findings": [],
    }
    assert body["failed_stops"] == 1


def test_a_replanned_leg_is_not_counted_as_driving() -> None:
    """An added stop re-planned from 10:00: the shift the new plan made is ``replanned``."""
    v1 = plan(["A"])
    a = v1.stops[0]
    x_arrival = 10 * H
    v2 = PlanVersion(
        "R.v2", 2, v1.start_s, (a, PlannedStop("X", 10 * M, 5 * M, x_arrival, x_arrival))
    )
    stops = served(
        [
            ("A", a.planned_arrival_s, a.planned_finish_s),
            ("X", x_arrival + 20 * M, x_arrival + 25 * M),
        ]
    )
    audit = audit_route(record([v1, v2], stops, 8 * H))
    stop = stop_of(audit, "X")
    assert stop.planned_in == 2 and stop.lateness_s == 20 * M
    got = causes(stop)
    assert sum(got.values()) == 20 * M
    assert got["driving"] == (x_arrival + 20 * M - a.planned_finish_s) - 10 * M
    assert "replanned" in got


order_ids = [f"O{k}" for k in range(6)]


@st.composite
def days(draw: st.DrawFn) -> tuple[list[PlanVersion], tuple[ActualStop, ...], int | None]:
    """A random plan (maybe with a second version adding and dropping stops) and random scans."""
    n = draw(st.integers(1, 6))
    first = plan(order_ids[:n], leg=draw(st.integers(0, 1800)), service=draw(st.integers(0, 900)))
    versions = [first]
    current = list(first.stops)
    if draw(st.booleans()):
        keep = draw(st.permutations(current))[: draw(st.integers(1, n))]
        added = [
            PlannedStop(
                f"X{k}",
                draw(st.integers(0, 900)),
                draw(st.integers(0, 600)),
                draw(st.integers(8 * H, 12 * H)),
                0,
            )
            for k in range(draw(st.integers(0, 3)))
        ]
        added = [
            PlannedStop(
                p.order_id,
                p.leg_s,
                p.service_s,
                p.planned_arrival_s,
                p.planned_arrival_s + draw(st.integers(0, 600)),
            )
            for p in added
        ]
        current = list(draw(st.permutations([*keep, *added])))
        versions.append(PlanVersion("R.v2", 2, first.start_s, tuple(current)))
    stops = []
    for k, p in enumerate(current, start=1):
        arrived = draw(st.none() | st.integers(7 * H, 14 * H))
        finished = draw(st.none() | st.integers(7 * H, 15 * H))
        if arrived is not None and finished is not None and finished < arrived:
            arrived, finished = finished, arrived
        stops.append(
            ActualStop(p.order_id, k, "done" if finished else "arrived", arrived, finished)
        )
    departure = draw(st.none() | st.integers(6 * H, 10 * H))
    return versions, tuple(stops), departure


@settings(max_examples=300, deadline=None)
@given(days())
def test_causes_add_up_to_the_lateness(
    day: tuple[list[PlanVersion], tuple[ActualStop, ...], int | None],
) -> None:
    """For random plans and scans, every reached stop's causes add up to its lateness exactly."""
    versions, stops, departure = day
    rec = record(versions, stops, departure)
    refs = references(versions)
    visits = visits_of(stops, {s.order_id: s for s in versions[-1].stops})
    on_route = {s.order_id for s in stops}
    for visit in visits:
        _, reference = refs[visit.order_id]
        gone = [s.order_id for s in reference.stops if s.order_id not in on_route]
        lateness, found = explain(
            reference,
            visits,
            visit.order_id,
            versions[0].start_s if departure is None else departure,
            gone,
        )
        assert sum(c.seconds for c in found) == lateness
        assert all(c.cause != "remainder" for c in found)
    for stop in audit_route(rec, tolerance_s=0).stops:
        if stop.late and stop.lateness_s is not None:
            assert sum(c.seconds for c in stop.causes) == stop.lateness_s


def test_the_documented_example_runs() -> None:
    """docs/audit.md's added-stop example holds (its asserts run here)."""
    block = examples("audit.md")["added-stop"]
    exec(compile(block, "docs/audit.md", "exec"), {})
