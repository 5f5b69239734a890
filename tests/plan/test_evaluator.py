"""Tests for the evaluator: schedules, every violation it reports, and the KPIs."""

from dataclasses import replace

import pytest

from doorstep.domain import OrderKind, TimeWindow
from doorstep.domain.fleet import Break, Costs
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.evaluator import check_schedule, evaluate, schedule_route
from doorstep.plan.problem import Lock
from doorstep.plan.solver import Assignment, RouteAssignment
from plan_problems import H, M, order, problem, van


def plan(*routes: RouteAssignment) -> Assignment:
    return Assignment(tuple(routes), "hand")


def codes(p, a):  # type: ignore[no-untyped-def]
    return sorted(v.code for v in evaluate(p, a).violations)


def test_schedule_waits_for_windows_and_leaves_the_depot_late() -> None:
    """Times follow the rule: leave so as not to wait at stop 1, wait later if early."""
    p = problem(
        [
            order("a", 5, 0, windows=[(9 * H, 10 * H)]),
            order("b", 10, 0, windows=[(11 * H, 12 * H)]),
        ],
        [van("A")],
    )
    s = schedule_route(p, RouteAssignment(0, (0, 1)))
    a, b = s.visits
    assert s.start_s == 9 * H - 10 * M  # 5 km at 2 min/km
    assert (a.arrival_s, a.start_s, a.departure_s) == (9 * H, 9 * H, 9 * H + 5 * M)
    assert b.arrival_s == 9 * H + 15 * M and b.start_s == 11 * H and b.wait_s == 105 * M
    assert s.end_s == 11 * H + 5 * M + 20 * M
    assert s.distance_m == 20_000 and not s.violations


def test_late_arrival_is_reported_in_words() -> None:
    """Arriving after the window closes gives a 'late' violation with the minutes late."""
    p = problem([order("far", 30, 0, windows=[(8 * H, 8 * H + 30 * M)])], [van("A")])
    e = evaluate(p, plan(RouteAssignment(0, (0,))))
    (v,) = e.violations
    assert v.code == "late" and v.amount == 30 * M and v.order_id == "far"
    assert v.message == (
        "Route A reaches order far at 09:00, 30 minutes after its window closed (08:30)."
    )
    assert not e.feasible and e.kpis.on_time_share == 0


def test_second_window_is_used_when_the_first_has_passed() -> None:
    """With two windows, a late arrival for the first is served in the second, on time."""
    p = problem(
        [order("x", 30, 0, windows=[(8 * H, 8 * H + 10 * M), (10 * H, 11 * H)])], [van("A")]
    )
    e = evaluate(p, plan(RouteAssignment(0, (0,))))
    assert e.feasible and e.plan.routes[0].visits[0].start_s == 10 * H


def test_capacity_counts_deliveries_out_and_pickups_in() -> None:
    """Loads fall at deliveries and rise at pickups; going over capacity is reported."""
    orders = [
        order("d", 1, 0, parcels=3),
        order("p", 2, 0, parcels=3, kind=OrderKind.PICKUP),
        order("q", 3, 0, parcels=2, kind=OrderKind.PICKUP),
    ]
    p = problem(orders, [van("A", parcels=4)])
    ok = evaluate(p, plan(RouteAssignment(0, (0, 1))))
    assert ok.feasible
    assert [v.load_after.parcels for v in ok.plan.routes[0].visits] == [0, 3]
    assert codes(p, plan(RouteAssignment(0, (1, 0)))) == ["capacity"]  # 3 + 3 on board
    assert codes(p, plan(RouteAssignment(0, (0, 1, 2)))) == ["capacity"]  # 5 returns


def test_shift_max_duration_and_skills() -> None:
    """Overtime, too long a route and a missing skill each have their code."""
    p = problem(
        [order("x", 40, 0, skills=frozenset({"cold"}))],
        [van("A", shift=(8 * H, 9 * H), max_duration_s=H)],
    )
    assert codes(p, plan(RouteAssignment(0, (0,)))) == ["max_duration", "shift", "skill"]


def test_breaks_must_be_taken_inside_their_window() -> None:
    """A route on duty through the break window needs its break, in the window."""
    orders = [order(f"o{i}", i + 1, 0, service_min=40) for i in range(6)]
    brk = Break(TimeWindow(10 * H, 11 * H), 30 * M)
    p = problem(orders, [van("A", break_=brk)])
    route = RouteAssignment(0, tuple(range(6)))
    assert codes(p, plan(route)) == ["break_missing"]
    assert codes(p, plan(RouteAssignment(0, route.orders, break_after=5))) == ["break_window"]
    e = evaluate(p, plan(RouteAssignment(0, route.orders, break_after=2)))
    # Three stops of 2 min driving + 40 min service: the break starts at 10:06.
    assert e.feasible and e.plan.routes[0].break_start_s == 10 * H + 6 * M
    visits = e.plan.routes[0].visits
    assert visits[3].arrival_s == 10 * H + 36 * M + 2 * M


def test_pairs_locks_and_duplicates() -> None:
    """Pairing order, same vehicle, locks and visiting an order twice are checked."""
    orders = [
        order("pick", 1, 0, kind=OrderKind.PICKUP),
        order("drop", 2, 0, paired_pickup="pick"),
        order("free", 3, 0),
    ]
    p = problem(orders, [van("A"), van("B")], locks=[Lock("free", "B")])
    good = plan(RouteAssignment(0, (0, 1)), RouteAssignment(1, (2,)))
    assert evaluate(p, good).feasible
    assert codes(p, plan(RouteAssignment(0, (1, 0)), RouteAssignment(1, (2,)))) == ["pairing"]
    split = plan(RouteAssignment(0, (0,)), RouteAssignment(1, (1, 2)))
    assert codes(p, split) == ["pairing"]
    assert codes(p, plan(RouteAssignment(0, (0, 1, 2)))) == ["lock"]
    twice = plan(RouteAssignment(0, (0, 1, 2)), RouteAssignment(1, (2,)))
    assert codes(p, twice) == ["visited_twice"]


