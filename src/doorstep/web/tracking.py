"""The customer's tracking page, ``/t/{token}``: no sign-in, the token is the credential.

The page is made from what ``GET /v1/track/{token}`` answers: the same query
(:func:`doorstep.store.queries.tracking.find_tracked`), the same expiry and
the same ETA window (:mod:`doorstep.api.routers.track`), plus the number of
stops before this one. It shows nothing but the recipient's own order: its
status, the window, the stops ahead, the proof of delivery, and a map of the
area (a circle a few hundred metres wide around a rounded point, never the
door) and, when at most :data:`CLOSE_STOPS` stop comes before theirs, where the
van is: the last stop it reached, rounded to about 100 m (that is another
customer's door; there is no GPS feed).

Its form asks for a safe place, a neighbour or another time; the request is
stored by the API's own function (``POST /v1/track/{token}/requests``), so the
dispatcher sees it as a ``customer_request``. The form's CSRF token is bound to
the tracking token (:func:`doorstep.web.sessions.tracking_csrf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import APIRouter, Form, Path, Request
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.responses import RedirectResponse, Response

from doorstep.api.deps import Db
from doorstep.api.problems import ProblemError
from doorstep.api.routers import dispatch, track
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store.queries.tracking import Tracked, find_tracked
from doorstep.web.render import PageError, page, secure_headers
from doorstep.web.sessions import app_secret, tracking_csrf, tracking_csrf_ok

router = APIRouter(include_in_schema=False)

AREA_STEP_DEG = 0.005
"""The map's centre is the delivery point rounded to this grid (about 550 m north-south)."""
AREA_RADIUS_M = 500
"""Radius of the circle drawn around the rounded centre: the area, not the door."""

NOT_FOUND = (
    "No parcel is tracked with this link. Check that the whole link was copied; "
    "links stop working some time after the delivery."
)
STATUS_TEXT = {
    "created": "Your order has been received.",
    "planned": "Your delivery is planned.",
    "at_depot": "Your parcel is at our depot.",
    "loaded": "Your parcel is loaded on the delivery van.",
    "out_for_delivery": "Your parcel is on its way.",
    "at_stop": "The driver is at your address now.",
    "delivered": "Your parcel has been delivered.",
    "failed_attempt": "We could not deliver your parcel; we will try again.",
    "picked_up": "Your return has been collected.",
    "returned_to_depot": "Your parcel is back at our depot.",
    "return_to_sender": "Your parcel is being returned to the sender.",
}
CLOSED = ("delivered", "picked_up", "returned_to_depot")
"""Statuses after which no change can be asked (the API's rule)."""
TIME_CHOICES = {
    "08-12": (8 * 3600, 12 * 3600),
    "12-16": (12 * 3600, 16 * 3600),
    "16-20": (16 * 3600, 20 * 3600),
}
"""The time windows a customer may ask for (clock seconds of the day)."""
RequestKind = Literal["safe_place", "neighbour", "time_window", "another_day"]
SENT = "Thank you: your request has reached the dispatcher. The driver will be told."


CLOSE_STOPS = 1
"""The van is shown when at most this many stops come before the customer's."""
VAN_STEP_DEG = 0.001
"""The van's position is rounded to this (about 100 m): it is another customer's door."""


def _rounded(point: tuple[float, float], step: float) -> tuple[float, float]:
    lat, lon = (round(round(v / step) * step, 4) for v in point)
    return lat, lon


def _area_of(tracked: Tracked) -> tuple[float, float] | None:
    """The order's delivery point, rounded to :data:`AREA_STEP_DEG` (the map's centre)."""
    if tracked.location is None:
        return None
    return _rounded(tracked.location, AREA_STEP_DEG)


def _read(engine: Engine, token: str) -> tuple[Tracked | None, tuple[float, float] | None]:
    """The tracking query (the API's own) and the area's centre, on one autocommit connection."""
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        tracked = find_tracked(connection, token)
    return tracked, None if tracked is None else _area_of(tracked)


@dataclass(frozen=True, slots=True)
class TrackView:
    """What the tracking page shows (see the module's docstring)."""

    status: str
    status_text: str
    window: tuple[datetime, datetime] | None
    stops_ahead: int | None
    proof: dict[str, Any] | None
    area: tuple[float, float] | None
    can_request: bool
    van: tuple[float, float] | None = None
    """Where the van is (its last stop, rounded), only when it is close."""


