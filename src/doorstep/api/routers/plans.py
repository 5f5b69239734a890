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
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.deps import Config, Db, Id, Planner, PlanReader, RouteReader
from doorstep.api.problems import ProblemError, not_found
from doorstep.api.security import Principal, Role
from doorstep.domain.order import Address
from doorstep.domain.plan_states import PUBLISHED_ROUTE_STATES, PlanStatus
from doorstep.plan.problem import Lock, Objective
from doorstep.service import plans as rules
from doorstep.service.owner import OWNER_KEY
from doorstep.service.planning import PlanningJobs, PlanRequest
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries import plans as q
from doorstep.store.queries.orders import parcels_of
from doorstep.units import format_clock

router = APIRouter(prefix="/v1", tags=["plans"])


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


class LockIn(BaseModel):
    """A person's override: ``order_id`` must be on ``vehicle_id``'s route.

    With ``position`` (0: first stop), the locks of a vehicle with positions are
    its first stops, in that order.
    """

    model_config = ConfigDict(extra="forbid")
    order_id: Id
    vehicle_id: Id
    position: int | None = Field(default=None, ge=0, le=10_000)


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
    locks: list[LockIn] = Field(default_factory=list, max_length=10_000)
    """Orders pinned to vehicles."""
    warm_start: Id | Annotated[dict[Id, list[Id]], Field(max_length=1_000)] | None = None
    """Where the search starts: a previous plan's id, or ``{vehicle_id: [order_ids]}``."""


class PublishIn(BaseModel):
    """Which driver drives which route: ``{vehicle_id: driver_id}``.

    Routes not listed go to the driver whose ``vehicle_id`` is the route's vehicle.
    """

    model_config = ConfigDict(extra="forbid")
    assignments: dict[Id, Id] = Field(default_factory=dict, max_length=1_000)


class PlanOut(BaseModel):
    """A plan's status (times in UTC).

    One cost, in money: ``cost``, the plan's cost in the fleet's currency units
    (``summary.cost``), once the plan is done. ``search_objective`` is the
    number the search minimises (the backend's own units, drop penalties and
    weights included), to watch a search improve; it is not money.
    ``best_cost`` is kept for older clients: ``cost`` once done, before that the
    ``search_objective``.
    """

    id: str
    day: str
    status: PlanStatus
    progress: float
    cost: float | None
    """The plan's cost in currency units (``summary.cost``); null until done."""
    search_objective: float | None
    """The search's best objective so far (not money); null until the search reports one."""
    best_cost: float | None
    """Deprecated: ``cost`` once done, ``search_objective`` before."""
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
    version: int = 1
    """1 as planned; each accepted dispatch proposal that changes it makes the next."""
    replaces: str | None = None
    replaced_by: str | None = None
    """Set when a newer version replaced this one (its state is then ``superseded``)."""
    links: dict[str, str]


class ContactOut(BaseModel):
    """Who to call at a stop."""

    name: str
    phone: str
    email: str


class BreakOut(BaseModel):
    """The driver's planned break (clock times as ``HH:MM`` and in seconds after midnight)."""

    after_stop: int
    """The break is taken after this stop (its ``seq``)."""
    start: str
    end: str
    start_s: int
    end_s: int
    duration_s: int


class StopOut(BaseModel):
    """A stop: where, when (planned and the current ETA), what to scan and what happened."""

    seq: int
    order_id: str
    kind: str
    address: str
    lat: float
    lon: float
    parcels: int
    parcel_ids: list[str]
    """The barcodes to scan at this stop."""
    contact: ContactOut
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
    """A route with its stops in visiting order, and the driver's planned break."""

    model_config = ConfigDict(populate_by_name=True)
    break_: BreakOut | None = Field(default=None, alias="break")
    """``null`` when the route has no break."""
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
    summary = (plan.document or {}).get("summary") or {}
    cost = summary.get("cost")
    return {
        "id": plan.id,
        "day": plan.day,
        "status": PlanStatus(plan.status),
        "progress": plan.progress,
        "cost": cost,
        "search_objective": plan.best_cost,
        "best_cost": plan.best_cost if cost is None else cost,
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
    routes = {r.vehicle_id: r for r in q.routes_of(db, plan.id)}
    stops = {(s.route_id, s.seq): s for s in q.stops_of(db, [r.id for r in routes.values()])}
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
        locks=tuple(Lock(k.order_id, k.vehicle_id, k.position) for k in body.locks),
        warm_start=None
        if not isinstance(body.warm_start, dict)
        else {v: tuple(ids) for v, ids in body.warm_start.items()},
    )
    warm_plan = body.warm_start if isinstance(body.warm_start, str) else None
    # Committed here, not in the request's transaction (which ends after the
    # response): the worker must find the row when it starts.
    sessions: sessionmaker[Session] = request.app.state.sessions
    with transaction(sessions) as db:
        queued = rules.queue_plan(
            db, body.day, job, warm_plan, max_attempts=jobs.settings.max_attempts
        )
        out = PlanOut(**_plan_fields(queued))
    jobs.submit(out.id)
    response.headers["Location"] = out.links["self"]
    return out


