"""The decomposition search (plan/decompose.py), forced onto small days (min_orders=50)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pytest

from doorstep.domain import OrderKind
from doorstep.plan.decompose import DecomposeSolver, Group, PartTask, _part, solve_part, split
from doorstep.plan.evaluator import evaluate
from doorstep.plan.parallel import SerialRunner
from doorstep.plan.problem import Lock, Objective, Problem
from doorstep.plan.registry import backend_named
from doorstep.plan.solver import RouteAssignment, SolveRequest, SolveSettings
from doorstep.plan.subproblem import Score, restrict, score
from plan_problems import H, order, problem, van

T = TypeVar("T")
R = TypeVar("R")

LIMIT_S = 3.0


def _day(
    n: int = 150,
    seed: int = 7,
    objective: Objective = Objective.DISTANCE,
    depots: Sequence[tuple[str, float, float]] = (("D", 0, 0),),
    pairs: int = 0,
) -> Problem:
    """``n`` orders scattered 12 km around the depot(s), some with windows, vans of 10 parcels."""
    rng = np.random.default_rng(seed)
    orders = []
    for i in range(n):
        x, y = rng.uniform(-12, 12, size=2)
        start = int(rng.integers(8, 15)) * H
        windows = [(start, start + 3 * H)] if i % 3 == 0 else []
        orders.append(order(f"o{i}", x, y, windows=windows))
    for k in range(pairs):
        x, y = rng.uniform(-10, 10, size=2)
        orders.append(order(f"p{k}", x, y, kind=OrderKind.PICKUP))
        orders.append(order(f"d{k}", x + 1, y, paired_pickup=f"p{k}"))
    vans = [van(f"V{k}", depots[k % len(depots)][0], parcels=10) for k in range(n // 6 + pairs)]
    return problem(orders, vans, depots, objective=objective)


class RecordingDecompose(DecomposeSolver):
    """The decomposition, keeping the first plan of the whole day it starts from."""

    start: tuple[RouteAssignment, ...] = ()

    def _first(self, request: SolveRequest) -> tuple[RouteAssignment, ...]:
        self.start = super()._first(request)
        return self.start


class CountingRunner(SerialRunner):
    """The serial runner, counting tasks; every ``fail_every``-th task gives None.

    It records each round's part sizes (orders) and seeds, and claims ``workers``
    workers (it still runs the tasks one by one).
    """

    def __init__(self, fail_every: int = 0, workers: int = 1) -> None:
        self.tasks = 0
        self.fail_every = fail_every
        self._workers = workers
        self.rounds: list[list[int]] = []
        self.seeds: list[list[int]] = []
        self.tasks_of: list[list[PartTask]] = []

    @property
    def workers(self) -> int:
        return self._workers

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        *,
        timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[R | None]:
        self.rounds.append([len(t.part.orders) for t in tasks])  # type: ignore[attr-defined]
        self.seeds.append([t.seed for t in tasks])  # type: ignore[attr-defined]
        self.tasks_of.append(list(tasks))  # type: ignore[arg-type]
        out = super().map(fn, tasks, timeout_s=timeout_s, stop=stop)
        for k in range(len(out)):
            self.tasks += 1
            if self.fail_every and self.tasks % self.fail_every == 0:
                out[k] = None
        return out


def _solve(p: Problem, solver: DecomposeSolver, limit: float = LIMIT_S) -> list[RouteAssignment]:
    assignment = solver.solve(p, SolveSettings(time_limit_s=limit, seed=1))
    evaluation = evaluate(p, assignment)
    assert evaluation.feasible, [v.message for v in evaluation.violations]
    return list(assignment.routes)


def _served(routes: Sequence[RouteAssignment]) -> set[int]:
    return {i for r in routes for i in r.orders}


@pytest.mark.parametrize("objective", [Objective.DISTANCE, Objective.VEHICLES])
def test_decomposition_is_feasible_serves_all_and_never_worse(objective: Objective) -> None:
    """Forced onto 150 orders: feasible, serves what the base serves, not worse than its start."""
    p = _day(objective=objective)
    runner = CountingRunner()
    solver = RecordingDecompose("pyvrp", runner, min_orders=50, target_size=40)
    routes = _solve(p, solver)
    assert runner.tasks >= 3  # the decomposition ran (several parts)
    base = backend_named("pyvrp").solve(p, SolveSettings(time_limit_s=LIMIT_S, seed=1))
    assert _served(base.routes) <= _served(routes)
    assert score(p, routes) <= score(p, solver.start)


def test_a_day_with_breaks_is_decomposed_with_pyvrp_planning_them() -> None:
    """Breaks: the first plan and the parts go to PyVRP (breaks in its search), not OR-Tools.

    The plan is feasible, serves what the first plan served, and every route
    of a vehicle with a break takes it in its window.
    """
    from dataclasses import replace

    from doorstep.domain import TimeWindow
    from doorstep.domain.fleet import Break
    from doorstep.plan.registry import choose_engine

    day = _day(n=120, seed=4)
    lunch = Break(TimeWindow(11 * H, 13 * H), 1800)
    vans = tuple(replace(v, break_=lunch) for v in day.fleet.vehicles)
    day = replace(day, fleet=replace(day.fleet, vehicles=vans))
    runner = CountingRunner()
    solver = RecordingDecompose(None, runner, min_orders=50, target_size=40)
    assignment = solver.solve(day, SolveSettings(time_limit_s=LIMIT_S, seed=1))
    e = evaluate(day, assignment)
    assert e.feasible, [v.message for v in e.violations]
    assert runner.tasks >= 2
    groups = split(day, list(solver.start), 0, 40, 1)
    part = _part(day, list(solver.start), groups[0], False).problem
    assert choose_engine(part, None, big_day=True).name == "pyvrp"
    assert _served(solver.start) <= _served(assignment.routes)
    for r in e.plan.routes:  # a route over before the window needs no break
        if r.break_start_s is None:
            assert r.end_s <= 11 * H
        else:
            assert 11 * H <= r.break_start_s <= 13 * H - 1800
    assert any(r.break_start_s is not None for r in e.plan.routes)


def test_stalled_rounds_hand_the_rest_of_the_time_to_the_whole_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After STALL_ROUNDS rounds without a better plan, one part holds every order.

    Tiny parts of an easy day stop improving at once; the whole-day round that
    follows is warm-started from the current plan and never makes it worse.
    """
    import doorstep.plan.decompose as decompose

    monkeypatch.setattr(decompose, "MIN_WHOLE_S", 0.5)
    p = _day(n=90, seed=2)
    runner = CountingRunner()
    solver = RecordingDecompose("pyvrp", runner, min_orders=50, target_size=15)
    routes = _solve(p, solver, limit=6.0)
    wholes = [k for k, sizes in enumerate(runner.rounds) if sizes == [len(p.orders)]]
    assert wholes, runner.rounds  # the whole day was searched at last
    assert all(len(sizes) > 1 for sizes in runner.rounds[: decompose.STALL_ROUNDS])
    assert score(p, routes) <= score(p, solver.start)


