"""Planning jobs: queued to done or failed, rows that match the document, progress, recovery."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import InputError
from doorstep.network.osrm import OsrmProvider
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.solver import Progress
from doorstep.service import (
    INTERRUPTED_BY_RESTART,
    INTERRUPTED_BY_SHUTDOWN,
    PlanningInterruptedError,
    PlanningJobs,
    PlanRequest,
    ProgressWriter,
    provider_for,
)
from doorstep.service.planning import OWNER_KEY, Owner, owned_request
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries.plans import load_orders
from service_data import DEPOT, VEHICLE, order, store_order

DAY = "2026-01-15"
QUICK: dict[str, Any] = {"time_limit_s": 0.3, "max_iterations": 200}
"""A short, reproducible search."""


@pytest.fixture
def jobs(sessions: sessionmaker[Session], database_url: str) -> Iterator[PlanningJobs]:
    """A planning worker with straight-line travel times."""
    settings = Settings(database_url=database_url, router="straight", dispatch_webhooks=False)
    worker = PlanningJobs(sessions, settings)
    yield worker
    worker.shutdown()


def add_fleet(db: Session, *vehicles: dict[str, Any]) -> None:
    """The test depot and ``vehicles`` (default: the test van)."""
    db.add(t.Depot(**DEPOT))
    db.flush()
    for vehicle in vehicles or (VEHICLE,):
        db.add(t.Vehicle(**vehicle))
    db.flush()


def add_plan(db: Session, plan_id: str = "p1", status: str = "queued", **request: Any) -> str:
    """A plan row asking for ``request``."""
    db.add(t.Plan(id=plan_id, day=DAY, status=status, request=PlanRequest(**request).as_json()))
    return plan_id


def add_route(db: Session, route_id: str, state: str, order_id: str) -> None:
    """A route of plan ``old`` in ``state`` with one stop, at ``order_id``."""
    db.add(
        t.Route(
            id=route_id,
            plan_id="old",
            vehicle_id=route_id,
            day=DAY,
            state=state,
            start_s=0,
            end_s=0,
            distance_m=0,
        )
    )
    db.flush()
    db.add(
        t.Stop(
            route_id=route_id,
            seq=1,
            order_id=order_id,
            leg_s=0,
            service_s=0,
            planned_arrival_s=0,
            planned_start_s=0,
            eta_s=0,
        )
    )


def subscribe(db: Session) -> None:
    """A webhook subscription to every event type."""
    db.add(
        t.WebhookSubscription(id="sub", url="https://shop.example/h", event_types=["*"], secret="s")
    )


def outbox(sessions: sessionmaker[Session]) -> list[t.OutboxMessage]:
    """Every queued webhook message, oldest first."""
    with sessions() as db:
        return list(db.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))


def plan_row(sessions: sessionmaker[Session], plan_id: str = "p1") -> t.Plan:
    """The plan row as stored now."""
    with sessions() as db:
        plan = db.get(t.Plan, plan_id)
        assert plan is not None
        return plan


def test_provider_for_builds_the_router_the_settings_name(tmp_path: Path) -> None:
    """Straight lines and OSRM are built; a missing source or .pbf file is a readable error."""
    assert isinstance(provider_for(Settings(router="straight")), StraightLineProvider)
    osrm = provider_for(Settings(router="osrm", router_source="http://localhost:5000"))
    assert isinstance(osrm, OsrmProvider)
    with pytest.raises(InputError, match="needs router_source"):
        provider_for(Settings(router="valhalla"))
    with pytest.raises(InputError, match="no such file"):
        provider_for(Settings(router="pbf", router_source=str(tmp_path / "none.pbf")))
    with pytest.raises(InputError, match="router_source"):
        provider_for(Settings(router="osrm", router_source="localhost:5000"))


def test_job_stores_routes_and_stops_that_match_the_document(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """Done: document stored, one Route per route, Stops with legs, windows and ETAs; plan.done."""
    with transaction(sessions) as db:
        subscribe(db)
        add_fleet(db)
        for k in range(1, 5):
            store_order(db, order(f"o{k}", k))
        add_plan(db, **QUICK)
    jobs.submit("p1").result(timeout=60)

    plan = plan_row(sessions)
    assert (plan.status, plan.error, plan.progress) == ("done", None, 1.0)
    assert plan.started_at is not None and plan.finished_at is not None
    document = plan.document
    assert document is not None and document["summary"]["served"] == 4
    with sessions() as db:
        routes = list(db.scalars(select(t.Route).where(t.Route.plan_id == "p1")))
        assert [r.vehicle_id for r in routes] == [r["vehicle_id"] for r in document["routes"]]
        for route, expected in zip(routes, document["routes"], strict=True):
            assert (route.id, route.state, route.day) == (f"p1-{route.vehicle_id}", "planned", DAY)
            assert (route.start_s, route.end_s) == (expected["start_s"], expected["end_s"])
            assert route.distance_m == expected["distance_m"]
            stops = list(
                db.scalars(select(t.Stop).where(t.Stop.route_id == route.id).order_by(t.Stop.seq))
            )
            visits = expected["visits"]
            assert [s.order_id for s in stops] == [v["order_id"] for v in visits]
            previous = route.start_s
            for stop, visit in zip(stops, visits, strict=True):
                assert stop.seq == visit["stop"]
                assert stop.leg_s == visit["arrival_s"] - previous > 0
                assert stop.planned_arrival_s == stop.eta_s == visit["arrival_s"]
                assert stop.planned_start_s == visit["start_s"]
                assert (stop.window_start_s, stop.window_end_s) == (9 * 3600, 12 * 3600)
                assert (stop.service_s, stop.state) == (180, "pending")
                previous = visit["departure_s"]
    messages = outbox(sessions)
    assert [m.event_type for m in messages] == ["plan.done"]
    data = messages[0].payload["data"]
    assert (data["plan_id"], data["status"], data["served"]) == ("p1", "done", 4)


def test_a_break_between_stops_is_not_counted_as_driving(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """With a break between two stops, leg_s is still the road time between them."""
    van = VEHICLE | {"break_start_s": 10 * 3600, "break_end_s": 11 * 3600, "break_s": 1800}
    early = order("early", 2, windows=[[9 * 3600, 9 * 3600 + 1800]])
    late = order("late", 4, windows=[[12 * 3600, 12 * 3600 + 1800]])
    with transaction(sessions) as db:
        add_fleet(db, van)
        store_order(db, early)
        store_order(db, late)
        add_plan(db, **QUICK)
    jobs.run("p1")

    plan = plan_row(sessions)
    assert plan.status == "done" and plan.document is not None
    (route,) = plan.document["routes"]
    assert [v["order_id"] for v in route["visits"]] == ["early", "late"]
    assert route["break"]["after_stop"] == 1
    road = StraightLineProvider().matrices(
        [Location(DEPOT["lat"], DEPOT["lon"])]
        + [Location(o["lat"], o["lon"]) for o in (early, late)],
        Profile.VAN,
    )
    with sessions() as db:
        legs = list(db.scalars(select(t.Stop.leg_s).order_by(t.Stop.seq)))
    assert legs == [int(road.durations[0, 1]), int(road.durations[1, 2])]


def test_an_order_no_vehicle_can_serve_is_unassigned_with_a_reason(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """An order needing a skill no vehicle has is left out with code no_skill and gets no stop."""
    with transaction(sessions) as db:
        add_fleet(db)
        store_order(db, order("plain", 1))
        store_order(db, order("frozen", 2, skills=["freezer"]))
        add_plan(db, **QUICK)
    jobs.run("p1")

    plan = plan_row(sessions)
    assert plan.status == "done" and plan.document is not None
    (left_out,) = plan.document["unassigned"]
    assert (left_out["order_id"], left_out["code"]) == ("frozen", "no_skill")
    assert "freezer" in left_out["reason"]
    with sessions() as db:
        assert list(db.scalars(select(t.Stop.order_id))) == ["plain"]


def test_a_job_with_nothing_to_plan_fails_with_a_readable_error(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """No orders, or an unknown vehicle: failed, the error says why, plan.failed is queued."""
    with transaction(sessions) as db:
        subscribe(db)
        add_fleet(db)
        add_plan(db, "empty", **QUICK)
    jobs.run("empty")
    plan = plan_row(sessions, "empty")
    assert plan.status == "failed" and plan.error is not None
    assert plan.error.startswith("no orders to plan")
    assert plan.finished_at is not None and plan.document is None

    with transaction(sessions) as db:
        store_order(db, order("o1", 1))
        add_plan(db, "ghost", vehicle_ids=("ghost",), **QUICK)
    jobs.run("ghost")
    assert plan_row(sessions, "ghost").error == "unknown vehicles: ghost"
    failed = [m.payload["data"] for m in outbox(sessions) if m.event_type == "plan.failed"]
    assert [(d["plan_id"], d["error"][:17]) for d in failed] == [
        ("empty", "no orders to plan"),
        ("ghost", "unknown vehicles:"),
    ]


def test_by_default_only_orders_not_yet_handed_out_are_planned(
    sessions: sessionmaker[Session],
) -> None:
    """Orders with another status, or on a published route, are left to their plans."""
    with transaction(sessions) as db:
        for k, name in enumerate(("fresh", "planned", "on_route", "on_draft")):
            store_order(db, order(name, k))
        db.get_one(t.Order, "planned").status = "planned"
        add_plan(db, "old", status="published")
        add_route(db, "r1", "published", "on_route")
        add_route(db, "r2", "planned", "on_draft")
    with sessions() as db:
        assert [o.id for o in load_orders(db, None)] == ["fresh", "on_draft"]
        assert [o.id for o in load_orders(db, ["planned"])] == ["planned"]
        with pytest.raises(InputError, match="unknown orders: nope"):
            load_orders(db, ["fresh", "nope"])


def store_paired(db: Session, pickup: str, delivery: str, k: int = 1) -> None:
    """A pickup and a delivery paired with it, written as rows (no service checks)."""
    store_order(db, order(pickup, k))
    store_order(db, order(delivery, k + 1))
    db.get_one(t.Order, pickup).kind = "pickup"
    db.get_one(t.Order, delivery).paired_pickup = pickup


def test_a_pickup_and_its_delivery_are_planned_together(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """Asking for the delivery (or the pickup) of a pair plans both, on one route."""
    with transaction(sessions) as db:
        add_fleet(db)
        store_paired(db, "P1", "D1")
        store_order(db, order("o3", 3))
        add_plan(db, order_ids=("D1",), **QUICK)
    with sessions() as db:
        assert [o.id for o in load_orders(db, ["D1"])] == ["D1", "P1"]
        assert [o.id for o in load_orders(db, ["P1", "o3"])] == ["D1", "P1", "o3"]
    jobs.run("p1")
    plan = plan_row(sessions)
    assert plan.status == "done" and plan.document is not None, plan.error
    (route,) = plan.document["routes"]
    assert [v["order_id"] for v in route["visits"]] == ["P1", "D1"]


def test_a_pairing_with_a_missing_pickup_fails_with_a_readable_error(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A delivery paired with no existing order fails the plan with a sentence, not KeyError."""
    with transaction(sessions) as db:
        add_fleet(db)
        store_order(db, order("o1", 1))
        store_order(db, order("D1", 2))
        db.get_one(t.Order, "D1").paired_pickup = "NOPE"
        add_plan(db, **QUICK)
    jobs.run("p1")
    plan = plan_row(sessions)
    assert plan.status == "failed" and plan.error is not None
    assert plan.error.startswith("order D1 is paired with pickup NOPE, which is not in this plan")


