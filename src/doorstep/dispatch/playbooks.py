"""Playbooks: for an exception, concrete proposals with their cost, computed by the evaluator.

:func:`propose` answers one :class:`~doorstep.dispatch.exceptions.DayException`
with :class:`ProposalDraft` s. A proposal that changes routes re-plans the rest
of the day: each vehicle that takes part starts where it is (its last scanned
stop, or its depot if not out yet) when it is free (no earlier than now), with
its remaining shift, and ends at its depot; its pending stops, with the
orders to place put where they add the least driving (the repair engine's
:func:`~doorstep.plan.repair.reinsert`), are the warm start, and the planning
pipeline searches from it for ``time_limit_s``. The same problem evaluates the day as
it stands ("before") and as proposed ("after"); the delta is the difference
(km, duty minutes, late stops and minutes, orders left for another day), plus
the stops that change vehicle and the customers whose ETA moves by more than
the notice. Stops already reached are never moved. Breaks are not re-planned
(a driver keeps the break of the published plan); capacities are the
vehicles' own.

Playbooks:

* ``vehicle_unavailable``: ``hand_over`` (the broken vehicle's stops left go to
  the other routes), ``standby_vehicle`` (a vehicle without a route today takes
  them from the depot), ``put_off`` (they wait for another day).
* ``running_late``, ``late_departure``, ``prolonged_stop``: ``notify_customers``
  (tell the affected customers their new ETA), ``resequence`` (re-plan the
  route alone), ``hand_over`` (share its stops left with the other routes).
* ``failed_attempt``: ``retry_as_asked`` (when the customer stated a safe
  place or a neighbour: a second attempt today, leaving it there if nobody
  answers), ``retry_today`` (a second attempt on its route later today, when it
  still has time), ``next_day`` (planned again another day).
* ``customer_request``: ``change_window`` (the cheapest place with the new
  window, or a refusal saying why), ``put_off`` (another day), ``note`` (a safe
  place or a neighbour, written on the order), ``change_address`` (the new
  address through the gate's rules first, then placed on its route; a finding
  of the gate refuses it with the gate's message).
* ``missed_scan``: parcels never loaded: ``put_off`` (they are likely still at
  the depot); stops passed without a scan: ``resequence`` (back on the route
  from where the van is); a delivery never loaded or no terminal scan: none, a
  person scans or calls the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from doorstep.dispatch.day import DayState, RouteNow
from doorstep.dispatch.exceptions import DayException, ExceptionKind, clock_of, projection
from doorstep.domain.fleet import Depot, Fleet, Vehicle
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.domain.time_window import TimeWindow
from doorstep.network.provider import TravelTimeProvider
from doorstep.plan.evaluator import Evaluation, evaluate
from doorstep.plan.pipeline import PlanOptions, build_problem, plan_problem
from doorstep.plan.problem import Lock
from doorstep.plan.repair import Rules, reinsert
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.units import format_clock


@dataclass(frozen=True, slots=True)
class DispatchContext:
    """What re-planning needs beyond the day's state."""

    orders: Mapping[str, Order]
    """The day's orders (at least those on routes and those to place), by id."""
    fleet: Fleet
    """Every vehicle and depot, including vehicles with no route today (standby)."""
    provider: TravelTimeProvider
    time_limit_s: float = 1.0
    notice_s: int = 900
    """An ETA moving more than this is a customer to tell."""
    seed: int = 0
    max_iterations: int | None = None


@dataclass(frozen=True, slots=True)
class ProposalDraft:
    """A proposal before it is stored: what it changes and what that costs."""

    kind: str
    sentence: str
    change: dict[str, Any] = field(default_factory=dict)
    """``routes``: route id -> its pending order ids in the new order (with
    ``visits``: order id -> planned ``arrival_s``/``start_s``/``leg_s``);
    ``put_off``: order ids planned another day; ``etas``: order id -> new ETA
    (seconds) to tell; ``notes`` / ``windows``: order id -> new value."""
    delta: dict[str, Any] = field(default_factory=dict)
    basis: dict[str, int] = field(default_factory=dict)
    """Route id -> version the proposal was computed on."""


