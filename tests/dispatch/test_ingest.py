"""Ingesting scan events under concurrency: a batch sent twice at once is stored once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from doorstep.dispatch.ingest import EventIn, InvalidEvent, Outcome, ingest, refresh_etas
from doorstep.domain.events import FailureReason, ScanKind
from doorstep.store import tables as t
from doorstep.store.database import transaction
from service_data import order, store_order

ZONE = ZoneInfo("Europe/Helsinki")


def test_a_batch_sent_twice_at_once_is_stored_once(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    """The second copy waits for the first; it sees duplicates (PostgreSQL) or fails whole.

    SQLite has no row locks: the copy that lost the race fails at the insert,
    writing nothing (the API answers 409 concurrent_batch and the client sends
    it again). Either way every event is stored exactly once.
    """
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    batch = [
        EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at),
        EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5)),
    ]
    first = sessions()
    first.begin()
    assert [o.status for o in ingest(first, batch, timezone=ZONE, now=at)] == ["accepted"] * 2
    second: dict[str, object] = {}

    def send_again() -> None:
        try:
            with transaction(sessions) as db:
                second["outcomes"] = ingest(db, batch, timezone=ZONE, now=at)
        except IntegrityError:
            second["outcomes"] = "integrity error"

    thread = threading.Thread(target=send_again)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the first copy's locks
    first.commit()
    first.close()
    thread.join(30)
    if database_url.startswith("postgresql"):
        assert second["outcomes"] == [Outcome("e1", "duplicate"), Outcome("e2", "duplicate")]
    else:
        assert second["outcomes"] == "integrity error"
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2
        assert db.get_one(t.Parcel, "A1-1").state == "loaded"


def test_a_reused_event_id_is_rejected_unless_the_content_matches(
    sessions: sessionmaker[Session],
) -> None:
    """Same id, same content (another offset): duplicate; other content: event_id_reused."""
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    first = EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at, proof={"photo_ref": "p"})
    with transaction(sessions) as db:
        assert ingest(db, [first], timezone=ZONE, now=at)[0].status == "accepted"
    same = EventIn(
        "e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at.astimezone(ZONE), proof={"photo_ref": "p"}
    )
    other = EventIn("e1", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5))
    fresh = EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5))
    fresh_again = EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=6))
    with transaction(sessions) as db:
        outcomes = ingest(db, [same, other, fresh, fresh_again], timezone=ZONE, now=at)
    assert [(o.status, o.code) for o in outcomes] == [
        ("duplicate", None),
        ("rejected", "event_id_reused"),
        ("accepted", None),
        ("rejected", "event_id_reused"),
    ]
    assert "'e1' was already used for a different event" in (outcomes[1].detail or "")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2
        assert db.get_one(t.Parcel, "A1-1").state == "loaded"


def test_an_unreadable_event_is_rejected_alone(sessions: sessionmaker[Session]) -> None:
    """An InvalidEvent becomes a rejected invalid_event outcome naming its field."""
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    bad = InvalidEvent("e0", "body.events[0].kind", "body.events[0].kind: not a kind")
    good = EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at)
    with transaction(sessions) as db:
        outcomes = ingest(db, [bad, good], timezone=ZONE, now=at)
    assert outcomes == [
        Outcome("e0", "rejected", "invalid_event", bad.detail, "body.events[0].kind"),
        Outcome("e1", "accepted"),
    ]


# ETAs that follow the day: departure, the clock, eta.changed (issue 15).

H = 3600
M = 60
DAY = "2026-11-24"
MIDNIGHT = datetime(2026, 11, 24, tzinfo=ZONE)
NOTICE_S = 15 * M


def clock(seconds: int) -> datetime:
    """The moment ``seconds`` after midnight of DAY in Helsinki."""
    return MIDNIGHT + timedelta(seconds=seconds)


def store_route(
    db: Session,
    route_id: str,
    order_ids: list[str],
    *,
    start_s: int = 7 * H + 30 * M,
    day: str = DAY,
    state: str = "published",
) -> None:
    """A route leaving at ``start_s``: 10-minute legs, 5-minute service, windows 07:00-12:00.

    Its orders (and one parcel each) are stored too; the ETAs are the planned arrivals.
    """
    if db.get(t.Plan, "p1") is None:
        db.add(t.Plan(id="p1", day=day, status="published"))
    db.add(
        t.Route(
            id=route_id,
            plan_id="p1",
            vehicle_id="van1",
            day=day,
            state=state,
            start_s=start_s,
            end_s=17 * H,
            distance_m=0,
        )
    )
    for k, order_id in enumerate(order_ids):
        store_order(db, order(order_id, k, windows=[[7 * H, 12 * H]]))
    db.flush()
    for k, order_id in enumerate(order_ids):
        planned = start_s + (k + 1) * 10 * M + k * 5 * M
        db.add(
            t.Stop(
                route_id=route_id,
                seq=k + 1,
                order_id=order_id,
                leg_s=10 * M,
                service_s=5 * M,
                window_start_s=7 * H,
                window_end_s=12 * H,
                planned_arrival_s=planned,
                planned_start_s=planned,
                eta_s=planned,
            )
        )


def subscribe(db: Session, sub_id: str, tenant: str | None = None) -> None:
    """An active webhook subscription to every event type."""
    db.add(
        t.WebhookSubscription(
            id=sub_id, url="http://127.0.0.1:9/hook", event_types=["*"], secret="s", tenant=tenant
        )
    )


def etas(sessions: sessionmaker[Session], route_id: str = "r1") -> list[int]:
    """The stored ETAs of a route's stops, in order."""
    with sessions() as db:
        return list(
            db.scalars(select(t.Stop.eta_s).where(t.Stop.route_id == route_id).order_by(t.Stop.seq))
        )


