"""A small day written straight into the store, whose every KPI is worked out by hand.

Tuesday 2030-06-04 in Europe/Helsinki (UTC+3). Two vans of depot ``hki``:

``R1`` (van1, driver d1, completed; planned 08:00-10:35, 30 km). Out at 08:05.

====  ===========  ======  ============  ===========  =================================
seq   order        zip     window        planned arr  what happened
====  ===========  ======  ============  ===========  =================================
1     A (2 parc.)  00100   09:00-10:00   08:30        arrived 08:40, both delivered 09:05
2     B            00100   09:00-11:00   09:15        arrived 09:35, failed 09:40 not_home,
                                                      returned to depot 11:00
3     C            00200   10:00-12:00   09:30        arrived 09:15, delivered 09:20 (early)
====  ===========  ======  ============  ===========  =================================

``R2.v2`` (van2, driver d2, in progress; version 2 of ``R2``, which is
superseded and still holds copies of D and E: they must not count twice;
planned 08:00-09:35, 20 km, shift ends 09:30). Out at 08:20.

====  ===========  ======  ============  ===========  =================================
seq   order        zip     window        planned arr  what happened
====  ===========  ======  ============  ===========  =================================
1     D            00200   08:00-12:00   08:20        delivered 08:45 (no arrival scan);
                                                      failed the day before at 14:00
2     E (pickup)   00300   none          08:45        arrived 09:10, picked up 09:15
3     F            00300   09:00-10:00   09:00        arrived 09:30, failed 09:35
                                                      no_access, arrived again 09:50,
                                                      delivered 09:55
4     G            00300   none          09:10        never visited, back at depot 10:30
====  ===========  ======  ============  ===========  =================================

Exceptions: X1 (running_late on ``R2``, order F) seen 09:00, resolved 09:30;
X2 (missed_scan on R1, order B) seen 10:00, open; X0 the day before (not in
the range). Decisions on X1: one accepted, one rejected.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from doorstep.store import tables as t

ZONE = ZoneInfo("Europe/Helsinki")
DAY = "2030-06-04"
PREVIOUS = "2030-06-03"
H = 3600
M = 60


def at(seconds: int, day: str = DAY) -> datetime:
    """The moment ``seconds`` after local midnight of ``day``."""
    midnight = datetime.combine(datetime.fromisoformat(day).date(), clock(0), tzinfo=ZONE)
    return midnight + timedelta(seconds=seconds)


def _order(oid: str, zip_code: str, parcels: int = 1, **fields: Any) -> t.Order:
    return t.Order(
        id=oid,
        zip=zip_code,
        lat=60.17,
        lon=24.94,
        parcels=parcels,
        tracking_token=f"token-{oid}",
        **fields,
    )


def _stop(route: str, seq: int, order: str, **times: int | None) -> t.Stop:
    return t.Stop(
        route_id=route, seq=seq, order_id=order, eta_s=times["planned_arrival_s"], **times
    )


def seed_day(db: Session) -> None:
    """Write the module's day into the store (a migrated, empty database)."""
    db.add(t.Depot(id="hki", lat=60.17, lon=24.94))
    db.flush()
    db.add_all(
        [
            t.Vehicle(
                id="van1",
                depot_id="hki",
                shift_end_s=17 * H,
                cost_fixed=5000,
                cost_per_km=40,
                cost_per_hour=2500,
            ),
            t.Vehicle(
                id="van2",
                depot_id="hki",
                shift_end_s=9 * H + 30 * M,
                cost_fixed=3000,
                cost_per_km=50,
                cost_per_hour=2000,
            ),
        ]
    )
    db.flush()
    db.add_all([t.Driver(id="d1", vehicle_id="van1"), t.Driver(id="d2", vehicle_id="van2")])
    db.add_all(
        [
            _order("A", "00100", 2, email="Ann@Example.com"),
            _order("B", "00100", phone="+358401"),
            _order("C", "00200"),
            _order("D", "00200", email="dan@example.com", attempts=1),
            _order("E", "00300", kind="pickup", email="eve@example.com"),
            _order("F", "00300", attempts=1),
            _order("G", "00300", email="eve@example.com"),
        ]
    )
    db.add(t.Plan(id="P1", day=DAY, status="published"))
    db.flush()
    for oid, n in (("A", 2), ("B", 1), ("C", 1), ("D", 1), ("E", 1), ("F", 1), ("G", 1)):
        for k in range(1, n + 1):
            db.add(t.Parcel(id=f"{oid}-{k}", order_id=oid))
    route = {"plan_id": "P1", "day": DAY, "start_s": 8 * H}
    db.add_all(
        [
            t.Route(
                id="R1",
                vehicle_id="van1",
                driver_id="d1",
                state="completed",
                end_s=10 * H + 35 * M,
                distance_m=30_000,
                **route,
            ),
            t.Route(
                id="R2",
                vehicle_id="van2",
                driver_id="d2",
                state="superseded",
                end_s=9 * H + 35 * M,
                distance_m=20_000,
                replaced_by="R2.v2",
                **route,
            ),
            t.Route(
                id="R2.v2",
                vehicle_id="van2",
                driver_id="d2",
                state="in_progress",
                end_s=9 * H + 35 * M,
                distance_m=20_000,
                version=2,
                replaces="R2",
                **route,
            ),
        ]
    )
    db.flush()
    w = {"window_start_s": None, "window_end_s": None}
    db.add_all(
        [
            _stop(
                "R1",
                1,
                "A",
                leg_s=30 * M,
                service_s=5 * M,
                window_start_s=9 * H,
                window_end_s=10 * H,
                planned_arrival_s=8 * H + 30 * M,
                planned_start_s=9 * H,
            ),
            _stop(
                "R1",
                2,
                "B",
                leg_s=10 * M,
                service_s=5 * M,
                window_start_s=9 * H,
                window_end_s=11 * H,
                planned_arrival_s=9 * H + 15 * M,
                planned_start_s=9 * H + 15 * M,
            ),
            _stop(
                "R1",
                3,
                "C",
                leg_s=10 * M,
                service_s=5 * M,
                window_start_s=10 * H,
                window_end_s=12 * H,
                planned_arrival_s=9 * H + 30 * M,
                planned_start_s=10 * H,
            ),
            _stop(
                "R2.v2",
                1,
                "D",
                leg_s=20 * M,
                service_s=10 * M,
                window_start_s=8 * H,
                window_end_s=12 * H,
                planned_arrival_s=8 * H + 20 * M,
                planned_start_s=8 * H + 20 * M,
            ),
            _stop(
                "R2.v2",
                2,
                "E",
                leg_s=15 * M,
                service_s=5 * M,
                **w,
                planned_arrival_s=8 * H + 45 * M,
                planned_start_s=8 * H + 45 * M,
            ),
            _stop(
                "R2.v2",
                3,
                "F",
                leg_s=10 * M,
                service_s=5 * M,
                window_start_s=9 * H,
                window_end_s=10 * H,
                planned_arrival_s=9 * H,
                planned_start_s=9 * H,
            ),
            _stop(
                "R2.v2",
                4,
                "G",
                leg_s=5 * M,
                service_s=5 * M,
                **w,
                planned_arrival_s=9 * H + 10 * M,
                planned_start_s=9 * H + 10 * M,
            ),
            # The superseded version's copies: never counted.
            _stop(
                "R2",
                1,
                "D",
                leg_s=20 * M,
                service_s=10 * M,
                window_start_s=8 * H,
                window_end_s=12 * H,
                planned_arrival_s=8 * H + 20 * M,
                planned_start_s=8 * H + 20 * M,
            ),
            _stop(
                "R2",
                2,
                "E",
                leg_s=15 * M,
                service_s=5 * M,
                **w,
                planned_arrival_s=8 * H + 45 * M,
                planned_start_s=8 * H + 45 * M,
            ),
        ]
    )
    db.flush()
    events: list[tuple[str, str, datetime, str | None]] = [
        ("D-1", "failed_attempt", at(14 * H, PREVIOUS), "no_access"),
    ]
    for parcel, out in (
        ("A-1", 8 * H + 5 * M),
        ("A-2", 8 * H + 5 * M),
        ("B-1", 8 * H + 5 * M),
        ("C-1", 8 * H + 5 * M),
        ("D-1", 8 * H + 20 * M),
        ("F-1", 8 * H + 20 * M),
        ("G-1", 8 * H + 20 * M),
    ):
        events += [
            (parcel, "scanned_at_depot", at(7 * H), None),
            (parcel, "loaded", at(7 * H + 30 * M), None),
            (parcel, "out_for_delivery", at(out), None),
        ]
    events += [
        ("A-1", "arrived_at_stop", at(8 * H + 40 * M), None),
        ("A-1", "delivered", at(9 * H + 5 * M), None),
        ("A-2", "delivered", at(9 * H + 5 * M), None),
        ("C-1", "arrived_at_stop", at(9 * H + 15 * M), None),
        ("C-1", "delivered", at(9 * H + 20 * M), None),
        ("B-1", "arrived_at_stop", at(9 * H + 35 * M), None),
        ("B-1", "failed_attempt", at(9 * H + 40 * M), "not_home"),
        ("B-1", "returned_to_depot", at(11 * H), None),
        ("D-1", "delivered", at(8 * H + 45 * M), None),
        ("E-1", "arrived_at_stop", at(9 * H + 10 * M), None),
        ("E-1", "return_picked_up", at(9 * H + 15 * M), None),
        ("F-1", "arrived_at_stop", at(9 * H + 30 * M), None),
        ("F-1", "failed_attempt", at(9 * H + 35 * M), "no_access"),
        ("F-1", "arrived_at_stop", at(9 * H + 50 * M), None),
        ("F-1", "delivered", at(9 * H + 55 * M), None),
        ("G-1", "returned_to_depot", at(10 * H + 30 * M), None),
    ]
    for k, (parcel, kind, moment, reason) in enumerate(events):
        db.add(
            t.Event(event_id=f"e{k}", parcel_id=parcel, kind=kind, at=moment, failure_reason=reason)
        )
    exception = {"severity": "medium", "sentence": "", "cause": ""}
    db.add_all(
        [
            t.DispatchException(
                id="X0",
                day=PREVIOUS,
                kind="running_late",
                route_id=None,
                order_ids=["D"],
                first_seen=at(15 * H, PREVIOUS),
                last_seen=at(15 * H, PREVIOUS),
                **exception,
            ),
            t.DispatchException(
                id="X1",
                day=DAY,
                kind="running_late",
                route_id="R2",
                order_ids=["F"],
                first_seen=at(9 * H),
                last_seen=at(9 * H),
                status="resolved",
                resolved_at=at(9 * H + 30 * M),
                **exception,
            ),
            t.DispatchException(
                id="X2",
                day=DAY,
                kind="missed_scan",
                route_id="R1",
                order_ids=["B"],
                first_seen=at(10 * H),
                last_seen=at(10 * H),
                **exception,
            ),
        ]
    )
    db.flush()
    db.add_all(
        [
            t.Decision(
                day=DAY,
                exception_id="X1",
                proposal_id="p1",
                decision="rejected",
                at=at(9 * H + 20 * M),
            ),
            t.Decision(
                day=DAY,
                exception_id="X1",
                proposal_id="p2",
                decision="accepted",
                at=at(9 * H + 30 * M),
            ),
        ]
    )
    db.flush()
