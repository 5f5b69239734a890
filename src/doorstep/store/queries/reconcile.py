"""Queries of the parcel reconciliation: the day's manifest, its scans, the shifts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.analytics.reconcile import DayParcel, DayScans, Scan, day_bounds
from doorstep.domain.events import ScanKind
from doorstep.store import tables as t
from doorstep.store.queries.dispatch import CURRENT_STATES

CHUNK = 1000
"""Ids per ``IN (...)`` list (well under SQLite's and PostgreSQL's parameter limits)."""


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(ids))
    for k in range(0, len(items), CHUNK):
        yield items[k : k + CHUNK]


def day_scans(db: Session, day: str, timezone: str, at: datetime) -> DayScans:
    """What :func:`doorstep.analytics.reconcile.reconcile` reads for ``day``, up to ``at``.

    Parameters
    ----------
    db
        A session.
    day
        ISO date.
    timezone
        The service's zone (the day's local date, clock seconds).
    at
        The moment (timezone-aware): later scans are left out.

    Returns
    -------
    DayScans
        The parcels on the stops of the current route versions of ``day``
        (``replaced_by`` unset, published, in progress or completed: a
        superseded version is never counted), every scan of the day up to
        ``at``, the orders of parcels scanned but on no such stop, and every
        vehicle's shift end.
    """
    zone = ZoneInfo(timezone)
    midnight, next_midnight = day_bounds(day, zone)
    routes = {
        r.id: r
        for r in db.scalars(
            select(t.Route).where(
                t.Route.day == day,
                t.Route.replaced_by.is_(None),
                t.Route.state.in_(CURRENT_STATES),
            )
        )
    }
    stops: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for chunk in _chunks(routes):
        for route_id, order_id, kind in db.execute(
            select(t.Stop.route_id, t.Stop.order_id, t.Order.kind)
            .join(t.Order, t.Order.id == t.Stop.order_id)
            .where(t.Stop.route_id.in_(chunk))
            .order_by(t.Stop.route_id, t.Stop.seq)
        ):
            stops.setdefault(order_id, route_id)
            kinds[order_id] = kind
    parcels: list[DayParcel] = []
    for chunk in _chunks(stops):
        for pid, oid in db.execute(
            select(t.Parcel.id, t.Parcel.order_id).where(t.Parcel.order_id.in_(chunk))
        ):
            route = routes[stops[oid]]
            parcels.append(
                DayParcel(pid, oid, kinds[oid], route.id, route.vehicle_id, route.start_s)
            )
    until = max(midnight, min(at, next_midnight))
    scans = tuple(
        Scan(event_id, pid, ScanKind(kind), moment, vehicle)
        for event_id, pid, kind, moment, vehicle in db.execute(
            select(
                t.Event.event_id, t.Event.parcel_id, t.Event.kind, t.Event.at, t.Event.vehicle_id
            )
            .where(t.Event.at >= midnight, t.Event.at < next_midnight, t.Event.at <= until)
            .order_by(t.Event.at, t.Event.event_id)
        )
    )
    on_manifest = {p.parcel_id for p in parcels}
    for chunk in _chunks(s.parcel_id for s in scans if s.parcel_id not in on_manifest):
        for pid, oid, kind in db.execute(
            select(t.Parcel.id, t.Parcel.order_id, t.Order.kind)
            .join(t.Order, t.Order.id == t.Parcel.order_id)
            .where(t.Parcel.id.in_(chunk))
        ):
            parcels.append(DayParcel(pid, oid, kind))
    shift_end: dict[str, int] = {r.vehicle_id: r.end_s for r in routes.values()}
    for vehicle_id, end_s in db.execute(select(t.Vehicle.id, t.Vehicle.shift_end_s)):
        shift_end[vehicle_id] = end_s
    return DayScans(day, timezone, tuple(parcels), scans, shift_end)
