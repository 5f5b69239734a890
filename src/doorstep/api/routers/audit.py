"""A route's audit: every stop planned against actual, and why late stops were late.

``GET /v1/routes/{route_id}/audit`` (planners, dispatchers; a driver its own
route only, as ``GET /v1/routes/{route_id}``). The route id may name any
version of the route: the audit is of its current version, measured against
version 1 (``docs/audit.md``).
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from doorstep.analytics.audit import BEHIND_PLAN_S, audit_route, route_dict
from doorstep.api.deps import Config, Db, RouteReader
from doorstep.api.problems import not_found
from doorstep.api.routers.plans import _visible
from doorstep.store import tables as t
from doorstep.store.queries import audit as q

router = APIRouter(prefix="/v1", tags=["analytics"])


class PartOut(BaseModel):
    """One term of a cause: a leg (``depot -> O01``), a stop, or the departure."""

    what: str
    seconds: int
    planned_s: int | None
    actual_s: int | None


class CauseOut(BaseModel):
    """A share of the lateness in seconds (negative: time gained)."""

    cause: str
    """late_departure, driving, service, waiting, out_of_sequence, added_stops,
    removed_stops, replanned or remainder."""
    seconds: int
    minutes: float
    parts: list[PartOut]


class PlannedOut(BaseModel):
    """Planned arrival, start of service and finish, in clock seconds and ``HH:MM``."""

    arrival_s: int
    start_s: int
    finish_s: int
    arrival: str
    start: str
    finish: str


class ActualOut(BaseModel):
    """Actual arrival, start of service and finish (None: not scanned yet)."""

    arrival_s: int | None
    start_s: int | None
    finish_s: int | None
    arrival: str | None
    start: str | None
    finish: str | None
    arrival_inferred: bool
    """No arrival scan: the arrival is the finish less the planned service."""


class FailureOut(BaseModel):
    """Why a stop failed and what came before."""

    reason: str | None
    attempts: int
    """The order's failed attempts at the door so far."""
    earlier_attempts: list[dict[str, Any]]
    """Its attempts on earlier routes (as ``/v1/orders/{id}/attempts``)."""
    findings: list[dict[str, Any]]
    """The gate's findings on the row the order was imported from (warnings it passed with)."""


class StopAuditOut(BaseModel):
    """One stop of the current version: planned, actual, late or not, and why."""

    order_id: str
    seq: int
    planned_seq: int | None
    actual_seq: int | None
    planned_in: int
    """The version whose plan it is measured against (1, or the one that added it)."""
    state: str
    window: str | None
    window_start_s: int | None
    window_end_s: int | None
    planned: PlannedOut
    actual: ActualOut
    lateness_s: int | None
    lateness_min: float | None
    late: bool
    late_because: list[str]
    causes: list[CauseOut]
    """For a late stop: adding up to ``lateness_s`` exactly."""
    failure: FailureOut | None


class RouteAuditOut(BaseModel):
    """A route's audit."""

    route_id: str
    day: str
    vehicle_id: str
    driver_id: str | None
    state: str
    version: int
    planned_departure_s: int
    planned_departure: str
    departure_s: int | None
    departure: str | None
    tolerance_s: int
    late_stops: int
    failed_stops: int
    removed: list[str]
    """Orders of version 1 no longer on this route."""
    stops: list[StopAuditOut]


Tolerance = Annotated[
    int,
    Query(
        ge=0,
        le=86_400,
        description="Seconds after its planned arrival beyond which a stop is late.",
    ),
]


@router.get("/routes/{route_id}/audit", response_model=RouteAuditOut)
def get_audit(
    route_id: str,
    db: Db,
    principal: RouteReader,
    config: Config,
    tolerance_s: Tolerance = BEHIND_PLAN_S,
) -> dict[str, Any]:
    """Every stop planned against actual; late stops' lateness split into causes.

    A driver asking for another's route gets 404, as for an unknown route.
    """
    route = db.get(t.Route, route_id)
    if route is None or not _visible(principal, route):
        raise not_found("route", route_id)
    record = q.load_route(db, route_id, ZoneInfo(config.timezone))
    if record is None:
        raise not_found("route", route_id)
    return route_dict(audit_route(record, tolerance_s))
