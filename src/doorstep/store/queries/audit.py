"""Queries of the route audit: one route's versions, what they planned and what happened.

:func:`load_route` reads what :func:`doorstep.analytics.audit.audit_route`
needs as a :class:`~doorstep.analytics.audit.RouteRecord`: every version of
the route (version 1 as published, then each accepted change), the current
version's stops with their scans in clock seconds, the departure (the first
``out_for_delivery`` scan, as the ETAs use it), and for failed stops the
reason, the order's earlier attempts and the gate's findings on the row it
was imported from (``orders.findings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.analytics.audit import ActualStop, PlannedStop, PlanVersion, RouteRecord
from doorstep.dispatch.ingest import _departures, clock_seconds
from doorstep.service.orders import attempt_history
from doorstep.store import tables as t
from doorstep.store.queries.dispatch import CURRENT_STATES

MAX_VERSIONS = 1_000
"""A guard against a cycle in ``replaces`` / ``replaced_by`` (never expected)."""


def version_chain(db: Session, route_id: str) -> list[t.Route]:
    """Every version of the route ``route_id`` belongs to, oldest first (empty if unknown).

    ``route_id`` may name any version; the last of the list is the current one.
    """
    route = db.get(t.Route, route_id)
    if route is None:
        return []
    chain = [route]
    while chain[0].replaces and len(chain) < MAX_VERSIONS:
        earlier = db.get(t.Route, chain[0].replaces)
        if earlier is None:
            break
        chain.insert(0, earlier)
    while chain[-1].replaced_by and len(chain) < MAX_VERSIONS:
        later = db.get(t.Route, chain[-1].replaced_by)
        if later is None:
            break
        chain.append(later)
    return chain


def current_route_ids(db: Session, day: str) -> list[str]:
    """The current version of every published route of ``day``, by id."""
    query = (
        select(t.Route.id)
        .where(t.Route.day == day, t.Route.state.in_(CURRENT_STATES))
        .order_by(t.Route.id)
    )
    return list(db.scalars(query))


def _stops(db: Session, route_ids: Sequence[str]) -> dict[str, list[t.Stop]]:
    out: dict[str, list[t.Stop]] = {r: [] for r in route_ids}
    query = (
        select(t.Stop)
        .where(t.Stop.route_id.in_(list(route_ids)))
        .order_by(t.Stop.route_id, t.Stop.seq)
    )
    for stop in db.scalars(query):
        out[stop.route_id].append(stop)
    return out


def _planned(stop: t.Stop) -> PlannedStop:
    return PlannedStop(
        order_id=stop.order_id,
        leg_s=stop.leg_s,
        service_s=stop.service_s,
        planned_arrival_s=stop.planned_arrival_s,
        planned_start_s=stop.planned_start_s,
        window_start_s=stop.window_start_s,
        window_end_s=stop.window_end_s,
    )


def _attempts(
    db: Session, order: t.Order, chain: Sequence[t.Route], zone: ZoneInfo
) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """The failure reason of this route's visit, and the order's attempts on earlier routes."""
    ids = {r.id for r in chain}
    day = chain[-1].day
    reason = None
    earlier = []
    for a in attempt_history(db, order, zone):
        if a.route_id in ids:
            reason = a.failure_reason or reason
        elif a.day <= day:
            earlier.append(
                {
                    "attempt": a.attempt,
                    "route_id": a.route_id,
                    "day": a.day,
                    "outcome": a.outcome,
                    "failure_reason": a.failure_reason,
                    "at": None if a.at is None else a.at.isoformat(),
                }
            )
    return reason, tuple(earlier)


def load_route(db: Session, route_id: str, timezone: ZoneInfo) -> RouteRecord | None:
    """What the audit of route ``route_id`` (any of its versions) reads; None if unknown.

    Parameters
    ----------
    db
        A session.
    route_id
        The id of any version of the route.
    timezone
        The zone of the plans' clock times (scans are converted to clock seconds).

    Returns
    -------
    RouteRecord or None
        Its versions, the current version's stops and scans, the departure.
    """
    chain = version_chain(db, route_id)
    if not chain:
        return None
    current = chain[-1]
    stops = _stops(db, [r.id for r in chain])
    versions = tuple(
        PlanVersion(r.id, r.version, r.start_s, tuple(_planned(s) for s in stops[r.id]))
        for r in chain
    )
    orders = {
        o.id: o
        for o in db.scalars(
            select(t.Order).where(t.Order.id.in_([s.order_id for s in stops[current.id]]))
        )
    }

    def seconds(moment: Any) -> int | None:
        return None if moment is None else clock_seconds(moment, current.day, timezone)

    actual = []
    for stop in stops[current.id]:
        order = orders[stop.order_id]
        reason: str | None = None
        earlier: tuple[dict[str, Any], ...] = ()
        if stop.state == "failed":
            reason, earlier = _attempts(db, order, chain, timezone)
        actual.append(
            ActualStop(
                order_id=stop.order_id,
                seq=stop.seq,
                state=stop.state,
                arrived_s=seconds(stop.arrived_at),
                finished_s=seconds(stop.finished_at),
                failure_reason=reason,
                attempts=order.attempts,
                earlier_attempts=earlier,
                findings=tuple(order.findings or ()),
            )
        )
    departed = _departures(db, [chain[0].id], current.day, timezone).get(chain[0].id)
    return RouteRecord(
        route_id=current.id,
        day=current.day,
        vehicle_id=current.vehicle_id,
        driver_id=current.driver_id,
        state=current.state,
        versions=versions,
        stops=tuple(actual),
        departure_s=seconds(departed),
    )
