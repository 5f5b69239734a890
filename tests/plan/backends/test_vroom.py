"""The VROOM backend: how the problem maps to VROOM and VROOM's answer maps back.

The shared conformance suite runs it on one case per claimed feature; these
tests check the mapping itself (break steps, unservable orders, per-profile
matrices, the conservative maximum duration, priorities, warm starts).
"""

from __future__ import annotations

from typing import Any

from doorstep.domain import Profile, TimeWindow
from doorstep.domain.fleet import Break
from doorstep.plan.backends.vroom import (
    VroomSolver,
    build_model,
    exploration_level,
    heuristics_estimate_s,
    priorities,
    routes_from_solution,
)
from doorstep.plan.evaluator import evaluate
from doorstep.plan.problem import Feature
from doorstep.plan.solver import RouteAssignment, SolveSettings
from plan_problems import H, M, order, problem, van

SETTINGS = SolveSettings(time_limit_s=1.0)


def _route(vehicle: int, *steps: tuple[str, int | None]) -> dict[str, Any]:
    body = [{"type": kind, "id": ident} for kind, ident in steps]
    return {"vehicle": vehicle, "steps": [{"type": "start"}, *body, {"type": "end"}]}


def test_break_step_maps_to_the_stop_before_it() -> None:
    """A break step after the second job is ``break_after=1``; before the first, -1."""
    answer = {
        "routes": [
            _route(0, ("job", 4), ("job", 2), ("break", 0), ("job", 3)),
            _route(1, ("break", 1), ("pickup", 0), ("delivery", 1)),
            _route(2, ("job", 5)),
        ]
    }
    assert routes_from_solution(answer) == [
        RouteAssignment(0, (4, 2, 3), 1),
        RouteAssignment(1, (0, 1), -1),
        RouteAssignment(2, (5,), None),
    ]


def test_route_without_stops_is_left_out() -> None:
    """A vehicle VROOM reports with only a break (or nothing) has no route."""
    assert routes_from_solution({"routes": [_route(0, ("break", 0))]}) == []


def test_breaks_are_planned_and_feasible() -> None:
    """A long day gets its break inside the window, and the evaluator agrees."""
    orders = [order(f"o{i}", i + 1, 0, service_min=30) for i in range(8)]
    p = problem(orders, [van("A", break_=Break(TimeWindow(10 * H, 11 * H), 30 * M))])
    assignment = VroomSolver().solve(p, SETTINGS)
    evaluation = evaluate(p, assignment)
    assert evaluation.feasible, evaluation.violations
    route = evaluation.plan.routes[0]
    assert route.break_start_s is not None and 10 * H <= route.break_start_s <= 10 * H + 30 * M
    assert evaluation.kpis.served == 8


def test_unservable_order_comes_back_unassigned() -> None:
    """An order whose window closes before any vehicle can get there is left out."""
    orders = [order("ok", 1, 0), order("far", 50, 0, windows=[(8 * H, 8 * H + 10 * M)])]
    p = problem(orders, [van("A")])
    assignment = VroomSolver().solve(p, SETTINGS)
    assert [r.orders for r in assignment.routes] == [(0,)]
    assert evaluate(p, assignment).feasible


def test_order_needing_a_missing_skill_is_not_given_to_vroom() -> None:
    """No vehicle has the skill: the order is not modelled, the other one is."""
    orders = [order("cold", 1, 0, skills=frozenset({"cold"})), order("plain", 2, 0)]
    p = problem(orders, [van("A")])
    assert build_model(p).tasks == 1
    assignment = VroomSolver().solve(p, SETTINGS)
    assert [r.orders for r in assignment.routes] == [(1,)]


def test_each_profile_uses_its_own_matrix() -> None:
    """10 km by bike (4 min/km) misses a window a van (2 min/km) makes."""
    window = [(8 * H, 8 * H + 30 * M)]
    for profile, served in ((Profile.VAN, 1), (Profile.BIKE, 0)):
        p = problem([order("x", 10, 0, windows=window)], [van("A", profile=profile)])
        assignment = VroomSolver().solve(p, SETTINGS)
        assert sum(len(r.orders) for r in assignment.routes) == served, profile
        assert evaluate(p, assignment).feasible


