"""The :class:`OrToolsSolver`: scope, model, search, then the shared repair engine."""

from __future__ import annotations

from doorstep.plan.backends.ortools.model import build_model
from doorstep.plan.backends.ortools.scope import Scope
from doorstep.plan.backends.ortools.search import Run, search
from doorstep.plan.backends.ortools.solution import warm_routes
from doorstep.plan.problem import Feature
from doorstep.plan.repair import Rules, settle_routes
from doorstep.plan.solver import Planned, Solver, SolveRequest

FINISH_SHARE = 0.1
"""Share of the time limit kept for checking, repairing and re-inserting after the search."""


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
        warm = warm_routes(problem)
        found = search(build_model(scope, chains=True), search_deadline, run, warm)
        if found is None and any(scope.chains.values()) and not run.stopped:
            found = search(build_model(scope, chains=False), search_deadline, run, warm)
        rules = Rules(scope.vehicles_for, scope.locked, scope.chains, request.started + limit)
        routes = settle_routes(problem, found or (), rules=rules)
        return routes, None if run.best is None else run.cents(run.best)
