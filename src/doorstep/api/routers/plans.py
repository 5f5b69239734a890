"""Plans (planning jobs and their results) and the routes drivers drive.

``POST /v1/plans`` queues a job and answers 202 at once; ``GET /v1/plans/{id}``
shows its status and progress and, once done, the plan: summary KPIs, routes
with their visits and ETAs, orders left out with reasons, violations (as in
``plan.json``, ``docs/plan-json.md``). Publishing a done plan assigns a driver
to each route; a driver's key then reads its own routes under ``/v1/routes``.
Clock times are seconds after midnight of the plan's day in the service's time
zone; ETAs are also given as ISO date-times in that zone.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.deps import Config, Db
from doorstep.api.problems import ProblemError, not_found
from doorstep.api.security import Principal, Role, require
from doorstep.dispatch.state import stop_state
from doorstep.domain.order import Address, OrderKind
from doorstep.notify.outbox import Subscribers, enqueue
from doorstep.plan.problem import Objective
from doorstep.service.planning import (
    OWNER_KEY,
    PUBLISHED_ROUTE_STATES,
    PlanningJobs,
    PlanRequest,
    PlanStatus,
    owned_request,
)
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.units import format_clock

router = APIRouter(prefix="/v1", tags=["plans"])

Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
Reader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER))]
RouteReader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER, Role.DRIVER))]

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]

MAX_TIME_LIMIT_S = 600.0
"""Longest search a request may ask for."""


def start_planning(app: FastAPI) -> PlanningJobs:
    """Start the planning worker as ``app.state.planning`` (call at startup).

    Plans left queued or running by a process that is gone (a previous run, or
    a crashed sibling worker) are marked failed first; plans of live sibling
    workers are left to them
    (:meth:`~doorstep.service.planning.PlanningJobs.recover`).

    Parameters
    ----------
    app
        The application; ``app.state`` must hold ``sessions`` and ``settings``.

    Returns
    -------
    PlanningJobs
        The worker.
    """
    jobs = PlanningJobs(app.state.sessions, app.state.settings)
    jobs.recover()
    app.state.planning = jobs
    return jobs


async def stop_planning(app: FastAPI) -> None:
    """Stop the planning worker (await it at shutdown) without blocking the event loop.

    New plans are refused (503) at once; the running search is abandoned and the
    queued plans fail. Waiting for the worker thread to finish happens in
    another thread, so the event loop keeps serving meanwhile.

    Parameters
    ----------
    app
        The application started with :func:`start_planning`.
    """
    jobs: PlanningJobs | None = getattr(app.state, "planning", None)
    if jobs is not None:
        app.state.planning = None
        await asyncio.to_thread(jobs.shutdown)


def planning_jobs(request: Request) -> PlanningJobs:
    """The planning worker (503 when it is not running)."""
    jobs: PlanningJobs | None = getattr(request.app.state, "planning", None)
    if jobs is None:
        raise ProblemError(503, "planning_unavailable", "Planning is not running; try again.")
    return jobs


Jobs = Annotated[PlanningJobs, Depends(planning_jobs)]


class PlanIn(BaseModel):
    """A planning job: which day, which orders and vehicles, how to search."""

    model_config = ConfigDict(extra="forbid")
    day: date
    order_ids: list[Id] | None = Field(default=None, min_length=1, max_length=10_000)
    """Default: every order with status ``created`` that is on no published route."""
    vehicle_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1_000)
    """Default: every vehicle."""
    objective: Objective = Objective.COST
    time_limit_s: float | None = Field(default=None, gt=0, le=MAX_TIME_LIMIT_S)
    """Seconds of search; default: the service's ``plan_time_limit_s``."""
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    max_iterations: int | None = Field(default=None, ge=1, le=10**8)
    """Stop the search after this many iterations too (reproducible plans)."""


class PublishIn(BaseModel):
    """Which driver drives which route: ``{vehicle_id: driver_id}``.

    Routes not listed go to the driver whose ``vehicle_id`` is the route's vehicle.
    """

    model_config = ConfigDict(extra="forbid")
    assignments: dict[Id, Id] = Field(default_factory=dict, max_length=1_000)