def view_of(tracked: Tracked, area: tuple[float, float] | None, settings: Settings) -> TrackView:
    """The page's content for one tracked order (the API's rules for the window and proof).

    Parameters
    ----------
    tracked
        The tracking query's answer.
    area
        The area's rounded centre.
    settings
        The service's settings (its time zone).
    """
    zone = ZoneInfo(settings.timezone)
    window = None
    stops_ahead = None
    eta_s, day = tracked.eta_s, tracked.day
    if (
        eta_s is not None
        and day is not None
        and tracked.stop_state in ("pending", "arrived")
        and tracked.status not in track._DONE
    ):
        start_s, end_s = track.eta_window(eta_s, tracked.stops_ahead, tracked.window_start_s)
        window = (track._moment(day, start_s, zone), track._moment(day, end_s, zone))
        stops_ahead = tracked.stops_ahead
    proof = None
    if tracked.proof_at is not None:
        details = tracked.proof or {}
        proof = {
            "at": tracked.proof_at.astimezone(zone),
            "recipient_name": details.get("recipient_name", ""),
            "signature": bool(details.get("signature_ref")),
            "photo": bool(details.get("photo_ref")),
        }
    van = None
    if stops_ahead is not None and stops_ahead <= CLOSE_STOPS and tracked.van_location:
        van = _rounded(tracked.van_location, VAN_STEP_DEG)
    return TrackView(
        status=tracked.status,
        status_text=STATUS_TEXT.get(tracked.status, f"Status: {tracked.status}."),
        window=window,
        stops_ahead=stops_ahead,
        proof=proof,
        area=area,
        can_request=tracked.status not in CLOSED,
        van=van,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _context(request: Request, token: str, view: TrackView, **more: Any) -> dict[str, Any]:
    return {
        "title": "Your delivery",
        "home_href": f"/t/{token}",
        "token": token,
        "view": view,
        "form_csrf": tracking_csrf(app_secret(request), token),
        "time_choices": list(TIME_CHOICES),
        "radius_m": AREA_RADIUS_M,
        "error": "",
        "sent": False,
        "chosen": {},
        **more,
    }


Token = Annotated[str, Path(min_length=1, max_length=200)]


async def _view(request: Request, token: str) -> TrackView:
    """The view of ``token``'s order; a 404 page if unknown, expired or too long."""
    if len(token) > 64:
        raise PageError(404, "Link not found", NOT_FOUND, back=None)
    state = request.app.state
    tracked, area = await anyio.to_thread.run_sync(
        _read, state.tracking_engine, token, limiter=state.tracking_limiter
    )
    settings = _settings(request)
    if tracked is None or track._expired(tracked, settings):
        raise PageError(404, "Link not found", NOT_FOUND, back=None)
    return view_of(tracked, area, settings)


@router.get("/t/{token}")
async def tracking_page(request: Request, token: Token, sent: str = "") -> Response:
    """The tracking page (async: its query runs in tracking's own threads, as the API's)."""
    view = await _view(request, token)
    return page(request, "track.html", _context(request, token, view, sent=sent == "1"))


def _request_body(kind: str, note: str, window: str) -> dispatch.RequestIn:
    """The API's request model from the form, or a :class:`RefusedError` saying what to fix."""
    if kind not in ("safe_place", "neighbour", "time_window", "another_day"):
        raise RefusedError("validation", "Choose what you would like us to do.")
    if kind == "safe_place" and not note.strip():
        raise RefusedError("validation", "Say where the driver may leave the parcel.")
    if kind == "neighbour" and not note.strip():
        raise RefusedError("validation", "Give the neighbour's name and door.")
    if kind == "time_window" and window not in TIME_CHOICES:
        raise RefusedError("validation", "Choose the time that suits you.")
    try:
        return dispatch.RequestIn(
            kind=kind,  # type: ignore[arg-type]
            note=note.strip(),
            window=TIME_CHOICES[window] if kind == "time_window" else None,
        )
    except ValidationError:
        raise RefusedError("validation", "The note is too long: 500 characters at most.") from None


STALE_FORM = (
    "This form did not carry a valid security token (it may have been open for more than "
    "a day). Nothing was sent. Open your tracking link again and retry."
)
GONE = "There is no parcel to change behind this link (it may have been delivered)."


def _fragment(request: Request, token: str, status: int = 200, **values: Any) -> Response:
    """The form's part of the page (what htmx swaps in), with a fresh form token."""
    context = {
        "token": token,
        "form_csrf": tracking_csrf(app_secret(request), token),
        "time_choices": list(TIME_CHOICES),
        "error": "",
        "sent": False,
        "gone": False,
        "chosen": {},
        **values,
    }
    return page(request, "_track_request.html", context, status=status)


@router.post("/t/{token}/requests")
def ask_for_change(
    request: Request,
    token: Token,
    db: Db,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    window: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Store the customer's request with the API's own function, then show that it was sent.

    A plain form post is redirected to the page, or answered with an error page
    (403 without a valid form token, 422 for a request the rules refuse, 404
    once the order cannot change). A request htmx sends gets the form's part of
    the page back: 200 with the confirmation or with what to fix (htmx swaps
    only successes by default, and a browser logs every 4xx as an error), 403
    without a valid form token (swapped too: see ``htmx-config`` in base.html).
    """
    if len(token) > 64:
        raise PageError(404, "Link not found", NOT_FOUND, back=None)
    htmx = request.headers.get("HX-Request") == "true"
    if not tracking_csrf_ok(app_secret(request), token, csrf_token):
        if htmx:
            return _fragment(request, token, 403, error=STALE_FORM)
        raise PageError(403, "Security check failed", STALE_FORM, back=f"/t/{token}")
    try:
        body = _request_body(kind, note, window)
        dispatch.customer_request(token, body, db)
    except ProblemError as exc:
        if exc.status != 404:
            raise
        if htmx:
            return _fragment(request, token, gone=True)
        raise PageError(404, "No change possible", GONE, back=None) from None
    except RefusedError as exc:
        if htmx:
            chosen = {"kind": kind, "note": note, "window": window}
            return _fragment(request, token, error=exc.message, chosen=chosen)
        raise PageError(422, "Please check your request", exc.message, back=f"/t/{token}") from None
    if htmx:
        return _fragment(request, token, sent=True)
    return secure_headers(RedirectResponse(f"/t/{token}?sent=1", status_code=303))
