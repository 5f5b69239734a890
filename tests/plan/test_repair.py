"""Tests for the repair engine every backend finishes its routes with."""

import random
from dataclasses import replace

import pytest

from doorstep.domain import OrderKind, TimeWindow
from doorstep.domain.fleet import Break
from doorstep.plan import repair
from doorstep.plan.evaluator import ScheduleCheck, evaluate, schedule_route
from doorstep.plan.problem import Problem
from doorstep.plan.repair import (
    Rules,
    check_route,
    clean_break,
    finish_route,
    place_break,
    place_breaks,
    reinsert,
    settle_routes,
)
from doorstep.plan.solver import Assignment, Deadline, RouteAssignment
from plan_problems import H, M, order, problem, van

BREAK = Break(TimeWindow(10 * H, 11 * H), 30 * M)


def _tight_windows() -> Problem:
    """Four stops whose windows leave no room on one van for a break between 10 and 11."""
    tight = [(9 * H + 50 * M + i * 20 * M, 9 * H + 55 * M + i * 20 * M) for i in range(4)]
    orders = [order(f"t{i}", 1, 0, windows=[w], service_min=15) for i, w in enumerate(tight)]
    return problem(orders, [van("A", break_=BREAK), van("B", break_=BREAK)])


def _three_long_stops(penalties: tuple[int, int, int]) -> Problem:
    """Three 30-minute stops 1 km out; the van's 80-minute shift holds only two of them."""
    orders = [order(name, 1, 0, service_min=30) for name in "abc"]
    day = problem(orders, [van("A", shift=(8 * H, 8 * H + 80 * M))])
    return replace(day, drop_penalty=penalties)


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


def test_a_hint_wins_among_equally_good_break_positions() -> None:
    """With the break window open all day every position is as good: the hint decides."""
    all_day = Break(TimeWindow(8 * H, 18 * H), 30 * M)
    p = problem([order(f"o{i}", i + 1, 0) for i in range(3)], [van("A", break_=all_day)])
    route = RouteAssignment(0, (0, 1, 2))
    assert place_break(p, route).break_after == -1
    assert place_break(p, route, hint=1).break_after == 1


def test_stops_that_cannot_fit_with_the_break_are_moved_or_dropped() -> None:
    """Windows leave no room for the break on A: a stop moves to B, whose break fits."""
    p = _tight_windows()
    fixed = place_breaks(p, (RouteAssignment(0, (0, 1, 2, 3)),))
    e = evaluate(p, Assignment(fixed, "t"))
    assert e.feasible
    assert e.kpis.served >= 3 and e.kpis.vehicles_used == 2


def test_clean_break_is_none_when_no_position_is_clean() -> None:
    """No break position makes the tight four-stop route clean, so there is none to give."""
    p = _tight_windows()
    assert clean_break(p, RouteAssignment(0, (0, 1, 2, 3))) is None
    assert clean_break(p, RouteAssignment(0, (0,))) == RouteAssignment(0, (0,), 0)


def test_rough_check_lets_only_a_missing_break_pass() -> None:
    """A long route without its break has one violation, which a rough check overlooks."""
    p = problem(
        [order(f"o{i}", i + 1, 0, service_min=60) for i in range(3)], [van("A", break_=BREAK)]
    )
    route = RouteAssignment(0, (0, 1, 2))
    assert check_route(p, route).violations == 1
    assert check_route(p, route, rough=True).violations == 0


def test_check_finds_the_first_overloaded_stop() -> None:
    """Collecting a big return before delivering overloads the van from that first stop on."""
    orders = [order("d", 1, 0, parcels=1), order("p", 2, 0, parcels=3, kind=OrderKind.PICKUP)]
    p = problem(orders, [van("A", parcels=2)])
    check = check_route(p, RouteAssignment(0, (1, 0)))
    assert check.overload == 0 and check.violations == 2
    assert check_route(p, RouteAssignment(0, (0, 1))).overload == 1


def test_finish_route_moves_a_return_later_instead_of_dropping_it() -> None:
    """A return collected first overloads the van; collected after a delivery it fits."""
    orders = [
        order("p", 0.5, 0, parcels=2, kind=OrderKind.PICKUP),
        order("d1", 1, 0, parcels=1),
        order("d2", 2, 0, parcels=1),
    ]
    p = problem(orders, [van("A", parcels=3)])
    finished = finish_route(p, RouteAssignment(0, (0, 1, 2)))
    assert sorted(finished.orders) == [0, 1, 2] and finished.orders[0] != 0
    assert evaluate(p, Assignment((finished,), "t")).feasible