class PlanOut(BaseModel):
    """A plan's status (times in UTC; ``best_cost`` as the search reports it)."""

    id: str
    day: str
    status: PlanStatus
    progress: float
    best_cost: float | None
    error: str | None
    request: dict[str, Any]
    """What was asked for; which process runs the plan is not shown."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    published_at: datetime | None
    links: dict[str, str]


class UnassignedOut(BaseModel):
    """An order the plan leaves out, with a code and a sentence saying why."""

    order_id: str
    code: str
    reason: str


class ViolationOut(BaseModel):
    """A constraint the plan breaks."""

    code: str
    vehicle_id: str | None
    order_id: str | None
    message: str
    amount: int


class PlanDetail(PlanOut):
    """A plan; once done, its result.

    ``summary`` and ``routes`` are those of ``plan.json`` (``docs/plan-json.md``);
    each route also has its ``id``, ``driver_id`` and ``state``, and each visit
    its current ``eta_s`` / ``eta`` and ``state``. They are null until the plan
    is done.
    """

    summary: dict[str, Any] | None = None
    routes: list[dict[str, Any]] | None = None
    unassigned: list[UnassignedOut] | None = None
    violations: list[ViolationOut] | None = None


class RouteOut(BaseModel):
    """A route (clock times in seconds after midnight of ``day``, and as ``HH:MM``)."""

    id: str
    plan_id: str
    vehicle_id: str
    driver_id: str | None
    day: str
    state: str
    start: str
    end: str
    start_s: int
    end_s: int
    distance_m: int
    stop_count: int
    links: dict[str, str]


class StopOut(BaseModel):
    """A stop: where, when (planned and the current ETA) and what happened."""

    seq: int
    order_id: str
    kind: str
    address: str
    lat: float
    lon: float
    parcels: int
    notes: str
    window: str | None
    window_start_s: int | None
    window_end_s: int | None
    service_s: int
    leg_s: int
    planned_arrival: str
    planned_arrival_s: int
    planned_start: str
    planned_start_s: int
    eta: str
    """Clock time ``HH:MM``."""
    eta_s: int
    eta_at: datetime
    """The same moment as an ISO date-time in the service's time zone."""
    state: str
    arrived_at: datetime | None
    finished_at: datetime | None


class RouteDetail(RouteOut):
    """A route with its stops in visiting order."""

    stops: list[StopOut]


def clock_datetime(day: str, seconds: int, zone: ZoneInfo) -> datetime:
    """The moment ``seconds`` after midnight of ``day`` on the clocks of ``zone``.

    Parameters
    ----------
    day
        ISO date.
    seconds
        Clock time in seconds after midnight (more than a day: a later day).
    zone
        The service's time zone.

    Returns
    -------
    datetime
        Timezone-aware; on a day the clocks change, clock time is kept (09:00 is 09:00).
    """
    midnight = datetime.combine(date.fromisoformat(day), clock_time(0), tzinfo=zone)
    return midnight + timedelta(seconds=seconds)


def _plan_links(plan: t.Plan) -> dict[str, str]:
    links = {"self": f"/v1/plans/{plan.id}"}
    if plan.status == PlanStatus.DONE.value:
        links["publish"] = f"/v1/plans/{plan.id}/publish"
    if plan.status in (PlanStatus.DONE.value, PlanStatus.PUBLISHED.value):
        links["routes"] = f"/v1/routes?plan_id={plan.id}"
    return links


def _plan_fields(plan: t.Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "day": plan.day,
        "status": PlanStatus(plan.status),
        "progress": plan.progress,
        "best_cost": plan.best_cost,
        "error": plan.error,
        "request": {k: v for k, v in plan.request.items() if k != OWNER_KEY},
        "created_at": plan.created_at,
        "started_at": plan.started_at,
        "finished_at": plan.finished_at,
        "published_at": plan.published_at,
        "links": _plan_links(plan),
    }


def _plan_detail(db: Session, plan: t.Plan) -> PlanDetail:
    out = PlanDetail(**_plan_fields(plan))
    document = plan.document
    if document is None:
        return out
    routes = {
        r.vehicle_id: r for r in db.scalars(select(t.Route).where(t.Route.plan_id == plan.id))
    }
    stops = {
        (s.route_id, s.seq): s
        for s in db.scalars(
            select(t.Stop).where(t.Stop.route_id.in_([r.id for r in routes.values()]))
        )
    }
    merged: list[dict[str, Any]] = []
    for entry in document.get("routes", []):
        row = routes.get(entry["vehicle_id"])
        route = dict(entry)
        if row is not None:
            route |= {"id": row.id, "driver_id": row.driver_id, "state": row.state}
            visits = []
            for visit in entry.get("visits", []):
                stop = stops.get((row.id, visit["stop"]))
                if stop is not None:
                    visit = {
                        **visit,
                        "eta": format_clock(stop.eta_s),
                        "eta_s": stop.eta_s,
                        "state": stop.state,
                    }
                visits.append(visit)
            route["visits"] = visits
        merged.append(route)
    out.summary = document.get("summary")
    out.routes = merged
    out.unassigned = [UnassignedOut(**u) for u in document.get("unassigned", [])]
    out.violations = [ViolationOut(**v) for v in document.get("violations", [])]
    return out


