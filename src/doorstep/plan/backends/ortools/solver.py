"""The :class:`OrToolsSolver`: scope, model, search, then the shared repair engine."""

from __future__ import annotations

import time

from doorstep.plan.backends.ortools.model import build_model
from doorstep.plan.backends.ortools.scope import Scope
from doorstep.plan.backends.ortools.search import Run, search
from doorstep.plan.backends.ortools.solution import Warm, warm_routes
from doorstep.plan.problem import Feature, Problem
from doorstep.plan.repair import Rules, settle_routes
from doorstep.plan.solver import (
    Deadline,
    Planned,
    RouteAssignment,
    Solver,
    SolveRequest,
    stop_on_interrupt,
)

FINISH_SHARE = 0.1
"""Share of the time limit kept for checking, repairing and re-inserting after the search."""

FIRST_SOLUTION_S = 5.0
"""Seconds OR-Tools' first solution (parallel cheapest insertion) takes at 1,000 orders.

It grows about as the 2.2th power of the orders (22-35 s at 2,000 orders with
breaks, on two cores; ``bench/bench_big_day.py``), and the search has no
answer at all until it is done."""

START_SHARE = 1 / 3
"""Largest share of the search budget the first solution is expected to take;
beyond it the search starts from :func:`quick_start` instead."""


READ_BREAKS_S = 5.6
"""Seconds OR-Tools takes to read a start of 1,000 stops on routes with breaks.

Reading a start (``ReadAssignmentFromRoutes``) cannot be interrupted; with
break intervals it propagates them through every route, 5.6 s for 973 stops
and 12.7 s for 1,961 on two cores (``bench/bench_big_day.py``), so about as
the 1.2th power of the stops. Without breaks it takes a tenth of a second."""

READ_SHARE = 2 / 3
"""Largest share of the search budget reading a start may take; beyond it the
start is kept as it is (settled by the repair engine) and OR-Tools does not search."""


def read_estimate_s(problem: Problem, stops: int) -> float:
    """Expected seconds for OR-Tools to read a start of ``stops`` stops of ``problem``.

    Parameters
    ----------
    problem
        The day: only routes with breaks make the read slow.
    stops
        Stops in the start.

    Returns
    -------
    float
        :data:`READ_BREAKS_S` scaled by ``(stops / 1000) ** 1.2`` when any
        vehicle has a break, else 0.
    """
    if all(v.break_ is None for v in problem.fleet.vehicles):
        return 0.0
    return float(READ_BREAKS_S * (stops / 1000) ** 1.2)


def first_solution_estimate_s(orders: int) -> float:
    """Expected seconds of OR-Tools' own first solution for ``orders`` modelled orders.

    Parameters
    ----------
    orders
        Modelled orders.

    Returns
    -------
    float
        :data:`FIRST_SOLUTION_S` scaled by ``(orders / 1000) ** 2.2``.
    """
    return float(FIRST_SOLUTION_S * (orders / 1000) ** 2.2)


def quick_start(problem: Problem, seed: int, deadline: Deadline) -> Warm:
    """A bounded greedy plan to start the search from: PyVRP's construction.

    ``problem``, ``seed`` and ``deadline`` are passed on to
    :func:`doorstep.plan.backends.pyvrp.quick_routes`.

    Returns
    -------
    Warm
        Vehicle -> (order indices, break_after), breaks placed by the repair
        engine (see :func:`doorstep.plan.backends.pyvrp.quick_routes`).
    """
    from doorstep.plan.backends.pyvrp import quick_routes

    return {r.vehicle: (r.orders, r.break_after) for r in quick_routes(problem, seed, deadline)}


def _start_routes(scope: Scope, warm: Warm) -> list[RouteAssignment]:
    """The routes of a start, cut to what the model allows (no pairs: they are not re-checked)."""
    modelled = set(scope.orders)
    paired = {i for pair in scope.pairs for i in pair}
    routes = []
    for v, (orders, _) in warm.items():
        kept = tuple(
            i for i in orders if i in modelled and i not in paired and v in scope.vehicles_for(i)
        )
        routes.append(RouteAssignment(v, kept))
    return routes


class OrToolsSolver(Solver):
    """Google OR-Tools' routing solver behind the :class:`~doorstep.plan.solver.Solver` base.

    Supports every :class:`~doorstep.plan.problem.Feature`; see the package
    docstring for how each is modelled. The seed is ignored: OR-Tools routing
    has none.
    """

    name = "ortools"
    features = frozenset(Feature)

    def plan(self, request: SolveRequest) -> Planned:
        """Plan ``request.problem`` within the time limit (model building included).

        Parameters
        ----------
        request
            The problem, settings (the seed is ignored), the progress callback
            (called at every improving solution with the best cost in cents)
            and the start time.

        Returns
        -------
        Planned
            Routes in visit order with ``break_after``, each feasible under the
            evaluator's schedule rule (orders left out are simply absent), and
            OR-Tools' best objective in cents (None without a solution).
        """
        problem = request.problem
        scope = Scope.of(problem)
        if not scope.orders or not problem.fleet.vehicles:
            return (), None
        left_out = sum(problem.drop_penalty[i] for i in range(len(problem.orders)))
        left_out -= sum(problem.drop_penalty[i] for i in scope.orders)
        run = Run(request, left_out)
        limit = request.settings.time_limit_s
        search_deadline = request.started + (1 - FINISH_SHARE) * limit
        rules = Rules(scope.vehicles_for, scope.locked, scope.chains, request.deadline)
        with stop_on_interrupt(request.deadline):
            warm: Warm = warm_routes(problem)
            budget = search_deadline - time.perf_counter()
            if not warm and first_solution_estimate_s(len(scope.orders)) > START_SHARE * budget:
                warm = quick_start(problem, request.settings.seed, Deadline(search_deadline))
            budget = search_deadline - time.perf_counter()
            stops = sum(len(orders) for orders, _ in warm.values())
            found = None
            if read_estimate_s(problem, stops) <= READ_SHARE * budget:
                found = search(build_model(scope, chains=True), search_deadline, run, warm)
                if found is None and any(scope.chains.values()) and not run.stopped:
                    found = search(build_model(scope, chains=False), search_deadline, run, warm)
            if found is None:  # no solution in time: the start is better than nothing
                found = _start_routes(scope, warm)
                request.untried.update(scope.orders)
            routes = settle_routes(problem, found, rules=rules)
        request.untried.update(rules.cut)
        return routes, None if run.best is None else run.cents(run.best)
