"""The rules of plans: what may be planned, and what publishing a plan does.

``POST /v1/plans`` asks :func:`check_plannable` before it queues a job;
``POST /v1/plans/{id}/publish`` is :func:`publish`. Both raise
:class:`~doorstep.service.refusal.RefusedError` naming what is wrong, so the dispatch
work (re-planning the rest of a day) can reuse them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.orm import Session

from doorstep.dispatch.state import REDELIVERABLE, RETURN_TO_SENDER, plannable_again, stop_state
from doorstep.domain.order import OrderKind
from doorstep.domain.plan_states import PlanStatus
from doorstep.notify.outbox import Subscribers, enqueue
from doorstep.plan.outputs.plan_json import routes_of_document
from doorstep.service.planning import PlanRequest, owned_request
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import plans as q
from doorstep.store.queries.plans import MAX_ATTEMPTS

MAX_NAMED = 50
"""Most per-field errors a refusal lists."""


def _quoted(ids: Sequence[str], limit: int = 10) -> str:
    return ", ".join(repr(i) for i in ids[:limit])


def _field_errors(
    fields: Sequence[str], ids: Sequence[str], wrong: Callable[[str], str | None]
) -> list[dict[str, str]]:
    """Per-field errors for the ids ``wrong`` has something to say about (the first few)."""
    errors = [
        {"field": field, "message": message}
        for field, ident in zip(fields, ids, strict=True)
        if (message := wrong(ident)) is not None
    ]
    return errors[:MAX_NAMED]


def check_known(
    db: Session, what: str, ids: Sequence[str], fields: Sequence[str] | None = None
) -> None:
    """Refuse ids of orders or vehicles that do not exist.

    Parameters
    ----------
    db
        A session.
    what
        ``order`` or ``vehicle``.
    ids
        The ids asked for, in the request's order.
    fields
        Where each id is in the request; default ``body.<what>_ids[k]``.

    Raises
    ------
    RefusedError
        ``unknown_orders`` / ``unknown_vehicles``, naming each missing id's field.
    """
    table = t.Order if what == "order" else t.Vehicle
    known = q.known_ids(db, table, ids)
    where = fields or [f"body.{what}_ids[{k}]" for k in range(len(ids))]
    errors = _field_errors(where, ids, lambda i: None if i in known else f"unknown {what}")
    if errors:
        missing = sorted({i for i in ids if i not in known})
        raise RefusedError(
            f"unknown_{what}s", f"No {what} with id {_quoted(missing)}.", errors=errors
        )


def closed_status(kind: str, status: str, attempts: int, max_attempts: int) -> bool:
    """Whether an order is finished and cannot be planned again.

    Delivered, or (returns) collected; marked ``return_to_sender``; or a failed
    delivery that has used its ``max_attempts`` attempts. A failed delivery with
    attempts left is open: it is planned again like a ``created`` order.
    """
    if status == RETURN_TO_SENDER or stop_state(status, OrderKind(kind)) == "done":
        return True
    return status in REDELIVERABLE and not plannable_again(kind, status, attempts, max_attempts)


def check_open(db: Session, ids: Sequence[str], max_attempts: int = MAX_ATTEMPTS) -> None:
    """Refuse orders that are finished (:func:`closed_status`).

    Parameters
    ----------
    db
        A session.
    ids
        The orders asked for, in the request's order.
    max_attempts
        Attempts allowed (the setting ``max_attempts``).

    Raises
    ------
    RefusedError
        ``orders_closed`` (a conflict), naming each finished order's field.
    """
    closed = {
        ident: status
        for ident, kind, status, attempts in q.order_states(db, ids)
        if closed_status(kind, status, attempts, max_attempts)
    }
    if closed:
        raise RefusedError(
            "orders_closed",
            f"Orders {_quoted(sorted(closed))} are finished "
            f"({', '.join(sorted(set(closed.values())))}) and cannot be planned again; "
            "leave them out of order_ids.",
            errors=_field_errors(
                [f"body.order_ids[{k}]" for k in range(len(ids))],
                ids,
                lambda i: f"order is {closed[i]}" if i in closed else None,
            ),
            conflict=True,
        )


def check_locks(db: Session, request: PlanRequest) -> None:
    """Refuse locks that name unknown orders or vehicles, or ones the plan leaves out.

    Raises
    ------
    RefusedError
        ``unknown_orders`` / ``unknown_vehicles`` naming ``body.locks[k].order_id``
        / ``.vehicle_id``; ``lock_outside_plan`` for an order or vehicle not in
        ``order_ids`` / ``vehicle_ids``; ``lock_repeated`` for an order locked twice.
    """
    locks = request.locks
    if not locks:
        return
    check_known(
        db,
        "order",
        [k.order_id for k in locks],
        [f"body.locks[{n}].order_id" for n in range(len(locks))],
    )
    check_known(
        db,
        "vehicle",
        [k.vehicle_id for k in locks],
        [f"body.locks[{n}].vehicle_id" for n in range(len(locks))],
    )
    errors = []
    for n, lock in enumerate(locks):
        if request.order_ids is not None and lock.order_id not in request.order_ids:
            errors.append({"field": f"body.locks[{n}].order_id", "message": "not in order_ids"})
        if request.vehicle_ids is not None and lock.vehicle_id not in request.vehicle_ids:
            errors.append({"field": f"body.locks[{n}].vehicle_id", "message": "not in vehicle_ids"})
    if errors:
        raise RefusedError(
            "lock_outside_plan",
            "A lock names an order or vehicle this plan leaves out; add it to "
            "order_ids / vehicle_ids, or drop the lock.",
            errors=errors[:MAX_NAMED],
        )
    twice = [o for o, count in Counter(k.order_id for k in locks).items() if count > 1]
    if twice:
        raise RefusedError(
            "lock_repeated",
            f"Orders {_quoted(sorted(twice))} are locked more than once; lock each order once.",
            errors=_field_errors(
                [f"body.locks[{n}].order_id" for n in range(len(locks))],
                [k.order_id for k in locks],
                lambda i: "locked twice" if i in twice else None,
            ),
        )


def warm_start_of(db: Session, plan_id: str) -> dict[str, tuple[str, ...]]:
    """The routes of an earlier plan, as a warm start: vehicle id -> order ids in visiting order.

    Parameters
    ----------
    db
        A session.
    plan_id
        A done or published plan.

    Returns
    -------
    dict
        One entry per route of that plan.

    Raises
    ------
    RefusedError
        ``unknown_plan`` when there is no such plan; ``plan_not_done`` (a conflict)
        when it has no routes yet.
    """
    plan = db.get(t.Plan, plan_id)
    if plan is None:
        raise RefusedError(
            "unknown_plan",
            f"No plan with id {plan_id!r} to start from.",
            errors=[{"field": "body.warm_start", "message": "unknown plan"}],
        )
    if plan.document is None:
        raise RefusedError(
            "plan_not_done",
            f"Plan {plan_id!r} is {plan.status}; only a done or published plan can be a "
            "warm start.",
            errors=[{"field": "body.warm_start", "message": f"plan is {plan.status}"}],
            conflict=True,
        )
    return routes_of_document(plan.document, f"plan {plan_id}")


def check_warm_start(db: Session, warm: Mapping[str, Sequence[str]] | None) -> None:
    """Refuse a warm start naming vehicles or orders that do not exist.

    Raises
    ------
    RefusedError
        ``unknown_vehicles`` naming ``body.warm_start.<vehicle_id>``, or
        ``unknown_orders`` naming ``body.warm_start.<vehicle_id>[k]``.
    """
    if not warm:
        return
    check_known(db, "vehicle", list(warm), [f"body.warm_start.{v}" for v in warm])
    pairs = [(f"body.warm_start.{v}[{k}]", o) for v, ids in warm.items() for k, o in enumerate(ids)]
    if pairs:
        check_known(db, "order", [o for _, o in pairs], [f for f, _ in pairs])


def queue_plan(
    db: Session,
    day: date,
    request: PlanRequest,
    warm_start_plan: str | None = None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> t.Plan:
    """Check a planning request and store its plan row, ``queued`` and owned by this process.

    Parameters
    ----------
    db
        A session; the caller commits before handing the plan to the job runner.
    day
        The day planned.
    request
        What to plan and how.
    warm_start_plan
        An earlier plan whose routes the search starts from (stored in the
        request as its ``warm_start``); instead of ``request.warm_start``.
    max_attempts
        Attempts allowed (the setting ``max_attempts``): a failed delivery that
        used them is finished (:func:`check_open`).

    Returns
    -------
    Plan
        The new plan row (flushed).

    Raises
    ------
    RefusedError
        Unknown orders or vehicles, finished orders, locks the plan cannot keep
        (:func:`check_locks`), or a warm start that names unknown vehicles or
        orders or a plan not done (:func:`warm_start_of`).
    """
    if request.order_ids is not None:
        check_known(db, "order", request.order_ids)
        check_open(db, request.order_ids, max_attempts)
    if request.vehicle_ids is not None:
        check_known(db, "vehicle", request.vehicle_ids)
    check_locks(db, request)
    if warm_start_plan is not None:
        request = replace(request, warm_start=warm_start_of(db, warm_start_plan))
    else:
        check_warm_start(db, request.warm_start)
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

    Orders ``created``, and failed deliveries planned again (``failed_attempt``,
    ``returned_to_depot``), move to ``planned``; a failed delivery's stop on an
    earlier route does not keep it from being published again.

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
        if order.status == "created" or order.status in REDELIVERABLE:
            subscribers.enqueue(
                db,
                "order.status_changed",
                {"order_id": order.id, "from": order.status, "to": "planned"},
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
