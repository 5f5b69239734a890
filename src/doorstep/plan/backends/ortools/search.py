"""Searching the OR-Tools model: search parameters, the run's state, interrupts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_parameters_pb2

from doorstep.plan.backends.ortools.model import SCALE, Model
from doorstep.plan.backends.ortools.solution import Warm, routes_now, routes_of, warm_start
from doorstep.plan.solver import RouteAssignment, SolveRequest, stop_on_interrupt

MIN_SEARCH_S = 0.05
"""Least time given to a search, even past the deadline."""


@dataclass(slots=True)
class Run:
    """State of one solve: the request, progress, the best routes seen, why it stopped."""

    request: SolveRequest
    left_out: int = 0
    """Drop penalties (cents) of the orders not in the model."""
    best: int | None = None
    best_routes: list[RouteAssignment] | None = None
    stopped: bool = False
    error: Exception | None = None

    def cents(self, cost: int) -> float:
        """An OR-Tools cost in cents, with the penalties of orders left out of the model.

        Parameters
        ----------
        cost
            An objective value in ``SCALE`` units per cent.

        Returns
        -------
        float
            Cents.
        """
        return cost / SCALE + self.left_out


def search_parameters(seconds: float) -> Any:
    """OR-Tools' search parameters for a search of ``seconds``.

    Parameters
    ----------
    seconds
        Time limit of the search.

    Returns
    -------
    RoutingSearchParameters
        Parallel cheapest insertion, then guided local search until the limit,
        scheduling LPs on GLOP, no search log.
    """
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.mixed_integer_scheduling_solver = (
        routing_parameters_pb2.RoutingSearchParameters.SchedulingSolver.SCHEDULING_GLOP
    )
    params.time_limit.FromMilliseconds(int(1000 * seconds))
    params.log_search = False
    return params


def search(model: Model, deadline: float, run: Run, warm: Warm) -> list[RouteAssignment] | None:
    """Solve ``model`` until ``deadline``, reporting each better solution.

    Parameters
    ----------
    model
        The model, not yet closed.
    deadline
        ``time.perf_counter()`` when the search must stop.
    run
        The solve's state: receives the best cost and routes, and whether it stopped.
    warm
        Routes to start from (an unusable warm start falls back to a cold one).

    Returns
    -------
    list of RouteAssignment or None
        Per vehicle its stops (``break_after``: where OR-Tools put the break,
        as a hint), or None without a solution.

    Raises
    ------
    Exception
        Whatever the progress callback raised, other than KeyboardInterrupt.
    """
    routing = model.routing

    def params_now() -> Any:  # OR-Tools' clock starts at closing: give each solve what is left
        return search_parameters(max(MIN_SEARCH_S, deadline - time.perf_counter()))

    def on_solution() -> None:
        try:
            cost = int(routing.CostVar().Value())
            if run.best is not None and cost >= run.best:
                return
            run.best = cost
            run.best_routes = routes_now(model)
            run.request.report(run.cents(cost), True)
        except KeyboardInterrupt:
            run.stopped = True
            run.request.deadline.stop()
        except Exception as error:  # raised again after the search
            run.error = error
            run.stopped = True

    routing.AddAtSolutionCallback(on_solution)
    ends = run.request.deadline  # Ctrl-C stops it
    routing.AddSearchMonitor(routing.solver().CustomLimit(lambda: run.stopped or ends.interrupted))
    routing.CloseModelWithParameters(params_now())
    initial = warm_start(model, warm)
    solution = None
    try:
        with stop_on_interrupt(ends):
            if initial is not None:
                solution = routing.SolveFromAssignmentWithParameters(initial, params_now())
            # a cold start only when the warm one gave nothing and there is time for it
            cold = solution is None and run.best_routes is None and not run.stopped
            if cold and not ends.interrupted and time.perf_counter() < deadline:
                solution = routing.SolveWithParameters(params_now())
    except KeyboardInterrupt:
        ends.stop()
    run.stopped = run.stopped or ends.interrupted
    if run.error is not None:
        raise run.error
    if solution is not None:
        return routes_of(model, solution)
    return run.best_routes