def test_progress_is_written_at_most_every_half_second(sessions: sessionmaker[Session]) -> None:
    """Reports closer than every_s are dropped; progress is elapsed over the time limit."""
    with transaction(sessions) as db:
        add_plan(db, status="running")
    now = [100.0]
    writer = ProgressWriter(sessions, "p1", time_limit_s=2.0, clock=lambda: now[0])

    writer(Progress(0.5, 10.0, True))
    assert (plan_row(sessions).progress, plan_row(sessions).best_cost) == (0.25, 10.0)
    now[0] += 0.2
    writer(Progress(0.7, 5.0, True))
    assert (plan_row(sessions).progress, plan_row(sessions).best_cost) == (0.25, 10.0)
    now[0] += 0.4
    writer(Progress(1.5, None, False))
    assert (plan_row(sessions).progress, plan_row(sessions).best_cost) == (0.75, 10.0)
    now[0] += 1.0
    writer(Progress(5.0, 4.0, True))
    assert (plan_row(sessions).progress, plan_row(sessions).best_cost) == (0.99, 4.0)
    assert writer.writes == 3

    writer.stopping.set()
    with pytest.raises(PlanningInterruptedError):
        writer(Progress(6.0, 3.0, True))


def test_recover_marks_plans_interrupted_by_a_crash_as_failed(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """Queued and running plans with no owner become failed ('interrupted by a restart')."""
    with transaction(sessions) as db:
        subscribe(db)
        add_plan(db, "queued", status="queued")
        add_plan(db, "running", status="running")
        add_plan(db, "done", status="done")
    assert sorted(jobs.recover()) == ["queued", "running"]
    for plan_id in ("queued", "running"):
        plan = plan_row(sessions, plan_id)
        assert (plan.status, plan.error) == ("failed", INTERRUPTED_BY_RESTART)
    assert plan_row(sessions, "done").status == "done"
    assert sorted(m.payload["data"]["plan_id"] for m in outbox(sessions)) == ["queued", "running"]
    assert jobs.recover() == []

    jobs.run("queued")
    assert plan_row(sessions, "queued").status == "failed"


def add_owned_plan(
    sessions: sessionmaker[Session], owner: dict[str, Any] | None, status: str = "running"
) -> None:
    """Plan ``p1`` in ``status``, owned by ``owner`` (``None``: no owner recorded)."""
    request = PlanRequest().as_json()
    if owner is not None:
        request[OWNER_KEY] = owner
    with transaction(sessions) as db:
        db.add(t.Plan(id="p1", day=DAY, status=status, request=request))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_recover_leaves_the_plans_of_this_live_process_alone(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A running plan owned by this process (host, pid and boot id) stays running."""
    with transaction(sessions) as db:
        subscribe(db)
    add_owned_plan(sessions, Owner.current().as_json())
    assert jobs.recover() == []
    assert (plan_row(sessions).status, plan_row(sessions).error) == ("running", None)
    assert outbox(sessions) == []


def test_recover_leaves_the_plans_of_a_live_sibling_alone(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A queued plan owned by another live process on this host stays queued."""
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = Owner(socket.gethostname(), sibling.pid, "sibling")
        add_owned_plan(sessions, owner.as_json(), status="queued")
        assert jobs.recover() == []
        assert plan_row(sessions).status == "queued"
    finally:
        sibling.kill()
        sibling.wait()


def test_recover_fails_a_plan_whose_process_has_died(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A running plan owned by a pid of this host that is no longer alive is failed."""
    with transaction(sessions) as db:
        subscribe(db)
    add_owned_plan(sessions, Owner(socket.gethostname(), dead_pid(), "gone").as_json())
    assert jobs.recover() == ["p1"]
    plan = plan_row(sessions)
    assert (plan.status, plan.error) == ("failed", INTERRUPTED_BY_RESTART)
    assert [m.event_type for m in outbox(sessions)] == ["plan.failed"]


def test_recover_fails_a_plan_of_an_earlier_process_with_this_pid(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """Same host and pid but another boot id: the pid was reused, so the plan is failed."""
    me = Owner.current()
    add_owned_plan(sessions, Owner(me.host, me.pid, "an earlier boot").as_json())
    assert jobs.recover() == ["p1"]
    assert (plan_row(sessions).status, plan_row(sessions).error) == (
        "failed",
        INTERRUPTED_BY_RESTART,
    )


def test_recover_fails_a_plan_without_an_owner(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """No owner recorded, or one that cannot be read (pid 0, no boot id): failed."""
    me = Owner.current().as_json()
    unreadable = [None, "me", me | {"pid": 0}, me | {"pid": True}, me | {"boot": ""}]
    with transaction(sessions) as db:
        for k, owner in enumerate(unreadable):
            request = PlanRequest().as_json()
            if owner is not None:
                request[OWNER_KEY] = owner
            db.add(t.Plan(id=f"p{k}", day=DAY, status="running", request=request))
    assert sorted(jobs.recover()) == [f"p{k}" for k in range(len(unreadable))]


def test_recover_leaves_the_plans_of_another_host_alone(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A plan owned by another host is not failed here, even if its pid is dead here."""
    other = socket.gethostname() + "-elsewhere"
    add_owned_plan(sessions, Owner(other, dead_pid(), "theirs").as_json())
    assert jobs.recover() == []
    assert plan_row(sessions).status == "running"


def test_owned_request_records_this_process_and_reads_back_as_the_request() -> None:
    """The stored request names this process as owner; the job still reads its request."""
    request = PlanRequest(order_ids=("o1",), seed=3)
    stored = owned_request(request)
    assert stored[OWNER_KEY] == {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "boot": Owner.current().boot,
    }
    assert Owner.from_json(stored[OWNER_KEY]) == Owner.current()
    assert PlanRequest.from_json(stored) == request


def test_shutdown_abandons_a_running_search(
    jobs: PlanningJobs, sessions: sessionmaker[Session]
) -> None:
    """A 60 s search stops within seconds of shutdown; it and the queued plans fail."""
    with transaction(sessions) as db:
        add_fleet(db)
        for k in range(1, 4):
            store_order(db, order(f"o{k}", k))
        add_plan(db, time_limit_s=60.0)
        add_plan(db, "p2", **QUICK)
        add_plan(db, "p3", **QUICK)
    future = jobs.submit("p1")
    queued = jobs.submit("p2")
    deadline = time.monotonic() + 30
    while plan_row(sessions).progress == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert plan_row(sessions).status == "running" and plan_row(sessions).progress > 0
    stopped = time.monotonic()
    jobs.shutdown()
    assert future.done() and time.monotonic() - stopped < 10
    assert queued.cancelled()
    late = jobs.submit("p3")
    assert late.done()
    for plan_id in ("p1", "p2", "p3"):
        plan = plan_row(sessions, plan_id)
        assert (plan.status, plan.error) == ("failed", INTERRUPTED_BY_SHUTDOWN), plan_id
