"""The customer's tracking page data: one order's status, ETA window and proof."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy import select

from doorstep.api.deps import Config, Db
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


@router.get("/track/{token}")
def track(token: str, db: Db, settings: Config) -> dict[str, Any]:
    """Status, ETA window and proof of delivery of the order behind ``token``; nothing else.

    No API key: the unguessable token (128 random bits) is the credential.
    The ETA window is the current estimate plus or minus 15 minutes, 2 more
    per stop still ahead; it is absent once the stop is done.
    """
    order = None
    if len(token) <= 64:
        order = db.scalars(select(t.Order).where(t.Order.tracking_token == token)).first()
    if order is None:
        raise ProblemError(404, "not_found", "No parcel is tracked with this link.")
    body: dict[str, Any] = {"status": order.status, "eta_window": None, "proof": None}
    row = db.execute(
        select(t.Stop, t.Route)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(t.Stop.order_id == order.id, t.Route.state.in_(ACTIVE_ROUTE_STATES))
    ).first()
    zone = ZoneInfo(settings.timezone)
    if row is not None and row[0].state in ("pending", "arrived"):
        stop, route = row
        ahead = db.scalars(
            select(t.Stop.id).where(
                t.Stop.route_id == route.id, t.Stop.seq < stop.seq, t.Stop.state == "pending"
            )
        ).all()
        half = MARGIN_S + MARGIN_PER_STOP_S * len(ahead)
        body["eta_window"] = {
            "start": _moment(route.day, stop.eta_s - half, zone).isoformat(),
            "end": _moment(route.day, stop.eta_s + half, zone).isoformat(),
        }
    delivered = db.execute(
        select(t.Event.at, t.Event.proof)
        .join(t.Parcel, t.Parcel.id == t.Event.parcel_id)
        .where(t.Parcel.order_id == order.id, t.Event.kind.in_(("delivered", "return_picked_up")))
        .order_by(t.Event.at.desc())
    ).first()
    if delivered is not None:
        at, proof = delivered
        body["proof"] = {
            "at": at.astimezone(zone).isoformat(),
            "recipient_name": (proof or {}).get("recipient_name", ""),
            "signature": bool((proof or {}).get("signature_ref")),
            "photo": bool((proof or {}).get("photo_ref")),
        }
    return body
