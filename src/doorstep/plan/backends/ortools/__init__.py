"""OR-Tools routing backend: the :class:`OrToolsSolver` over ``pywrapcp.RoutingModel``.

Modules: :mod:`.scope` (what of the problem is modelled), :mod:`.model` (the
routing model), :mod:`.search` (search parameters, the search, interrupts),
:mod:`.solution` (warm starts in, routes out), :mod:`.solver` (the backend).
Routes are finished by the shared :mod:`doorstep.plan.repair` engine.

Notes for the other engineer
----------------------------
Principle
    Only constraints OR-Tools' local-search filters can see go into the model
    (side constraints added with ``solver().Add`` made first solutions 4-15x
    slower and local search ~10x slower, measured on 300-1,000 orders). Where the
    evaluator's rule cannot be expressed that way, the model is slightly
    permissive, and every route is checked against the evaluator's rule
    afterwards (see "Agreement with the evaluator
    Every route is checked with the evaluator's own ``schedule_route`` through
    :mod:`doorstep.plan.repair`, the engine every backend uses: a route no break
    position makes feasible is repaired there (returns, i.e. unpaired pickups,
    are moved later while that lowers the overload, then stops are dropped,
    fewest violations first, then cheapest to drop), and dropped unpaired
    orders are offered again to every route at the cheapest detours the
    evaluator accepts. ``FINISH_SHARE`` of the time limit is kept for this;
    past the limit, repairs drop from the end and nothing is re-inserted. In a
    synthetic stress test (every feature, 15% returns, tight capacities;
    60-1,000 orders) 0-40% of the routes needed a repair, mostly for returns,
    and 0-0.5% of the orders were lost in the end.
Search
    ``PARALLEL_CHEAPEST_INSERTION`` (deterministic), then
    ``GUIDED_LOCAL_SEARCH`` until the limit; when that first solution is not
    expected within a third of the search budget (``first_solution_estimate_s``:
    5 s at 1,000 orders, growing as the 2.2th power) and there is no warm
    start, the search starts from PyVRP's construction instead; when the search
    finds nothing in time that start is the plan and orders it lacks are
    ``time_ran_out``. Scheduling LPs on GLOP (CP-SAT made
    breaks slow). No random seed in OR-Tools routing: ``settings.seed`` is
    ignored; runs are deterministic up to how far the search gets within the
    time limit. ``problem.warm_start`` is read with ``ReadAssignmentFromRoutes``
    (orders that cannot be where it puts them are left out of it); an unusable
    one falls back to a cold start. Rough sizes with every feature: 300 orders
    and 15 vehicles, first solution in 0.3 s; 1,000 orders and 40 vehicles, 5 s,
    and local search is slow: give it 30 s or more.
Locks
    A lock restricts the order's vehicle. A sequence prefix (positions 0, 1, 2...
    without gaps) is pinned with ``NextVar`` when the evaluator accepts the
    prefix as a route on its own (else only the vehicle is kept); should the
    model still have no solution, it is solved again without prefixes.
Interrupts
    A KeyboardInterrupt raised inside OR-Tools' C++ search is swallowed by it, so
    while solving in the main thread the backend installs its own SIGINT handler
    that stops the search through a ``CustomLimit`` and returns the best plan so
    far (then restores the previous handler); the same handler covers the start
    and the repairs, which then wrap up at once. A KeyboardInterrupt raised by
    the progress callback stops the search the same way; otherwise the routes
    the solution callback recorded are used.
Limitations
    Paired orders are not re-inserted after a repair; lock positions with gaps
    pin only the gap-free prefix; ``SetAllowedVehiclesForIndex`` rejects Python
    lists in ortools 9.15, so vehicle restrictions reduce ``VehicleVar`` domains.
"""

from doorstep.plan.backends.ortools.solver import OrToolsSolver

__all__ = ["OrToolsSolver"]
