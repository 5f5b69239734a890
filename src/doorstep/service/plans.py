"""The rules of plans: what may be planned, and what publishing a plan does.

``POST /v1/plans`` asks :func:`check_plannable` before it queues a job;
``POST /v1/plans/{id}/publish`` is :func:`publish`. Both raise
:class:`~doorstep.service.refusal.RefusedError` naming what is wrong, so the dispatch
work (re-planning the rest of a day) can reuse them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy.orm import Session

from doorstep.dispatch.state import stop_state
from doorstep.domain.order import OrderKind
from doorstep.domain.plan_states import PlanStatus
from doorstep.notify.outbox import Subscribers, enqueue
from doorstep.service.planning import PlanRequest, owned_request
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import plans as q

MAX_NAMED = 50
"""Most per-field errors a refusal lists."""


def _quoted(ids: Sequence[str], limit: int = 10) -> str:
    return ", ".join(repr(i) for i in ids[:limit])


def check_known(db: Session, what: str, ids: Sequence[str]) -> None:
    """Refuse ids of orders or vehicles that do not exist.

    Parameters
    ----------
    db
        A session.
    what
        ``order`` or ``vehicle``.
    ids
        The ids asked for, in the request's order.

    Raises
    ------
    RefusedError
        ``unknown_orders`` / ``unknown_vehicles``, naming each missing id's field.
    """
    table = t.Order if what == "order" else t.Vehicle
    known = q.known_ids(db, table, ids)
    errors = [
        {"field": f"body.{what}_ids[{k}]", "message": f"unknown {what}"}
        for k, ident in enumerate(ids)
        if ident not in known
    ]
    if errors:
        missing = sorted({i for i in ids if i not in known})
        raise RefusedError(
            f"unknown_{what}s", f"No {what} with id {_quoted(missing)}.", errors=errors[:MAX_NAMED]
        )


def check_open(db: Session, ids: Sequence[str]) -> None:
    """Refuse orders that are finished: delivered, or (returns) collected.

    Raises
    ------
    RefusedError
        ``orders_closed`` (a conflict), naming each finished order's field.
    """
    closed = {
        ident: status
        for ident, kind, status in q.order_states(db, ids)
        if stop_state(status, OrderKind(kind)) == "done"
    }
    if closed:
        raise RefusedError(
            "orders_closed",
            f"Orders {_quoted(sorted(closed))} are finished "
            f"({', '.join(sorted(set(closed.values())))}) and cannot be planned again; "
            "leave them out of order_ids.",
            errors=[
                {"field": f"body.order_ids[{k}]", "message": f"order is {closed[ident]}"}
                for k, ident in enumerate(ids)
                if ident in closed
            ][:MAX_NAMED],
            conflict=True,
        )


def queue_plan(db: Session, day: date, request: PlanRequest) -> t.Plan:
    """Check a planning request and store its plan row, ``queued`` and owned by this process.

    Parameters
    ----------
    db
        A session; the caller commits before handing the plan to the job runner.
    day
        The day planned.
    request
        What to plan and how.

    Returns
    -------
    Plan
        The new plan row (flushed).

    Raises
    ------
    RefusedError
        Unknown orders or vehicles, or finished orders.
    """
    if request.order_ids is not None:
        check_known(db, "order", request.order_ids)
        check_open(db, request.order_ids)
    if request.vehicle_ids is not None:
        check_known(db, "vehicle", request.vehicle_ids)
    plan = t.Plan(
        id="plan_" + secrets.token_hex(8),
        day=day.isoformat(),
        status=PlanStatus.QUEUED.value,
        progress=0.0,
        request=owned_request(request),
    )
    db.add(plan)
    db.flush()
    return plan


def drivers_for(
    db: Session, routes: Sequence[t.Route], assignments: Mapping[str, str]
) -> dict[str, str]:
    """Which driver drives each route.

    Parameters
    ----------
    db
        A session.
    routes
        The plan's routes.
    assignments
        Vehicle id -> driver id asked for; a route not listed goes to the driver
        whose own vehicle is the route's vehicle.

    Returns
    -------
    dict
        Route id -> driver id.

    Raises
    ------
    RefusedError
        ``vehicle_not_in_plan``, ``unknown_driver``, ``route_without_driver`` or
        ``driver_assigned_twice``.
    """
    by_vehicle = {r.vehicle_id: r for r in routes}
    stray = [v for v in assignments if v not in by_vehicle]
    if stray:
        raise RefusedError(
            "vehicle_not_in_plan",
            f"No route of this plan uses vehicle {_quoted(stray, len(stray))}.",
            errors=[
                {"field": f"body.assignments.{v}", "message": "not a vehicle of this plan"}
                for v in stray
            ],
        )
    known = q.known_ids(db, t.Driver, list(set(assignments.values())))
    unknown = {v: d for v, d in assignments.items() if d not in known}
    if unknown:
        raise RefusedError(
            "unknown_driver",
            f"No driver with id {', '.join(sorted(repr(d) for d in set(unknown.values())))}; "
            "create them first (POST /v1/drivers).",
            errors=[
                {"field": f"body.assignments.{v}", "message": "unknown driver"} for v in unknown
            ],
        )
    regular = q.regular_drivers(db, list(by_vehicle))
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for route in routes:
        driver_id = assignments.get(route.vehicle_id) or regular.get(route.vehicle_id)
        if driver_id is None:
            missing.append(route.vehicle_id)
        else:
            chosen[route.id] = driver_id
    if missing:
        raise RefusedError(
            "route_without_driver",
            f"No driver for the route of {_quoted(missing, len(missing))}: give "
            "assignments {vehicle_id: driver_id}, or set a driver's vehicle_id.",
            errors=[{"field": f"body.assignments.{v}", "message": "no driver"} for v in missing],
        )
    twice = sorted(d for d, n in Counter(chosen.values()).items() if n > 1)
    if twice:
        raise RefusedError(
            "driver_assigned_twice",
            f"Driver {_quoted(twice, len(twice))} would drive two routes of this plan.",
        )
    return chosen


def publish(db: Session, plan: t.Plan, assignments: Mapping[str, str]) -> None:
    """Hand a done plan's routes to their drivers; their orders become ``planned``.

    Queues ``order.status_changed`` for each order that moves and ``plan.published``.

    Parameters
    ----------
    db
        A session, in the transaction that locked ``plan``.
    plan
        The plan, locked for update.
    assignments
        Vehicle id -> driver id (see :func:`drivers_for`).

    Raises
    ------
    RefusedError
        ``plan_not_done`` or ``orders_already_published`` (conflicts), or a
        refusal of :func:`drivers_for`.
    """
    if plan.status != PlanStatus.DONE.value:
        raise RefusedError(
            "plan_not_done",
            f"Plan {plan.id!r} is {plan.status}; only a done plan can be published.",
            conflict=True,
        )
    routes = q.routes_of(db, plan.id)
    drivers = drivers_for(db, routes, assignments)
    order_ids = q.orders_on_routes(db, [r.id for r in routes])
    taken = q.taken_by_other_plans(db, plan.id, order_ids)
    if taken:
        raise RefusedError(
            "orders_already_published",
            f"Orders {', '.join(taken[:10])} are on routes published by another plan.",
            conflict=True,
        )
    for route in routes:
        route.driver_id = drivers[route.id]
        route.state = "published"
    subscribers = Subscribers.load(db)
    for order in q.orders_by_ids(db, order_ids):
        if order.status == "created":
            subscribers.enqueue(
                db,
                "order.status_changed",
                {"order_id": order.id, "from": "created", "to": "planned"},
            )
            order.status = "planned"
    plan.status = PlanStatus.PUBLISHED.value
    plan.published_at = t.utcnow()
    enqueue(
        db,
        "plan.published",
        {
            "plan_id": plan.id,
            "day": plan.day,
            "routes": [
                {"route_id": r.id, "vehicle_id": r.vehicle_id, "driver_id": r.driver_id}
                for r in routes
            ],
        },
    )
    db.flush()