def test_a_whole_day_round_runs_a_copy_per_idle_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """With two workers the whole-day round is two tasks of every order, seeded apart."""
    import doorstep.plan.decompose as decompose

    monkeypatch.setattr(decompose, "MIN_WHOLE_S", 0.5)
    p = _day(n=90, seed=2)
    runner = CountingRunner(workers=2)
    solver = RecordingDecompose("pyvrp", runner, min_orders=50, target_size=15)
    routes = _solve(p, solver, limit=6.0)
    whole = [k for k, sizes in enumerate(runner.rounds) if sizes == [len(p.orders)] * 2]
    assert whole, runner.rounds
    assert len(set(runner.seeds[whole[0]])) == 2
    assert score(p, routes) <= score(p, solver.start)


def test_the_second_copy_of_a_whole_day_round_searches_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First copy: the current routes as warm start; second: none, every vehicle, no fleet phase."""
    import doorstep.plan.decompose as decompose

    monkeypatch.setattr(decompose, "MIN_WHOLE_S", 0.5)
    p = _day(n=90, seed=2, objective=Objective.VEHICLES)
    runner = CountingRunner(workers=2)
    solver = RecordingDecompose("pyvrp", runner, min_orders=50, target_size=15)
    _solve(p, solver, limit=6.0)
    whole = [t for t in runner.tasks_of if [len(x.part.orders) for x in t] == [len(p.orders)] * 2]
    assert whole, runner.rounds
    warm, fresh = whole[0]
    assert not warm.fresh and warm.part.problem.warm_start
    assert fresh.fresh and not fresh.part.problem.warm_start
    assert len(fresh.part.vehicles) == len(p.fleet.vehicles) > len(warm.part.vehicles)
    # Every part of the ordinary rounds is warm-started.
    assert all(not t.fresh for tasks in runner.tasks_of if len(tasks) > 2 for t in tasks)


def test_failed_parts_keep_their_routes() -> None:
    """A runner that loses every other part still yields a feasible plan no worse than the start."""
    p = _day(n=120, seed=3)
    runner = CountingRunner(fail_every=2)
    solver = RecordingDecompose("pyvrp", runner, min_orders=50, target_size=40)
    routes = _solve(p, solver)
    assert runner.tasks >= 2
    assert _served(solver.start) <= _served(routes)
    assert score(p, routes) <= score(p, solver.start)


def test_a_runner_losing_every_part_returns_the_first_plan() -> None:
    """When every part fails, the plan is the first one, unchanged."""
    p = _day(n=100, seed=5)
    solver = RecordingDecompose("pyvrp", CountingRunner(fail_every=1), 50, 40)
    routes = _solve(p, solver, limit=2.0)
    assert sorted(routes, key=lambda r: r.vehicle) == sorted(solver.start, key=lambda r: r.vehicle)


def test_small_days_and_locked_days_go_to_the_base_whole() -> None:
    """Below min_orders, or with locks, no part is made: the runner is never called."""
    runner = CountingRunner()
    small = _day(n=40)
    _solve(small, DecomposeSolver("pyvrp", runner, min_orders=50), limit=1.0)
    locked = _day(n=60)
    locked = Problem(
        locked.orders,
        locked.fleet,
        locked.durations,
        locked.distances,
        locks=(Lock("o1", "V0"),),
    )
    routes = _solve(locked, DecomposeSolver(None, runner, min_orders=50), limit=1.0)
    assert runner.tasks == 0
    assert any(r.vehicle == 0 and 1 in r.orders for r in routes)


def test_split_covers_every_route_and_order_once_and_the_seams_move() -> None:
    """Each round's groups hold every route and left-out order once; rounds cut differently."""
    p = _day(n=150, pairs=4)
    routes = list(backend_named("pyvrp").solve(p, SolveSettings(1.0, seed=1)).routes)
    routes = [r for r in routes if r.orders]
    dropped = routes.pop()  # leave a route's orders out, as a plan may
    cuts = []
    for round_no in range(4):
        groups = split(p, routes, round_no, target_size=40, seed=1)
        assert sorted(k for g in groups for k in g.routes) == list(range(len(routes)))
        assert sorted(i for g in groups for i in g.extra) == sorted(dropped.orders)
        spare = [v for g in groups for v in g.spare]
        assert len(spare) == len(set(spare)) and not set(spare) & {r.vehicle for r in routes}
        for g in groups:
            orders = {i for k in g.routes for i in routes[k].orders} | set(g.extra)
            for pickup, delivery in p.pairs():
                assert (pickup in orders) == (delivery in orders)
        cuts.append({frozenset(g.routes) for g in groups})
        assert 2 <= len(groups) <= 6
    assert cuts[0] != cuts[2] and cuts[0] != cuts[1]


