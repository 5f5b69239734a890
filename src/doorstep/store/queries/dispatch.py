"""Queries of the dispatch layer: the day's state, exceptions, proposals, decisions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doorstep.dispatch.day import DayState, RequestNow, RouteNow, StopNow
from doorstep.store import tables as t

CURRENT_STATES = ("published", "in_progress", "completed")
"""States of a route version drivers work from (not ``planned``, not ``superseded``)."""

ACTIVE_STATES = ("published", "in_progress")


def day_bounds(day: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight of ``day`` and of the next day, in ``zone``."""
    start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def current_routes(db: Session, day: str) -> list[t.Route]:
    """The current version of every published route of ``day``, by id."""
    return list(
        db.scalars(
            select(t.Route)
            .where(t.Route.day == day, t.Route.state.in_(CURRENT_STATES))
            .order_by(t.Route.id)
        )
    )


def active_days(db: Session) -> list[str]:
    """Days that have a published or in-progress route."""
    rows = db.scalars(select(t.Route.day).where(t.Route.state.in_(ACTIVE_STATES)).distinct())
    return sorted(rows)


def _seconds(moment: datetime | None, midnight: datetime) -> int | None:
    return None if moment is None else int((moment - midnight).total_seconds())


def _chains(db: Session, day: str) -> dict[str, str]:
    """Every route id of ``day`` -> the id of its current version."""
    rows = db.execute(select(t.Route.id, t.Route.replaced_by).where(t.Route.day == day)).all()
    successor = {rid: nxt for rid, nxt in rows}
    out = {}
    for rid in successor:
        current = rid
        while successor.get(current):
            current = successor[current]  # type: ignore[assignment]
        out[rid] = current
    return out


