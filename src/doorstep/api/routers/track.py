"""The customer's tracking page data: one order's status, ETA window and proof."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel
from sqlalchemy import Engine

from doorstep.api.deps import Config
from doorstep.api.problems import ProblemError
from doorstep.settings import Settings
from doorstep.store.database import make_engine
from doorstep.store.queries.tracking import Tracked, find_tracked

MARGIN_S = 15 * 60
"""Half the width of the ETA window shown to the customer, for the next stop."""
MARGIN_PER_STOP_S = 2 * 60
"""Added to the half-width for every stop still ahead of this one."""


def eta_window(eta_s: int, stops_ahead: int, window_start_s: int | None) -> tuple[int, int]:
    """The ETA window shown to the customer (clock seconds): never before the promised window.

    The vehicle waits for a window to open before it serves, so the expected
    delivery is the ETA or the window's opening, whichever is later; the window
    shown is that plus or minus :data:`MARGIN_S` (and :data:`MARGIN_PER_STOP_S`
    per stop ahead), cut so that it starts no earlier than the promised window
    opens (an ETA of 09:40 for a window opening at 10:00 shows 10:00-10:15).

    Parameters
    ----------
    eta_s
        The stop's current ETA.
    stops_ahead
        Stops still pending before it on its route.
    window_start_s
        When the promised window opens; ``None`` without one.

    Returns
    -------
    tuple[int, int]
        Start and end of the window shown.
    """
    half = MARGIN_S + MARGIN_PER_STOP_S * stops_ahead
    if window_start_s is None:
        return eta_s - half, eta_s + half
    expected = max(eta_s, window_start_s)
    return max(expected - half, window_start_s), expected + half


TRACKING_THREADS = 4
"""Threads, and database connections, kept for tracking reads.

Apart from the shared thread pool every plain ``def`` endpoint queues in
(posting events, listing orders...) and from the service's connection pool,
whose connections beyond ``db_pool_size`` are closed and opened again under
load: a customer's read never waits behind drivers' batches for either."""


def _in_memory(engine: Engine) -> bool:
    """Whether ``engine`` is an in-memory SQLite database (a second engine would be another)."""
    database = engine.url.database
    return engine.url.get_backend_name() == "sqlite" and (
        database in (None, "", ":memory:") or "mode=memory" in str(engine.url)
    )


@asynccontextmanager
async def _tracking_pool(app: FastAPI) -> AsyncIterator[None]:
    """Open tracking's threads and connections with the service; close them when it stops."""
    settings: Settings = app.state.settings
    shared: Engine = app.state.engine
    own = None
    if not _in_memory(shared):
        own = make_engine(
            settings.database_url,
            pool_size=TRACKING_THREADS,
            max_overflow=0,
            pool_timeout_s=settings.db_pool_timeout_s,
        )
    app.state.tracking_engine = own or shared
    app.state.tracking_limiter = anyio.CapacityLimiter(TRACKING_THREADS)
    try:
        yield
    finally:
        if own is not None:
            own.dispose()


router = APIRouter(prefix="/v1", tags=["tracking"], lifespan=_tracking_pool)


def _read(engine: Engine, token: str) -> Tracked | None:
    """The one tracking query, in autocommit (no BEGIN and ROLLBACK round trips)."""
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        return find_tracked(connection, token)


def _moment(day: str, seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone) + timedelta(
        seconds=seconds
    )


class TrackOut(BaseModel):
    """What a customer sees."""

    status: str
    eta_window: dict[str, str] | None
    proof: dict[str, Any] | None


_DONE = ("delivered", "picked_up", "returned_to_depot", "failed_attempt")
UNKNOWN = "No parcel is tracked with this link."


def _expired(tracked: Tracked, settings: Settings) -> bool:
    """Whether the order ended more than ``tracking_ttl_days`` ago."""
    if tracked.ended_at is None:
        return False
    return datetime.now(UTC) - tracked.ended_at > timedelta(days=settings.tracking_ttl_days)


@router.get("/track/{token}", response_model=TrackOut)
async def track(
    token: Annotated[str, Path(max_length=200)], request: Request, settings: Config
) -> dict[str, Any]:
    """Status, ETA window and proof of delivery of the order behind ``token``; nothing else.

    No API key: the unguessable token (128 random bits) is the credential.
    The ETA window is the current estimate plus or minus 15 minutes, 2 more
    per stop still ahead, never starting before the promised window opens
    (:func:`eta_window`); it is absent once the stop is done. A link stops
    working ``tracking_ttl_days`` after the order ended (its last delivery,
    collection or return scan): then it is the same 404 as an unknown link.
    Read-only: one query, no transaction. ``async``, but its only I/O, the
    query, runs in one of :data:`TRACKING_THREADS` threads of its own, on a
    connection of its own pool: never on the event loop, never queued behind
    other endpoints for a thread or a connection. The rest (and the response's
    validation) is cheap work on the loop.
    """
    if len(token) > 64:
        raise ProblemError(404, "not_found", UNKNOWN)
    state = request.app.state
    tracked = await anyio.to_thread.run_sync(
        _read, state.tracking_engine, token, limiter=state.tracking_limiter
    )
    if tracked is None or _expired(tracked, settings):
        raise ProblemError(404, "not_found", UNKNOWN)
    zone = ZoneInfo(settings.timezone)
    body: dict[str, Any] = {"status": tracked.status, "eta_window": None, "proof": None}
    eta_s, day = tracked.eta_s, tracked.day
    if (
        eta_s is not None
        and day is not None
        and tracked.stop_state in ("pending", "arrived")
        and tracked.status not in _DONE
    ):
        start_s, end_s = eta_window(eta_s, tracked.stops_ahead, tracked.window_start_s)
        body["eta_window"] = {
            "start": _moment(day, start_s, zone).isoformat(),
            "end": _moment(day, end_s, zone).isoformat(),
        }
    if tracked.proof_at is not None:
        details = tracked.proof or {}
        body["proof"] = {
            "at": tracked.proof_at.astimezone(zone).isoformat(),
            "recipient_name": details.get("recipient_name", ""),
            "signature": bool(details.get("signature_ref")),
            "photo": bool(details.get("photo_ref")),
        }
    return body
