"""Orders: one at a time, in bulk, or a manifest upload that goes through the gate."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.api.deps import Db, Id, Limit, OrderReader, OrderWriter, ParcelId
from doorstep.api.problems import ProblemError, not_found, refused_as
from doorstep.domain.finding import Finding, Severity
from doorstep.domain.order import Order as DomainOrder
from doorstep.domain.order import OrderKind, check_windows
from doorstep.domain.time_window import TimeWindow
from doorstep.gate.validate import validate
from doorstep.io.tables import read_table_bytes
from doorstep.store import tables as t
from doorstep.store.convert import order_row, to_order

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
    status: str
    tracking_token: str
    tracking_url: str = ""
    parcel_ids: list[str] = Field(default_factory=list)


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


def _parcel_ids(order: DomainOrder, given: list[str] | None) -> list[str]:
    if given is not None:
        return list(given)
    return [f"{order.id}-{k}" for k in range(1, max(order.demand.parcels, 1) + 1)]


def _insert(db: Session, orders: list[tuple[DomainOrder, list[str]]]) -> list[OrderOut]:
    """Write orders and their parcels; 409 if any id (order or parcel) is taken."""
    order_ids = [o.id for o, _ in orders]
    parcel_ids = [p for _, ps in orders for p in ps]
    dup_orders = {o for o, n in Counter(order_ids).items() if n > 1}
    dup_parcels = {p for p, n in Counter(parcel_ids).items() if n > 1}
    taken = set(db.scalars(select(t.Order.id).where(t.Order.id.in_(order_ids))))
    taken_parcels = set(db.scalars(select(t.Parcel.id).where(t.Parcel.id.in_(parcel_ids))))
    if dup_orders or taken:
        ids = sorted(dup_orders | taken)[:10]
        raise ProblemError(409, "conflict", f"Order ids already used: {', '.join(ids)}.")
    if dup_parcels or taken_parcels:
        ids = sorted(dup_parcels | taken_parcels)[:10]
        raise ProblemError(409, "conflict", f"Parcel ids already used: {', '.join(ids)}.")
    out = []
    for order, ids_of_parcels in orders:
        row = order_row(order)
        db.add(row)
        db.add_all(t.Parcel(id=p, order_id=order.id) for p in ids_of_parcels)
        out.append(_out(row, ids_of_parcels))
    return out


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
def create_order(body: OrderIn, db: Db, _: OrderWriter) -> OrderOut:
    """Add one order; its response holds the customer's tracking link."""
    order = body.to_domain()
    return _insert(db, [(order, _parcel_ids(order, body.parcel_ids))])[0]


@router.post("/orders/bulk", status_code=status.HTTP_201_CREATED, response_model=BulkOut)
def create_orders(body: BulkIn, db: Db, _: OrderWriter) -> BulkOut:
    """Add many orders at once: all are written, or none (422/409 say which and why)."""
    orders = [(o.to_domain(f"body.orders[{k}]"), o.parcel_ids) for k, o in enumerate(body.orders)]
    written = _insert(db, [(o, _parcel_ids(o, given)) for o, given in orders])
    return BulkOut(created=len(written), orders=written)


@router.post("/orders/upload", status_code=status.HTTP_200_OK)
def upload_orders(
    db: Db,
    _: OrderWriter,
    file: Annotated[UploadFile, File(description="Orders: CSV, Excel or JSON manifest")],
) -> dict[str, Any]:
    """Import a manifest through the gate.

    The response is the gate's report (every row accepted or named in a
    finding) plus ``imported``: rows with errors are not imported, the others
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
    report = validate(read_table_bytes(data, fmt, "orders", name))
    ids = [o.id for o in report.orders]
    taken = set(db.scalars(select(t.Order.id).where(t.Order.id.in_(ids))))
    taken |= {
        p.order_id
        for p in db.scalars(
            select(t.Parcel).where(
                t.Parcel.id.in_([p for o in report.orders for p in _parcel_ids(o, None)])
            )
        )
    }
    fresh = [o for o in report.orders if o.id not in taken]
    imported = _insert(db, [(o, _parcel_ids(o, None)) for o in fresh])
    body = report.as_dict()
    already = [
        Finding(
            "order_id_taken",
            Severity.ERROR,
            f"Order {o.id} is already in Doorstep; it was not imported again.",
            field="order_id",
        ).as_dict()
        for o in report.orders
        if o.id in taken
    ]
    body["findings"] = [f.as_dict() for f in report.findings] + already
    body["accepted"] = len(imported)
    body["rejected"] = report.rows - len(imported)
    body["imported"] = [
        {"order_id": o.id, "tracking_url": o.tracking_url, "parcel_ids": o.parcel_ids}
        for o in imported
    ]
    return body


@router.get("/orders", response_model=list[OrderOut])
def list_orders(
    db: Db,
    _: OrderReader,
    status_is: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[OrderOut]:
    """Orders, oldest first, optionally with one status."""
    query = select(t.Order).order_by(t.Order.created_at, t.Order.id).limit(limit).offset(offset)
    if status_is is not None:
        query = query.where(t.Order.status == status_is)
    rows = list(db.scalars(query))
    parcels: dict[str, list[str]] = {r.id: [] for r in rows}
    for p in db.scalars(select(t.Parcel).where(t.Parcel.order_id.in_(list(parcels)))):
        parcels[p.order_id].append(p.id)
    return [_out(r, sorted(parcels[r.id])) for r in rows]


@router.get("/orders/{order_id}")
def get_order(order_id: str, db: Db, _: OrderReader) -> dict[str, Any]:
    """One order with its parcels and their states."""
    row = db.get(t.Order, order_id)
    if row is None:
        raise not_found("order", order_id)
    parcels = list(db.scalars(select(t.Parcel).where(t.Parcel.order_id == order_id)))
    body = _out(row, sorted(p.id for p in parcels)).model_dump()
    body["parcels"] = [ParcelOut.model_validate(p).model_dump() for p in parcels]
    return body