def day_state(db: Session, day: str, timezone: str) -> DayState:
    """The state :func:`doorstep.dispatch.exceptions.detect` reads, from the store.

    Parameters
    ----------
    db
        A session.
    day
        ISO date.
    timezone
        The service's zone (clock times of the day).

    Returns
    -------
    DayState
        Current route versions with their stops, parcels (and which were
        loaded that day), departures (first ``out_for_delivery`` scan), the
        latest incident of each route (of any of its versions), and the open
        requests about orders of the day.
    """
    zone = ZoneInfo(timezone)
    midnight, next_midnight = day_bounds(day, zone)
    routes = current_routes(db, day)
    route_ids = [r.id for r in routes]
    shift_end = dict(db.execute(select(t.Vehicle.id, t.Vehicle.shift_end_s)).all())
    rows = db.execute(  # columns, not ORM objects: this runs on every monitor tick
        select(
            t.Stop.route_id,
            t.Stop.seq,
            t.Stop.leg_s,
            t.Stop.service_s,
            t.Stop.planned_arrival_s,
            t.Stop.eta_s,
            t.Stop.notified_eta_s,
            t.Stop.window_start_s,
            t.Stop.window_end_s,
            t.Stop.state,
            t.Stop.arrived_at,
            t.Stop.finished_at,
            t.Order.id.label("order_id"),
            t.Order.status.label("order_status"),
            t.Order.attempts,
            t.Order.lat,
            t.Order.lon,
            t.Order.kind,
        )
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .where(t.Stop.route_id.in_(route_ids))
        .order_by(t.Stop.route_id, t.Stop.seq)
    ).all()
    order_ids = sorted({row.order_id for row in rows})
    parcels: dict[str, list[str]] = defaultdict(list)
    owner: dict[str, str] = {}
    for pid, oid in db.execute(
        select(t.Parcel.id, t.Parcel.order_id)
        .where(t.Parcel.order_id.in_(order_ids))
        .order_by(t.Parcel.id)
    ):
        parcels[oid].append(pid)
        owner[pid] = oid
    loaded: dict[str, set[str]] = defaultdict(set)
    departures: dict[str, datetime] = {}
    reasons: dict[str, str] = {}
    for pid, kind, at, reason in db.execute(
        select(t.Event.parcel_id, t.Event.kind, t.Event.at, t.Event.failure_reason)
        .where(
            t.Event.parcel_id.in_(list(owner)),
            t.Event.at >= midnight,
            t.Event.at < next_midnight,
        )
        .order_by(t.Event.at)
    ):
        oid = owner[pid]
        if kind in ("loaded", "out_for_delivery"):
            loaded[oid].add(pid)
        if kind == "out_for_delivery":
            departures.setdefault(oid, at)
        if reason is not None:
            reasons[oid] = reason
    stops: dict[str, list[StopNow]] = defaultdict(list)
    departed: dict[str, datetime] = {}
    for row in rows:
        if row.order_id in departures:
            first = departures[row.order_id]
            departed[row.route_id] = min(departed.get(row.route_id, first), first)
        failed = row.state == "failed"
        stops[row.route_id].append(
            StopNow(
                order_id=row.order_id,
                seq=row.seq,
                leg_s=row.leg_s,
                service_s=row.service_s,
                planned_arrival_s=row.planned_arrival_s,
                eta_s=row.eta_s,
                told_s=row.notified_eta_s,
                window_start_s=row.window_start_s,
                window_end_s=row.window_end_s,
                state=row.state,
                order_status=row.order_status,
                arrived_s=_seconds(row.arrived_at, midnight),
                finished_s=_seconds(row.finished_at, midnight),
                parcel_ids=tuple(parcels[row.order_id]),
                loaded=tuple(sorted(loaded[row.order_id])),
                failure_reason=reasons.get(row.order_id) if failed else None,
                attempt=row.attempts if failed and row.attempts else row.attempts + 1,
                location=(row.lat, row.lon),
                kind=row.kind,
            )
        )
    chains = _chains(db, day)
    incidents: dict[str, dict[str, Any]] = {}
    for incident in db.scalars(
        select(t.Incident)
        .where(t.Incident.route_id.in_(list(chains)))
        .order_by(t.Incident.created_at)
    ):
        incidents[chains[incident.route_id]] = {
            "id": incident.id,
            "kind": incident.kind,
            "at_s": _seconds(incident.at, midnight),
            "note": incident.note,
        }
    on_route = {row.order_id: row.route_id for row in rows}
    requests = tuple(
        RequestNow(r.id, r.order_id, r.kind, r.source, dict(r.details), on_route.get(r.order_id))
        for r in db.scalars(
            select(t.CustomerRequest)
            .where(t.CustomerRequest.status == "open")
            .where(t.CustomerRequest.order_id.in_(order_ids))
            .order_by(t.CustomerRequest.created_at)
        )
    )
    return DayState(
        day,
        tuple(
            RouteNow(
                id=r.id,
                vehicle_id=r.vehicle_id,
                state=r.state,
                start_s=r.start_s,
                end_s=r.end_s,
                shift_end_s=shift_end.get(r.vehicle_id, r.end_s),
                stops=tuple(stops[r.id]),
                driver_id=r.driver_id,
                version=r.version,
                departed_s=_seconds(departed.get(r.id), midnight),
                incident=incidents.get(r.id),
            )
            for r in routes
        ),
        requests,
        timezone,
    )


def exceptions_of(
    db: Session, day: str | None, status: str | None, limit: int = 500
) -> list[t.DispatchException]:
    """Stored exceptions, newest first (optionally of one day, in one status)."""
    query = select(t.DispatchException)
    if day is not None:
        query = query.where(t.DispatchException.day == day)
    if status is not None:
        query = query.where(t.DispatchException.status == status)
    return list(db.scalars(query.order_by(t.DispatchException.first_seen.desc()).limit(limit)))


def unresolved(db: Session, day: str) -> dict[str, t.DispatchException]:
    """Open or acknowledged exceptions of ``day``, by cause (locked for update)."""
    rows = db.scalars(
        select(t.DispatchException)
        .where(t.DispatchException.day == day, t.DispatchException.status != "resolved")
        .with_for_update()
    )
    return {row.cause: row for row in rows}


def decided_causes(db: Session, day: str) -> set[str]:
    """Causes of ``day`` whose exception a person closed by accepting a proposal."""
    rows = db.scalars(
        select(t.DispatchException).where(
            t.DispatchException.day == day, t.DispatchException.status == "resolved"
        )
    )
    return {row.cause for row in rows if row.details.get("decided")}


