"""Running the day: incidents, exceptions, proposals, decisions, customer requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from doorstep.api.deps import Config, Db, Dispatcher, Id, IncidentReporter, Limit, OrderWriter
from doorstep.api.problems import ProblemError, not_found
from doorstep.api.security import Role
from doorstep.service import exceptions as rules
from doorstep.service import proposals as playbooks
from doorstep.service.exceptions import new_id
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import dispatch as q

router = APIRouter(prefix="/v1", tags=["dispatch"])

ExceptionStatus = Literal["open", "acknowledged", "resolved"]


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


class IncidentIn(BaseModel):
    """A vehicle that cannot go on."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["breakdown", "accident"]
    at: AwareDatetime
    """When it happened (with its UTC offset)."""
    note: str = Field(default="", max_length=2000)


class IncidentOut(BaseModel):
    """The incident as stored, and the exception it opened."""

    id: str
    route_id: str
    kind: str
    at: datetime
    note: str
    exception_id: str | None
    """The ``vehicle_unavailable`` exception (None when the route has no stop left)."""


class ExceptionOut(BaseModel):
    """One exception of the day."""

    id: str
    day: str
    kind: str
    severity: str
    status: str
    route_id: str | None
    order_ids: list[str]
    parcel_ids: list[str]
    sentence: str
    details: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    history: list[dict[str, Any]]
    links: dict[str, str]


class ProposalOut(BaseModel):
    """A proposal and what accepting it costs."""

    id: str
    exception_id: str
    kind: str
    sentence: str
    status: str
    """open, accepted, rejected or stale."""
    delta: dict[str, Any]
    """km, duty_min, late_stops, late_min, stops_moved, orders_put_off,
    parcels_put_off, customers_notified, cost (after minus before)."""
    change: dict[str, Any]
    basis: dict[str, int]
    created_at: datetime
    links: dict[str, str]


class DecisionIn(BaseModel):
    """Why (optional to accept, required to reject)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class RejectIn(BaseModel):
    """Why the proposal is rejected."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class DecisionOut(BaseModel):
    """One entry of the decision log."""

    id: int
    day: str
    exception_id: str
    proposal_id: str
    decision: str
    key_id: str | None
    reason: str
    delta: dict[str, Any]
    at: datetime


class AcceptOut(DecisionOut):
    """The decision, and the route versions it made."""

    new_routes: list[str]
    eta_notices: int


