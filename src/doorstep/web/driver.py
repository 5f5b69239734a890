"""The driver's page, ``/driver``: today's route on a phone, working without a connection.

A driver account sees only its own routes (its ``driver_id``); an admin may open
any route (``/driver`` lists the day's routes to pick from). The page is made from
the API's own functions: ``GET /v1/routes`` and ``GET /v1/routes/{id}``
(:func:`doorstep.api.routers.plans.list_routes`, :func:`~doorstep.api.routers.plans.get_route`,
which also refuse another driver's route), ``POST /v1/events``
(:func:`doorstep.api.routers.events.post_events`: the scan ingest, deduplicated by
event id) and ``POST /v1/routes/{id}/incidents``
(:func:`doorstep.api.routers.dispatch.report_incident`). The signed-in account acts
as a :class:`~doorstep.api.security.Principal` whose ``key_id`` is the account's id.

Scans are made in the browser (``static/driver.js``), each with a client-made UUID
as its event id, kept in IndexedDB until ``POST /driver/scans`` has answered for
them: sending a scan twice is a harmless duplicate. A service worker
(``static/sw.js``, served at ``/driver/sw.js`` for the scope ``/driver``) keeps the
page and its files for offline use. See docs/web.md, "Driver page".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from doorstep.api.deps import Db
from doorstep.api.problems import ProblemError
from doorstep.api.routers import dispatch, events, plans
from doorstep.api.security import Principal, Role
from doorstep.domain.events import FailureReason, ParcelState, ScanKind, next_state
from doorstep.domain.order import OrderKind
from doorstep.domain.plan_states import PUBLISHED_ROUTE_STATES
from doorstep.errors import InvalidTransitionError
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.queries import orders as order_queries
from doorstep.store.queries import plans as q
from doorstep.web.pages import Account, check_csrf
from doorstep.web.render import PageError, page, secure_headers
from doorstep.web.sessions import read_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

ROLES = (Role.DRIVER, Role.ADMIN)
"""Who may use the driver page (an admin: any route)."""

FAILURE_LABELS: dict[FailureReason, str] = {
    FailureReason.NOT_HOME: "Nobody home",
    FailureReason.NO_ACCESS: "No access (locked gate, no entry code)",
    FailureReason.ADDRESS_NOT_FOUND: "Address not found",
    FailureReason.REFUSED: "Refused by the recipient",
    FailureReason.DAMAGED: "Parcel damaged",
    FailureReason.UNSAFE: "Unsafe to deliver",
    FailureReason.BUSINESS_CLOSED: "Business closed",
}
"""What the failure form offers: every :class:`FailureReason`, in words."""

STOP_STATES = {
    "pending": "To do",
    "arrived": "At the door",
    "done": "Delivered",
    "failed": "Not delivered",
}
"""A stop's state as the page words it."""

MAX_IMAGE_CHARS = 400_000
"""The largest photo or signature, as a data URL (the page sends JPEG of 800 px at most)."""
IMAGE_DATA_URL = r"^(data:image/(jpeg|png);base64,[A-Za-z0-9+/]+={0,2})?$"
MAX_SCANS = 200
"""Scans in one ``POST /driver/scans`` (the page sends fewer, and under the body cap)."""

WRONG_ROLE = "The driver page is for driver accounts (and admins)."
NO_ROUTE = "There is no route with this id for you."
STATIC = files("doorstep.web") / "static"


class DriverProofIn(events.ProofIn):
    """The API's proof, but the photo and signature are the images themselves (data URLs).

    The API stores references (``photo_ref``, at most 500 characters); the page has no
    file store, so it stores the small JPEG photo and PNG signature it makes in the
    event's proof, as ``data:`` URLs.
    """

    signature_ref: str = Field(default="", max_length=MAX_IMAGE_CHARS, pattern=IMAGE_DATA_URL)
    photo_ref: str = Field(default="", max_length=MAX_IMAGE_CHARS, pattern=IMAGE_DATA_URL)


class DriverScanIn(events.ScanIn):
    """One scan from the driver's page: the API's :class:`~events.ScanIn`, with its images."""

    proof: DriverProofIn | None = None


class ScanBatchIn(BaseModel):
    """What the page posts to ``/driver/scans``: scans in the order they were made."""

    model_config = ConfigDict(extra="forbid")
    events: list[DriverScanIn] = Field(min_length=1, max_length=MAX_SCANS)