@dataclass(frozen=True, slots=True)
class _Start:
    """Where and when a vehicle can go on."""

    location: Location | None
    """None: at its depot."""
    free_s: int


def position(route: RouteNow, now_s: int) -> _Start:
    """Where ``route``'s vehicle is and when it is free to drive on (no earlier than now).

    Parameters
    ----------
    route
        The route.
    now_s
        The clock.

    Returns
    -------
    _Start
        The last stop reached (None: the depot) and the moment it is done there.
    """
    reached = [s for s in route.stops if s.arrived_s is not None or s.finished_s is not None]
    if not reached:
        leaves = route.departed_s if route.departed_s is not None else route.start_s
        return _Start(None, max(now_s, leaves))
    last = max(reached, key=lambda s: s.seq)
    if last.finished_s is not None:
        free = last.finished_s
    else:
        arrived = last.arrived_s or now_s
        free = max(arrived, last.window_start_s or 0) + last.service_s
    where = None if last.location is None else Location(*last.location)
    return _Start(where, max(now_s, free))


def _pending_ids(route: RouteNow) -> list[str]:
    return [s.order_id for s in route.stops if s.state == "pending"]


def _vehicle_for(route: RouteNow, base: Vehicle, start: _Start) -> tuple[Vehicle, Depot | None]:
    """The vehicle as re-planning sees it: from where it is, when it is free."""
    if start.free_s >= base.shift.end:
        raise ValueError("no shift left")
    depot = None
    depot_id = base.depot_id
    if start.location is not None:
        depot = Depot(f"at-{route.vehicle_id}", start.location)
        depot_id = depot.id
    shift = TimeWindow(start.free_s, base.shift.end)
    vehicle = replace(
        base,
        depot_id=depot_id,
        end_depot_id=base.end_depot_id or base.depot_id,
        shift=shift,
        max_duration_s=None,
        break_=None,
    )
    return vehicle, depot


SEARCH_MAX_ORDERS = 400
"""Largest re-plan (orders) that is searched; beyond it the cheapest insertions are
the proposal. Measured on the 2,000-order day (``bench/bench_replan.py``): a
search of 1,000 orders left with locks cannot start within seconds (OR-Tools'
first solution), and the insertion alone places the stops in under a second."""


def _goodness(evaluation: Evaluation) -> tuple[int, int, float]:
    """Fewer violations, then more served, then cheaper."""
    return (-len(evaluation.violations), evaluation.kpis.served, -evaluation.kpis.cost)


@dataclass(frozen=True, slots=True)
class Replan:
    """A re-planned rest of the day, and the same day as it stands."""

    before: Evaluation
    after: Evaluation
    routes: dict[str, list[str]]
    """Route id -> pending order ids in the new order (only routes taking part)."""
    visits: dict[str, dict[str, int]]
    put_off: list[str]
    route_of_vehicle: dict[str, str]