def proposals_of(db: Session, exception_id: str) -> list[t.Proposal]:
    """The proposals made for an exception, oldest first."""
    return list(
        db.scalars(
            select(t.Proposal)
            .where(t.Proposal.exception_id == exception_id)
            .order_by(t.Proposal.created_at, t.Proposal.id)
        )
    )


def decisions_of(db: Session, day: str | None, limit: int = 500) -> list[t.Decision]:
    """The decision log, oldest first (optionally of one day)."""
    query = select(t.Decision)
    if day is not None:
        query = query.where(t.Decision.day == day)
    return list(db.scalars(query.order_by(t.Decision.id).limit(limit)))


def routes_by_ids(db: Session, ids: Sequence[str], lock: bool = False) -> dict[str, t.Route]:
    """Route rows by id (locked for update in id order when ``lock``)."""
    query = select(t.Route).where(t.Route.id.in_(list(ids))).order_by(t.Route.id)
    if lock:
        query = query.with_for_update()
    return {r.id: r for r in db.scalars(query)}


def stops_of_route(db: Session, route_id: str) -> list[t.Stop]:
    """A route's stop rows in order."""
    return list(db.scalars(select(t.Stop).where(t.Stop.route_id == route_id).order_by(t.Stop.seq)))


def last_scans(
    db: Session, route_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, tuple[str, datetime, str]]:
    """The latest scan between ``start`` and ``end`` of each route's parcels.

    Returns
    -------
    dict
        Route id -> ``(kind, at, order_id)`` of its parcels' latest scan
        (routes without a scan in the interval are left out).
    """
    rows = db.execute(
        select(t.Stop.route_id, t.Event.kind, t.Event.at, t.Parcel.order_id)
        .join(t.Parcel, t.Parcel.order_id == t.Stop.order_id)
        .join(t.Event, t.Event.parcel_id == t.Parcel.id)
        .where(t.Stop.route_id.in_(list(route_ids)), t.Event.at >= start, t.Event.at < end)
        .order_by(t.Event.at, t.Event.seq)
    ).all()
    return {route_id: (kind, at, order_id) for route_id, kind, at, order_id in rows}


def board_marks(db: Session, day: str) -> dict[str, list[tuple[Any, ...]]]:
    """What the dispatch board shows of ``day``, reduced to rows that change when it does.

    Returns
    -------
    dict
        ``exceptions`` (id, status, severity, sentence), ``proposals`` (id,
        status), ``decisions`` (id), ``routes`` (route id, state, and each
        stop's order, state and ETA), ``scans`` (the newest scan's number).
    """
    exceptions = db.execute(
        select(
            t.DispatchException.id,
            t.DispatchException.status,
            t.DispatchException.severity,
            t.DispatchException.sentence,
        )
        .where(t.DispatchException.day == day)
        .order_by(t.DispatchException.id)
    ).all()
    proposals = db.execute(
        select(t.Proposal.id, t.Proposal.status)
        .join(t.DispatchException, t.DispatchException.id == t.Proposal.exception_id)
        .where(t.DispatchException.day == day)
        .order_by(t.Proposal.id)
    ).all()
    decisions = db.execute(
        select(t.Decision.id).where(t.Decision.day == day).order_by(t.Decision.id)
    ).all()
    routes = db.execute(
        select(t.Route.id, t.Route.state, t.Stop.order_id, t.Stop.state, t.Stop.eta_s)
        .join(t.Stop, t.Stop.route_id == t.Route.id, isouter=True)
        .where(t.Route.day == day, t.Route.state.in_(CURRENT_STATES))
        .order_by(t.Route.id, t.Stop.seq)
    ).all()
    newest = db.scalar(select(func.max(t.Event.seq)))
    return {
        "exceptions": [tuple(r) for r in exceptions],
        "proposals": [tuple(r) for r in proposals],
        "decisions": [tuple(r) for r in decisions],
        "routes": [tuple(r) for r in routes],
        "scans": [(newest,)],
    }
