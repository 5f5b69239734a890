"""The customer's tracking page data: one order's status, ETA window and proof."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from doorstep.api.deps import Config
from doorstep.api.problems import ProblemError
from doorstep.dispatch.ingest import ACTIVE_ROUTE_STATES
from doorstep.store import tables as t

router = APIRouter(prefix="/v1", tags=["tracking"])

MARGIN_S = 15 * 60
"""Half the width of the ETA window shown to the customer, for the next stop."""
MARGIN_PER_STOP_S = 2 * 60
"""Added to the half-width for every stop still ahead of this one."""


def _moment(day: str, seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone) + timedelta(
        seconds=seconds
    )


class TrackOut(BaseModel):
    """What a customer sees."""

    status: str
    eta_window: dict[str, str] | None
    proof: dict[str, Any] | None


_S2 = aliased(t.Stop)
_AHEAD = (
    select(func.count())
    .where(_S2.route_id == t.Stop.route_id, _S2.seq < t.Stop.seq, _S2.state == "pending")
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


_QUERY = (
    select(
        t.Order.status,
        t.Stop.eta_s,
        t.Stop.state,
        t.Route.day,
        _AHEAD,
        _last_proof(t.Event.at),
        _last_proof(t.Event.proof),
    )
    .select_from(t.Order)
    .outerjoin(t.Stop, t.Stop.order_id == t.Order.id)
    .outerjoin(t.Route, t.Route.id == t.Stop.route_id)
    .where(t.Order.tracking_token == bindparam("token"))
    .order_by(t.Route.state.in_(ACTIVE_ROUTE_STATES).desc())
    .limit(1)
)
_DONE = ("delivered", "picked_up", "returned_to_depot", "failed_attempt")


@router.get("/track/{token}", response_model=TrackOut)
async def track(token: str, request: Request, settings: Config) -> dict[str, Any]:
    """Status, ETA window and proof of delivery of the order behind ``token``; nothing else.

    No API key: the unguessable token (128 random bits) is the credential.
    The ETA window is the current estimate plus or minus 15 minutes, 2 more
    per stop still ahead; it is absent once the stop is done. Read-only: one
    query, no transaction.
    """
    if len(token) > 64:
        raise ProblemError(404, "not_found", "No parcel is tracked with this link.")
    # Autocommit: no BEGIN and ROLLBACK round trips around a single read.
    engine = request.app.state.engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        row = connection.execute(_QUERY, {"token": token}).first()
    if row is None:
        raise ProblemError(404, "not_found", "No parcel is tracked with this link.")
    status, eta_s, stop_state, day, ahead, proof_at, details = row
    zone = ZoneInfo(settings.timezone)
    body: dict[str, Any] = {"status": status, "eta_window": None, "proof": None}
    if eta_s is not None and stop_state in ("pending", "arrived") and status not in _DONE:
        half = MARGIN_S + MARGIN_PER_STOP_S * int(ahead or 0)
        body["eta_window"] = {
            "start": _moment(day, eta_s - half, zone).isoformat(),
            "end": _moment(day, eta_s + half, zone).isoformat(),
        }
    if proof_at is not None:
        details = details or {}
        body["proof"] = {
            "at": proof_at.astimezone(zone).isoformat(),
            "recipient_name": details.get("recipient_name", ""),
            "signature": bool(details.get("signature_ref")),
            "photo": bool(details.get("photo_ref")),
        }
    return body