def replan(
    state: DayState,
    ctx: DispatchContext,
    now_s: int,
    routes: Sequence[RouteNow],
    place: Sequence[str] = (),
    standby: Sequence[Vehicle] = (),
    order_changes: Mapping[str, Order] | None = None,
    movable: frozenset[str] = frozenset(),
) -> Replan:
    """Re-plan the pending stops of ``routes`` plus the orders ``place`` from now on.

    Parameters
    ----------
    state
        The day.
    ctx
        Orders, fleet, travel times and search settings.
    now_s
        The clock.
    routes
        The routes taking part (their vehicles, their pending stops).
    place
        Orders to offer to them (for example a broken vehicle's stops left).
    standby
        Vehicles without a route that may take part from their depot.
    order_changes
        Orders to plan as changed (a new window), by id.
    movable
        Routes whose pending stops may go to another vehicle; every other
        route keeps its own (their parcels are in its van), in any order.

    Returns
    -------
    Replan
        Before and after evaluations on one problem, the new sequences.
    """
    order_changes = order_changes or {}
    vehicles: list[Vehicle] = []
    depots = {d.id: d for d in ctx.fleet.depots}
    warm: dict[str, tuple[str, ...]] = {}
    route_of_vehicle: dict[str, str] = {}
    base = {v.id: v for v in ctx.fleet.vehicles}
    pool = list(place)
    for route in routes:
        vehicle = base.get(route.vehicle_id)
        if vehicle is None:
            pool.extend(_pending_ids(route))
            continue
        try:
            moved, depot = _vehicle_for(route, vehicle, position(route, now_s))
        except ValueError:
            pool.extend(_pending_ids(route))
            continue
        if depot is not None:
            depots[depot.id] = depot
        vehicles.append(moved)
        warm[moved.id] = tuple(_pending_ids(route))
        route_of_vehicle[moved.id] = route.id
    for vehicle in standby:
        first = max(now_s, vehicle.shift.start)
        if vehicle.shift.end > first:  # a shift already over brings no vehicle
            shift = TimeWindow(first, vehicle.shift.end)
            vehicles.append(replace(vehicle, shift=shift, break_=None, max_duration_s=None))
            route_of_vehicle[vehicle.id] = f"new:{vehicle.id}"
    ids = [*{i: None for seq in warm.values() for i in seq}, *dict.fromkeys(pool)]
    orders = [
        replace(order_changes.get(i, ctx.orders[i]), paired_pickup=None)
        for i in dict.fromkeys(ids)
        if i in ctx.orders
    ]
    fleet = Fleet(tuple(depots.values()), tuple(vehicles))
    own = dict(warm)
    problem = build_problem(orders, fleet, ctx.provider, warm_start=warm)
    index = {o.id: k for k, o in enumerate(problem.orders)}
    vindex = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
    current = Assignment(
        tuple(
            RouteAssignment(vindex[v], tuple(index[i] for i in seq if i in index))
            for v, seq in warm.items()
        ),
        "current",
    )
    before = evaluate(problem, current)
    # The orders to place go where they add the least driving first: the search
    # starts from that (PyVRP does not insert what a warm start leaves out).
    began = time.perf_counter()
    pool_at = [index[i] for i in dict.fromkeys(pool) if i in index]
    seeded = reinsert(problem, current.routes, pool_at, Rules(deadline=began + ctx.time_limit_s))
    vehicle_ids = [v.id for v in problem.fleet.vehicles]
    warm = {vehicle_ids[r.vehicle]: tuple(problem.orders[j].id for j in r.orders) for r in seeded}
    # Parcels are in their vans: a healthy route's own stops stay on it (locks,
    # so OR-Tools plans) unless the playbook lets that route share them; a stop
    # already late is left free (it may be put off rather than break its lock).
    late = {v.order_id for v in before.violations if v.code == "late"}
    locks = tuple(
        Lock(i, vehicle)
        for vehicle, seq in own.items()
        if route_of_vehicle[vehicle] not in movable
        for i in seq
        if i not in late
    )
    problem = replace(problem, warm_start=warm, locks=locks)
    options = PlanOptions(
        time_limit_s=ctx.time_limit_s,
        seed=ctx.seed,
        max_iterations=ctx.max_iterations,
        warm_start=warm,
        with_geometry=False,
    )
    after = evaluate(problem, Assignment(seeded, "reinsert"))
    if vehicles and len(problem.orders) <= SEARCH_MAX_ORDERS:
        # Without a vehicle left (every shift over) there is nothing to search:
        # the orders are put off (found by the day simulator).
        searched = plan_problem(problem, options).evaluation
        after = max((after, searched), key=_goodness)
    new_routes: dict[str, list[str]] = {}
    visits: dict[str, dict[str, int]] = {}
    for planned in after.plan.routes:
        route_id = route_of_vehicle[planned.vehicle_id]
        new_routes[route_id] = [v.order_id for v in planned.visits]
        previous = planned.start_s
        for visit in planned.visits:
            visits[visit.order_id] = {
                "arrival_s": visit.arrival_s,
                "start_s": visit.start_s,
                "leg_s": visit.arrival_s - previous,
            }
            previous = visit.departure_s
    for route_id in route_of_vehicle.values():
        if not route_id.startswith("new:"):
            new_routes.setdefault(route_id, [])
    put_off = [u.order_id for u in after.plan.unassigned]
    return Replan(before, after, new_routes, visits, put_off, route_of_vehicle)


