"""Slot offers on hand-made days: capacity, windows, fresh routes, exact costs, ranking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from doorstep.domain import Load, Order, Vehicle
from doorstep.plan.evaluator import route_cost, schedule_route
from doorstep.plan.slots import (
    DayRoutes,
    NewOrder,
    PointLegs,
    Slot,
    SlotSettings,
    daily_slots,
    offer_slots,
    rank_offers,
)
from doorstep.plan.solver import RouteAssignment
from plan_problems import H, at, order, problem, van

DAY = date(2030, 3, 4)
POINT = (3.0, 0.5)


def day_and_legs(
    orders: Sequence[Order], vehicles: Sequence[Vehicle], routes: Sequence[RouteAssignment]
) -> tuple[DayRoutes, PointLegs]:
    """The day with ``routes``, and the new point's legs (from a problem that has it last)."""
    with_point = problem([*orders, order("X", *POINT)], vehicles)
    legs = PointLegs.from_matrices(
        with_point.durations, with_point.distances, with_point.location_count - 1
    )
    day = DayRoutes.build(
        DAY, problem(orders, vehicles), routes, [f"r{k}" for k in range(len(routes))]
    )
    return day, legs


NEW = NewOrder(at(*POINT), Load(1, 1000, 1000), service_s=300, customer_id="c1")


def two_stops(**b_kwargs: object) -> list[Order]:
    return [order("A", 2, 0), order("B", 4, 0, **b_kwargs)]  # type: ignore[arg-type]


def test_a_full_route_is_not_offered() -> None:
    """The only van carries as much as it can: no slot is offered."""
    day, legs = day_and_legs(two_stops(), [van("v1", parcels=2)], [RouteAssignment(0, (0, 1))])
    assert offer_slots(day, NEW, legs, daily_slots([DAY])) == []


def test_a_fresh_route_when_no_route_can_take_it() -> None:
    """The used van is full, a free one is not: every slot is a fresh route with its fixed cost."""
    vans = [van("v1", parcels=2), van("v2")]
    day, legs = day_and_legs(two_stops(), vans, [RouteAssignment(0, (0, 1))])
    offers = offer_slots(day, NEW, legs, daily_slots([DAY]))
    assert [o.slot.start_s for o in offers] == [8 * H, 10 * H, 12 * H, 14 * H, 16 * H]  # off at 18
    assert all(o.route_id is None and o.vehicle_id == "v2" for o in offers)
    assert all(o.marginal_cost_cents >= vans[1].costs.fixed for o in offers)
    assert offers[0].capacity_left == Load(99, 99_000, 99_000)


def test_room_on_the_route_is_used_and_capacity_left_reported() -> None:
    """With room, the order joins the route; what is left counts it."""
    vans = [van("v1", parcels=3), van("v2")]
    day, legs = day_and_legs(two_stops(), vans, [RouteAssignment(0, (0, 1))])
    offers = offer_slots(day, NEW, legs, daily_slots([DAY]))
    assert offers and all(o.route_id == "r0" for o in offers)
    assert offers[0].capacity_left == Load(0, 0, 0)


def test_a_slot_that_would_make_a_stop_late_is_not_offered() -> None:
    """B must be reached by 08:14: a slot that ends before B is done cannot be served."""
    orders = two_stops(windows=[(8 * H, 8 * H + 14 * 60)])
    day, legs = day_and_legs(orders, [van("v1")], [RouteAssignment(0, (0, 1))])
    early = Slot(DAY, 8 * H, 8 * H + 12 * 60)
    late = Slot(DAY, 10 * H, 12 * H)
    offers = offer_slots(day, NEW, legs, [early, late])
    assert [o.slot for o in offers] == [late]
    # Without B's window the early slot fits (before A or between A and B).
    day, legs = day_and_legs(two_stops(), [van("v1")], [RouteAssignment(0, (0, 1))])
    assert [o.slot for o in offer_slots(day, NEW, legs, [early, late])] == [early, late]


def test_the_shift_end_bounds_the_slots() -> None:
    """A van off at 12:00 offers no afternoon slot (and there is no other van)."""
    day, legs = day_and_legs(
        two_stops(), [van("v1", shift=(8 * H, 12 * H))], [RouteAssignment(0, (0, 1))]
    )
    offered = {o.slot.start_s for o in offer_slots(day, NEW, legs, daily_slots([DAY]))}
    assert offered == {8 * H, 10 * H}


def test_the_marginal_cost_is_the_cheapest_feasible_insertion() -> None:
    """Same as trying every position with the evaluator and pricing the route before and after."""
    orders = [order("A", 2, 0), order("B", 4, 0), order("C", 1, 3), order("D", 5, 2)]
    vans = [van("v1"), van("v2")]
    routes = [RouteAssignment(0, (0, 1)), RouteAssignment(1, (2, 3))]
    day, legs = day_and_legs(orders, vans, routes)
    slot = Slot(DAY, 8 * H, 10 * H)
    [offer] = offer_slots(day, NEW, legs, [slot], settings=SlotSettings(shortlist=100))

    windowed = order("X", *POINT, windows=[(slot.start_s, slot.end_s)], service_min=5)
    full = problem([*orders, windowed], vans)
    x = len(orders)
    costs = []
    for route in routes:
        vehicle = vans[route.vehicle]
        before = schedule_route(full, route)
        base = route_cost(vehicle, before.distance_m, before.end_s - before.start_s)
        for k in range(len(route.orders) + 1):
            stops = (*route.orders[:k], x, *route.orders[k:])
            after = schedule_route(full, RouteAssignment(route.vehicle, stops))
            if not after.violations:
                costs.append(
                    route_cost(vehicle, after.distance_m, after.end_s - after.start_s) - base
                )
    assert offer.marginal_cost_cents == min(costs)


@dataclass(frozen=True)
class MorningAway:
    """Nobody home before noon."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        return 0.9 if when.hour < 12 else 0.05


def test_ranking_by_cost_then_by_expected_failures() -> None:
    """Without a model the cheapest slot ranks first; with one, a likely failure sinks a slot."""
    day, legs = day_and_legs(two_stops(), [van("v1")], [RouteAssignment(0, (0, 1))])
    slots = daily_slots([DAY])
    ranked = rank_offers(offer_slots(day, NEW, legs, slots))
    assert [o.rank for o in ranked] == list(range(1, len(ranked) + 1))
    costs = [o.marginal_cost_cents for o in ranked]
    assert costs == sorted(costs)
    assert ranked[0].slot.start_s == 8 * H  # no waiting: the van passes by in the morning

    settings = SlotSettings(redelivery_cost_cents=100_000)
    risky = rank_offers(offer_slots(day, NEW, legs, slots, MorningAway(), settings))
    assert risky[0].slot.start_s >= 12 * H
    assert round(risky[0].p_success, 6) == 0.95 and round(risky[-1].p_success, 6) == 0.1