def test_kpis_and_unassigned_reasons() -> None:
    """KPIs add up; orders left out carry the reason given, or not_planned."""
    p = problem([order("a", 3, 4), order("b", 6, 8), order("c", 1, 1)], [van("A"), van("B")])
    e = evaluate(
        p, plan(RouteAssignment(0, (0, 1))), reasons={"c": ("no_skill", "No vehicle can.")}
    )
    k = e.kpis
    assert (k.orders, k.served, k.unassigned, k.vehicles_used) == (3, 2, 1, 1)
    assert k.distance_km == pytest.approx(20.0)  # 5 + 5 + 10 km
    assert k.km_per_stop == pytest.approx(10.0)
    assert k.driving_h == pytest.approx(40 / 60)
    # 50.00 fixed + 0.50/km x 20 km + 20.00/h x (40 min driving + 10 min service)
    assert k.cost == pytest.approx(50 + 10 + 20 * 50 / 60, abs=0.01)
    assert k.penalty == 500.0
    (u,) = e.plan.unassigned
    assert (u.order_id, u.code) == ("c", "no_skill")
    e2 = evaluate(p, plan(RouteAssignment(0, (0, 1))))
    assert e2.plan.unassigned[0].code == "not_planned"


def test_soft_window_lateness_is_costed_not_violated() -> None:
    """Late at a soft window: no violation; minutes, lateness cost and route cost count it."""
    hard = order("far", 30, 0, windows=[(8 * H, 8 * H + 30 * M)])
    soft = replace(hard, late_cost_per_hour=6000)  # 60 per hour
    p = problem([soft], [van("A", costs=Costs())])
    e = evaluate(p, plan(RouteAssignment(0, (0,))))
    assert e.feasible
    assert e.kpis.late_min == 30 and e.kpis.lateness_cost == 30
    assert e.kpis.cost == 30 and e.route_costs == (3000,)
    assert e.kpis.on_time_share == 0
    assert codes(problem([hard], [van("A")]), plan(RouteAssignment(0, (0,)))) == ["late"]


def _expected(p, route, rough=False):  # type: ignore[no-untyped-def]
    s = schedule_route(p, route)
    found = [v for v in s.violations if not (rough and v.code == "break_missing")]
    ids = {v.order_id for v in found if v.code == "capacity" and v.order_id is not None}
    first = next((k for k, i in enumerate(route.orders) if p.orders[i].id in ids), -1)
    return (len(found), sum(v.amount for v in found), s.start_s, s.end_s, first)


def test_check_schedule_counts_what_schedule_route_reports() -> None:
    """The fast check gives schedule_route's numbers for every kind of violation."""
    orders = [
        order("late", 30, 0, windows=[(8 * H, 8 * H + 30 * M)]),
        order("ret", 2, 0, parcels=4, kind=OrderKind.PICKUP),
        order("cold", 3, 0, skills=frozenset({"cold"}), windows=[(9 * H, 10 * H)]),
        order("big", 1, 1, parcels=3),
        order("soft", 4, 4, windows=[(8 * H, 8 * H + 10 * M)]),
        order("long", 5, 1, service_min=120, windows=[(8 * H, 9 * H), (13 * H, 14 * H)]),
    ]
    orders[4] = replace(orders[4], late_cost_per_hour=600)
    brk = Break(TimeWindow(10 * H, 11 * H), 30 * M)
    vehicles = [
        van("A", parcels=4, break_=brk, shift=(8 * H, 12 * H), max_duration_s=3 * H),
        van("B", parcels=2),
    ]
    p = problem(orders, vehicles)
    cut = {profile: m.copy() for profile, m in p.durations.items()}
    for m in cut.values():
        m[3, 4] = m[6, 0] = UNREACHABLE  # "cold" -> "big", "long" -> the depot
    routes = [
        RouteAssignment(v, stops, after)
        for v in (0, 1)
        for stops in [(), (0,), (3, 1, 2), (1, 3, 0, 5), (4, 2, 5, 1, 3, 0), (5, 4)]
        for after in [None, -1, *range(len(stops))]
    ]
    kinds = set()
    for day in (p, replace(p, durations=cut)):
        for route in routes:
            kinds |= {v.code for v in schedule_route(day, route).violations}
            for rough in (False, True):
                c = check_schedule(day, route, rough=rough)
                got = (c.violations, c.amount, c.start_s, c.end_s, c.overload)
                assert got == _expected(day, route, rough), route
    assert kinds >= {
        "late", "skill", "capacity", "break_window", "break_missing", "shift", "max_duration",
        "unreachable",
    }  # fmt: skip


def test_per_problem_lookups_follow_the_problem_they_were_built_for() -> None:
    """A changed copy of a problem is scheduled by its own data, not the first one's."""
    p = problem([order("x", 30, 0, windows=[(8 * H, 8 * H + 30 * M)])], [van("A")])
    wide = replace(p, orders=(replace(p.orders[0], windows=(TimeWindow(8 * H, 12 * H),)),))
    route = RouteAssignment(0, (0,))
    for _ in range(2):
        assert check_schedule(p, route).violations == 1
        assert check_schedule(wide, route).violations == 0
        assert [v.code for v in schedule_route(p, route).violations] == ["late"]
        assert not schedule_route(wide, route).violations