def test_max_duration_counts_service_not_only_driving() -> None:
    """20 min of driving but 80 min of service: VROOM itself splits the two stops."""
    orders = [order("a", 2.5, 0, service_min=40), order("b", -2.5, 0, service_min=40)]
    p = problem(orders, [van("A", max_duration_s=H), van("B", max_duration_s=H)])
    solution = build_model(p).input.solve(exploration_level=4, nb_threads=1)
    raw = routes_from_solution(solution.to_dict())  # before any repair
    assert sorted(r.orders for r in raw) == [(0,), (1,)]
    evaluation = evaluate(p, VroomSolver().solve(p, SETTINGS))
    assert evaluation.feasible, evaluation.violations
    assert evaluation.kpis.served == 2 and evaluation.kpis.vehicles_used == 2


def test_priorities_rank_drop_penalties() -> None:
    """Optional orders get the lowest VROOM priority, higher penalties higher ones."""
    orders = [order("opt", 1, 0, priority=-1), order("n", 2, 0), order("vip", 3, 0, priority=2)]
    assert priorities(problem(orders, [van("A")])) == [0, 50, 100]
    assert priorities(problem(orders[1:2], [van("A")])) == [0]


def test_warm_start_becomes_vehicle_steps() -> None:
    """The previous plan is VROOM's initial route; unknown orders are skipped."""
    orders = [order(f"o{i}", i + 1, 0) for i in range(3)]
    p = problem(orders, [van("A"), van("B")], warm_start={"B": ("o2", "gone", "o0")})
    model = build_model(p)
    assert {v: [s.id for s in steps] for v, steps in model.steps.items()} == {1: [2, 0]}
    assignment = VroomSolver().solve(p, SETTINGS)
    assert evaluate(p, assignment).feasible
    assert build_model(p, warm=False).steps == {}


def test_a_warm_start_vroom_refuses_is_dropped_for_a_cold_start() -> None:
    """A warm start VROOM refuses (VroomInputException) is dropped: it plans cold.

    Here the previous route misses a window at its end.
    """
    orders = [order(f"o{i}", i + 1, 0, service_min=30) for i in range(4)]
    orders.append(order("early", 1, 1, windows=[(8 * H, 8 * H + 10 * M)]))
    p = problem(orders, [van("A")], warm_start={"A": ("o0", "o1", "o2", "o3", "early")})
    assert build_model(p).steps  # the warm start reaches VROOM, which refuses it
    e = evaluate(p, VroomSolver().solve(p, SETTINGS))
    assert e.feasible and e.kpis.served == 5, e.violations


def test_claims_everything_but_locks_and_soft_windows() -> None:
    """Locks (vehicle pins and sequence prefixes) and soft windows are not modelled."""
    assert set(Feature) - VroomSolver.features == {Feature.LOCKS, Feature.SOFT_WINDOWS}


def test_exploration_level_grows_with_time() -> None:
    """Short limits search less deeply."""
    assert exploration_level(0.5) < exploration_level(2) < exploration_level(30) == 5


def test_the_exploration_level_drops_until_vroom_heuristics_fit() -> None:
    """Big days get a lower level, and none (plan without VROOM) when not even level 1 fits."""
    assert exploration_level(60, 100) == 5
    assert heuristics_estimate_s(2000, 1) > 18
    assert exploration_level(18, 2000) == 0
    assert 1 <= exploration_level(20, 1500) < 5


def test_a_day_too_big_for_vroom_in_time_is_planned_by_the_bounded_construction() -> None:
    """When VROOM's heuristics cannot fit, the fallback's routes are evaluator-clean."""
    orders = [order(f"o{i}", i % 5 + 1, i // 5) for i in range(20)]
    day = problem(orders, [van("A"), van("B")])
    plan = VroomSolver().solve(day, SolveSettings(time_limit_s=0.0))
    assert evaluate(day, plan).feasible
