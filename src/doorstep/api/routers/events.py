"""Scan events: the batch endpoint drivers' apps and depot scanners post to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from doorstep.api.deps import Config, Db, EventId, EventPoster, Id, Limit, OrderReader, ParcelId
from doorstep.api.problems import ProblemError, not_found
from doorstep.api.security import Role
from doorstep.dispatch.ingest import EventIn, InvalidEvent, Outcome, describe, ingest
from doorstep.domain.events import FailureReason, ScanKind
from doorstep.domain.ids import EVENT_ID_MAX_LENGTH
from doorstep.store import tables as t
from doorstep.store.queries import orders as oq

router = APIRouter(prefix="/v1", tags=["events"])

MAX_BATCH = 1000


class ProofIn(BaseModel):
    """Proof of delivery: who took it, and references to a signature or photo."""

    model_config = ConfigDict(extra="forbid")
    recipient_name: str = Field(default="", max_length=200)
    signature_ref: str = Field(default="", max_length=500)
    photo_ref: str = Field(default="", max_length=500)


class PositionIn(BaseModel):
    """Where the scan happened (GPS)."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ScanIn(BaseModel):
    """One scan event; ``event_id`` is the client's id and makes posting it again a no-op."""

    model_config = ConfigDict(extra="forbid")
    event_id: EventId = Field(
        description="The client's id for the event; an id seen before makes it a duplicate."
    )
    parcel_id: ParcelId = Field(description="The parcel scanned (its label's id).")
    kind: ScanKind = Field(description="What happened.")
    at: AwareDatetime = Field(
        description="When it happened, with its UTC offset; events apply in this order."
    )
    vehicle_id: Id | None = Field(default=None, description="The vehicle the scanner is on.")
    position: PositionIn | None = Field(default=None, description="Where the scan happened.")
    failure_reason: FailureReason | None = Field(
        default=None,
        description="Why a failed_attempt failed; an event of another kind must have none.",
    )
    proof: ProofIn | None = Field(default=None, description="Proof of delivery, if taken.")


@dataclass(frozen=True)
class Unreadable:
    """An event of a batch that does not match :class:`ScanIn`: rejected alone."""

    event_id: str | None
    errors: list[tuple[str, str]]
    """(where in the event, what is wrong), in pydantic's order."""


def _each_event(value: Any, _handler: ValidatorFunctionWrapHandler) -> ScanIn | Unreadable:
    """Read one event of a batch; one that does not match becomes :class:`Unreadable`."""
    try:
        return ScanIn.model_validate(value)
    except ValidationError as exc:
        return Unreadable(
            _event_id_of(value),
            [(_where(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)],
        )


def _event_id_of(value: Any) -> str | None:
    """The event id of an unreadable event, if it has a usable one."""
    event_id = value.get("event_id") if isinstance(value, dict) else None
    if isinstance(event_id, str) and 0 < len(event_id) <= EVENT_ID_MAX_LENGTH:
        return event_id
    return None


def _where(location: tuple[int | str, ...]) -> str:
    """A location inside an event as a field path: ``.proof.photo_ref``, ``[2]``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)


BatchEvent = Annotated[ScanIn | SkipJsonSchema[Unreadable], WrapValidator(_each_event)]
"""One event of a batch: its schema is :class:`ScanIn`, and it is checked on its own, so
one bad event is rejected alone instead of failing the batch."""


class BatchIn(BaseModel):
    """A batch of scan events, in any order."""

    model_config = ConfigDict(extra="forbid")
    events: list[BatchEvent] = Field(min_length=1, max_length=MAX_BATCH)


def _invalid(index: int, event: Unreadable) -> InvalidEvent:
    """An unreadable event, its fields named as the API names them."""
    fields = [(f"body.events[{index}]{where}", message) for where, message in event.errors]
    return InvalidEvent(
        event_id=event.event_id,
        field=fields[0][0],
        detail="; ".join(f"{field}: {message}" for field, message in fields)
        + ". Fix this event and send it again; the rest of the batch was kept.",
    )


def _event_in(e: ScanIn) -> EventIn:
    """A readable event, for the ingest."""
    return EventIn(
        event_id=e.event_id,
        parcel_id=e.parcel_id,
        kind=e.kind,
        at=e.at,
        vehicle_id=e.vehicle_id,
        lat=None if e.position is None else e.position.lat,
        lon=None if e.position is None else e.position.lon,
        failure_reason=e.failure_reason,
        proof=None if e.proof is None else e.proof.model_dump(),
    )


class BatchOut(BaseModel):
    """Counts, and one result per event in the order sent."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[Outcome]


@router.post("/events", response_model=BatchOut)
def post_events(
    body: BatchIn, db: Db, settings: Config, who: EventPoster, request: Request
) -> dict[str, Any]:
    """Ingest a batch: each event is accepted, a duplicate, or rejected with a code.

    A rejected event (a field that does not match the schema, an ``event_id``
    reused for another event, an impossible transition, an unknown parcel, a
    parcel not on the driver's routes) does not stop the others. States, ETAs
    and webhooks follow from the accepted ones.
    """
    events = [
        _invalid(i, e) if isinstance(e, Unreadable) else _event_in(e)
        for i, e in enumerate(body.events)
    ]
    try:
        outcomes = ingest(
            db,
            events,
            timezone=ZoneInfo(settings.timezone),
            now=t.utcnow(),
            key_id=who.key_id,
            driver_id=who.driver_id if who.role is Role.DRIVER else None,
            notice_s=round(settings.eta_notice_min * 60),
            max_attempts=settings.max_attempts,
        )
    except IntegrityError as exc:  # the same event in a batch being ingested right now
        raise ProblemError(
            409,
            "concurrent_batch",
            "Some of these events are being ingested by another request at this moment; "
            "nothing of this batch was stored. Send it again: events already stored "
            "come back as duplicates.",
        ) from exc
    if any(o.status == "accepted" for o in outcomes):
        request.app.state.monitor.poke()  # exceptions follow the scans, not only the clock
    return describe(outcomes)


class EventOut(BaseModel):
    """An accepted event as stored."""

    model_config = ConfigDict(from_attributes=True)
    event_id: str
    parcel_id: str
    kind: str
    at: datetime
    received_at: datetime
    failure_reason: str | None
    proof: dict[str, Any] | None


@router.get("/parcels/{parcel_id}/events", response_model=list[EventOut])
def parcel_events(parcel_id: str, db: Db, who: OrderReader, limit: Limit = 200) -> list[t.Event]:
    """A parcel's accepted events, in event-time order.

    An integration key reads only its tenant's parcels: another tenant's parcel,
    like an unknown one, is a 404.
    """
    if who.tenant is not None and not oq.parcel_in_tenant(db, parcel_id, who.tenant):
        raise not_found("parcel", parcel_id)
    query = (
        select(t.Event)
        .where(t.Event.parcel_id == parcel_id)
        .order_by(t.Event.at, t.Event.event_id)
        .limit(limit)
    )
    return list(db.scalars(query))
