"""Queries on orders and their parcels.

``tenant`` scopes a query to one tenant's orders (an integration key's);
``None`` means every order (the depot's roles). Order and parcel ids are unique
across tenants, so the "taken" queries are never scoped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from doorstep.domain.order import Order
from doorstep.domain.plan_states import PUBLISHED_ROUTE_STATES
from doorstep.store import tables as t
from doorstep.store.convert import order_row


def in_tenant(tenant: str | None) -> ColumnElement[bool]:
    """Orders of ``tenant``; ``None``: every order."""
    return true() if tenant is None else t.Order.tenant == tenant


def taken_order_ids(db: Session, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` that are already orders."""
    return set(db.scalars(select(t.Order.id).where(t.Order.id.in_(set(ids)))))


def taken_parcel_ids(db: Session, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` that are already parcels."""
    return set(db.scalars(select(t.Parcel.id).where(t.Parcel.id.in_(set(ids)))))


def owners_of_parcels(db: Session, ids: Iterable[str]) -> set[str]:
    """Ids of the orders that own any of the parcels ``ids``."""
    return set(db.scalars(select(t.Parcel.order_id).where(t.Parcel.id.in_(set(ids)))))


def kinds_of(db: Session, ids: Iterable[str], tenant: str | None = None) -> dict[str, str]:
    """Order id -> kind (``delivery``, ``pickup``) of ``tenant``'s orders among ``ids``."""
    rows = db.execute(
        select(t.Order.id, t.Order.kind).where(t.Order.id.in_(set(ids)), in_tenant(tenant))
    )
    return {ident: kind for ident, kind in rows}


def deliveries_paired_with(db: Session, pickup_ids: Iterable[str]) -> dict[str, str]:
    """Pickup id -> the stored delivery paired with it, for those of ``pickup_ids`` paired."""
    rows = db.execute(
        select(t.Order.paired_pickup, t.Order.id)
        .where(t.Order.paired_pickup.in_(set(pickup_ids)))
        .order_by(t.Order.id)
    )
    return {pickup: delivery for pickup, delivery in rows if pickup is not None}


def add_orders(
    db: Session, orders: Sequence[tuple[Order, Sequence[str]]], tenant: str | None = None
) -> list[t.Order]:
    """Store orders, each with its parcels (ids must be free: see the service's checks).

    Parameters
    ----------
    db
        A session.
    orders
        Each order with the ids of its parcels.
    tenant
        The tenant the orders belong to; ``None``: depot-wide.

    Returns
    -------
    list of Order rows
        In the order given.
    """
    rows = []
    for order, parcel_ids in orders:
        row = order_row(order)
        row.tenant = tenant
        db.add(row)
        db.add_all(t.Parcel(id=p, order_id=order.id) for p in parcel_ids)
        rows.append(row)
    return rows


def find_orders(
    db: Session, status: str | None, limit: int, offset: int, tenant: str | None = None
) -> list[t.Order]:
    """Orders of ``tenant`` (``None``: all), oldest first, optionally with one status, one page."""
    query = (
        select(t.Order)
        .where(in_tenant(tenant))
        .order_by(t.Order.created_at, t.Order.id)
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(t.Order.status == status)
    return list(db.scalars(query))


def find_order(db: Session, order_id: str, tenant: str | None = None) -> t.Order | None:
    """Order ``order_id`` if it is one of ``tenant``'s (``None``: any), else ``None``."""
    return db.scalars(select(t.Order).where(t.Order.id == order_id, in_tenant(tenant))).first()


def parcel_in_tenant(db: Session, parcel_id: str, tenant: str | None = None) -> bool:
    """Whether parcel ``parcel_id`` exists and its order is one of ``tenant``'s (``None``: any)."""
    query = (
        select(t.Parcel.id)
        .join(t.Order, t.Order.id == t.Parcel.order_id)
        .where(t.Parcel.id == parcel_id, in_tenant(tenant))
    )
    return db.scalars(query).first() is not None


def parcels_of(db: Session, order_ids: Sequence[str]) -> dict[str, list[t.Parcel]]:
    """Order id -> its parcels, sorted by id (every order asked for has an entry)."""
    parcels: dict[str, list[t.Parcel]] = {i: [] for i in order_ids}
    query = select(t.Parcel).where(t.Parcel.order_id.in_(list(order_ids))).order_by(t.Parcel.id)
    for parcel in db.scalars(query):
        parcels[parcel.order_id].append(parcel)
    return parcels


class Visit(NamedTuple):
    """A finished stop of an order on a published route (one attempt)."""

    route_id: str
    day: str
    start_s: int
    state: str
    """done or failed."""
    finished_at: datetime | None


class Scan(NamedTuple):
    """A scan of one of an order's parcels that ends a visit."""

    kind: str
    at: datetime
    failure_reason: str | None


ENDING_SCANS = ("delivered", "failed_attempt", "returned_to_depot", "return_picked_up")
"""Scans that end a visit (an attempt)."""


def visits_of(db: Session, order_id: str) -> list[Visit]:
    """The finished stops (done, failed) of an order on published or later routes.

    Superseded and unpublished route versions are left out. Sorted by day,
    route start and route id.
    """
    rows = db.execute(
        select(t.Route.id, t.Route.day, t.Route.start_s, t.Stop.state, t.Stop.finished_at)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(
            t.Stop.order_id == order_id,
            t.Route.state.in_(PUBLISHED_ROUTE_STATES),
            t.Stop.state.in_(("done", "failed")),
        )
        .order_by(t.Route.day, t.Route.start_s, t.Route.id)
    )
    return [Visit(*row) for row in rows]


def ending_scans(db: Session, order_id: str) -> list[Scan]:
    """The scans of an order's parcels that end a visit, oldest first."""
    rows = db.execute(
        select(t.Event.kind, t.Event.at, t.Event.failure_reason)
        .join(t.Parcel, t.Parcel.id == t.Event.parcel_id)
        .where(t.Parcel.order_id == order_id, t.Event.kind.in_(ENDING_SCANS))
        .order_by(t.Event.at, t.Event.event_id)
    )
    return [Scan(*row) for row in rows]
