"""Queries on plans, their routes and stops, and on what a plan covers.

The service's rules (:mod:`doorstep.service.plans`) and planning jobs
(:mod:`doorstep.service.planning`) read and write plans through these; the
routers format what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from doorstep.dispatch.state import REDELIVERABLE, plannable_again
from doorstep.domain.fleet import Fleet
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.plan_states import PUBLISHED_ROUTE_STATES, PlanStatus
from doorstep.errors import InputError
from doorstep.plan.outputs.plan_json import chosen_window
from doorstep.plan.result import DayPlan
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.convert import to_fleet, to_order

MAX_ATTEMPTS: int = Settings.model_fields["max_attempts"].default
"""Delivery attempts allowed when the caller does not say (the setting's default)."""


def names(ids: Sequence[str], limit: int = 10) -> str:
    """``ids`` joined for a message, the first ``limit`` of them and a count of the rest."""
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


ACTIVE_ROUTE_STATES = ("published", "in_progress")
"""Routes a driver is still to drive (a completed or superseded one is not)."""

OPEN_STOP_STATES = ("pending", "arrived")
"""Stops still to be served (a done or failed one is over)."""


def _on_open_stops() -> Select[Any]:
    """Ids of the orders with a stop still to serve on an active route."""
    return (
        select(t.Stop.order_id)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(t.Route.state.in_(ACTIVE_ROUTE_STATES), t.Stop.state.in_(OPEN_STOP_STATES))
    )


def _plannable(max_attempts: int) -> ColumnElement[bool]:
    """Orders offered to a plan by default: new ones, and failed deliveries with attempts left."""
    again = and_(
        t.Order.kind == OrderKind.DELIVERY.value,
        t.Order.status.in_(REDELIVERABLE),
        t.Order.attempts < max_attempts,
    )
    return or_(t.Order.status == "created", again)


def _require_all(
    what: str, asked: Sequence[str] | None, found: Sequence[t.Order] | Sequence[t.Vehicle]
) -> None:
    """Raise InputError naming the ids in ``asked`` that are not in ``found``."""
    if asked is None:
        return
    missing = sorted(set(asked) - {row.id for row in found})
    if missing:
        raise InputError(f"unknown {what}: {names(missing)}")


def load_orders(
    db: Session,
    order_ids: Sequence[str] | None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    redelivery_priority: int = 0,
) -> list[Order]:
    """The orders a plan covers, as domain orders.

    Parameters
    ----------
    db
        A session.
    order_ids
        The orders asked for, or ``None`` for every order still to serve and
        with no stop to serve on an active route: status ``created``, or a
        delivery that failed (``failed_attempt``, ``returned_to_depot``) with
        fewer than ``max_attempts`` attempts.
    max_attempts
        Attempts allowed (the setting ``max_attempts``).
    redelivery_priority
        Added to the priority of each failed delivery loaded (the setting
        ``redelivery_priority``), so the plan serves it first.

    Returns
    -------
    list of Order
        In id order, with the partner of every paired pickup-and-delivery
        among them (a pickup and its delivery are planned together).

    Raises
    ------
    InputError
        Some of ``order_ids`` do not exist.
    """
    query = select(t.Order).order_by(t.Order.id)
    if order_ids is None:
        query = query.where(_plannable(max_attempts), t.Order.id.not_in(_on_open_stops()))
    else:
        query = query.where(t.Order.id.in_(set(order_ids)))
    rows = list(db.scalars(query).all())
    _require_all("orders", order_ids, rows)
    have = {row.id for row in rows}
    missing = {r.paired_pickup for r in rows if r.paired_pickup and r.paired_pickup not in have}
    pickups = {r.id for r in rows if r.kind == "pickup"}
    if missing or pickups:
        partners = select(t.Order).where(
            t.Order.id.in_(missing) | t.Order.paired_pickup.in_(pickups)
        )
        rows.extend(row for row in db.scalars(partners) if row.id not in have)
        rows.sort(key=lambda row: row.id)
    return [_raised(row, max_attempts, redelivery_priority) for row in rows]


def _raised(row: t.Order, max_attempts: int, redelivery_priority: int) -> Order:
    """The domain order of ``row``, its priority raised when it is a failed delivery again."""
    order = to_order(row)
    if redelivery_priority and plannable_again(row.kind, row.status, row.attempts, max_attempts):
        return replace(order, priority=order.priority + redelivery_priority)
    return order


def load_fleet(db: Session, vehicle_ids: Sequence[str] | None) -> Fleet:
    """The vehicles a plan may use, with their depots, as a domain fleet.

    Parameters
    ----------
    db
        A session.
    vehicle_ids
        The vehicles asked for, or ``None`` for every vehicle.

    Returns
    -------
    Fleet
        The vehicles in id order and the depots they start at.

    Raises
    ------
    InputError
        Some of ``vehicle_ids`` do not exist.
    """
    query = select(t.Vehicle).order_by(t.Vehicle.id)
    if vehicle_ids is not None:
        query = query.where(t.Vehicle.id.in_(set(vehicle_ids)))
    vehicles = db.scalars(query).all()
    _require_all("vehicles", vehicle_ids, vehicles)
    depot_ids = {v.depot_id for v in vehicles}
    depots = db.scalars(select(t.Depot).where(t.Depot.id.in_(depot_ids)).order_by(t.Depot.id))
    return to_fleet(depots.all(), vehicles)


def route_rows(plan_id: str, day: str, plan: DayPlan) -> list[tuple[t.Route, list[t.Stop]]]:
    """The ``Route`` and ``Stop`` rows of a planned day.

    Parameters
    ----------
    plan_id
        The plan the routes belong to; a route's id is ``"{plan_id}-{vehicle_id}"``.
    day
        ISO date of the plan.
    plan
        The planned day.

    Returns
    -------
    list of (Route, list of Stop)
        One entry per route with visits, in the order of the plan document.
        A stop's ``leg_s`` is the driving time from the previous stop (or the
        depot) by the evaluator's schedule: arrival less the previous departure,
        less a break taken in between; its window is the one the visit uses
        (:func:`~doorstep.plan.outputs.plan_json.chosen_window`) and its ETA is
        the planned arrival.
    """
    vehicles = {v.id: v for v in plan.problem.fleet.vehicles}
    orders = {o.id: o for o in plan.problem.orders}
    out: list[tuple[t.Route, list[t.Stop]]] = []
    for route in plan.evaluation.plan.routes:
        route_id = f"{plan_id}-{route.vehicle_id}"
        brk = vehicles[route.vehicle_id].break_
        row = t.Route(
            id=route_id,
            plan_id=plan_id,
            vehicle_id=route.vehicle_id,
            day=day,
            state="planned",
            start_s=route.start_s,
            end_s=route.end_s,
            distance_m=route.distance_m,
        )
        stops: list[t.Stop] = []
        previous = route.start_s
        for k, visit in enumerate(route.visits):
            if brk is not None and route.break_after == k - 1 and route.break_start_s is not None:
                previous = route.break_start_s + brk.duration_s
            order = orders[visit.order_id]
            window = chosen_window(order, visit.arrival_s)
            stops.append(
                t.Stop(
                    route_id=route_id,
                    seq=k + 1,
                    order_id=order.id,
                    leg_s=visit.arrival_s - previous,
                    service_s=order.service_s,
                    window_start_s=None if window is None else window.start,
                    window_end_s=None if window is None else window.end,
                    planned_arrival_s=visit.arrival_s,
                    planned_start_s=visit.start_s,
                    eta_s=visit.arrival_s,
                    state="pending",
                )
            )
            previous = visit.departure_s
        out.append((row, stops))
    return out


def save_routes(db: Session, plan_id: str, day: str, plan: DayPlan) -> None:
    """Store the routes and stops of ``plan`` (see :func:`route_rows`)."""
    for route, stops in route_rows(plan_id, day, plan):
        db.add(route)
        db.flush()
        db.add_all(stops)


def find_plans(
    db: Session, day: date | None, status: PlanStatus | None, limit: int
) -> list[t.Plan]:
    """Plans, newest first, optionally of one day or in one status."""
    query = select(t.Plan).order_by(t.Plan.created_at.desc(), t.Plan.id.desc()).limit(limit)
    if day is not None:
        query = query.where(t.Plan.day == day.isoformat())
    if status is not None:
        query = query.where(t.Plan.status == status.value)
    return list(db.scalars(query))


def routes_of(db: Session, plan_id: str) -> list[t.Route]:
    """The routes of a plan, in id order."""
    return list(db.scalars(select(t.Route).where(t.Route.plan_id == plan_id).order_by(t.Route.id)))


def stops_of(db: Session, route_ids: Sequence[str]) -> list[t.Stop]:
    """The stops of some routes."""
    return list(db.scalars(select(t.Stop).where(t.Stop.route_id.in_(list(route_ids)))))


def known_ids(
    db: Session, table: type[t.Order] | type[t.Vehicle] | type[t.Driver], ids: Sequence[str]
) -> set[str]:
    """Which of ``ids`` exist in ``table``."""
    return set(db.scalars(select(table.id).where(table.id.in_(set(ids)))))


def order_states(db: Session, ids: Sequence[str]) -> list[tuple[str, str, str, int]]:
    """``(id, kind, status, attempts)`` of the orders ``ids`` that exist."""
    rows = db.execute(
        select(t.Order.id, t.Order.kind, t.Order.status, t.Order.attempts).where(
            t.Order.id.in_(ids)
        )
    )
    return [(i, k, s, a) for i, k, s, a in rows]


def regular_drivers(db: Session, vehicle_ids: Sequence[str]) -> dict[str, str]:
    """Vehicle id -> the first driver (by id) whose own vehicle it is."""
    regular: dict[str, str] = {}
    for driver in db.scalars(
        select(t.Driver).where(t.Driver.vehicle_id.in_(list(vehicle_ids))).order_by(t.Driver.id)
    ):
        if driver.vehicle_id is not None:
            regular.setdefault(driver.vehicle_id, driver.id)
    return regular


def orders_on_routes(db: Session, route_ids: Sequence[str]) -> set[str]:
    """Ids of the orders on the routes ``route_ids``."""
    return set(db.scalars(select(t.Stop.order_id).where(t.Stop.route_id.in_(list(route_ids)))))


def taken_by_other_plans(db: Session, plan_id: str, order_ids: set[str]) -> list[str]:
    """Those of ``order_ids`` that another plan's published routes still hold, sorted.

    A stop holds its order while it is to be served (pending or arrived) on a
    published or in-progress route, and once it is done (the order was served).
    A failed stop, or one on a superseded route, does not: a failed delivery
    may be published again on a later plan.
    """
    held = or_(
        and_(t.Route.state.in_(ACTIVE_ROUTE_STATES), t.Stop.state.in_(OPEN_STOP_STATES)),
        and_(t.Route.state.in_(PUBLISHED_ROUTE_STATES), t.Stop.state == "done"),
    )
    query = (
        select(t.Stop.order_id)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(t.Route.plan_id != plan_id, held, t.Stop.order_id.in_(order_ids))
    )
    return sorted(set(db.scalars(query)))


def orders_by_ids(db: Session, ids: set[str]) -> list[t.Order]:
    """The order rows ``ids`` (those that exist)."""
    return list(db.scalars(select(t.Order).where(t.Order.id.in_(ids))))


def find_routes(
    db: Session, day: date | None, plan_id: str | None, driver_id: str | None = None
) -> list[t.Route]:
    """Current routes of a day or a plan, by day, plan, start; only published ones of ``driver_id``.

    A version replaced by an accepted proposal (``replaced_by`` set) is left out:
    it stays readable by its id and names its successor.
    """
    query = select(t.Route).order_by(t.Route.day, t.Route.plan_id, t.Route.start_s, t.Route.id)
    query = query.where(t.Route.replaced_by.is_(None))
    if day is not None:
        query = query.where(t.Route.day == day.isoformat())
    if plan_id is not None:
        query = query.where(t.Route.plan_id == plan_id)
    if driver_id is not None:
        query = query.where(
            t.Route.driver_id == driver_id, t.Route.state.in_(PUBLISHED_ROUTE_STATES)
        )
    return list(db.scalars(query))


def stop_counts(db: Session, route_ids: Sequence[str]) -> dict[str, int]:
    """Route id -> number of stops."""
    rows = db.execute(
        select(t.Stop.route_id, func.count())
        .where(t.Stop.route_id.in_(list(route_ids)))
        .group_by(t.Stop.route_id)
    )
    return {route_id: count for route_id, count in rows}


def stops_with_orders(db: Session, route_id: str) -> list[tuple[t.Stop, t.Order]]:
    """A route's stops in order, each with its order."""
    rows = db.execute(
        select(t.Stop, t.Order)
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .where(t.Stop.route_id == route_id)
        .order_by(t.Stop.seq)
    )
    return [(stop, order) for stop, order in rows]


def planned_break(db: Session, route: t.Route) -> dict[str, Any] | None:
    """The break planned on ``route``, as its plan's ``plan.json`` gives it, or ``None``.

    Parameters
    ----------
    db
        A session.
    route
        A route.

    Returns
    -------
    dict or None
        ``after_stop``, ``start``/``end`` (``HH:MM``), ``start_s``/``end_s``
        and ``duration_s``; ``None`` when the route has no break.
    """
    document = db.scalar(select(t.Plan.document).where(t.Plan.id == route.plan_id))
    for entry in (document or {}).get("routes", []):
        if entry.get("vehicle_id") == route.vehicle_id:
            found = entry.get("break")
            return dict(found) if isinstance(found, dict) else None
    return None