class RequestIn(BaseModel):
    """A change asked for one order."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["time_window", "another_day", "safe_place", "neighbour", "address"]
    window: tuple[int, int] | None = Field(
        default=None, description="For time_window: [start_s, end_s], clock seconds of the day."
    )
    note: str = Field(default="", max_length=500)
    """For safe_place / neighbour: where or who."""
    address: str = Field(default="", max_length=300)
    """For address: the street and number (checked by the gate's rules)."""
    zip: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class RequestOut(BaseModel):
    """A stored request."""

    id: str
    order_id: str
    kind: str
    source: str
    status: str
    details: dict[str, Any]


def _exception_out(row: t.DispatchException) -> ExceptionOut:
    return ExceptionOut(
        id=row.id,
        day=row.day,
        kind=row.kind,
        severity=row.severity,
        status=row.status,
        route_id=row.route_id,
        order_ids=row.order_ids,
        parcel_ids=row.parcel_ids,
        sentence=row.sentence,
        details=row.details,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        history=row.history,
        links={
            "self": f"/v1/exceptions/{row.id}",
            "proposals": f"/v1/exceptions/{row.id}/proposals",
        },
    )


def _proposal_out(row: t.Proposal) -> ProposalOut:
    links = {"exception": f"/v1/exceptions/{row.exception_id}"}
    if row.status == "open":
        links |= {
            "accept": f"/v1/proposals/{row.id}/accept",
            "reject": f"/v1/proposals/{row.id}/reject",
        }
    return ProposalOut(
        id=row.id,
        exception_id=row.exception_id,
        kind=row.kind,
        sentence=row.sentence,
        status=row.status,
        delta=row.delta,
        change=row.change,
        basis=row.basis,
        created_at=row.created_at,
        links=links,
    )


def _decision_out(row: t.Decision) -> dict[str, Any]:
    return {
        "id": row.id,
        "day": row.day,
        "exception_id": row.exception_id,
        "proposal_id": row.proposal_id,
        "decision": row.decision,
        "key_id": row.key_id,
        "reason": row.reason,
        "delta": row.delta,
        "at": row.at,
    }


@router.post(
    "/routes/{route_id}/incidents", status_code=status.HTTP_201_CREATED, response_model=IncidentOut
)
def report_incident(
    route_id: str,
    body: IncidentIn,
    db: Db,
    principal: IncidentReporter,
    config: Config,
    request: Request,
) -> IncidentOut:
    """Report a breakdown or accident: the route is frozen and its stops left need a plan."""
    route = db.get(t.Route, route_id)
    mine = principal.role is not Role.DRIVER or (
        route is not None and route.driver_id == principal.driver_id
    )
    if route is None or not mine:
        raise not_found("route", route_id)
    if route.state not in ("published", "in_progress"):
        raise RefusedError(
            "route_not_active",
            f"Route {route_id} is {route.state}; incidents are reported on published routes.",
            conflict=True,
        )
    incident = t.Incident(
        id=new_id("inc"),
        route_id=route_id,
        kind=body.kind,
        at=body.at,
        note=body.note,
        key_id=principal.key_id,
    )
    db.add(incident)
    db.flush()
    rules.tick(db, route.day, config, _now(request))
    opened = [
        e
        for e in q.exceptions_of(db, route.day, None)
        if e.details.get("incident_id") == incident.id
    ]
    return IncidentOut(
        id=incident.id,
        route_id=route_id,
        kind=incident.kind,
        at=incident.at,
        note=incident.note,
        exception_id=opened[0].id if opened else None,
    )


@router.get("/exceptions", response_model=list[ExceptionOut])
def list_exceptions(
    db: Db,
    _: Dispatcher,
    day: date | None = None,
    exception_status: Annotated[ExceptionStatus | None, Query(alias="status")] = None,
    limit: Limit = 500,
) -> list[ExceptionOut]:
    """Exceptions, newest first (of one day, in one status)."""
    rows = q.exceptions_of(db, None if day is None else day.isoformat(), exception_status, limit)
    return [_exception_out(r) for r in rows]


@router.get("/exceptions/{exception_id}", response_model=ExceptionOut)
def get_exception(exception_id: Id, db: Db, _: Dispatcher) -> ExceptionOut:
    """One exception with its audit trail."""
    row = db.get(t.DispatchException, exception_id)
    if row is None:
        raise not_found("exception", exception_id)
    return _exception_out(row)


@router.post("/exceptions/{exception_id}/acknowledge", response_model=ExceptionOut)
def acknowledge_exception(
    exception_id: Id, db: Db, principal: Dispatcher, request: Request
) -> ExceptionOut:
    """A dispatcher has seen it (open -> acknowledged)."""
    try:
        row = rules.acknowledge(db, exception_id, _now(request), principal.key_id or "admin")
    except LookupError:
        raise not_found("exception", exception_id) from None
    return _exception_out(row)


@router.get("/exceptions/{exception_id}/proposals", response_model=list[ProposalOut])
def list_proposals(
    exception_id: Id, db: Db, _: Dispatcher, config: Config, request: Request
) -> list[ProposalOut]:
    """The playbook's proposals, computed on first asking (and again once stale)."""
    try:
        rows = playbooks.proposals_for(db, exception_id, config, _now(request))
    except LookupError:
        raise not_found("exception", exception_id) from None
    return [_proposal_out(r) for r in rows]


@router.post("/proposals/{proposal_id}/accept", response_model=AcceptOut)
def accept_proposal(
    proposal_id: Id,
    db: Db,
    principal: Dispatcher,
    config: Config,
    request: Request,
    body: DecisionIn | None = None,
) -> AcceptOut:
    """Apply the proposal in one transaction; 409 ``stale_proposal`` if its routes changed."""
    try:
        applied = playbooks.accept(
            db, proposal_id, principal.key_id, (body or DecisionIn()).reason, config, _now(request)
        )
    except LookupError:
        raise not_found("proposal", proposal_id) from None
    return AcceptOut(
        **_decision_out(applied.decision),
        new_routes=list(applied.new_routes),
        eta_notices=applied.notices,
    )


@router.post("/proposals/{proposal_id}/reject", response_model=DecisionOut)
def reject_proposal(
    proposal_id: Id, body: RejectIn, db: Db, principal: Dispatcher, request: Request
) -> DecisionOut:
    """Reject the proposal with a reason (logged); the exception stays."""
    try:
        decision = playbooks.reject(db, proposal_id, principal.key_id, body.reason, _now(request))
    except LookupError:
        raise not_found("proposal", proposal_id) from None
    return DecisionOut(**_decision_out(decision))


@router.get("/decisions", response_model=list[DecisionOut])
def list_decisions(
    db: Db, _: Dispatcher, day: date | None = None, limit: Limit = 500
) -> list[DecisionOut]:
    """The decision log, oldest first: who decided what, when, at what cost, and why."""
    rows = q.decisions_of(db, None if day is None else day.isoformat(), limit)
    return [DecisionOut(**_decision_out(r)) for r in rows]


def store_request(db: Db, order: t.Order, body: RequestIn, source: str) -> RequestOut:
    """Store a request (a time window must lie within the day)."""
    details: dict[str, Any] = {}
    if body.kind == "time_window":
        if body.window is None or not 0 <= body.window[0] < body.window[1] <= 2 * 86_400:
            raise RefusedError(
                "invalid_window",
                "A time_window request needs window [start_s, end_s], 0 <= start < end.",
            )
        details["window"] = list(body.window)
    if body.note:
        details["note"] = body.note
    if body.kind == "address":
        if body.lat is None or body.lon is None:
            raise RefusedError(
                "invalid_address",
                "An address request needs the new place's lat and lon (and street, zip, city).",
            )
        details |= {"address": body.address, "zip": body.zip, "city": body.city}
        details |= {"lat": body.lat, "lon": body.lon}
    row = t.CustomerRequest(
        id=new_id("req"), order_id=order.id, kind=body.kind, details=details, source=source
    )
    db.add(row)
    db.flush()
    return RequestOut(
        id=row.id,
        order_id=order.id,
        kind=row.kind,
        source=source,
        status=row.status,
        details=details,
    )


@router.post(
    "/orders/{order_id}/requests", status_code=status.HTTP_201_CREATED, response_model=RequestOut
)
def shop_request(
    order_id: Id, db: Db, principal: OrderWriter, body: RequestIn | None = None
) -> RequestOut:
    """The shop (or a planner) asks for a change; the dispatcher sees a customer_request."""
    order = db.get(t.Order, order_id)
    if order is None or (principal.tenant is not None and order.tenant != principal.tenant):
        raise not_found("order", order_id)  # before the body: another shop learns nothing
    if body is None:
        raise RefusedError("validation", 'Send the request: {"kind": ..., ...}.')
    return store_request(db, order, body, "shop")


@router.post(
    "/track/{token}/requests", status_code=status.HTTP_201_CREATED, response_model=RequestOut
)
def customer_request(
    token: Annotated[str, Path(min_length=1, max_length=64)], body: RequestIn, db: Db
) -> RequestOut:
    """The customer, through the tracking link, asks for a change (no key needed)."""
    order = db.scalars(select(t.Order).where(t.Order.tracking_token == token)).first()
    if order is None or order.status in ("delivered", "picked_up", "returned_to_depot"):
        raise ProblemError(404, "not_found", "No parcel to change behind this link.")
    return store_request(db, order, body, "customer")