START_SCANS = (ScanKind.SCANNED_AT_DEPOT, ScanKind.LOADED, ScanKind.OUT_FOR_DELIVERY)
"""The scans "Start route" may make, to take a delivery parcel out for delivery."""
STARTABLE_STOP_STATES = ("pending",)
"""The stops whose parcels "Start route" takes out (not those reached or finished)."""


@dataclass(frozen=True, slots=True)
class StopView:
    """One stop as the page shows it: the API's stop, its apartment unit and links.

    ``start`` is what "Start route" scans at this stop: ``parcel:kind,kind``
    items separated by spaces (empty when every parcel is out for delivery).
    """

    stop: plans.StopOut
    unit: str
    tel: str
    geo: str
    osm: str
    state_text: str
    start: str = ""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _today(request: Request) -> date:
    """Today in the service's time zone, by the service's clock."""
    now: datetime = request.app.state.clock()
    return now.astimezone(ZoneInfo(_settings(request).timezone)).date()


def principal_of(account: t.Account) -> Principal:
    """The API caller a driver or admin account acts as (its key id: the account's id).

    Parameters
    ----------
    account
        A signed-in account.

    Raises
    ------
    PageError
        403 for a planner or dispatcher.
    """
    role = Role(account.role)
    if role not in ROLES:
        raise PageError(403, "Not for your role", WRONG_ROLE)
    return Principal(account.id, role, account.driver_id)


def _links(stop: plans.StopOut) -> tuple[str, str, str]:
    """The stop's ``tel:``, ``geo:`` and OpenStreetMap links."""
    phone = "".join(c for c in stop.contact.phone if c.isdigit() or c == "+")
    lat, lon = f"{stop.lat:.6f}", f"{stop.lon:.6f}"
    geo = f"geo:{lat},{lon}?q={lat},{lon}({quote(stop.address)})"
    osm = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
    return (f"tel:{phone}" if phone else ""), geo, osm


def start_scans(state: ParcelState) -> tuple[ScanKind, ...] | None:
    """The scans that take a delivery parcel from ``state`` to ``out_for_delivery``.

    The shortest way through the state machine
    (:func:`doorstep.domain.events.next_state`) using only the depot's scans
    (:data:`START_SCANS`): ``()`` when the parcel is out for delivery already,
    ``None`` when it cannot go out (delivered, at its stop).

    Parameters
    ----------
    state
        The parcel's state now.
    """
    target = ParcelState.OUT_FOR_DELIVERY
    paths: dict[ParcelState, tuple[ScanKind, ...]] = {state: ()}
    frontier = [state]
    while frontier and target not in paths:
        following = []
        for here in frontier:
            for scan in START_SCANS:
                try:
                    there = next_state(here, scan)
                except InvalidTransitionError:
                    continue
                if there not in paths:
                    paths[there] = (*paths[here], scan)
                    following.append(there)
        frontier = following
    return paths.get(target)


def _start_items(db: Db, stops: list[plans.StopOut]) -> dict[int, str]:
    """Stop seq -> what "Start route" scans there (see :class:`StopView`): pending deliveries."""
    pending = [
        s for s in stops if s.kind == OrderKind.DELIVERY.value and s.state in STARTABLE_STOP_STATES
    ]
    parcels = order_queries.parcels_of(db, [s.order_id for s in pending])
    items: dict[int, str] = {}
    for stop in pending:
        wanted = set(stop.parcel_ids)
        found = []
        for parcel in parcels.get(stop.order_id, []):
            scans = start_scans(ParcelState(parcel.state)) if parcel.id in wanted else None
            if scans:
                found.append(f"{parcel.id}:{','.join(scans)}")
        if found:
            items[stop.seq] = " ".join(found)
    return items


def _route_page(
    request: Request, db: Db, account: t.Account, route: plans.RouteDetail, **more: Any
) -> Response:
    """The page of one route: the next stop first, then every stop in order."""
    units = {o.id: o.unit for o in q.orders_by_ids(db, {s.order_id for s in route.stops})}
    starts = _start_items(db, route.stops)
    views = []
    for stop in route.stops:
        tel, geo, osm = _links(stop)
        state_text = STOP_STATES.get(stop.state, stop.state)
        if stop.state == "done" and stop.kind == "pickup":
            state_text = "Collected"
        unit = units.get(stop.order_id, "")
        start = starts.get(stop.seq, "")
        views.append(StopView(stop, unit, tel, geo, osm, state_text, start))
    following = next((v for v in views if v.stop.state in ("pending", "arrived")), None)
    session = read_session(request)
    context = {
        "title": f"Route {route.vehicle_id}",
        "account": account,
        "csrf": None if session is None else session.csrf,
        "route": route,
        "stops": views,
        "next": following,
        "to_start": sum(len(v.start.split()) for v in views),
        "reasons": FAILURE_LABELS,
        "reported": "",
        "others": [],
        **more,
    }
    return page(request, "driver.html", context)


