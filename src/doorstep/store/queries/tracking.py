"""The one query behind a customer's tracking link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import aliased

from doorstep.dispatch.ingest import ACTIVE_ROUTE_STATES
from doorstep.store import tables as t

_S2 = aliased(t.Stop)
_AHEAD = (
    select(func.count())
    .where(_S2.route_id == t.Stop.route_id, _S2.seq < t.Stop.seq, _S2.state == "pending")
    .correlate(t.Stop)
    .scalar_subquery()
)


_S3 = aliased(t.Stop)
_O3 = aliased(t.Order)


def _van_at(column: Any) -> Any:
    """``column`` of the stop the order's van was scanned at last on its route (None: none yet)."""
    scanned = func.coalesce(_S3.finished_at, _S3.arrived_at)
    return (
        select(column)
        .join(_S3, _S3.order_id == _O3.id)
        .where(_S3.route_id == t.Stop.route_id, scanned.is_not(None))
        .order_by(scanned.desc(), _S3.seq.desc())
        .limit(1)
        .correlate(t.Stop)
        .scalar_subquery()
    )


def _last_proof(column: Any) -> Any:
    """The latest delivery (or collection) event's ``column``, for the order in the query."""
    return (
        select(column)
        .join(t.Parcel, t.Parcel.id == t.Event.parcel_id)
        .where(
            t.Parcel.order_id == t.Order.id,
            t.Event.kind.in_(("delivered", "return_picked_up")),
        )
        .order_by(t.Event.at.desc())
        .limit(1)
        .correlate(t.Order)
        .scalar_subquery()
    )


ENDED_STATUSES = ("delivered", "picked_up", "returned_to_depot", "return_to_sender")
"""Order statuses after which nothing more happens to the order: it has ended."""
_ENDING_SCANS = ("delivered", "return_picked_up", "returned_to_depot")

_ENDED_AT = (
    select(func.max(t.Event.at))
    .join(t.Parcel, t.Parcel.id == t.Event.parcel_id)
    .where(t.Parcel.order_id == t.Order.id, t.Event.kind.in_(_ENDING_SCANS))
    .correlate(t.Order)
    .scalar_subquery()
)

_QUERY = (
    select(
        t.Order.status,
        t.Stop.eta_s,
        t.Stop.state,
        t.Route.day,
        _AHEAD,
        _last_proof(t.Event.at),
        _last_proof(t.Event.proof),
        _ENDED_AT,
        t.Stop.window_start_s,
        t.Order.lat,
        t.Order.lon,
        _van_at(_O3.lat),
        _van_at(_O3.lon),
    )
    .select_from(t.Order)
    .outerjoin(t.Stop, t.Stop.order_id == t.Order.id)
    .outerjoin(t.Route, t.Route.id == t.Stop.route_id)
    .where(t.Order.tracking_token == bindparam("token"))
    .order_by(t.Route.state.in_(ACTIVE_ROUTE_STATES).desc())
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class Tracked:
    """What the tracking page is made from: the order, its current stop, the last proof.

    Attributes
    ----------
    status
        The order's status.
    eta_s, stop_state, day
        The current stop's ETA (seconds after midnight of ``day``) and state;
        ``None`` when the order is on no route.
    stops_ahead
        Stops still pending before this one on its route.
    proof_at, proof
        When the latest delivery (or collection) was scanned, and its proof.
    ended_at
        When the order ended (its last delivery, collection or return scan),
        ``None`` while its status is not one of :data:`ENDED_STATUSES`.
    window_start_s
        When the window promised for the current stop opens (seconds after
        midnight of ``day``); ``None`` without a window or a stop.
    location
        The order's delivery point ``(lat, lon)``, for pages that show its area
        (never to be shown as it is: round it first).
    van_location
        Where the order's van was scanned last: the stop of the route with the latest
        arrival or finish (another customer's address: round it before showing it).
    """

    status: str
    eta_s: int | None
    stop_state: str | None
    day: str | None
    stops_ahead: int
    proof_at: datetime | None
    proof: dict[str, Any] | None
    ended_at: datetime | None = None
    window_start_s: int | None = None
    location: tuple[float, float] | None = None
    van_location: tuple[float, float] | None = None


def find_tracked(connection: Connection, token: str) -> Tracked | None:
    """The order behind a tracking token, with its active stop first; ``None`` if unknown."""
    row = connection.execute(_QUERY, {"token": token}).first()
    if row is None:
        return None
    status, eta_s, stop_state, day, ahead, proof_at, proof, ended_at, window_start_s = row[:9]
    lat, lon, van_lat, van_lon = row[9:]
    if status not in ENDED_STATUSES:
        ended_at = None
    elif ended_at is not None and ended_at.tzinfo is None:  # max() loses the column's type
        ended_at = ended_at.replace(tzinfo=UTC)
    location = None if lat is None or lon is None else (float(lat), float(lon))
    return Tracked(
        status,
        eta_s,
        stop_state,
        day,
        int(ahead or 0),
        proof_at,
        proof,
        ended_at,
        window_start_s,
        location,
        None if van_lat is None or van_lon is None else (float(van_lat), float(van_lon)),
    )