def _check_known(db: Session, table: type[t.Order] | type[t.Vehicle], ids: list[str]) -> None:
    what = "order" if table is t.Order else "vehicle"
    known = set(db.scalars(select(table.id).where(table.id.in_(set(ids)))))
    errors = [
        {"field": f"body.{what}_ids[{k}]", "message": f"unknown {what}"}
        for k, ident in enumerate(ids)
        if ident not in known
    ]
    if errors:
        missing = sorted({i for i in ids if i not in known})
        raise ProblemError(
            422,
            f"unknown_{what}s",
            f"No {what} with id {', '.join(repr(i) for i in missing[:10])}.",
            errors[:50],
        )


def _check_open(db: Session, ids: list[str]) -> None:
    """Refuse orders that are finished: delivered, or (returns) collected."""
    rows = db.execute(select(t.Order.id, t.Order.kind, t.Order.status).where(t.Order.id.in_(ids)))
    closed = {
        ident: status
        for ident, kind, status in rows
        if stop_state(status, OrderKind(kind)) == "done"
    }
    if closed:
        names = sorted(closed)
        raise ProblemError(
            409,
            "orders_closed",
            f"Orders {', '.join(repr(i) for i in names[:10])} are finished "
            f"({', '.join(sorted(set(closed.values())))}) and cannot be planned again; "
            "leave them out of order_ids.",
            [
                {"field": f"body.order_ids[{k}]", "message": f"order is {closed[ident]}"}
                for k, ident in enumerate(ids)
                if ident in closed
            ][:50],
        )


@router.post("/plans", status_code=status.HTTP_202_ACCEPTED, response_model=PlanOut)
def create_plan(
    body: PlanIn, request: Request, response: Response, jobs: Jobs, _: Planner
) -> PlanOut:
    """Queue a planning job; poll the plan's ``self`` link for its progress and result."""
    order_ids = None if body.order_ids is None else list(dict.fromkeys(body.order_ids))
    vehicle_ids = None if body.vehicle_ids is None else list(dict.fromkeys(body.vehicle_ids))
    job = PlanRequest(
        order_ids=None if order_ids is None else tuple(order_ids),
        vehicle_ids=None if vehicle_ids is None else tuple(vehicle_ids),
        objective=body.objective,
        time_limit_s=body.time_limit_s,
        seed=body.seed,
        max_iterations=body.max_iterations,
    )
    # Committed here, not in the request's transaction (which ends after the
    # response): the worker must find the row when it starts.
    sessions: sessionmaker[Session] = request.app.state.sessions
    with transaction(sessions) as db:
        if order_ids is not None:
            _check_known(db, t.Order, order_ids)
            _check_open(db, order_ids)
        if vehicle_ids is not None:
            _check_known(db, t.Vehicle, vehicle_ids)
        plan = t.Plan(
            id="plan_" + secrets.token_hex(8),
            day=body.day.isoformat(),
            status=PlanStatus.QUEUED.value,
            progress=0.0,
            request=owned_request(job),
        )
        db.add(plan)
        db.flush()
        out = PlanOut(**_plan_fields(plan))
    jobs.submit(plan.id)
    response.headers["Location"] = out.links["self"]
    return out


