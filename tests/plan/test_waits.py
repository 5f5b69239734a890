"""Holding a fixed route's visits until customers are home (plan/waits.py), by the evaluator."""

from __future__ import annotations

import dataclasses

from doorstep.domain import Break, Costs, TimeWindow
from doorstep.plan.evaluator import evaluate, schedule_route
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.plan.waits import best_starts, hold
from plan_problems import H, order, problem, van

FREE = Costs(fixed=5000, per_km=50, per_hour=0)
"""A van paid by the shift: waiting costs nothing."""


def _away_mornings(index: int, start_s: int) -> float:
    """Odd orders are out before 14:00; everybody else is home."""
    return 0.9 if index % 2 == 1 and start_s < 14 * H else 0.05


def _held(p, route: RouteAssignment, found) -> object:  # type: ignore[no-untyped-def]
    """The problem with the held orders' windows opening at their chosen start."""
    orders = list(p.orders)
    vehicle = p.fleet.vehicles[route.vehicle]
    for k in found.held:
        i = route.orders[k]
        orders[i] = hold(orders[i], found.starts[k], vehicle.shift.end)
    return dataclasses.replace(p, orders=tuple(orders))


def test_a_van_paid_by_the_shift_waits_for_the_afternoon_customers() -> None:
    """Odd stops are held until 14:00; the evaluator's schedule keeps exactly the chosen starts."""
    orders = [order(f"o{k}", 1 + k * 0.5, 0) for k in range(4)]
    p = problem(orders, [van("V", shift=(8 * H, 20 * H), costs=FREE)])
    route = RouteAssignment(0, (0, 1, 2, 3))
    found = best_starts(p, route, _away_mornings, 2000)
    assert found is not None and found.held
    for k, start in enumerate(found.starts):
        if k % 2 == 1:
            assert start >= 14 * H
    timed = _held(p, route, found)
    schedule = schedule_route(timed, route)
    assert not schedule.violations
    assert tuple(v.start_s for v in schedule.visits) == found.starts
    for i, original in enumerate(orders):  # the holds lie inside the customers' own windows
        assert all(w.start >= 8 * H for w in timed.orders[i].windows) or not original.windows


def test_waiting_is_not_worth_it_when_hours_cost_more_than_failures() -> None:
    """At 1,000 EUR an hour and 1 EUR a failure the van never waits between stops.

    It may still leave later (that costs no duty time): the whole route moves to 14:00.
    """
    orders = [order(f"o{k}", 1 + k * 0.5, 0) for k in range(4)]
    dear = Costs(fixed=5000, per_km=50, per_hour=100_000)
    p = problem(orders, [van("V", shift=(8 * H, 20 * H), costs=dear)])
    found = best_starts(p, RouteAssignment(0, (0, 1, 2, 3)), _away_mornings, 100)
    assert found is not None and set(found.held) <= {0}
    assert found.starts[0] >= 14 * H  # leaving later is free


def test_a_route_that_cannot_keep_its_windows_gets_no_starts() -> None:
    """A window closed before the van can arrive: no schedule, None (the route is left alone)."""
    orders = [order("o0", 30, 0, windows=[(8 * H, 8 * H + 600)])]
    p = problem(orders, [van("V", shift=(8 * H, 20 * H), costs=FREE)])
    assert best_starts(p, RouteAssignment(0, (0,)), _away_mornings, 2000) is None


def test_holds_keep_the_break_and_the_shift() -> None:
    """With a break after the second stop, the held schedule still takes it inside its window."""
    orders = [order(f"o{k}", 1 + k * 0.5, 0) for k in range(4)]
    lunch = Break(TimeWindow(11 * H, 15 * H), 1800)
    p = problem(orders, [van("V", shift=(8 * H, 20 * H), costs=FREE, break_=lunch)])
    route = RouteAssignment(0, (0, 1, 2, 3), 1)
    found = best_starts(p, route, _away_mornings, 2000)
    assert found is not None
    timed = _held(p, route, found)
    evaluation = evaluate(timed, Assignment((route,), "held"))
    assert evaluation.feasible
    (planned,) = evaluation.plan.routes
    assert [v.start_s for v in planned.visits] == list(found.starts)


def test_hold_cuts_the_window_that_holds_the_start_and_drops_earlier_ones() -> None:
    """Two windows, held at 15:00: only 15:00-17:00 is left; an order without windows gets one."""
    two = order("o", 0, 0, windows=[(9 * H, 11 * H), (14 * H, 17 * H)])
    assert hold(two, 15 * H, 20 * H).windows == (TimeWindow(15 * H, 17 * H),)
    assert hold(order("p", 0, 0), 13 * H, 20 * H).windows == (TimeWindow(13 * H, 20 * H),)