@router.get("/plans", response_model=list[PlanOut])
def list_plans(
    db: Db,
    _: PlanReader,
    day: date | None = None,
    plan_status: Annotated[PlanStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PlanOut]:
    """Plans, newest first (optionally of one day or in one status)."""
    return [PlanOut(**_plan_fields(p)) for p in q.find_plans(db, day, plan_status, limit)]


@router.get("/plans/{plan_id}", response_model=PlanDetail)
def get_plan(plan_id: str, db: Db, _: PlanReader) -> PlanDetail:
    """A plan: status and progress, and once done its routes, left-out orders and violations."""
    plan = db.get(t.Plan, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    return _plan_detail(db, plan)


@router.post("/plans/{plan_id}/publish", response_model=PlanDetail)
def publish_plan(plan_id: str, db: Db, _: Planner, body: PublishIn | None = None) -> PlanDetail:
    """Hand a done plan's routes to their drivers; their orders become ``planned``."""
    plan = db.get(t.Plan, plan_id, with_for_update=True)
    if plan is None:
        raise not_found("plan", plan_id)
    rules.publish(db, plan, (body or PublishIn()).assignments)
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
        "version": route.version,
        "replaces": route.replaces,
        "replaced_by": route.replaced_by,
        "links": {"self": f"/v1/routes/{route.id}", "plan": f"/v1/plans/{route.plan_id}"}
        | ({} if route.replaced_by is None else {"replaced_by": f"/v1/routes/{route.replaced_by}"}),
    }


def _visible(principal: Principal, route: t.Route) -> bool:
    """Whether ``principal`` may see ``route`` (a driver: its own published routes)."""
    if principal.role is not Role.DRIVER:
        return True
    return route.driver_id == principal.driver_id and (
        route.state in PUBLISHED_ROUTE_STATES or route.state == "superseded"
    )


@router.get("/routes", response_model=list[RouteOut])
def list_routes(
    db: Db,
    principal: RouteReader,
    day: date | None = None,
    plan_id: str | None = None,
) -> list[RouteOut]:
    """Routes (of a day, of a plan); a driver's key sees only its own published routes."""
    driver = principal.driver_id if principal.role is Role.DRIVER else None
    if principal.role is Role.DRIVER and driver is None:
        return []
    routes = q.find_routes(db, day, plan_id, driver)
    counts = q.stop_counts(db, [r.id for r in routes])
    return [RouteOut(**_route_out(r, counts.get(r.id, 0))) for r in routes]


@router.get("/routes/{route_id}", response_model=RouteDetail)
def get_route(route_id: str, db: Db, principal: RouteReader, config: Config) -> RouteDetail:
    """A route with its stops in order; a driver asking for another's route gets 404."""
    route = db.get(t.Route, route_id)
    if route is None or not _visible(principal, route):
        raise not_found("route", route_id)
    zone = ZoneInfo(config.timezone)
    rows = q.stops_with_orders(db, route_id)
    parcels = parcels_of(db, [order.id for _, order in rows])
    stops = [
        StopOut(
            seq=stop.seq,
            order_id=order.id,
            kind=order.kind,
            address=str(Address(order.street, order.unit, order.zip, order.city)),
            lat=order.lat,
            lon=order.lon,
            parcels=order.parcels,
            parcel_ids=[p.id for p in parcels[order.id]],
            contact=ContactOut(name=order.name, phone=order.phone, email=order.email),
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
    detail = RouteDetail(**_route_out(route, len(stops)), stops=stops)
    brk = q.planned_break(db, route)
    detail.break_ = None if brk is None else BreakOut(**brk)
    return detail