@router.get("/plans", response_model=list[PlanOut])
def list_plans(
    db: Db,
    _: Reader,
    day: date | None = None,
    plan_status: Annotated[PlanStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PlanOut]:
    """Plans, newest first (optionally of one day or in one status)."""
    query = select(t.Plan).order_by(t.Plan.created_at.desc(), t.Plan.id.desc()).limit(limit)
    if day is not None:
        query = query.where(t.Plan.day == day.isoformat())
    if plan_status is not None:
        query = query.where(t.Plan.status == plan_status.value)
    return [PlanOut(**_plan_fields(p)) for p in db.scalars(query)]


@router.get("/plans/{plan_id}", response_model=PlanDetail)
def get_plan(plan_id: str, db: Db, _: Reader) -> PlanDetail:
    """A plan: status and progress, and once done its routes, left-out orders and violations."""
    plan = db.get(t.Plan, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    return _plan_detail(db, plan)


def _drivers_for(db: Session, routes: list[t.Route], assignments: dict[str, str]) -> dict[str, str]:
    """Route id -> driver id, checked (422 naming what is wrong)."""
    by_vehicle = {r.vehicle_id: r for r in routes}
    stray = [v for v in assignments if v not in by_vehicle]
    if stray:
        raise ProblemError(
            422,
            "vehicle_not_in_plan",
            f"No route of this plan uses vehicle {', '.join(repr(v) for v in stray)}.",
            [
                {"field": f"body.assignments.{v}", "message": "not a vehicle of this plan"}
                for v in stray
            ],
        )
    wanted = set(assignments.values())
    known = set(db.scalars(select(t.Driver.id).where(t.Driver.id.in_(wanted))))
    unknown = {v: d for v, d in assignments.items() if d not in known}
    if unknown:
        raise ProblemError(
            422,
            "unknown_driver",
            f"No driver with id {', '.join(sorted(repr(d) for d in set(unknown.values())))}; "
            "create them first (POST /v1/drivers).",
            [{"field": f"body.assignments.{v}", "message": "unknown driver"} for v in unknown],
        )
    regular: dict[str, str] = {}
    for driver in db.scalars(
        select(t.Driver).where(t.Driver.vehicle_id.in_(list(by_vehicle))).order_by(t.Driver.id)
    ):
        assert driver.vehicle_id is not None
        regular.setdefault(driver.vehicle_id, driver.id)
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for route in routes:
        driver_id = assignments.get(route.vehicle_id) or regular.get(route.vehicle_id)
        if driver_id is None:
            missing.append(route.vehicle_id)
        else:
            chosen[route.id] = driver_id
    if missing:
        raise ProblemError(
            422,
            "route_without_driver",
            f"No driver for the route of {', '.join(repr(v) for v in missing)}: give "
            "assignments {vehicle_id: driver_id}, or set a driver's vehicle_id.",
            [{"field": f"body.assignments.{v}", "message": "no driver"} for v in missing],
        )
    twice = sorted(d for d, n in Counter(chosen.values()).items() if n > 1)
    if twice:
        raise ProblemError(
            422,
            "driver_assigned_twice",
            f"Driver {', '.join(repr(d) for d in twice)} would drive two routes of this plan.",
        )
    return chosen


@router.post("/plans/{plan_id}/publish", response_model=PlanDetail)
def publish_plan(plan_id: str, db: Db, _: Planner, body: PublishIn | None = None) -> PlanDetail:
    """Hand a done plan's routes to their drivers; their orders become ``planned``."""
    plan = db.get(t.Plan, plan_id, with_for_update=True)
    if plan is None:
        raise not_found("plan", plan_id)
    if plan.status != PlanStatus.DONE.value:
        raise ProblemError(
            409,
            "plan_not_done",
            f"Plan {plan_id!r} is {plan.status}; only a done plan can be published.",
        )
    routes = list(
        db.scalars(select(t.Route).where(t.Route.plan_id == plan_id).order_by(t.Route.id))
    )
    drivers = _drivers_for(db, routes, (body or PublishIn()).assignments)
    route_ids = [r.id for r in routes]
    order_ids = set(db.scalars(select(t.Stop.order_id).where(t.Stop.route_id.in_(route_ids))))
    taken = sorted(
        set(
            db.scalars(
                select(t.Stop.order_id)
                .join(t.Route, t.Route.id == t.Stop.route_id)
                .where(
                    t.Route.plan_id != plan_id,
                    t.Route.state.in_(PUBLISHED_ROUTE_STATES),
                    t.Stop.order_id.in_(order_ids),
                )
            )
        )
    )
    if taken:
        raise ProblemError(
            409,
            "orders_already_published",
            f"Orders {', '.join(taken[:10])} are on routes published by another plan.",
        )
    for route in routes:
        route.driver_id = drivers[route.id]
        route.state = "published"
    subscribers = Subscribers.load(db)
    for order in db.scalars(select(t.Order).where(t.Order.id.in_(order_ids))):
        if order.status == "created":
            subscribers.enqueue(
                db,
                "order.status_changed",
                {"order_id": order.id, "from": "created", "to": "planned"},
            )
            order.status = "planned"
    plan.status = PlanStatus.PUBLISHED.value
    plan.published_at = t.utcnow()
    enqueue(
        db,
        "plan.published",
        {
            "plan_id": plan.id,
            "day": plan.day,
            "routes": [
                {"route_id": r.id, "vehicle_id": r.vehicle_id, "driver_id": r.driver_id}
                for r in routes
            ],
        },
    )
    db.flush()
    return _plan_detail(db, plan)


def _route_out(route: t.Route, stops: int) -> dict[str, Any]:
    return {
        "id": route.id,
        "plan_id": route.plan_id,
        "vehicle_id": route.vehicle_id,
        "driver_id": route.driver_id,
        "day": route.day,
        "state": route.state,
        "start": format_clock(route.start_s),
        "end": format_clock(route.end_s),
        "start_s": route.start_s,
        "end_s": route.end_s,
        "distance_m": route.distance_m,
        "stop_count": stops,
        "links": {"self": f"/v1/routes/{route.id}", "plan": f"/v1/plans/{route.plan_id}"},
    }


def _visible(principal: Principal, route: t.Route) -> bool:
    """Whether ``principal`` may see ``route`` (a driver: its own published routes)."""
    if principal.role is not Role.DRIVER:
        return True
    return route.driver_id == principal.driver_id and route.state in PUBLISHED_ROUTE_STATES


@router.get("/routes", response_model=list[RouteOut])
def list_routes(
    db: Db,
    principal: RouteReader,
    day: date | None = None,
    plan_id: str | None = None,
) -> list[RouteOut]:
    """Routes (of a day, of a plan); a driver's key sees only its own published routes."""
    query = select(t.Route).order_by(t.Route.day, t.Route.plan_id, t.Route.start_s, t.Route.id)
    if day is not None:
        query = query.where(t.Route.day == day.isoformat())
    if plan_id is not None:
        query = query.where(t.Route.plan_id == plan_id)
    if principal.role is Role.DRIVER:
        query = query.where(
            t.Route.driver_id == principal.driver_id,
            t.Route.state.in_(PUBLISHED_ROUTE_STATES),
        )
    routes = list(db.scalars(query))
    counts: dict[str, int] = {
        route_id: count
        for route_id, count in db.execute(
            select(t.Stop.route_id, func.count())
            .where(t.Stop.route_id.in_([r.id for r in routes]))
            .group_by(t.Stop.route_id)
        )
    }
    return [RouteOut(**_route_out(r, counts.get(r.id, 0))) for r in routes]


@router.get("/routes/{route_id}", response_model=RouteDetail)
def get_route(route_id: str, db: Db, principal: RouteReader, config: Config) -> RouteDetail:
    """A route with its stops in order; a driver asking for another's route gets 404."""
    route = db.get(t.Route, route_id)
    if route is None or not _visible(principal, route):
        raise not_found("route", route_id)
    zone = ZoneInfo(config.timezone)
    rows = db.execute(
        select(t.Stop, t.Order)
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .where(t.Stop.route_id == route_id)
        .order_by(t.Stop.seq)
    )
    stops = [
        StopOut(
            seq=stop.seq,
            order_id=order.id,
            kind=order.kind,
            address=str(Address(order.street, order.unit, order.zip, order.city)),
            lat=order.lat,
            lon=order.lon,
            parcels=order.parcels,
            notes=order.notes,
            window=None
            if stop.window_start_s is None or stop.window_end_s is None
            else f"{format_clock(stop.window_start_s)}-{format_clock(stop.window_end_s)}",
            window_start_s=stop.window_start_s,
            window_end_s=stop.window_end_s,
            service_s=stop.service_s,
            leg_s=stop.leg_s,
            planned_arrival=format_clock(stop.planned_arrival_s),
            planned_arrival_s=stop.planned_arrival_s,
            planned_start=format_clock(stop.planned_start_s),
            planned_start_s=stop.planned_start_s,
            eta=format_clock(stop.eta_s),
            eta_s=stop.eta_s,
            eta_at=clock_datetime(route.day, stop.eta_s, zone),
            state=stop.state,
            arrived_at=stop.arrived_at,
            finished_at=stop.finished_at,
        )
        for stop, order in rows
    ]
    return RouteDetail(**_route_out(route, len(stops)), stops=stops)