def _route(db: Db, request: Request, principal: Principal, route_id: str) -> plans.RouteDetail:
    """The API's route detail; another driver's route (or none) is a 404 page."""
    try:
        return plans.get_route(route_id, db, principal, _settings(request))
    except ProblemError as exc:
        if exc.status == 404:
            raise PageError(404, "Route not found", NO_ROUTE, back="/driver") from None
        raise


def _redirect(url: str) -> Response:
    return secure_headers(RedirectResponse(url, status_code=303))


@router.get("/driver")
def driver_page(request: Request, db: Db, account: Account, day: date | None = None) -> Response:
    """A driver: its current route of the day (today by default). An admin: the day's routes."""
    if account is None:
        return _redirect("/login")
    principal = principal_of(account)
    day = day or _today(request)
    routes = [
        r
        for r in plans.list_routes(db, principal, day)
        if r.state in PUBLISHED_ROUTE_STATES or r.state == "completed"
    ]
    session = read_session(request)
    csrf = None if session is None else session.csrf
    if principal.role is Role.DRIVER and routes:
        chosen = next((r for r in routes if r.state != "completed"), routes[0])
        others = [r for r in routes if r.id != chosen.id]
        return _route_page(
            request, db, account, _route(db, request, principal, chosen.id), others=others
        )
    context = {"title": "Driver page", "account": account, "csrf": csrf, "day": day}
    return page(request, "driver_routes.html", context | {"routes": routes})


@router.get("/driver/routes/{route_id}")
def route_page(
    request: Request, db: Db, account: Account, route_id: str, reported: str = ""
) -> Response:
    """One route (a driver: only its own; another's is a 404 page)."""
    if account is None:
        return _redirect("/login")
    route = _route(db, request, principal_of(account), route_id)
    return _route_page(request, db, account, route, reported=reported)


@router.post("/driver/scans", response_model=events.BatchOut)
def post_scans(request: Request, db: Db, account: Account, body: ScanBatchIn) -> dict[str, Any]:
    """Ingest the page's scans with the API's ``POST /v1/events`` (same answer, same rules).

    A driver's scans are accepted only for parcels on its own published routes;
    an event id sent before with the same content answers ``duplicate``.

    Raises
    ------
    PageError
        403 when not signed in, or for a role other than driver or admin.
    """
    if account is None:
        raise PageError(403, "Signed out", "Sign in again to send your scans.", back="/login")
    principal = principal_of(account)
    batch = events.BatchIn.model_construct(events=list(body.events))
    return events.post_events(batch, db, _settings(request), principal, request)


@router.post("/driver/routes/{route_id}/incidents")
def report_breakdown(
    request: Request,
    db: Db,
    account: Account,
    route_id: str,
    kind: Annotated[str, Form(max_length=20)] = "breakdown",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Report a breakdown or accident with the API's own function, then show the route again.

    Raises
    ------
    PageError
        403 for a wrong role, 404 for another driver's route, 409 for a route
        that is no longer running, 422 for an unknown kind.
    """
    if account is None:
        return _redirect("/login")
    principal = principal_of(account)
    now: datetime = request.app.state.clock()
    try:
        body = dispatch.IncidentIn(kind=kind, at=now, note=note.strip())  # type: ignore[arg-type]
    except ValidationError:
        raise PageError(
            422, "Please check the report", "Choose breakdown or accident.", back="/driver"
        ) from None
    try:
        dispatch.report_incident(route_id, body, db, principal, _settings(request), request)
    except ProblemError as exc:
        if exc.status == 404:
            raise PageError(404, "Route not found", NO_ROUTE, back="/driver") from None
        raise
    except RefusedError as exc:
        raise PageError(409, "Could not report", exc.message, back="/driver") from None
    return _redirect(f"/driver/routes/{quote(route_id, safe='')}?reported={kind}")


def _static(name: str, media_type: str, **headers: str) -> Response:
    return Response(
        (STATIC / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", **headers},
    )


@router.get("/driver/sw.js")
def service_worker() -> Response:
    """The service worker, allowed to control ``/driver`` and the pages under it."""
    return _static("sw.js", "text/javascript", **{"Service-Worker-Allowed": "/driver"})


@router.get("/driver/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: the driver page can be installed on a phone's home screen."""
    return _static("manifest.webmanifest", "application/manifest+json")
