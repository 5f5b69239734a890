"""Tests for placing drivers' breaks into routes planned without them."""

from doorstep.domain import TimeWindow
from doorstep.domain.fleet import Break
from doorstep.plan.breaks import place_break, place_breaks
from doorstep.plan.evaluator import evaluate
from doorstep.plan.solver import Assignment, RouteAssignment
from plan_problems import H, M, order, problem, van

BREAK = Break(TimeWindow(10 * H, 11 * H), 30 * M)


def test_break_goes_where_it_fits() -> None:
    """Of all positions, the chosen one keeps the route clean and inside the window."""
    orders = [order(f"o{i}", i + 1, 0, service_min=40) for i in range(6)]
    p = problem(orders, [van("A", break_=BREAK)])
    route = place_break(p, RouteAssignment(0, tuple(range(6))))
    assert route.break_after is not None
    e = evaluate(p, Assignment((route,), "t"))
    assert e.feasible and 10 * H <= (e.plan.routes[0].break_start_s or 0) <= 10 * H + 30 * M


def test_no_break_for_a_morning_route() -> None:
    """A route back before the break window opens needs no break."""
    p = problem([order("a", 1, 0)], [van("A", break_=BREAK)])
    assert place_break(p, RouteAssignment(0, (0,))).break_after is None


def test_stops_that_cannot_fit_with_the_break_are_moved_or_dropped() -> None:
    """Windows leave no room for the break on A: a stop moves to B, whose break fits."""
    tight = [(9 * H + 50 * M + i * 20 * M, 9 * H + 55 * M + i * 20 * M) for i in range(4)]
    orders = [order(f"t{i}", 1, 0, windows=[w], service_min=15) for i, w in enumerate(tight)]
    p = problem(orders, [van("A", break_=BREAK), van("B", break_=BREAK)])
    fixed = place_breaks(p, Assignment((RouteAssignment(0, (0, 1, 2, 3)),), "t"))
    e = evaluate(p, fixed)
    assert e.feasible
    assert e.kpis.served >= 3 and e.kpis.vehicles_used == 2
