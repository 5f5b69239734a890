"""Delivery-slot offers: where a new order would fit in a day's routes, and at what cost.

Pure (no I/O): the service (:mod:`doorstep.service.slots`) loads the day and the
new point's travel times, this module prices the slots.

For each candidate slot (a time band of a day) the new order is given the slot
as its only window and inserted into the day's routes. A position is accepted
only when the evaluator's schedule rule
(:func:`~doorstep.plan.evaluator.check_schedule`) finds nothing wrong with the
route it makes: capacity, the slot, every other stop's window, the break, the
shift end and the maximum duration are all the evaluator's, never a second copy.

Finding the position:

1. A route whose load leaving the depot plus the parcel exceeds its capacity is
   skipped (the evaluator would refuse every position).
2. Each gap of each route gets an estimated price: the detour's km and hours
   at the vehicle's rates plus any wait for the slot to open. Gaps the vehicle
   leaves too late to reach the point before the slot ends (by the current
   schedule, which an insertion does not change before the new stop) are dropped.
3. The :attr:`SlotSettings.shortlist` cheapest estimates are checked by the
   evaluator; the marginal cost of each accepted one is exact: the route's
   cost (:func:`~doorstep.plan.evaluator.route_cost`: per km and per hour on
   duty) with the order, less without it. The cheapest wins.
4. When no route can take it, a fresh route from the depot on a vehicle the
   day does not use, with its fixed cost.

Offers are ranked by ``marginal cost + P(fail) x re-delivery cost``
(:attr:`SlotSettings.redelivery_cost_cents`): a cheap slot in which the customer
is rarely home ranks below a slightly dearer one in which they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.time_window import TimeWindow
from doorstep.learn.risk import ConstantRisk, FailureRisk
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.evaluator import ScheduleCheck, check_schedule, route_cost, schedule_route
from doorstep.plan.problem import IntMatrix, Problem
from doorstep.plan.repair import clean_break
from doorstep.plan.solver import RouteAssignment

H = 3600

DEFAULT_BANDS: tuple[tuple[int, int], ...] = tuple((h * H, (h + 2) * H) for h in range(8, 20, 2))
"""Two-hour bands 08:00-10:00 ... 18:00-20:00 (seconds after midnight)."""

SLOT_ORDER_PREFIX = "~slot~"
"""Ids of the stand-in orders (one per slot) added to the day while pricing."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A time band of a day: what the shop offers and the order keeps as its window."""

    day: date
    start_s: int
    end_s: int

    def moment(self) -> datetime:
        """The middle of the band (naive local time): when the risk is asked about."""
        midnight = datetime.combine(self.day, time(0))
        return midnight + timedelta(seconds=(self.start_s + self.end_s) // 2)


def daily_slots(
    days: Sequence[date], bands: Sequence[tuple[int, int]] = DEFAULT_BANDS
) -> list[Slot]:
    """Every band of every day, in time order.

    Parameters
    ----------
    days
        The days to offer.
    bands
        ``(start_s, end_s)`` per band, seconds after midnight.

    Returns
    -------
    list of Slot
        One per day and band.
    """
    return [Slot(d, a, b) for d in sorted(days) for a, b in sorted(bands)]


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What the shop wants delivered: where, how much, how long at the door, for whom."""

    location: Location
    demand: Load
    service_s: int = 0
    customer_id: str | None = None
    area: str | None = None
    """What the risk model calls an area (a zip code, a grid cell)."""


@dataclass(frozen=True, slots=True)
class PointLegs:
    """Travel between the new point and every location of the day, per profile.

    Arrays are aligned with the problem's locations (depots, then orders).
    """

    to_point: Mapping[Profile, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]
    """Profile -> (seconds, metres) from each location to the point."""
    from_point: Mapping[Profile, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]
    """Profile -> (seconds, metres) from the point to each location."""

    @classmethod
    def from_matrices(
        cls,
        durations: Mapping[Profile, IntMatrix],
        distances: Mapping[Profile, IntMatrix],
        index: int = 0,
    ) -> PointLegs:
        """The point's row and column of matrices over the point and the day's locations.

        Parameters
        ----------
        durations, distances
            Per profile, square matrices whose location ``index`` is the point and
            whose other locations are the day's, in the problem's order.
        index
            Where the point is (0: asked first).
        """
        to_point = {}
        from_point = {}
        for profile, seconds in durations.items():
            metres = distances[profile]
            keep = np.delete(np.arange(seconds.shape[0]), index)
            to_point[profile] = (seconds[keep, index], metres[keep, index])
            from_point[profile] = (seconds[index, keep], metres[index, keep])
        return cls(to_point, from_point)


@dataclass(frozen=True, slots=True)
class _RouteFacts:
    """A route of the day as it stands: what pricing an insertion into it needs."""

    route: RouteAssignment
    route_id: str
    path: npt.NDArray[np.intp]
    """Location indices: start depot, stops, end depot."""
    leaves: npt.NDArray[np.int64]
    """When the vehicle leaves each point of the path but the last (the first: its
    shift start, the earliest an insertion at the front could make it leave)."""
    loaded: tuple[int, int, int]
    """What it carries leaving the depot."""
    distance_m: int
    duty_s: int


@dataclass(frozen=True, slots=True)
class DayRoutes:
    """A day's routes as the evaluator sees them, with what pricing needs, built once.

    Build with :meth:`build`; the service caches one per day.
    """

    day: date
    problem: Problem
    routes: tuple[_RouteFacts, ...]

    @classmethod
    def build(
        cls,
        day: date,
        problem: Problem,
        routes: Sequence[RouteAssignment],
        route_ids: Sequence[str],
    ) -> DayRoutes:
        """Schedule each route once (with :func:`schedule_route`) and keep the figures.

        Parameters
        ----------
        day
            The date the clock times belong to.
        problem
            The day's orders, fleet and matrices.
        routes
            The day's routes (order indices into ``problem.orders``).
        route_ids
            The stored id of each route, aligned with ``routes``.
        """
        facts = []
        tables = [o.demand.as_tuple() for o in problem.orders]
        deliveries = [o.kind is OrderKind.DELIVERY and not o.paired_pickup for o in problem.orders]
        for route, route_id in zip(routes, route_ids, strict=True):
            if not route.orders:
                continue
            vehicle = problem.fleet.vehicles[route.vehicle]
            schedule = schedule_route(problem, route)
            path = np.array(
                [
                    problem.start_location(vehicle),
                    *(problem.order_location(i) for i in route.orders),
                    problem.end_location(vehicle),
                ],
                dtype=np.intp,
            )
            leaves = np.array(
                [vehicle.shift.start, *(v.departure_s for v in schedule.visits)], dtype=np.int64
            )
            loaded = [0, 0, 0]
            for i in route.orders:
                if deliveries[i]:
                    loaded = [a + b for a, b in zip(loaded, tables[i], strict=True)]
            facts.append(
                _RouteFacts(
                    route,
                    route_id,
                    path,
                    leaves,
                    (loaded[0], loaded[1], loaded[2]),
                    schedule.distance_m,
                    schedule.end_s - schedule.start_s,
                )
            )
        return cls(day, problem, tuple(facts))


@dataclass(frozen=True, slots=True)
class SlotSettings:
    """How slots are priced and ranked."""

    redelivery_cost_cents: int = 800
    """What a failed first attempt costs (a second trip, handling): 8.00 in currency
    units. Ranking adds ``P(fail) x`` this to each slot's marginal cost."""
    shortlist: int = 24
    """Insertion positions the evaluator checks per slot, cheapest estimate first."""


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """One feasible slot and what taking it costs."""

    slot: Slot
    marginal_cost_cents: int
    """Route cost with the order less without it (a fresh route: its whole cost)."""
    capacity_left: Load
    """What the route can still take once the order is on board (leaving the depot)."""
    p_success: float
    route_id: str | None
    """The route it would join; None for a fresh route."""
    vehicle_id: str
    score_cents: float
    """``marginal_cost_cents + (1 - p_success) x`` the re-delivery cost: ranked by it."""
    rank: int = 0
    """1 for the best offer of a request (set by :func:`rank_offers`)."""


def _with_slots(problem: Problem, new: NewOrder, legs: PointLegs, slots: Sequence[Slot]) -> Problem:
    """``problem`` plus one stand-in order per slot at the new point, the slot its window."""
    n = problem.location_count
    k = len(slots)
    extra = tuple(
        Order(
            id=f"{SLOT_ORDER_PREFIX}{j}",
            location=new.location,
            windows=(TimeWindow(s.start_s, s.end_s),),
            service_s=new.service_s,
            demand=new.demand,
        )
        for j, s in enumerate(slots)
    )
    durations: dict[Profile, IntMatrix] = {}
    distances: dict[Profile, IntMatrix] = {}
    for profile in problem.profiles:
        for out, base, column, row in (
            (durations, problem.durations[profile], *_pair(legs, profile, 0)),
            (distances, problem.distances[profile], *_pair(legs, profile, 1)),
        ):
            grown = np.zeros((n + k, n + k), dtype=np.int64)
            grown[:n, :n] = base
            grown[:n, n:] = column[:, None]
            grown[n:, :n] = row[None, :]
            out[profile] = grown
    return Problem(
        problem.orders + extra,
        problem.fleet,
        durations,
        distances,
        objective=problem.objective,
        drop_penalty=problem.drop_penalty + (1,) * k,
        source=problem.source,
        estimated=problem.estimated,
    )


def _pair(
    legs: PointLegs, profile: Profile, which: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(to the point, from the point): seconds (``which`` 0) or metres (1)."""
    return legs.to_point[profile][which], legs.from_point[profile][which]


def _left(vehicle: Vehicle, loaded: tuple[int, int, int], new: Load) -> Load:
    c = vehicle.capacity.as_tuple()
    d = new.as_tuple()
    return Load(*(max(0, c[j] - loaded[j] - d[j]) for j in range(3)))


@dataclass(frozen=True, slots=True)
class _Best:
    cost: int
    facts: _RouteFacts | None
    vehicle: Vehicle


def _insert(
    problem: Problem, facts: _RouteFacts, order: int, k: int
) -> tuple[RouteAssignment, ScheduleCheck] | None:
    """The route with ``order`` at position ``k`` and its check, if the evaluator accepts it.

    The break keeps its place among the other stops; when it was right before the
    new stop, it is also tried right after it.
    """
    route = facts.route
    stops = (*route.orders[:k], order, *route.orders[k:])
    b = route.break_after
    tries = [None] if b is None else ([b] if b < k - 1 else [b + 1] if b >= k else [b, k])
    for after in tries:
        candidate = RouteAssignment(route.vehicle, stops, after)
        check = check_schedule(problem, candidate)
        if not check.violations:
            return candidate, check
    return None


def _best_insertion(
    problem: Problem,
    day: DayRoutes,
    legs: PointLegs,
    new: NewOrder,
    slot: Slot,
    order: int,
    shortlist: int,
) -> _Best | None:
    """The cheapest position the evaluator accepts for ``order`` in the day's routes."""
    vehicles = problem.fleet.vehicles
    demand = new.demand.as_tuple()
    estimates: list[npt.NDArray[np.float64]] = []
    where: list[tuple[int, int]] = []
    for r, facts in enumerate(day.routes):
        vehicle = vehicles[facts.route.vehicle]
        cap = vehicle.capacity.as_tuple()
        if any(facts.loaded[j] + demand[j] > cap[j] for j in range(3)):
            continue
        to_s, to_m = legs.to_point[vehicle.profile]
        from_s, from_m = legs.from_point[vehicle.profile]
        a, b = facts.path[:-1], facts.path[1:]
        dur, dist = problem.durations[vehicle.profile], problem.distances[vehicle.profile]
        reach = to_s[a]
        arrival = facts.leaves + reach
        ok = (reach < UNREACHABLE) & (from_s[b] < UNREACHABLE) & (arrival <= slot.end_s)
        if not ok.any():
            continue
        detour_m = to_m[a] + from_m[b] - dist[a, b]
        detour_s = reach + from_s[b] - dur[a, b] + np.maximum(0, slot.start_s - arrival)
        costs = vehicle.costs
        estimate = costs.per_km * detour_m / 1000 + costs.per_hour * detour_s / 3600
        positions = np.flatnonzero(ok)
        estimates.append(estimate[positions])
        where.extend((r, int(k)) for k in positions)
    if not where:
        return None
    flat = np.concatenate(estimates)
    picked = np.argsort(flat, kind="stable")[:shortlist]
    best: _Best | None = None
    for p in picked.tolist():
        r, k = where[p]
        facts = day.routes[r]
        inserted = _insert(problem, facts, order, k)
        if inserted is None:
            continue
        route, check = inserted
        vehicle = vehicles[route.vehicle]
        pa, pb = int(facts.path[k]), int(facts.path[k + 1])
        metres = problem.distances[vehicle.profile]
        x = problem.order_location(order)
        distance = facts.distance_m + int(metres[pa, x] + metres[x, pb] - metres[pa, pb])
        cost = route_cost(vehicle, distance, check.end_s - check.start_s) - route_cost(
            vehicle, facts.distance_m, facts.duty_s
        )
        if best is None or cost < best.cost:
            best = _Best(cost, facts, vehicle)
    return best


def _fresh_route(problem: Problem, day: DayRoutes, order: int) -> _Best | None:
    """The cheapest route from a depot serving only ``order``, on a vehicle the day leaves free."""
    used = {f.route.vehicle for f in day.routes}
    seen: set[object] = set()
    best: _Best | None = None
    x = problem.order_location(order)
    for v, vehicle in enumerate(problem.fleet.vehicles):
        kind = replace(vehicle, id="")
        if v in used or kind in seen or not problem.can_serve(vehicle, problem.orders[order]):
            continue
        seen.add(kind)
        route = clean_break(problem, RouteAssignment(v, (order,)))
        if route is None:
            continue
        check = check_schedule(problem, route)
        dist = problem.distances[vehicle.profile]
        metres = int(
            dist[problem.start_location(vehicle), x] + dist[x, problem.end_location(vehicle)]
        )
        cost = route_cost(vehicle, metres, check.end_s - check.start_s)
        if best is None or cost < best.cost:
            best = _Best(cost, None, vehicle)
    return best


def offer_slots(
    day: DayRoutes,
    new: NewOrder,
    legs: PointLegs,
    slots: Sequence[Slot],
    risk: FailureRisk | None = None,
    settings: SlotSettings | None = None,
) -> list[SlotOffer]:
    """The feasible slots of ``day`` for ``new``, each with its cheapest insertion.

    Parameters
    ----------
    day
        The day's routes (:meth:`DayRoutes.build`).
    new
        The order to place.
    legs
        Travel between the new point and the day's locations.
    slots
        The bands to try (those of other days are ignored).
    risk
        The chance of a failed first attempt (default :class:`ConstantRisk`).
    settings
        Re-delivery cost and shortlist size.

    Returns
    -------
    list of SlotOffer
        One per feasible slot, in the order of ``slots`` (unranked: see
        :func:`rank_offers`). A slot no route and no free vehicle can serve is
        left out.
    """
    risk = risk or ConstantRisk()
    settings = settings or SlotSettings()
    mine = [s for s in slots if s.day == day.day]
    if not mine:
        return []
    problem = _with_slots(day.problem, new, legs, mine)
    first = len(day.problem.orders)
    offers = []
    for j, slot in enumerate(mine):
        order = first + j
        best = _best_insertion(problem, day, legs, new, slot, order, settings.shortlist)
        if best is None:
            best = _fresh_route(problem, day, order)
        if best is None:
            continue
        loaded = best.facts.loaded if best.facts else (0, 0, 0)
        asked = risk.p_fail(
            new.customer_id, new.area, slot.moment(), new.demand.weight_g, new.demand.volume_ml
        )
        p_fail = min(1.0, max(0.0, float(asked)))
        offers.append(
            SlotOffer(
                slot,
                best.cost,
                _left(best.vehicle, loaded, new.demand),
                1.0 - p_fail,
                best.facts.route_id if best.facts else None,
                best.vehicle.id,
                best.cost + p_fail * settings.redelivery_cost_cents,
            )
        )
    return offers


def rank_offers(offers: Sequence[SlotOffer]) -> list[SlotOffer]:
    """``offers`` best first (lowest score, then earliest), with ``rank`` 1, 2...

    Parameters
    ----------
    offers
        Offers of one request, from any number of days.

    Returns
    -------
    list of SlotOffer
        Sorted by score, then day and start; ``rank`` set.
    """
    ordered = sorted(offers, key=lambda o: (o.score_cents, o.slot.day, o.slot.start_s))
    return [replace(o, rank=k + 1) for k, o in enumerate(ordered)]