def test_finish_route_drops_the_cheapest_stop_and_spares_locked_ones() -> None:
    """Of three stops one must go: the cheapest to drop, unless it is locked."""
    p = _three_long_stops((300, 100, 200))
    route = RouteAssignment(0, (0, 1, 2))
    assert finish_route(p, route).orders == (0, 2)
    assert finish_route(p, route, Rules(locked=frozenset({1}))).orders == (0, 1)


def test_finish_route_past_its_deadline_drops_from_the_end() -> None:
    """Out of time, the repair no longer weighs penalties: it cuts the last stop."""
    p = _three_long_stops((300, 100, 200))
    assert finish_route(p, RouteAssignment(0, (0, 1, 2)), Rules(deadline=0.0)).orders == (0, 1)


def test_finish_route_drops_a_pair_together() -> None:
    """A far pickup-and-delivery pair that does not fit goes as a whole; the near stop stays."""
    orders = [
        order("p", 10, 0, kind=OrderKind.PICKUP),
        order("d", 10, 1, paired_pickup="p"),
        order("u", 1, 0),
    ]
    p = problem(orders, [van("A", shift=(8 * H, 8 * H + 20 * M))])
    assert finish_route(p, RouteAssignment(0, (0, 1, 2))).orders == (2,)


def test_reinsert_uses_the_cheapest_clean_place_on_a_used_vehicle() -> None:
    """A dropped order goes next to the route that passes by, not to an idle van."""
    orders = [order("a", 1, 0), order("b", 0, 10), order("c", 1.2, 0)]
    p = problem(orders, [van("A"), van("B"), van("C")])
    routes = reinsert(p, [RouteAssignment(0, (0,)), RouteAssignment(1, (1,))], [2])
    assert [(r.vehicle, sorted(r.orders)) for r in routes] == [(0, [0, 2]), (1, [1])]


def test_reinsert_leaves_out_pairs_and_detours_dearer_than_the_order() -> None:
    """Paired orders are not offered, nor orders whose detour costs more than dropping them."""
    orders = [
        order("a", 1, 0),
        order("p", 1, 1, kind=OrderKind.PICKUP),
        order("d", 1, 2, paired_pickup="p"),
        order("far", 50, 0),
    ]
    p = replace(problem(orders, [van("A")]), drop_penalty=(1000, 1000, 1000, 10))
    routes = reinsert(p, [RouteAssignment(0, (0,))], [1, 2, 3])
    assert routes == (RouteAssignment(0, (0,)),)


def test_reinsert_stays_out_of_a_locked_prefix() -> None:
    """The cheapest place is before the locked first stop; with the lock it goes later."""
    orders = [order("a", 2, 0), order("b", 2, 2), order("c", 1, 0)]
    p = problem(orders, [van("A")])
    routes = [RouteAssignment(0, (0, 1))]
    assert reinsert(p, routes, [2])[0].orders == (2, 0, 1)
    assert reinsert(p, routes, [2], Rules(chains={0: (0,)}))[0].orders == (0, 1, 2)


def test_settle_routes_keeps_what_keep_holds_and_finishes_the_rest() -> None:
    """A kept route stays as it is, even when the evaluator objects; the others are repaired."""
    p = _tight_windows()
    bad = RouteAssignment(0, (0, 1, 2, 3))
    assert settle_routes(p, [bad], keep=lambda route: True) == (bad,)
    settled = settle_routes(p, [bad])
    assert evaluate(p, Assignment(settled, "t")).feasible


def test_rules_pass_their_deadline() -> None:
    """Rules without a deadline never pass it; one in the past has passed."""
    assert not Rules().passed()
    assert Rules(deadline=0.0).passed()


def test_past_the_deadline_stops_are_dropped_from_the_end_and_listed() -> None:
    """A deadline that has passed makes finish_route drop from the end, recording what it cut."""
    p = _three_long_stops((100, 100, 100))
    rules = Rules(deadline=Deadline(0.0, lambda: 1.0))
    finished = finish_route(p, RouteAssignment(0, (0, 1, 2)), rules)
    assert finished.orders == (0, 1)
    assert rules.cut == {2}


