"""Orders: one at a time, in bulk, or a manifest upload that goes through the gate.

An integration key's orders belong to its tenant, and it sees only those: another
tenant's order answers 404, as an unknown id does. The depot's roles see every order.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import PurePath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from doorstep.api.deps import (
    Config,
    Db,
    Id,
    Limit,
    Offset,
    OrderReader,
    OrderStatus,
    OrderWriter,
    ParcelId,
)
from doorstep.api.problems import ProblemError, not_found, refused_as
from doorstep.domain.order import Order as DomainOrder
from doorstep.domain.order import OrderKind, check_windows
from doorstep.domain.time_window import TimeWindow
from doorstep.io.tables import read_table_bytes
from doorstep.service import orders as rules
from doorstep.store import tables as t
from doorstep.store.convert import to_order
from doorstep.store.queries import orders as oq

router = APIRouter(prefix="/v1", tags=["orders"])

Seconds = Annotated[int, Field(ge=0, le=48 * 3600)]
Amount = Annotated[int, Field(ge=0, le=10**12)]
MAX_BULK = 5000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "excel", ".xls": "excel", ".json": "json"}


class OrderIn(BaseModel):
    """An order (times in seconds after midnight of the delivery day, money in cents)."""

    model_config = ConfigDict(extra="forbid")
    id: Id
    kind: OrderKind = OrderKind.DELIVERY
    street: str = Field(default="", max_length=300)
    unit: str = Field(default="", max_length=100)
    zip: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    windows: list[tuple[Seconds, Seconds]] = Field(default_factory=list, max_length=10)
    service_s: Seconds = 0
    parcels: int = Field(default=1, ge=0, le=1000)
    weight_g: Amount = 0
    volume_ml: Amount = 0
    skills: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    priority: int = Field(default=0, ge=-1, le=10)
    late_cost_per_hour: Amount = 0
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=2000)
    paired_pickup: Id | None = None
    customer_id: str | None = Field(default=None, min_length=1, max_length=100)
    """The shipper's id of the customer (any text): the failure-risk model's key."""
    parcel_ids: list[ParcelId] | None = Field(default=None, max_length=1000)
    """Barcodes of the order's parcels; default ``<order id>-1`` ... ``-<parcels>``."""

    @model_validator(mode="after")
    def _parcel_ids_match(self) -> OrderIn:
        if self.parcel_ids is not None and len(self.parcel_ids) != max(self.parcels, 1):
            raise ValueError("parcel_ids must name every parcel (as many ids as parcels)")
        return self

    def to_domain(self, field: str = "body") -> DomainOrder:
        """The domain order, built from the row it would be stored as (as the planner builds it).

        Parameters
        ----------
        field
            Where this order is in the request (``body``, ``body.orders[3]``).

        Raises
        ------
        ProblemError
            422 ``order_invalid`` naming the field the domain refuses (a window
            that ends before it starts: ``<field>.windows[k]``; overlapping
            windows: ``<field>.windows``).
        """
        windows = []
        for k, (start, end) in enumerate(self.windows):
            with refused_as("order_invalid", f"{field}.windows[{k}]"):
                windows.append(TimeWindow(start, end))
        with refused_as("order_invalid", f"{field}.windows"):
            check_windows(sorted(windows), f"order {self.id}")
        with refused_as("order_invalid", field):
            order = to_order(t.Order(**self.model_dump(mode="json", exclude={"parcel_ids"})))
        return order


class ParcelOut(BaseModel):
    """A parcel and where it is."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    state: str


class OrderOut(BaseModel):
    """An order as stored, with its status and tracking token."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    street: str
    unit: str
    zip: str
    city: str
    lat: float
    lon: float
    windows: list[tuple[int, int]]
    service_s: int
    parcels: int
    weight_g: int
    volume_ml: int
    skills: list[str]
    priority: int
    late_cost_per_hour: int
    customer_id: str | None = None
    status: str
    attempts: int
    """Delivery attempts that failed at the door (see ``/v1/orders/{id}/attempts``)."""
    tracking_token: str
    tracking_url: str = ""
    parcel_ids: list[str] = Field(default_factory=list)

    @field_validator("attempts", mode="before")
    @classmethod
    def _no_attempt_yet(cls, value: int | None) -> int:
        """An order not flushed yet has no stored count: it has had no attempt."""
        return 0 if value is None else value


class AttemptOut(BaseModel):
    """One visit of the order's stop: its number, route, day and how it ended."""

    model_config = ConfigDict(from_attributes=True)
    attempt: int
    route_id: str
    day: str
    outcome: str
    """``delivered`` (``picked_up`` for a return), ``failed_attempt`` or ``returned_to_depot``."""
    failure_reason: str | None
    at: datetime | None