def eta_messages(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """The ``eta.changed`` payloads in the outbox, oldest first."""
    with sessions() as db:
        rows = db.scalars(
            select(t.OutboxMessage.payload)
            .where(t.OutboxMessage.event_type == "eta.changed")
            .order_by(t.OutboxMessage.id)
        )
        return [row["data"] for row in rows]


def go_out(parcel: str, at: datetime) -> list[EventIn]:
    """Depot, loaded and out-for-delivery scans of ``parcel``, the last one at ``at``."""
    return [
        EventIn(f"{parcel}-s", parcel, ScanKind.SCANNED_AT_DEPOT, at - timedelta(minutes=30)),
        EventIn(f"{parcel}-l", parcel, ScanKind.LOADED, at - timedelta(minutes=20)),
        EventIn(f"{parcel}-o", parcel, ScanKind.OUT_FOR_DELIVERY, at),
    ]


def test_a_late_departure_moves_the_etas_by_its_delay(sessions: sessionmaker[Session]) -> None:
    """Planned out at 07:30, scanned out at 08:15: every stop's ETA moves by 45 minutes.

    The batch arrives at 08:20: the clock alone would only have put the first stop at 08:20.
    """
    with transaction(sessions) as db:
        store_route(db, "r1", ["A1", "A2", "A3"])
    planned = etas(sessions)
    with transaction(sessions) as db:
        outcomes = ingest(
            db, go_out("A1-1", clock(8 * H + 15 * M)), timezone=ZONE, now=clock(8 * H + 20 * M)
        )
    assert {o.status for o in outcomes} == {"accepted"}
    assert [b - a for a, b in zip(planned, etas(sessions), strict=True)] == [45 * M] * 3
    assert eta_messages(sessions) == []  # no notice asked for


def test_a_departure_scan_of_an_earlier_day_does_not_count(
    sessions: sessionmaker[Session],
) -> None:
    """A parcel out (and failed) yesterday, out again today at 08:00: the route left at 08:00."""
    with transaction(sessions) as db:
        store_route(db, "r1", ["A1", "A2"])
    yesterday = clock(10 * H - 24 * H)
    first = [
        *go_out("A1-1", yesterday),
        EventIn(
            "A1-f",
            "A1-1",
            ScanKind.FAILED_ATTEMPT,
            yesterday + timedelta(hours=1),
            failure_reason=FailureReason.NOT_HOME,
        ),
    ]
    with transaction(sessions) as db:
        ingest(db, first, timezone=ZONE, now=yesterday + timedelta(hours=1))
    again = EventIn("A1-o2", "A1-1", ScanKind.OUT_FOR_DELIVERY, clock(8 * H))
    with transaction(sessions) as db:
        assert ingest(db, [again], timezone=ZONE, now=clock(8 * H))[0].status == "accepted"
    assert etas(sessions) == [8 * H + 10 * M, 8 * H + 25 * M]


def test_refresh_etas_moves_the_remaining_stops_with_the_clock(
    sessions: sessionmaker[Session],
) -> None:
    """At 10:00, with stop 1 delivered at 09:00, stops 2 and 3 are due 10:00 and 10:15.

    Only the day's active routes move: one of another day and a completed one stay.
    A published route not out yet is still at the depot: its first stop is now + 10 min.
    """
    with transaction(sessions) as db:
        store_route(db, "r1", ["A1", "A2", "A3"], state="in_progress")
        store_route(db, "r2", ["B1", "B2"])
        store_route(db, "r3", ["C1"], state="completed")
        store_route(db, "r4", ["D1"], day="2026-11-25")
        db.flush()
        db.execute(
            update(t.Stop)
            .where(t.Stop.route_id == "r1", t.Stop.seq == 1)
            .values(state="done", arrived_at=clock(8 * H + 55 * M), finished_at=clock(9 * H))
        )
    before = {r: etas(sessions, r) for r in ("r1", "r2", "r3", "r4")}
    with transaction(sessions) as db:
        moved = refresh_etas(db, DAY, ZONE, clock(10 * H), notice_s=None)
    assert etas(sessions, "r1") == [8 * H + 55 * M, 10 * H, 10 * H + 15 * M]
    assert etas(sessions, "r2") == [10 * H + 10 * M, 10 * H + 25 * M]
    assert etas(sessions, "r3") == before["r3"] and etas(sessions, "r4") == before["r4"]
    assert moved == 5
    with transaction(sessions) as db:
        assert refresh_etas(db, DAY, ZONE, clock(10 * H), notice_s=None) == 0


def test_eta_changed_is_sent_once_per_move_beyond_the_notice(
    sessions: sessionmaker[Session],
) -> None:
    """A 25-minute move is told once; 2 more minutes are not; a done stop is never told.

    The message goes to the order's tenant's subscriptions (and admins'), not another tenant's.
    """
    with transaction(sessions) as db:
        store_route(db, "r1", ["A1", "A2"], state="in_progress")
        db.flush()
        db.execute(update(t.Order).where(t.Order.id.in_(["A1", "A2"])).values(tenant="shop"))
        db.execute(
            update(t.Stop)
            .where(t.Stop.route_id == "r1", t.Stop.seq == 1)
            .values(state="done", arrived_at=clock(8 * H), finished_at=clock(8 * H + 5 * M))
        )
        subscribe(db, "wh-admin")
        subscribe(db, "wh-shop", tenant="shop")
        subscribe(db, "wh-other", tenant="other")
    # Stop 2 was planned 07:55; at 08:20 it is due 08:20 (25 minutes later).
    with transaction(sessions) as db:
        refresh_etas(db, DAY, ZONE, clock(8 * H + 20 * M), notice_s=NOTICE_S)
    told = eta_messages(sessions)
    assert told == 2 * [
        {
            "order_id": "A2",
            "route_id": "r1",
            "eta": clock(8 * H + 20 * M).isoformat(),
            "eta_s": 8 * H + 20 * M,
            "previous_eta_s": 7 * H + 55 * M,
            "window": [7 * H, 12 * H],
        }
    ]
    with sessions() as db:
        subs = db.scalars(
            select(t.OutboxMessage.subscription_id).where(
                t.OutboxMessage.event_type == "eta.changed"
            )
        )
        assert sorted(subs) == ["wh-admin", "wh-shop"]
        notified = db.scalars(select(t.Stop.notified_eta_s).order_by(t.Stop.seq)).all()
        assert notified == [None, 8 * H + 20 * M]
    with transaction(sessions) as db:
        refresh_etas(db, DAY, ZONE, clock(8 * H + 22 * M), notice_s=NOTICE_S)
    assert len(eta_messages(sessions)) == 2
    with transaction(sessions) as db:  # 16 minutes after what was told: told again
        refresh_etas(db, DAY, ZONE, clock(8 * H + 36 * M), notice_s=NOTICE_S)
    assert [m["previous_eta_s"] for m in eta_messages(sessions)[2:]] == [8 * H + 20 * M] * 2


def test_a_scan_batch_with_a_notice_tells_the_customers_of_a_late_departure(
    sessions: sessionmaker[Session],
) -> None:
    """Out at 08:15 instead of 07:30 with a 15-minute notice: every pending stop is told."""
    with transaction(sessions) as db:
        store_route(db, "r1", ["A1", "A2"])
        subscribe(db, "wh-admin")
    with transaction(sessions) as db:
        ingest(
            db,
            go_out("A1-1", clock(8 * H + 15 * M)),
            timezone=ZONE,
            now=clock(8 * H + 15 * M),
            notice_s=NOTICE_S,
        )
    told = eta_messages(sessions)
    assert [(m["order_id"], m["eta_s"] - m["previous_eta_s"]) for m in told] == [
        ("A1", 45 * M),
        ("A2", 45 * M),
    ]


def test_refresh_etas_moves_every_stop_of_a_2000_stop_day(
    sessions: sessionmaker[Session],
) -> None:
    """20 routes of 100 stops, every ETA moved by the clock and told (speed: bench_monitor.py)."""
    with transaction(sessions) as db:
        subscribe(db, "wh-admin")
        db.add(t.Plan(id="p1", day=DAY, status="published"))
        db.flush()
        orders = [
            {"id": f"O{i}", "lat": 60.17, "lon": 24.94, "tracking_token": f"tok{i}"}
            for i in range(2000)
        ]
        db.execute(insert(t.Order), orders)
        routes = [
            {
                "id": f"r{k}",
                "plan_id": "p1",
                "vehicle_id": f"v{k}",
                "day": DAY,
                "state": "in_progress",
                "start_s": 8 * H,
                "end_s": 17 * H,
                "distance_m": 0,
            }
            for k in range(20)
        ]
        db.execute(insert(t.Route), routes)
        stops = [
            {
                "route_id": f"r{i // 100}",
                "seq": i % 100 + 1,
                "order_id": f"O{i}",
                "leg_s": 5 * M,
                "service_s": 2 * M,
                "planned_arrival_s": 8 * H + (i % 100 + 1) * 7 * M,
                "planned_start_s": 8 * H + (i % 100 + 1) * 7 * M,
                "eta_s": 8 * H + (i % 100 + 1) * 7 * M,
            }
            for i in range(2000)
        ]
        db.execute(insert(t.Stop), stops)
    with transaction(sessions) as db:
        moved = refresh_etas(db, DAY, ZONE, clock(12 * H), notice_s=NOTICE_S)
    assert moved == 2000
    assert len(eta_messages(sessions)) == 2000


# Failed parcels come back: attempts and return to sender (issue 15).


def _out(parcel: str, at: datetime) -> list[EventIn]:
    """A parcel received, loaded and out for delivery from ``at``, a minute apart."""
    kinds = (ScanKind.SCANNED_AT_DEPOT, ScanKind.LOADED, ScanKind.OUT_FOR_DELIVERY)
    return [
        EventIn(f"{parcel}-{k}", parcel, kind, at + timedelta(minutes=k))
        for k, kind in enumerate(kinds)
    ]


def _failed(event_id: str, parcel: str, at: datetime) -> EventIn:
    return EventIn(
        event_id, parcel, ScanKind.FAILED_ATTEMPT, at, failure_reason=FailureReason.NOT_HOME
    )


def test_parcels_of_one_order_failing_in_one_visit_are_one_attempt(
    sessions: sessionmaker[Session],
) -> None:
    """Two parcels failing in two batches, then both brought back: attempts is 1."""
    with transaction(sessions) as db:
        store_order(db, order("M1", parcels=2))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    batches = [
        [*_out("M1-1", at), *_out("M1-2", at)],
        [_failed("f1", "M1-1", at + timedelta(hours=2))],
        [_failed("f2", "M1-2", at + timedelta(hours=2, minutes=1))],
        [
            EventIn("r1", "M1-1", ScanKind.RETURNED_TO_DEPOT, at + timedelta(hours=8)),
            EventIn("r2", "M1-2", ScanKind.RETURNED_TO_DEPOT, at + timedelta(hours=8)),
        ],
    ]
    seen = []
    for batch in batches:
        with transaction(sessions) as db:
            ingest(db, batch, timezone=ZONE, now=at)
        with sessions() as db:
            row = db.get_one(t.Order, "M1")
            seen.append((row.status, row.attempts))
    assert seen == [
        ("out_for_delivery", 0),
        ("failed_attempt", 1),
        ("failed_attempt", 1),
        ("returned_to_depot", 1),
    ]


def test_the_last_allowed_failed_attempt_returns_the_order_to_its_sender(
    sessions: sessionmaker[Session],
) -> None:
    """With max_attempts 1 the first failure is return_to_sender, and a return scan keeps it."""
    with transaction(sessions) as db:
        store_order(db, order("S1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    back = EventIn("r1", "S1-1", ScanKind.RETURNED_TO_DEPOT, at + timedelta(hours=8))
    for batch in ([*_out("S1-1", at), _failed("f1", "S1-1", at + timedelta(hours=2))], [back]):
        with transaction(sessions) as db:
            outcomes = ingest(db, batch, timezone=ZONE, now=at, max_attempts=1)
        assert {o.status for o in outcomes} == {"accepted"}
        with sessions() as db:
            row = db.get_one(t.Order, "S1")
            assert (row.status, row.attempts) == ("return_to_sender", 1)