def test_nothing_is_reinserted_past_the_deadline() -> None:
    """After an interrupt, reinsert offers nothing and lists the orders it skipped."""
    p = _three_long_stops((100, 100, 100))
    deadline = Deadline(1e12)
    deadline.stop()
    rules = Rules(deadline=deadline)
    assert reinsert(p, [RouteAssignment(0, (0,))], [1], rules) == (RouteAssignment(0, (0,)),)
    assert rules.cut == {1}


def _counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[ScheduleCheck]:
    """Record every schedule check the repair engine makes from now on."""
    made: list[ScheduleCheck] = []
    check = repair.check_schedule

    def counting(*args: object, **kwargs: object) -> ScheduleCheck:
        made.append(check(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(repair, "check_schedule", counting)
    return made


def _windowed_day(seed: int) -> Problem:
    """Thirty random stops, most with windows (some soft, one with two), on two vans with breaks."""
    rng = random.Random(seed)
    orders = []
    for i in range(30):
        opens = rng.randrange(8 * H, 16 * H, 15 * M)
        windows = [(opens, opens + rng.choice([30, 60, 180]) * M)] if rng.random() < 0.8 else []
        if i == 7:
            windows = [(9 * H, 10 * H), (13 * H, 14 * H)]
        o = order(f"o{i}", rng.uniform(0, 15), rng.uniform(0, 15), windows=windows)
        orders.append(replace(o, late_cost_per_hour=500 if rng.random() < 0.1 else 0))
    lunch = Break(TimeWindow(11 * H, 14 * H), 45 * M)
    vans = [
        van("A", break_=BREAK),
        van("B", break_=lunch, shift=(8 * H, 15 * H), max_duration_s=5 * H),
    ]
    return problem(orders, vans)


@pytest.mark.parametrize("seed", range(5))
def test_break_keys_match_the_evaluator_at_every_position(seed: int) -> None:
    """The one-pass break figures equal a full evaluator check at every position."""
    p = _windowed_day(seed)
    rng = random.Random(seed)
    single = [i for i, o in enumerate(p.orders) if len(o.windows) < 2]
    for _ in range(20):
        stops = tuple(rng.sample(single, rng.randrange(1, len(single))))
        route = RouteAssignment(rng.randrange(2), stops)
        positions = list(range(-1, len(stops) + 1))
        keys = repair._break_keys(p, route, schedule_route(p, route), positions)
        checks = [check_route(p, replace(route, break_after=k)) for k in positions]
        assert keys == [(c.violations, c.amount, c.duty_s) for c in checks]
    two_windows = RouteAssignment(0, (7, *single[:5]))
    assert repair._break_keys(p, two_windows, schedule_route(p, two_windows), [0]) is None


def test_placing_a_break_checks_the_route_twice_not_at_every_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forty stops, a break that fits anywhere: one pass, then only the start and the pick."""
    all_day = Break(TimeWindow(8 * H, 18 * H), 30 * M)
    p = problem([order(f"o{i}", 1 + i / 10, 0) for i in range(40)], [van("A", break_=all_day)])
    made = _counted_checks(monkeypatch)
    route = place_break(p, RouteAssignment(0, tuple(range(40))))
    assert route.break_after == -1
    assert len(made) <= 2


def test_clean_break_gives_up_at_once_on_a_route_late_without_its_break(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stop late even without the break is late at every break position: one check decides."""
    orders = [order(f"o{i}", 1, 0, service_min=60) for i in range(5)]
    orders.append(order("late", 2, 0, windows=[(9 * H, 10 * H)]))
    p = problem(orders, [van("A", break_=BREAK)])
    made = _counted_checks(monkeypatch)
    assert clean_break(p, RouteAssignment(0, tuple(range(6)))) is None
    assert len(made) == 1


def test_dropping_a_stop_stops_checking_once_no_drop_can_beat_the_best(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twenty equal stops, one too many for the shift: the first drop tried is the answer."""
    orders = [order(f"o{i}", 1, 0, service_min=30) for i in range(20)]
    p = problem(orders, [van("A", shift=(8 * H, 8 * H + 19 * 30 * M + 10 * M))])
    made = _counted_checks(monkeypatch)
    finished = finish_route(p, RouteAssignment(0, tuple(range(20))))
    assert finished.orders == tuple(range(1, 20))
    assert len(made) <= 6