def _late_stops(evaluation: Evaluation) -> int:
    return round((1 - evaluation.kpis.on_time_share) * evaluation.kpis.served)


def delta_of(
    plan: Replan, state: DayState, notice_s: int, moved_from: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The cost of going from ``plan.before`` to ``plan.after``, for a dispatcher.

    Parameters
    ----------
    plan
        The re-plan.
    state
        The day (where each order is now).
    notice_s
        ETA moves beyond this count as customers to tell.
    moved_from
        Order id -> route id it is on now, for orders the before-plan left out.

    Returns
    -------
    dict
        ``km``, ``duty_min``, ``late_stops``, ``late_min`` (after minus before),
        ``stops_moved`` (orders changing route), ``parcels_put_off``,
        ``orders_put_off``, ``customers_notified`` (ETA moving beyond the
        notice), and ``served_before``/``served_after``.
    """
    b, a = plan.before.kpis, plan.after.kpis
    where: dict[str, str] = dict(moved_from or {})
    eta: dict[str, int] = {}
    parcels: dict[str, int] = {}
    for route in state.routes:
        for s in route.stops:
            where.setdefault(s.order_id, route.id)
            eta[s.order_id] = s.eta_s
            parcels[s.order_id] = max(1, len(s.parcel_ids))
    moved = sum(
        1
        for route_id, ids in plan.routes.items()
        for i in ids
        if where.get(i) is not None and where[i] != route_id
    )
    told = sum(
        1 for i, v in plan.visits.items() if i in eta and abs(v["arrival_s"] - eta[i]) > notice_s
    )
    return {
        "km": round(a.distance_km - b.distance_km, 2),
        "duty_min": round((a.duty_h - b.duty_h) * 60, 1),
        "late_stops": _late_stops(plan.after) - _late_stops(plan.before),
        "late_min": round(a.late_min - b.late_min, 1),
        "stops_moved": moved,
        "orders_put_off": len(plan.put_off),
        "parcels_put_off": sum(parcels.get(i, 1) for i in plan.put_off),
        "customers_notified": told,
        "served_before": b.served,
        "served_after": a.served,
        "cost": round(a.cost - b.cost, 2),
        "feasible": _no_new_violation(plan),
    }


def _no_new_violation(plan: Replan) -> bool:
    """Whether the re-planned day breaks no rule the day as it stands did not already break."""
    had = {(v.code, v.order_id) for v in plan.before.violations}
    return all((v.code, v.order_id) in had for v in plan.after.violations)


def _change(plan: Replan, state: DayState, notice_s: int) -> dict[str, Any]:
    eta = {s.order_id: s.eta_s for r in state.routes for s in r.stops}
    etas = {
        i: v["arrival_s"]
        for i, v in plan.visits.items()
        if i not in eta or abs(v["arrival_s"] - eta[i]) > notice_s
    }
    return {
        "routes": plan.routes,
        "visits": plan.visits,
        "put_off": plan.put_off,
        "unassigned": [
            {"order_id": u.order_id, "code": u.code, "reason": u.reason}
            for u in plan.after.plan.unassigned
        ],
        "etas": etas,
    }


def _basis(routes: Sequence[RouteNow]) -> dict[str, int]:
    return {r.id: r.version for r in routes}


def _others(state: DayState, route_id: str | None) -> list[RouteNow]:
    return [
        r
        for r in state.routes
        if r.id != route_id and r.state in ("published", "in_progress") and r.incident is None
    ]


def _standby(state: DayState, ctx: DispatchContext) -> list[Vehicle]:
    busy = {r.vehicle_id for r in state.routes}
    return [v for v in ctx.fleet.vehicles if v.id not in busy]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _describe(delta: dict[str, Any]) -> str:
    parts = [f"{delta['km']:+.1f} km", f"{delta['duty_min']:+.0f} duty minutes"]
    if delta["late_stops"]:
        parts.append(f"{delta['late_stops']:+d} late stops")
    if delta["stops_moved"]:
        parts.append(f"{_plural(delta['stops_moved'], 'stop')} moved")
    if delta["orders_put_off"]:
        parts.append(f"{_plural(delta['orders_put_off'], 'order')} left for another day")
    return ", ".join(parts)


def _broken(
    state: DayState, exception: DayException, ctx: DispatchContext, now_s: int
) -> Iterator[ProposalDraft]:
    route = state.route(exception.route_id or "")
    if route is None:
        return
    left = _pending_ids(route) + [s.order_id for s in route.stops if s.state == "arrived"]
    others = _others(state, route.id)
    here = {i: route.id for i in left}
    if others:
        plan = replan(state, ctx, now_s, others, place=left)
        delta = delta_of(plan, state, ctx.notice_s, here)
        change = _change(plan, state, ctx.notice_s)
        change["routes"][route.id] = []
        yield (
            ProposalDraft(
                "hand_over",
                f"Hand {_plural(len(left), 'stop')} of {route.vehicle_id} to "
                f"{_plural(len(others), 'other route')}: {_describe(delta)}.",
                change,
                delta,
                _basis([route, *others]),
            )
        )
    standby = [v for v in _standby(state, ctx) if v.shift.end > now_s][:1]
    if standby:
        plan = replan(state, ctx, now_s, [], place=left, standby=standby)
        delta = delta_of(plan, state, ctx.notice_s, here)
        change = _change(plan, state, ctx.notice_s)
        change["routes"][route.id] = []
        change["standby"] = {standby[0].id: change["routes"].pop(f"new:{standby[0].id}", [])}
        yield (
            ProposalDraft(
                "standby_vehicle",
                f"Send {standby[0].id} from the depot for the {_plural(len(left), 'stop')} of "
                f"{route.vehicle_id}: {_describe(delta)}.",
                change,
                delta,
                _basis([route]),
            )
        )
    yield (
        _put_off(
            route,
            left,
            f"Leave the {_plural(len(left), 'stop')} of {route.vehicle_id} for another day.",
        )
    )


def _put_off(route: RouteNow, order_ids: list[str], sentence: str) -> ProposalDraft:
    parcels = {s.order_id: max(1, len(s.parcel_ids)) for s in route.stops}
    keep = [i for i in _pending_ids(route) if i not in order_ids]
    delta = {
        "km": 0.0,
        "duty_min": 0.0,
        "late_stops": 0,
        "late_min": 0.0,
        "stops_moved": 0,
        "orders_put_off": len(order_ids),
        "parcels_put_off": sum(parcels.get(i, 1) for i in order_ids),
        "customers_notified": len(order_ids),
        "cost": 0.0,
    }
    return ProposalDraft(
        "put_off",
        sentence,
        {"routes": {route.id: keep}, "put_off": list(order_ids), "keep_times": True},
        delta,
        _basis([route]),
    )


def _late(
    state: DayState, exception: DayException, ctx: DispatchContext, now_s: int
) -> Iterator[ProposalDraft]:
    route = state.route(exception.route_id or "")
    if route is None:
        return
    arrivals = projection(route, now_s)
    etas = {
        s.order_id: a
        for s, a in zip(route.stops, arrivals, strict=True)
        if s.state == "pending"
        and abs(a - (s.planned_arrival_s if s.told_s is None else s.told_s)) > ctx.notice_s
    }
    if etas:  # the monitor may have told them already (eta.changed beyond the notice)
        yield (
            ProposalDraft(
                "notify_customers",
                f"Tell {_plural(len(etas), 'customer')} of {route.vehicle_id} their new ETA.",
                {"etas": etas},
                {"customers_notified": len(etas), "km": 0.0, "duty_min": 0.0, "stops_moved": 0},
                _basis([route]),
            )
        )
    if _pending_ids(route):
        plan = replan(state, ctx, now_s, [route])
        delta = delta_of(plan, state, ctx.notice_s)
        yield (
            ProposalDraft(
                "resequence",
                f"Re-sequence the {_plural(len(_pending_ids(route)), 'stop')} left of "
                f"{route.vehicle_id}: {_describe(delta)}.",
                _change(plan, state, ctx.notice_s),
                delta,
                _basis([route]),
            )
        )
        others = _others(state, route.id)
        if others:
            plan = replan(state, ctx, now_s, [route, *others], movable=frozenset({route.id}))
            delta = delta_of(plan, state, ctx.notice_s)
            yield (
                ProposalDraft(
                    "hand_over",
                    f"Share the stops left of {route.vehicle_id} with the other routes: "
                    f"{_describe(delta)}.",
                    _change(plan, state, ctx.notice_s),
                    delta,
                    _basis([route, *others]),
                )
            )


def _failed(
    state: DayState, exception: DayException, ctx: DispatchContext, now_s: int
) -> list[ProposalDraft]:
    route = state.route(exception.route_id or "")
    if route is None:
        return []
    order_id = exception.order_ids[0]
    drafts = []
    if route.state in ("published", "in_progress") and route.incident is None:
        plan = replan(state, ctx, now_s, [route], place=[order_id])
        if order_id not in plan.put_off:
            delta = delta_of(plan, state, ctx.notice_s, {order_id: "failed"})
            arrival = plan.visits[order_id]["arrival_s"]
            change = _change(plan, state, ctx.notice_s)
            change["retry"] = [order_id]
            wish = stated_preference(state, ctx, order_id)
            if wish is not None:
                drafts.append(
                    ProposalDraft(
                        "retry_as_asked",
                        f"Try {order_id} again at {format_clock(arrival)} on "
                        f"{route.vehicle_id} and, if nobody answers, {wish[1]}: "
                        f"{_describe(delta)}.",
                        change | {"notes": {order_id: wish[0]}},
                        delta,
                        _basis([route]),
                    )
                )
            drafts.append(
                ProposalDraft(
                    "retry_today",
                    f"Try {order_id} again at {format_clock(arrival)} on {route.vehicle_id}: "
                    f"{_describe(delta)}.",
                    change,
                    delta,
                    _basis([route]),
                )
            )
    drafts.append(
        ProposalDraft(
            "next_day",
            f"Plan {order_id} again on another day (it goes first in the next plan).",
            {"put_off": [order_id], "retry": [order_id]},
            {"orders_put_off": 1, "km": 0.0, "duty_min": 0.0, "stops_moved": 0},
            {},
        )
    )
    return drafts


def stated_preference(
    state: DayState, ctx: DispatchContext, order_id: str
) -> tuple[str, str] | None:
    """What the customer asked for when nobody is home: (the note, a phrase), or None.

    An open ``safe_place`` / ``neighbour`` request of the order, or a note of
    one written on the order by an accepted request.
    """
    for request in state.requests:
        if request.order_id == order_id and request.kind in ("safe_place", "neighbour"):
            where = str(request.details.get("note") or "").strip()
            if request.kind == "safe_place":
                return f"Safe place: {where}".strip(), f"leave it in the safe place ({where})"
            return f"Neighbour: {where}".strip(), f"leave it with the neighbour ({where})"
    order = ctx.orders.get(order_id)
    for line in (order.notes if order is not None else "").splitlines():
        if line.startswith(("Safe place:", "Neighbour:")):
            return line, f"follow the customer's note ({line})"
    return None


def _request(
    state: DayState, exception: DayException, ctx: DispatchContext, now_s: int
) -> list[ProposalDraft]:
    kind = exception.details.get("kind")
    order_id = exception.order_ids[0]
    route = state.route(exception.route_id or "")
    if kind in ("safe_place", "neighbour"):
        note = str(exception.details.get("note") or exception.details.get("where") or "")
        text = f"{'Safe place' if kind == 'safe_place' else 'Neighbour'}: {note}".strip()
        return [
            ProposalDraft(
                "note",
                f"Write on {order_id}: {text!r}; the driver sees it on the route.",
                {"notes": {order_id: text}},
                {"km": 0.0, "duty_min": 0.0, "stops_moved": 0},
                {},
            )
        ]
    if kind == "another_day":
        if route is None:
            return [
                ProposalDraft(
                    "put_off",
                    f"Plan {order_id} on another day.",
                    {"put_off": [order_id]},
                    {"orders_put_off": 1},
                    {},
                )
            ]
        return [
            _put_off(
                route,
                [order_id],
                f"Take {order_id} off {route.vehicle_id} and plan it another day.",
            )
        ]
    if kind == "time_window":
        window = exception.details.get("window") or []
        if len(window) != 2 or order_id not in ctx.orders:
            return [_refuse(order_id, "the request names no window (send [start_s, end_s])")]
        span = f"{format_clock(int(window[0]))}-{format_clock(int(window[1]))}"
        new = replace(ctx.orders[order_id], windows=(TimeWindow(int(window[0]), int(window[1])),))
        if route is None or route.state not in ("published", "in_progress"):
            return [
                ProposalDraft(
                    "change_window",
                    f"Give {order_id} the window {span}; it is on no route today.",
                    {"windows": {order_id: [window]}},
                    {"km": 0.0},
                    {},
                )
            ]
        plan = replan(state, ctx, now_s, [route], order_changes={order_id: new})
        if order_id in plan.put_off or not plan.after.feasible:
            return [
                _refuse(
                    order_id,
                    f"{route.vehicle_id} cannot reach it in {span} with its other stops",
                )
            ]
        delta = delta_of(plan, state, ctx.notice_s)
        change = _change(plan, state, ctx.notice_s)
        change["windows"] = {order_id: [window]}
        return [
            ProposalDraft(
                "change_window",
                f"Serve {order_id} in {span} "
                f"at {format_clock(plan.visits[order_id]['arrival_s'])}: {_describe(delta)}.",
                change,
                delta,
                _basis([route]),
            )
        ]
    if kind == "address" and order_id in ctx.orders:
        return list(_new_address(state, exception, ctx, now_s, route))
    return [_refuse(order_id, f"Doorstep cannot apply a {kind!r} request")]


ADDRESS_FIELDS = ("address", "zip", "city", "lat", "lon")
"""What an address change may give (``address`` is the street and number)."""


def checked_address(
    order: Order, details: Mapping[str, Any], fleet: Fleet
) -> tuple[Order | None, list[str]]:
    """``order`` at the address in ``details``, as the gate judges it.

    The order is written as one manifest row with the new address (street,
    zip, city, coordinates) and its window, service and load, and the gate's
    rules run on it against ``fleet``, as for an imported manifest.

    Returns
    -------
    (Order or None, list of str)
        The order at its new place (None when the gate refused it), and the
        gate's error messages.
    """
    from doorstep.gate.validate import validate
    from doorstep.io.tables import RawRow, RawTable

    window = order.windows[0] if order.windows else None
    values: dict[str, Any] = {
        "order_id": order.id,
        "kind": order.kind.value,
        "address": order.address.street,
        "unit": order.address.unit,
        "zip": order.address.zip,
        "city": order.address.city,
        "lat": order.location.lat,
        "lon": order.location.lon,
        "window_start": "" if window is None else format_clock(window.start),
        "window_end": "" if window is None else format_clock(window.end),
        "service_min": order.service_s / 60,
        "parcels": order.demand.parcels,
        "weight_kg": order.demand.weight_g / 1000,
        "volume_l": order.demand.volume_ml / 1000,
    }
    values |= {k: details[k] for k in ADDRESS_FIELDS if details.get(k) not in (None, "")}
    table = RawTable("request", "json", tuple(values), (), [RawRow(1, values)])
    report = validate(table, fleet if fleet.vehicles else None)
    errors = [f.message for f in report.findings if f.severity.value == "error"]
    if errors or not report.orders:
        return None, errors or ["the gate did not accept the new address"]
    moved = report.orders[0]
    return replace(order, location=moved.location, address=moved.address), []


def _new_address(
    state: DayState,
    exception: DayException,
    ctx: DispatchContext,
    now_s: int,
    route: RouteNow | None,
) -> Iterator[ProposalDraft]:
    order_id = exception.order_ids[0]
    moved, errors = checked_address(ctx.orders[order_id], exception.details, ctx.fleet)
    if moved is None:
        yield _refuse(order_id, "the new address fails the gate: " + "; ".join(errors[:3]))
        return
    address = {
        "street": moved.address.street,
        "zip": moved.address.zip,
        "city": moved.address.city,
        "lat": moved.location.lat,
        "lon": moved.location.lon,
    }
    where = str(moved.address) or f"{moved.location.lat:.5f}, {moved.location.lon:.5f}"
    if route is None or route.state not in ("published", "in_progress"):
        yield ProposalDraft(
            "change_address",
            f"Deliver {order_id} to {where}; it is on no route today.",
            {"addresses": {order_id: address}},
            {"km": 0.0},
            {},
        )
        return
    plan = replan(state, ctx, now_s, [route], order_changes={order_id: moved})
    if order_id in plan.put_off:
        yield _refuse(order_id, f"{route.vehicle_id} cannot reach {where} in time today")
        return
    delta = delta_of(plan, state, ctx.notice_s)
    change = _change(plan, state, ctx.notice_s)
    change["addresses"] = {order_id: address}
    yield ProposalDraft(
        "change_address",
        f"Deliver {order_id} to {where} at {format_clock(plan.visits[order_id]['arrival_s'])}: "
        f"{_describe(delta)}.",
        change,
        delta,
        _basis([route]),
    )


def _missed(
    state: DayState, exception: DayException, ctx: DispatchContext, now_s: int
) -> Iterator[ProposalDraft]:
    route = state.route(exception.route_id or "")
    if route is None:
        return
    scan = exception.details.get("scan")
    pending = set(_pending_ids(route))
    orders = [i for i in exception.order_ids if i in pending]
    if scan == "not_loaded" and orders:
        yield _put_off(
            route,
            orders,
            f"Take {_plural(len(orders), 'order')} never scanned loaded off {route.vehicle_id} "
            "(their parcels are likely still at the depot) and plan them another day.",
        )
    elif scan == "stop_passed" and orders:
        plan = replan(state, ctx, now_s, [route])
        delta = delta_of(plan, state, ctx.notice_s)
        yield ProposalDraft(
            "resequence",
            f"Put the {_plural(len(orders), 'stop')} {route.vehicle_id} went past back on its "
            f"route from where it is: {_describe(delta)}.",
            _change(plan, state, ctx.notice_s),
            delta,
            _basis([route]),
        )


def _refuse(order_id: str, why: str) -> ProposalDraft:
    return ProposalDraft(
        "refuse", f"Refuse the request for {order_id}: {why}.", {"refuse": why}, {}, {}
    )


Playbook = Callable[[DayState, DayException, DispatchContext, int], Iterable[ProposalDraft]]

PLAYBOOKS: dict[ExceptionKind, Playbook] = {
    ExceptionKind.VEHICLE_UNAVAILABLE: _broken,
    ExceptionKind.RUNNING_LATE: _late,
    ExceptionKind.LATE_DEPARTURE: _late,
    ExceptionKind.PROLONGED_STOP: _late,
    ExceptionKind.FAILED_ATTEMPT: _failed,
    ExceptionKind.CUSTOMER_REQUEST: _request,
    ExceptionKind.MISSED_SCAN: _missed,
}
"""Exception kind -> its playbook."""


def propose(
    state: DayState, exception: DayException, ctx: DispatchContext, now: Any
) -> list[ProposalDraft]:
    """The playbook's proposals for ``exception``, each with its cost delta.

    Parameters
    ----------
    state
        The day as it stands.
    exception
        What to answer (as :func:`~doorstep.dispatch.exceptions.detect` found it).
    ctx
        Orders, fleet, travel times, search settings.
    now
        The moment (aware ``datetime``) or clock seconds of the day.

    Returns
    -------
    list of ProposalDraft
        The playbook's proposals, most useful first (possibly none).
    """
    return list(proposals(state, exception, ctx, now))


def proposals(
    state: DayState, exception: DayException, ctx: DispatchContext, now: Any
) -> Iterator[ProposalDraft]:
    """:func:`propose`, one proposal at a time (the first comes before the others are computed).

    Parameters
    ----------
    state, exception, ctx, now
        As for :func:`propose`.

    Yields
    ------
    ProposalDraft
        The playbook's proposals, most useful first.
    """
    playbook = PLAYBOOKS.get(exception.kind)
    if playbook is not None:
        yield from playbook(state, exception, ctx, clock_of(state, now))
