"""``POST /v1/slots``: the delivery slots a shop can offer at checkout, ranked.

Thin: the rules and the pricing are in :mod:`doorstep.service.slots` and
:mod:`doorstep.plan.slots` (docs/slots.md). A failure-risk model put on
``app.state.risk`` (a :class:`~doorstep.learn.risk.FailureRisk`) is used when
present; otherwise the constant base rate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from doorstep.api.deps import Config, Db
from doorstep.api.security import Principal, Role, require
from doorstep.service.slots import MAX_DAYS_AHEAD, SlotRequest, slot_offers

router = APIRouter(prefix="/v1", tags=["slots"])

SlotAsker = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER, Role.INTEGRATION))]


class SlotsIn(BaseModel):
    """Where the parcel goes, what it is and for whom."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude of the address (WGS84).")
    lon: float = Field(ge=-180, le=180, description="Longitude of the address (WGS84).")
    address: str | None = Field(default=None, max_length=300, description="For people only.")
    zip: str | None = Field(default=None, max_length=20, description="The area the risk uses.")
    customer_id: str | None = Field(default=None, max_length=100)
    parcels: int = Field(default=1, ge=1, le=10_000)
    weight_g: int = Field(default=0, ge=0, le=10**9)
    volume_ml: int = Field(default=0, ge=0, le=10**9)
    service_s: int = Field(default=0, ge=0, le=86_400, description="Seconds at the door.")
    days: int = Field(default=3, ge=1, le=MAX_DAYS_AHEAD, description="How many days to offer.")
    from_day: date | None = Field(default=None, description="First day (default: tomorrow).")


class CapacityLeft(BaseModel):
    """What the route can still take with the order on board (null: not limited)."""

    parcels: int | None
    weight_g: int | None
    volume_ml: int | None


class SlotOut(BaseModel):
    """One feasible slot: keep ``[start_s, end_s]`` as the order's window when it is booked."""

    day: str
    start: str
    end: str
    start_s: int
    end_s: int
    marginal_cost: float = Field(description="Added route cost, in currency units.")
    capacity_left: CapacityLeft
    p_success: float = Field(description="Predicted chance the first attempt succeeds.")
    route_id: str | None = Field(description="The route it would join; null: a fresh route.")
    vehicle_id: str
    rank: int = Field(description="1 is the best offer.")


@router.post("/slots", response_model=list[SlotOut], summary="Delivery slots to offer")
def post_slots(body: SlotsIn, request: Request, db: Db, config: Config, caller: SlotAsker) -> Any:
    """The feasible slots of the coming days for one new order, best first.

    Each slot has the cheapest insertion into that day's published routes (or
    its latest finished plan), or a fresh route when none can take it; the
    capacity left and the predicted chance of success. Book one by creating the
    order (``POST /v1/orders``) with ``windows: [[start_s, end_s]]``. 422
    ``validation``, ``from_day_past``, ``address_off_network``, ``no_fleet``.
    """
    clock: Callable[[], datetime] = request.app.state.clock
    asked = SlotRequest(
        lat=body.lat,
        lon=body.lon,
        parcels=body.parcels,
        weight_g=body.weight_g,
        volume_ml=body.volume_ml,
        service_s=body.service_s,
        customer_id=body.customer_id,
        zip=body.zip,
        days=body.days,
        from_day=body.from_day,
    )
    risk = getattr(request.app.state, "risk", None)
    return slot_offers(db, asked, config, clock(), risk)