class BulkIn(BaseModel):
    """Several orders, written all together or not at all."""

    model_config = ConfigDict(extra="forbid")
    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BULK)


class BulkOut(BaseModel):
    """The orders written."""

    created: int
    orders: list[OrderOut]


def _out(row: t.Order, parcel_ids: list[str]) -> OrderOut:
    out = OrderOut.model_validate(row)
    out.tracking_url = f"/v1/track/{row.tracking_token}"
    out.parcel_ids = parcel_ids
    return out


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
def create_order(body: OrderIn, db: Db, who: OrderWriter) -> OrderOut:
    """Add one order; its response holds the customer's tracking link."""
    [(row, parcels)] = rules.add_orders(
        db, [(body.to_domain(), body.parcel_ids)], ["body"], who.tenant
    )
    return _out(row, parcels)


@router.post("/orders/bulk", status_code=status.HTTP_201_CREATED, response_model=BulkOut)
def create_orders(body: BulkIn, db: Db, who: OrderWriter) -> BulkOut:
    """Add many orders at once: all are written, or none (422/409 say which and why)."""
    fields = [f"body.orders[{k}]" for k in range(len(body.orders))]
    orders = [(o.to_domain(f), o.parcel_ids) for f, o in zip(fields, body.orders, strict=True)]
    stored = rules.add_orders(db, orders, fields, who.tenant)
    written = [_out(row, parcels) for row, parcels in stored]
    return BulkOut(created=len(written), orders=written)


@router.post("/orders/upload", status_code=status.HTTP_200_OK)
def upload_orders(
    db: Db,
    who: OrderWriter,
    file: Annotated[UploadFile, File(description="Orders: CSV, Excel or JSON manifest")],
) -> dict[str, Any]:
    """Import a manifest through the gate, checked against the stored fleet.

    The response is the gate's report (every row accepted or named in a
    finding; the same findings as ``doorstep validate FILE --fleet FLEET`` for
    the vehicles stored) plus ``imported``: rows with errors are not imported, the others
    are, with their tracking links.
    """
    name = PurePath(file.filename or "upload.csv").name
    fmt = FORMATS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise ProblemError(
            415,
            "unsupported_format",
            f"{name}: send a .csv, .xlsx or .json manifest.",
            [{"field": "file", "message": "unsupported file type"}],
        )
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ProblemError(413, "too_large", f"{name} is over 20 MB; split the manifest.")
    imported = rules.import_orders(db, read_table_bytes(data, fmt, "orders", name), who.tenant)
    report = imported.report
    body = report.as_dict()
    body["findings"] = [f.as_dict() for f in [*report.findings, *imported.findings]]
    body["accepted"] = len(imported.orders)
    body["rejected"] = report.rows - len(imported.orders)
    body["imported"] = [
        {"order_id": row.id, "tracking_url": f"/v1/track/{row.tracking_token}", "parcel_ids": ids}
        for row, ids in imported.orders
    ]
    return body


@router.get("/orders", response_model=list[OrderOut])
def list_orders(
    db: Db,
    who: OrderReader,
    status_is: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[OrderOut]:
    """Orders, oldest first, optionally with one status (an integration key: its tenant's)."""
    rows = oq.find_orders(db, status_is, limit, offset, who.tenant)
    parcels = oq.parcels_of(db, [r.id for r in rows])
    return [_out(r, [p.id for p in parcels[r.id]]) for r in rows]


@router.get("/orders/{order_id}")
def get_order(order_id: str, db: Db, who: OrderReader) -> dict[str, Any]:
    """One order with its parcels and their states (another tenant's order is a 404)."""
    row = oq.find_order(db, order_id, who.tenant)
    if row is None:
        raise not_found("order", order_id)
    parcels = oq.parcels_of(db, [order_id])[order_id]
    body = _out(row, [p.id for p in parcels]).model_dump()
    body["parcels"] = [ParcelOut.model_validate(p).model_dump() for p in parcels]
    return body


@router.get("/orders/{order_id}/attempts", response_model=list[AttemptOut])
def get_attempts(order_id: str, db: Db, settings: Config, who: OrderReader) -> list[AttemptOut]:
    """The order's delivery attempts, oldest first (another tenant's order is a 404)."""
    row = oq.find_order(db, order_id, who.tenant)
    if row is None:
        raise not_found("order", order_id)
    history = rules.attempt_history(db, row, ZoneInfo(settings.timezone))
    return [AttemptOut.model_validate(a) for a in history]