def test_each_group_keeps_to_one_depot() -> None:
    """With two depots, no group mixes routes of both."""
    p = _day(n=120, depots=(("N", 0, 6), ("S", 0, -6)))
    routes = [r for r in backend_named("pyvrp").solve(p, SolveSettings(1.0, seed=1)).routes]
    for round_no in range(2):
        for g in split(p, routes, round_no, target_size=40):
            starts = {p.fleet.vehicles[routes[k].vehicle].depot_id for k in g.routes}
            assert len(starts) == 1


def test_decomposition_with_pairs_and_two_depots_is_feasible() -> None:
    """Pairs stay whole and each depot's vans start there, through rounds of parts."""
    p = _day(n=100, depots=(("N", 0, 6), ("S", 0, -6)), pairs=3)
    solver = RecordingDecompose("pyvrp", CountingRunner(), min_orders=50, target_size=40)
    routes = _solve(p, solver)
    assert _served(solver.start) <= _served(routes)
    assert score(p, routes) <= score(p, solver.start)


def test_a_part_with_no_time_left_is_not_started() -> None:
    """solve_part gives None when its wall-clock deadline leaves too little time."""
    p = _day(n=20)
    part = restrict(p, range(10), [0, 1])
    assert solve_part(PartTask(part, "pyvrp", 5.0, 0, None, not_after=0.0)) is None
    done = solve_part(PartTask(part, "pyvrp", 0.5, 0, None, not_after=time.time() + 5))
    assert done is not None and _served(done.routes) == set(range(10))
    assert isinstance(score(part.problem, done.routes), Score)


def test_a_dissolving_part_starts_without_its_shortest_route() -> None:
    """Odd VEHICLES rounds: all orders and vehicles kept, the warm start without one route."""
    p = _day(n=30, objective=Objective.VEHICLES)
    routes = [RouteAssignment(0, (0, 1, 2)), RouteAssignment(1, (3,)), RouteAssignment(2, (4, 5))]
    part = _part(p, routes, Group([0, 1, 2]), dissolve=True)
    assert sorted(part.orders) == [0, 1, 2, 3, 4, 5] and sorted(part.vehicles) == [0, 1, 2]
    assert set(part.problem.warm_start) == {"V0", "V2"}
    whole = _part(p, routes, Group([0, 1, 2]))
    assert set(whole.problem.warm_start) == {"V0", "V1", "V2"}
