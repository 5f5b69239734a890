"""Queries of the analytics layer: what :mod:`doorstep.analytics.facts` reads from the store.

Each returns plain rows (tuples by name); the facts module turns them into
Arrow tables. Only current route versions count (``replaced_by IS NULL`` and a
state drivers work from): a superseded version's stops were copied into its
successor and must not be counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session

from doorstep.store import tables as t
from doorstep.store.queries.dispatch import CURRENT_STATES

_Rows = Sequence[Row[*tuple[Any, ...]]]


def _current_routes(first_day: str, last_day: str, driver_id: str | None) -> Select[Any]:
    query = select(t.Route.id).where(
        t.Route.day >= first_day,
        t.Route.day <= last_day,
        t.Route.replaced_by.is_(None),
        t.Route.state.in_(CURRENT_STATES),
    )
    if driver_id is not None:
        query = query.where(t.Route.driver_id == driver_id)
    return query


def stop_rows(db: Session, first_day: str, last_day: str, driver_id: str | None = None) -> _Rows:
    """Every stop of a current route version whose day is in ``[first_day, last_day]``.

    Parameters
    ----------
    db
        A session.
    first_day, last_day
        ISO dates, both included.
    driver_id
        Only that driver's routes (a driver's own figures); ``None``: all.

    Returns
    -------
    list of Row
        Stop, route, order and vehicle columns, by route day, route id and sequence.
    """
    routes = _current_routes(first_day, last_day, driver_id)
    return db.execute(
        select(
            t.Route.day,
            t.Route.id.label("route_id"),
            t.Route.version.label("route_version"),
            t.Route.vehicle_id,
            t.Route.driver_id,
            t.Route.start_s.label("route_start_s"),
            t.Route.end_s.label("route_end_s"),
            t.Route.distance_m.label("route_distance_m"),
            t.Vehicle.depot_id,
            t.Vehicle.shift_end_s,
            t.Vehicle.cost_fixed,
            t.Vehicle.cost_per_km,
            t.Vehicle.cost_per_hour,
            t.Stop.seq,
            t.Stop.order_id,
            t.Stop.leg_s,
            t.Stop.service_s,
            t.Stop.window_start_s,
            t.Stop.window_end_s,
            t.Stop.planned_arrival_s,
            t.Stop.planned_start_s,
            t.Order.kind,
            t.Order.zip,
            t.Order.email,
            t.Order.phone,
        )
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .outerjoin(t.Vehicle, t.Vehicle.id == t.Route.vehicle_id)
        .where(t.Stop.route_id.in_(routes))
        .order_by(t.Route.day, t.Route.id, t.Stop.seq)
    ).all()


def _range_parcels(first_day: str, last_day: str, driver_id: str | None) -> Select[Any]:
    orders = select(t.Stop.order_id).where(
        t.Stop.route_id.in_(_current_routes(first_day, last_day, driver_id))
    )
    return select(t.Parcel.id).where(t.Parcel.order_id.in_(orders))


def parcel_rows(db: Session, first_day: str, last_day: str, driver_id: str | None = None) -> _Rows:
    """``(id, order_id)`` of every parcel of an order on a stop of :func:`stop_rows`."""
    parcels = _range_parcels(first_day, last_day, driver_id)
    return db.execute(
        select(t.Parcel.id, t.Parcel.order_id)
        .where(t.Parcel.id.in_(parcels))
        .order_by(t.Parcel.order_id, t.Parcel.id)
    ).all()


def stop_event_rows(
    db: Session,
    first_day: str,
    last_day: str,
    start: datetime,
    end: datetime,
    driver_id: str | None = None,
) -> _Rows:
    """Scans of the parcels of :func:`parcel_rows` that the stop facts read.

    Every scan in ``[start, end)`` (the range's local midnights, in UTC), and
    every ``failed_attempt`` before ``start`` (the parcels' earlier attempts).
    Rows ``(parcel_id, kind, at, failure_reason)`` in event time order.
    """
    parcels = _range_parcels(first_day, last_day, driver_id)
    return db.execute(
        select(t.Event.parcel_id, t.Event.kind, t.Event.at, t.Event.failure_reason)
        .where(
            t.Event.parcel_id.in_(parcels),
            t.Event.at < end,
            or_(t.Event.at >= start, t.Event.kind == "failed_attempt"),
        )
        .order_by(t.Event.at, t.Event.seq)
    ).all()


def event_rows(db: Session, start: datetime, end: datetime, driver_id: str | None = None) -> _Rows:
    """Every accepted scan with ``start <= at < end``, with its parcel's order and kind.

    ``driver_id``: only scans of parcels whose order is on one of that driver's
    route versions of those days (a driver's own).
    """
    query = (
        select(
            t.Event.seq,
            t.Event.event_id,
            t.Event.parcel_id,
            t.Parcel.order_id,
            t.Order.kind.label("order_kind"),
            t.Event.kind,
            t.Event.at,
            t.Event.received_at,
            t.Event.vehicle_id,
            t.Event.failure_reason,
            t.Event.lat,
            t.Event.lon,
        )
        .join(t.Parcel, t.Parcel.id == t.Event.parcel_id)
        .join(t.Order, t.Order.id == t.Parcel.order_id)
        .where(t.Event.at >= start, t.Event.at < end)
        .order_by(t.Event.at, t.Event.seq)
    )
    if driver_id is not None:
        mine = (
            select(t.Stop.order_id)
            .join(t.Route, t.Route.id == t.Stop.route_id)
            .where(t.Route.driver_id == driver_id)
        )
        query = query.where(t.Parcel.order_id.in_(mine))
    return db.execute(query).all()


def route_rows(db: Session, first_day: str, last_day: str) -> _Rows:
    """Every route version of the range: ``(id, replaced_by, vehicle_id, driver_id, depot_id)``."""
    return db.execute(
        select(
            t.Route.id,
            t.Route.replaced_by,
            t.Route.vehicle_id,
            t.Route.driver_id,
            t.Vehicle.depot_id,
        )
        .outerjoin(t.Vehicle, t.Vehicle.id == t.Route.vehicle_id)
        .where(t.Route.day >= first_day, t.Route.day <= last_day)
    ).all()


def order_contact_rows(db: Session, order_ids: Sequence[str]) -> _Rows:
    """``(id, zip, email, phone)`` of the given orders."""
    if not order_ids:
        return []
    return db.execute(
        select(t.Order.id, t.Order.zip, t.Order.email, t.Order.phone).where(
            t.Order.id.in_(list(order_ids))
        )
    ).all()


def exception_rows(db: Session, first_day: str, last_day: str) -> _Rows:
    """Exceptions opened on a day of the range, oldest first."""
    return db.execute(
        select(
            t.DispatchException.id,
            t.DispatchException.day,
            t.DispatchException.kind,
            t.DispatchException.severity,
            t.DispatchException.status,
            t.DispatchException.route_id,
            t.DispatchException.order_ids,
            t.DispatchException.first_seen,
            t.DispatchException.resolved_at,
        )
        .where(t.DispatchException.day >= first_day, t.DispatchException.day <= last_day)
        .order_by(t.DispatchException.first_seen, t.DispatchException.id)
    ).all()


def decision_rows(db: Session, first_day: str, last_day: str) -> _Rows:
    """Decisions logged for a day of the range: ``(id, day, exception_id, decision, at)``."""
    return db.execute(
        select(
            t.Decision.id,
            t.Decision.day,
            t.Decision.exception_id,
            t.Decision.decision,
            t.Decision.at,
        )
        .where(t.Decision.day >= first_day, t.Decision.day <= last_day)
        .order_by(t.Decision.id)
    ).all()


def area_centres(db: Session, order_ids: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Zip code -> mean ``(lat, lon)`` of the given orders in it (to place areas on a plot)."""
    sums: dict[str, list[float]] = {}
    ids = list(dict.fromkeys(order_ids))
    for start in range(0, len(ids), 500):
        for zip_code, lat, lon in db.execute(
            select(t.Order.zip, t.Order.lat, t.Order.lon).where(
                t.Order.id.in_(ids[start : start + 500])
            )
        ):
            acc = sums.setdefault(zip_code or "", [0.0, 0.0, 0.0])
            acc[0] += lat
            acc[1] += lon
            acc[2] += 1
    return {z: (a[0] / a[2], a[1] / a[2]) for z, a in sums.items() if a[2] and z}
