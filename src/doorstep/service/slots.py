"""Delivery-slot offers through the service: load the days, price the slots, rank them.

Each day is read from the store as the evaluator sees it: its published routes
(current versions) and their stops, or, before anything is published, the
latest finished plan; with neither, only the fleet (every slot is then a fresh
route). The day's :class:`~doorstep.plan.slots.DayRoutes` (orders, fleet,
matrices, each route scheduled once) is cached per day and per *basis* (the
route ids, the plan id, or the vehicle ids), so a request after the first one
only reads the route ids, asks the router for the new point's row and column,
and prices (:func:`doorstep.plan.slots.offer_slots`). A published change makes
new route ids, hence a new basis, hence a fresh load.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from doorstep.domain.fleet import Fleet
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.errors import DomainError
from doorstep.learn.risk import FailureRisk
from doorstep.network.provider import UNREACHABLE, both_ways
from doorstep.network.subset import DayMatrices
from doorstep.plan.problem import IntMatrix, Problem
from doorstep.plan.slots import (
    DEFAULT_BANDS,
    DayRoutes,
    NewOrder,
    PointLegs,
    Slot,
    SlotOffer,
    SlotSettings,
    daily_slots,
    offer_slots,
    rank_offers,
)
from doorstep.plan.solver import RouteAssignment
from doorstep.service.proposals import day_matrices
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store.convert import UNLIMITED, to_fleet, to_order
from doorstep.store.queries import slots as q
from doorstep.units import CENTS_PER_UNIT, format_clock

MAX_DAYS_AHEAD = 7


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """What a shop asks at checkout (the API's body, validated)."""

    lat: float
    lon: float
    parcels: int = 1
    weight_g: int = 0
    volume_ml: int = 0
    service_s: int = 0
    customer_id: str | None = None
    zip: str | None = None
    """The area the risk model is asked about."""
    days: int = 3
    from_day: date | None = None
    """First day offered; default: tomorrow."""


@dataclass(frozen=True, slots=True)
class _Day:
    routes: DayRoutes
    matrices: DayMatrices
    locations: tuple[Location, ...]


_CACHE: OrderedDict[tuple[Any, ...], _Day] = OrderedDict()
_CACHE_LOCK = Lock()
CACHED_DAYS = 16
"""Loaded days kept in memory (the least recently used goes first)."""


def clear_cache() -> None:
    """Forget every loaded day (tests, benchmarks)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _refuse(code: str, field: str, message: str) -> RefusedError:
    return RefusedError(code, message, errors=[{"field": field, "message": message}])


def _days(request: SlotRequest, today: date) -> list[date]:
    first = request.from_day or today + timedelta(days=1)
    if first < today:
        raise _refuse(
            "from_day_past",
            "from_day",
            f"from_day {first.isoformat()} is before today ({today.isoformat()}); "
            "ask for today or a later day.",
        )
    if not 1 <= request.days <= MAX_DAYS_AHEAD:
        raise _refuse("days_out_of_range", "days", f"days must be 1 to {MAX_DAYS_AHEAD}.")
    return [first + timedelta(days=k) for k in range(request.days)]


def _new_order(request: SlotRequest) -> NewOrder:
    try:
        location = Location(request.lat, request.lon)
        demand = Load(request.parcels, request.weight_g, request.volume_ml)
    except DomainError as exc:
        raise _refuse("slot_request_invalid", "body", str(exc)) from exc
    return NewOrder(location, demand, request.service_s, request.customer_id, request.zip)


def _basis(db: Session, day: str) -> tuple[Any, ...]:
    """What the day's routes are built from: a key that changes when they do."""
    routes = q.day_routes(db, day)
    if routes:
        return ("routes", *(r.id for r in routes))
    plan_id = q.latest_done_plan(db, day)
    if plan_id is not None:
        return ("plan", plan_id)
    return ("fleet",)


def _load(db: Session, day: date, basis: tuple[Any, ...], settings: Settings) -> _Day:
    """Read the day from the store and schedule its routes once."""
    depots, vehicles = q.fleet_rows(db)
    fleet = to_fleet(depots, vehicles)
    index = {v.id: k for k, v in enumerate(fleet.vehicles)}
    sequences: list[tuple[str, str, list[str], int | None]] = []  # route id, vehicle, orders, brk
    rows: dict[str, Any] = {}
    if basis[0] == "routes":
        routes = q.day_routes(db, day.isoformat())
        breaks = q.plan_breaks(db, [r.plan_id for r in routes])
        stops: dict[str, list[str]] = {}
        for route_id, order in q.route_stops(db, [r.id for r in routes]):
            stops.setdefault(route_id, []).append(order.id)
            rows[order.id] = order
        for r in routes:
            after = breaks.get((r.plan_id, r.vehicle_id))
            sequences.append((r.id, r.vehicle_id, stops.get(r.id, []), after))
    elif basis[0] == "plan":
        document = q.plan_document(db, basis[1])
        for entry in document.get("routes", []):
            ids = [str(v["order_id"]) for v in entry.get("visits", [])]
            brk = entry.get("break")
            after = int(brk["after_stop"]) if isinstance(brk, dict) else None
            sequences.append(("", str(entry["vehicle_id"]), ids, after))
        rows = q.orders_by_ids(db, [i for _, _, ids, _ in sequences for i in ids])
    orders: list[Order] = []
    at: dict[str, int] = {}
    for _, _, ids, _ in sequences:
        for oid in ids:
            if oid in rows and oid not in at:
                at[oid] = len(orders)
                orders.append(to_order(rows[oid]))
    assignments: list[RouteAssignment] = []
    route_ids: list[str] = []
    for route_id, vehicle_id, ids, after in sequences:
        kept = tuple(at[i] for i in ids if i in at)
        if vehicle_id not in index or not kept:
            continue
        brk = None if after is None else min(after - 1, len(kept) - 1)
        if fleet.vehicles[index[vehicle_id]].break_ is None:
            brk = None
        assignments.append(RouteAssignment(index[vehicle_id], kept, brk))
        route_ids.append(route_id)
    locations = tuple([d.location for d in fleet.depots] + [o.location for o in orders])
    matrices = day_matrices(settings, day.isoformat(), locations)
    problem = _problem(tuple(orders), fleet, matrices, locations)
    if basis[0] == "plan":
        route_ids = [""] * len(assignments)
    return _Day(DayRoutes.build(day, problem, assignments, route_ids), matrices, locations)


def _problem(
    orders: tuple[Order, ...], fleet: Fleet, matrices: DayMatrices, locations: Sequence[Location]
) -> Problem:
    durations: dict[Any, IntMatrix] = {}
    distances: dict[Any, IntMatrix] = {}
    source, estimated = "", False
    for profile in dict.fromkeys(v.profile for v in fleet.vehicles):
        m = matrices.matrices(locations, profile)
        durations[profile], distances[profile] = m.durations, m.distances
        source, estimated = m.source, m.estimated
    return Problem(orders, fleet, durations, distances, source=source, estimated=estimated)


def _day(db: Session, day: date, settings: Settings) -> _Day:
    basis = _basis(db, day.isoformat())
    key = (day, settings.router, settings.router_source, settings.router_max_snap_m, basis)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    loaded = _load(db, day, basis, settings)
    with _CACHE_LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > CACHED_DAYS:
            _CACHE.popitem(last=False)
    return loaded


def _legs(days: Sequence[_Day], point: Location) -> list[PointLegs]:
    """The new point's row and column for each day, asked of the router once per profile.

    One pair of tables covers every day: from the point to each location of any
    of the days, and back (:func:`~doorstep.network.provider.both_ways`: on the
    bundled roads a search from one source, not a square matrix over those days).
    """
    everywhere = list(dict.fromkeys(loc for day in days for loc in day.locations))
    index = {loc: k for k, loc in enumerate(everywhere)}
    profiles = dict.fromkeys(p for day in days for p in day.routes.problem.profiles)
    provider = days[0].matrices.provider
    asked = {}
    for profile in profiles:
        out_of, into = both_ways(provider, [point], everywhere, profile)
        if out_of.off_sources or (everywhere and int(out_of.durations.min()) >= UNREACHABLE):
            raise _refuse(
                "address_off_network",
                "lat",
                f"{point.lat:.6f}, {point.lon:.6f} is not near a road the vans can use; "
                "check the coordinates.",
            )
        asked[profile] = (out_of, into)
    out = []
    for day in days:
        cols = np.array([index[loc] for loc in day.locations], dtype=np.intp)
        to_point = {}
        from_point = {}
        for profile in day.routes.problem.profiles:
            out_of, into = asked[profile]
            to_point[profile] = (into.durations[cols, 0], into.distances[cols, 0])
            from_point[profile] = (out_of.durations[0, cols], out_of.distances[0, cols])
        out.append(PointLegs(to_point, from_point))
    return out


def _capacity(load: Load) -> dict[str, int | None]:
    def dim(value: int) -> int | None:
        return None if value >= UNLIMITED // 2 else value

    return {
        "parcels": dim(load.parcels),
        "weight_g": dim(load.weight_g),
        "volume_ml": dim(load.volume_ml),
    }


def _answer(offer: SlotOffer) -> dict[str, Any]:
    return {
        "day": offer.slot.day.isoformat(),
        "start": format_clock(offer.slot.start_s),
        "end": format_clock(offer.slot.end_s),
        "start_s": offer.slot.start_s,
        "end_s": offer.slot.end_s,
        "marginal_cost": round(offer.marginal_cost_cents / CENTS_PER_UNIT, 2),
        "capacity_left": _capacity(offer.capacity_left),
        "p_success": round(offer.p_success, 4),
        "route_id": offer.route_id or None,
        "vehicle_id": offer.vehicle_id,
        "rank": offer.rank,
    }


def slot_offers(
    db: Session,
    request: SlotRequest,
    settings: Settings,
    now: datetime,
    risk: FailureRisk | None = None,
    slot_settings: SlotSettings | None = None,
    bands: Sequence[tuple[int, int]] = DEFAULT_BANDS,
) -> list[dict[str, Any]]:
    """The feasible slots of the coming days for a new order, ranked (best first).

    Parameters
    ----------
    db
        A session.
    request
        Where, what and for whom.
    settings
        The service's settings (router, time zone).
    now
        The present moment: slots of today that have begun are not offered.
    risk
        The failure-risk source (default: the constant base rate).
    slot_settings
        Re-delivery cost and shortlist size.
    bands
        The bands of each day, ``(start_s, end_s)``.

    Returns
    -------
    list of dict
        ``day``, ``start``/``end`` (``HH:MM``), ``start_s``/``end_s``,
        ``marginal_cost`` (currency units), ``capacity_left``, ``p_success``,
        ``route_id`` (None: a fresh route), ``vehicle_id`` and ``rank``.

    Raises
    ------
    RefusedError
        ``from_day_past``, ``days_out_of_range``, ``slot_request_invalid``,
        ``address_off_network``.
    """
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    today = local.date()
    days = _days(request, today)
    new = _new_order(request)
    now_s = local.hour * 3600 + local.minute * 60 + local.second
    asked: list[tuple[_Day, list[Slot]]] = []
    for day in days:
        slots = [s for s in daily_slots([day], bands) if day > today or s.start_s > now_s]
        if not slots:
            continue
        loaded = _day(db, day, settings)
        if not loaded.routes.problem.fleet.vehicles:
            raise RefusedError("no_fleet", "There are no vehicles: add the fleet first.")
        asked.append((loaded, slots))
    offers: list[SlotOffer] = []
    if asked:
        legs = _legs([d for d, _ in asked], new.location)
        for (loaded, slots), day_legs in zip(asked, legs, strict=True):
            offers.extend(offer_slots(loaded.routes, new, day_legs, slots, risk, slot_settings))
    return [_answer(o) for o in rank_offers(offers)]
