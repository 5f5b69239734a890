"""PyVRP backend: the default solver (hybrid genetic search / iterated local search).

How the planning model maps onto PyVRP 0.14:

* **Locations** are the problem's locations (depots, then orders), one PyVRP
  location each, so matrices are used as they are.
* **Orders** become clients with a delivery or a pickup amount in three
  dimensions (parcels, grams, millilitres): PyVRP loads deliveries at the depot
  and unloads pickups there, as the evaluator does. An order with several
  windows becomes one client per window in a mutually exclusive group. Paired
  pickup-and-delivery orders become a PyVRP shipment (same vehicle, pickup
  first; its windows are the first window of each end).
* **Every order is optional** with a prize equal to its drop penalty, so an
  order that cannot be served is left out (and explained) instead of making
  the whole plan infeasible.
* **Vehicles** are one vehicle type each: capacity, start and end depot, shift
  (``tw_early``/``tw_late``), maximum duration (``shift_duration``), costs.
* **Skills and profiles**: one PyVRP routing profile per distinct (vehicle
  profile, skill set); in it, orders needing a missing skill are
  :data:`FORBIDDEN` to reach.
* **Costs** are in thousandths of a cent so per-km and per-hour rates stay
  integers. ``distance`` minimises metres; ``vehicles`` puts
  :data:`~doorstep.plan.problem.VEHICLE_WEIGHT_M` on every vehicle, then metres;
  prizes are :meth:`~doorstep.plan.problem.Problem.drop_weight_m` under both.
  When every order is required and the fleet is one kind of vehicle,
  ``vehicles`` first searches for a feasible plan with fewer vehicles
  (:data:`FLEET_SHARE` of the budget), then improves distance.
* **Penalties** for excess load and time may grow past every fixed cost and
  prize (:func:`solve_params`) but start where PyVRP's defaults start them.
  The starting solution is built at PyVRP's default cap (:func:`construct`),
  so the clock is looked at within seconds; the deadline and Ctrl-C stop the
  search and the break placement after it (orders the placement cut for lack
  of time are explained as ``time_ran_out``).

* **Breaks** are not a PyVRP concept. By default each vehicle with a break gets
  a break stop planned inside the search: an optional client at a location 0 m
  and 0 s from everywhere, with the break's window and duration, in a load
  dimension where only that vehicle has room for one (:func:`build_model`).
  Its position becomes the route's ``break_after``, and
  :func:`doorstep.plan.repair.place_breaks` checks it with the real travel
  times (moving it, or dropping a stop, only if it must). With
  ``breaks="after"``, each vehicle plans with its shift and maximum duration
  shortened by the break and every break is placed after the search. The
  evaluator checks the result.

Not modelled (the engine sends such problems to OR-Tools): locks and soft
windows. Warm starts are passed as PyVRP's initial solution.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyvrp
from pyvrp import (
    CostEvaluator,
    IteratedLocalSearchParams,
    PenaltyManager,
    PenaltyParams,
    SolveParams,
)
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import FirstFeasible, MultipleCriteria

from doorstep.domain.fleet import Vehicle
from doorstep.domain.order import Order, OrderKind
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.problem import VEHICLE_WEIGHT_M, Feature, Objective, Problem
from doorstep.plan.repair import Rules, place_breaks
from doorstep.plan.solver import (
    Deadline,
    Planned,
    Progress,
    ProgressCallback,
    RouteAssignment,
    Solver,
    SolveRequest,
    SolveSettings,
    stop_on_interrupt,
)

FORBIDDEN = 10**9
"""Distance and duration of an arc no vehicle of that profile may drive."""

MILLI = 1000
FINISH_SHARE = 0.1
"""Share of the time limit kept for placing breaks after the search (days with breaks)."""

BreakMode = Literal["after", "search"]
"""Where :class:`PyVrpSolver` plans breaks: after the search, or inside it."""
BREAK_MODES: tuple[BreakMode, ...] = ("after", "search")

BREAK_PRIZE_M = 10**7
"""A break stop's least prize when the vehicles cost nothing to use (10,000 km):
more than any distance a break's time could buy (see :func:`_break_prize`)."""

FLEET_SHARE = 0.5
"""Share of the search budget ``Objective.VEHICLES`` spends removing vehicles.

When every order must be served by one kind of vehicle, the search first asks
PyVRP for a feasible plan with one vehicle fewer, again and again (as
``pyvrp.minimise_fleet`` does), then spends the rest improving distance with
the smallest fleet found, starting from that plan. Measured at 10 s on the
Solomon and Li & Lim instances where the fixed vehicle cost alone settled for a
vehicle more than the best known (``bench/bench_routing.py``)."""


class _Stop:
    """A PyVRP stopping criterion that reports progress and honours the deadline and Ctrl-C.

    One criterion serves every ``pyvrp.solve`` call of a solve: elapsed time
    (since the request began) and iterations count from the first, and
    :meth:`limit` sets how far the current call may go. Ctrl-C stops the
    request's :class:`~doorstep.plan.solver.Deadline`, which stops every call.
    """

    def __init__(
        self,
        seconds: float,
        iterations: int | None,
        progress: ProgressCallback | None,
        deadline: Deadline | None = None,
    ) -> None:
        self.seconds = seconds
        self.iterations = iterations
        self.count = 0
        self._progress = progress
        self._started = time.perf_counter()
        self._last_report = 0.0
        self.deadline = deadline or Deadline(self._started + seconds)

    def started_at(self, started: float) -> None:
        """Count elapsed time from ``started`` (a ``time.perf_counter()`` reading)."""
        self._started = started

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the solve."""
        return self.deadline.interrupted

    @property
    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.perf_counter() - self._started

    def limit(self, seconds: float, iterations: int | None) -> None:
        """Stop the current call at ``seconds`` elapsed or ``iterations`` counted in all."""
        self.seconds = seconds
        self.iterations = iterations

    def __call__(self, best_cost: float) -> bool:
        self.count += 1
        if self.iterations is not None and self.count > self.iterations:
            return True
        now = self.elapsed
        if self._progress is not None and now - self._last_report >= 0.25:
            self._last_report = now
            feasible = best_cost < float("inf")
            try:
                self._progress(Progress(now, best_cost / MILLI if feasible else None, feasible))
            except KeyboardInterrupt:  # the caller's way to stop: keep the best so far
                self.deadline.stop()
        return self.deadline.passed() or now >= self.seconds


@dataclass
class _Model:
    """The PyVRP data and how its pieces map back to orders."""

    data: pyvrp.ProblemData
    client_order: list[int] = field(default_factory=list)
    shipment_orders: list[tuple[int, int]] = field(default_factory=list)
    vehicles_of_type: list[list[int]] = field(default_factory=list)
    """Vehicle indices of each PyVRP vehicle type (identical vehicles share a type)."""
    order_dims: int = 1
    """Load dimensions of the orders; the dimensions after them count breaks."""

    def is_break(self, client: int) -> bool:
        """Whether PyVRP client ``client`` is a break stop (they come after the orders')."""
        return client >= len(self.client_order)


class PyVrpSolver(Solver):
    """The default backend, PyVRP (Wouda, Lan and Kool 2024)."""

    name = "pyvrp"
    features = frozenset(Feature) - {Feature.LOCKS, Feature.SOFT_WINDOWS}

    def __init__(self, breaks: BreakMode = "search") -> None:
        """A PyVRP backend.

        Parameters
        ----------
        breaks
            ``search`` (the default): one break stop per vehicle planned inside
            the search (:func:`build_model`); ``after``: vehicles plan with their
            shifts shortened by the break, placed after the search. Inside the
            search served more orders at about half the cost plus penalties on
            the Helsinki days with breaks (``bench/bench_breaks.py``,
            ``bench/bench_big_day.py``; BENCHMARKS.md).
        """
        if breaks not in BREAK_MODES:
            raise ValueError(f"breaks must be one of {BREAK_MODES}, not {breaks!r}")
        self.breaks = breaks

    def plan(self, request: SolveRequest) -> Planned:
        """Plan ``request.problem`` with PyVRP; Ctrl-C stops the search and keeps the best plan.

        Parameters
        ----------
        request
            The problem, settings (time limit, iterations, seed) and progress callback.

        Returns
        -------
        Planned
            Routes with their breaks placed by :func:`doorstep.plan.repair.place_breaks`,
            and PyVRP's cost in cents.
        """
        problem, settings = request.problem, request.settings
        model = build_model(problem, breaks_in_search=self.breaks == "search")
        if not model.client_order and not model.shipment_orders:
            return (), None
        limit = settings.time_limit_s
        if any(v.break_ is not None for v in problem.fleet.vehicles):
            limit *= 1 - FINISH_SHARE  # time kept for placing the breaks
        stop = _Stop(limit, settings.max_iterations, request.progress, request.deadline)
        stop.started_at(request.started)
        with stop_on_interrupt(request.deadline):
            best = _search(problem, model, stop, _warm_start(problem, model), settings)
            rules = Rules(deadline=request.deadline)
            routes = place_breaks(problem, _routes(best, model), rules)
        request.untried.update(rules.cut)
        return routes, _cost(best) / MILLI


CONSTRUCT_SHARE = 0.25
"""Share of the search budget the exhaustive starting local search may be expected to take.

Past it (big days, short limits), :func:`construct` builds its start with
:func:`greedy_start` and :func:`polish_in_parts`, which look at the clock
every few hundred clients, and the search runs without PyVRP's exhaustive
local search on each new best (both are single C++ calls the clock cannot cut)."""

EXHAUSTIVE_S_PER_PAIR = 1e-6
"""Seconds of the exhaustive starting local search per (client x client): 3.3 s
at 2,000 clients (Helsinki day with breaks) and 1.5 s at 1,000 measured on two
cores (``bench/bench_big_day.py``)."""


def exhaustive_estimate_s(data: pyvrp.ProblemData) -> float:
    """Expected seconds of :func:`construct`'s exhaustive local search on ``data``.

    Parameters
    ----------
    data
        The PyVRP model.

    Returns
    -------
    float
        :data:`EXHAUSTIVE_S_PER_PAIR` times the squared number of clients
        (shipments count twice).
    """
    n = data.num_clients + 2 * data.num_shipments
    return EXHAUSTIVE_S_PER_PAIR * n * n


def fits_budget(data: pyvrp.ProblemData, budget_s: float | None) -> bool:
    """Whether PyVRP's exhaustive local searches are expected to fit in ``budget_s``.

    Parameters
    ----------
    data
        The PyVRP model.
    budget_s
        Seconds they may take; None: any time.

    Returns
    -------
    bool
        True when there is no budget or :func:`exhaustive_estimate_s` is within it.
    """
    return budget_s is None or exhaustive_estimate_s(data) <= budget_s


def greedy_start(data: pyvrp.ProblemData, deadline: Deadline | None = None) -> pyvrp.Solution:
    """A starting solution by nearest feasible neighbour, in numpy, that watches the clock.

    Each vehicle in turn drives from its start depot to the client it can
    reach soonest (travel plus waiting) without breaking that client's window,
    its capacity (deliveries and pickups added up, so never overloaded on the
    way), its shift or its maximum duration, until nothing more fits. One
    member of a group is enough; shipments are left to the search. Clients
    nothing fits (and everything once ``deadline`` passes) are left unplanned
    for the search to insert.

    Parameters
    ----------
    data
        The PyVRP model.
    deadline
        Past it, the routes built so far are returned.

    Returns
    -------
    pyvrp.Solution
        Routes of clients only (possibly missing required clients).
    """
    clients = data.clients()
    n = len(clients)
    big = float(2**62)
    location = np.array([c.location for c in clients], dtype=np.int64)
    early = np.array([c.tw_early for c in clients], dtype=np.float64)
    late = np.minimum(np.array([c.tw_late for c in clients], dtype=np.float64), big)
    service = np.array([c.service_duration for c in clients], dtype=np.float64)
    demand = np.array([np.add(c.delivery, c.pickup) for c in clients], dtype=np.float64).reshape(
        n, -1
    )
    group = np.array([-1 if c.group is None else c.group for c in clients], dtype=np.int64)
    free = np.ones(n, dtype=bool)
    routes: list[pyvrp.Route] = []
    for kind, vt in enumerate(data.vehicle_types()):
        durations = np.asarray(data.duration_matrix(vt.profile))
        distances = np.asarray(data.distance_matrix(vt.profile))
        back = durations[location, vt.end_depot].astype(np.float64)
        capacity = np.asarray(vt.capacity, dtype=np.float64)
        shift_end = min(float(vt.tw_late), big)
        longest = min(float(vt.shift_duration), big)
        for _ in range(vt.num_available):
            if deadline is not None and deadline.passed():
                break
            here, now, load = vt.start_depot, float(vt.tw_early), np.zeros_like(capacity)
            visits: list[int] = []
            while free.any() and not (deadline is not None and deadline.passed()):
                start = np.maximum(now + durations[here, location], early)
                done = start + service
                fits = (
                    free
                    & (start <= late)
                    & (done + back <= shift_end)
                    & (done + back - vt.tw_early <= longest)
                    & (distances[here, location] < FORBIDDEN)
                    & np.all(load + demand <= capacity, axis=1)
                )
                if not fits.any():
                    break
                score = np.where(fits, start - now, np.inf)
                pick = int(np.argmin(score))
                visits.append(pick)
                free[pick] = False
                if group[pick] >= 0:
                    free[group == group[pick]] = False
                here, now, load = int(location[pick]), float(done[pick]), load + demand[pick]
            if visits:
                activity = pyvrp.ActivityType.CLIENT
                routes.append(
                    pyvrp.Route(data, [pyvrp.Activity(activity, c) for c in visits], kind)
                )
    return pyvrp.Solution(data, routes)


PART_CLIENTS = 250
"""Clients per part in :func:`polish_in_parts`: an exhaustive local search on
that many takes a fraction of a second, so the clock is looked at that often."""


_PART_CLIENT_FIELDS = (
    "delivery",
    "pickup",
    "service_duration",
    "tw_early",
    "tw_late",
    "release_time",
    "prize",
    "required",
)
"""What a part's client keeps of the whole day's (its location is renumbered)."""


def _part_data(
    data: pyvrp.ProblemData, clients: list[int], kinds: list[int]
) -> tuple[pyvrp.ProblemData, list[int]]:
    """``data`` cut to ``clients`` and one vehicle of each of ``kinds`` (types may repeat).

    Returns the smaller model and its vehicle type per entry of ``kinds``.
    """
    types = sorted(set(kinds))
    vts = [data.vehicle_type(t) for t in types]
    depot_ids = sorted({d for vt in vts for d in (vt.start_depot, vt.end_depot)})
    new = {d: k for k, d in enumerate(depot_ids)}
    locations = [data.depot(d).location for d in depot_ids]
    locations += [data.client(c).location for c in clients]
    index = np.array(locations, dtype=np.int64)
    part = [
        pyvrp.Client(
            len(depot_ids) + k, **{a: getattr(data.client(c), a) for a in _PART_CLIENT_FIELDS}
        )
        for k, c in enumerate(clients)
    ]
    sub = data.replace(
        locations=[data.location(i) for i in locations],
        depots=[
            pyvrp.Depot(k, data.depot(d).tw_early, data.depot(d).tw_late)
            for k, d in enumerate(depot_ids)
        ],
        clients=part,
        vehicle_types=[
            vt.replace(
                num_available=kinds.count(t),
                start_depot=new[vt.start_depot],
                end_depot=new[vt.end_depot],
            )
            for t, vt in zip(types, vts, strict=True)
        ],
        distance_matrices=[np.asarray(m)[np.ix_(index, index)] for m in data.distance_matrices()],  # type: ignore[misc]
        duration_matrices=[np.asarray(m)[np.ix_(index, index)] for m in data.duration_matrices()],  # type: ignore[misc]
    )
    return sub, [types.index(t) for t in kinds]


def polish_in_parts(
    data: pyvrp.ProblemData,
    start: pyvrp.Solution,
    seed: int,
    deadline: Deadline | None = None,
) -> pyvrp.Solution:
    """``start`` improved by PyVRP's exhaustive local search, a few routes at a time.

    The routes are sorted by the bearing of their stops' centre from the
    depots' and cut into parts of about :data:`PART_CLIENTS` clients; each
    unplanned client joins the part whose centre is nearest. Each part is its
    own small model, searched exhaustively from its routes (a fraction of a
    second); ``deadline`` is looked at between parts, and the parts not reached
    keep their routes. Models with groups or shipments are returned as they are.

    Parameters
    ----------
    data
        The PyVRP model.
    start
        The solution to improve (e.g. :func:`greedy_start`'s).
    seed
        The search's seed.
    deadline
        Past it, the remaining parts are left as they are.

    Returns
    -------
    pyvrp.Solution
        The improved solution.
    """
    if data.num_groups or data.num_shipments or not start.routes():
        return start
    xy = np.array([(loc.x, loc.y) for loc in data.locations()], dtype=np.float64)
    hub = xy[: data.num_depots].mean(axis=0)
    routes = [
        (r.vehicle_type(), [a.idx for a in r.schedule() if a.is_client()]) for r in start.routes()
    ]
    centres = np.array([xy[[data.client(c).location for c in v]].mean(axis=0) for _, v in routes])
    bearing = np.arctan2(centres[:, 1] - hub[1], centres[:, 0] - hub[0])
    order = list(np.argsort(bearing, kind="stable"))
    parts: list[list[int]] = [[]]
    size = 0
    for r in order:
        if size >= PART_CLIENTS:
            parts.append([])
            size = 0
        parts[-1].append(int(r))
        size += len(routes[r][1])
    planned = {c for _, v in routes for c in v}
    spare: list[list[int]] = [[] for _ in parts]
    part_centres = np.array([np.mean([centres[r] for r in part], axis=0) for part in parts])
    for c in range(data.num_clients):
        if c not in planned:
            d = np.linalg.norm(part_centres - xy[data.client(c).location], axis=1)
            spare[int(np.argmin(d))].append(c)
    params = solve_params(data)
    usual = PenaltyParams()
    out: list[pyvrp.Route] = []
    for p, part in enumerate(parts):
        if deadline is not None and deadline.passed():
            out += [
                pyvrp.Route(
                    data,
                    [pyvrp.Activity(pyvrp.ActivityType.CLIENT, c) for c in routes[r][1]],
                    routes[r][0],
                )
                for r in part
            ]
            continue
        clients = [c for r in part for c in routes[r][1]] + spare[p]
        kinds = [routes[r][0] for r in part]
        sub, sub_kinds = _part_data(data, clients, kinds)
        local = {c: k for k, c in enumerate(clients)}
        sub_start = pyvrp.Solution(
            sub,
            [
                pyvrp.Route(
                    sub,
                    [pyvrp.Activity(pyvrp.ActivityType.CLIENT, local[c]) for c in routes[r][1]],
                    sub_kinds[k],
                )
                for k, r in enumerate(part)
            ],
        )
        rng = pyvrp.RandomNumberGenerator(seed=seed + p)
        search = LocalSearch(
            sub,
            rng,
            compute_neighbours(sub, params.neighbourhood),
            PerturbationManager(params.perturbation),
        )
        for operator in params.operators:
            if operator.supports(sub):
                search.add_operator(operator(sub))
        evaluator = PenaltyManager(usual.midpoint_penalties(sub), usual).max_cost_evaluator()
        better = search(sub_start, evaluator, exhaustive=True)
        types = sorted(set(kinds))
        for route in better.routes():
            visits = [clients[a.idx] for a in route.schedule() if a.is_client()]
            out.append(
                pyvrp.Route(
                    data,
                    [pyvrp.Activity(pyvrp.ActivityType.CLIENT, c) for c in visits],
                    types[route.vehicle_type()],
                )
            )
    return pyvrp.Solution(data, out)


def construct(
    data: pyvrp.ProblemData,
    seed: int,
    deadline: Deadline | None = None,
    budget_s: float | None = None,
) -> pyvrp.Solution:
    """PyVRP's starting solution, built in two bounded steps rather than one unbounded one.

    ``pyvrp.solve`` builds its start with an exhaustive local search from a
    random solution at the *maximum* penalty, and only then looks at the clock.
    With the cap raised (:func:`solve_params`, 4e8 on a Helsinki day) that local
    search ran for 683 s on a 1,000-order day. Here the same local search (same
    seed, operators and neighbourhoods as ``pyvrp.solve``) runs first at
    PyVRP's *default* cap (1e5), which takes about a second there; only when
    that start is infeasible, and ``deadline`` has not passed, a second local
    search at the raised cap starts from it, which has only the excess to
    remove (an overloaded van that the fixed cost made cheaper than two).
    A start that is late (time warp) is returned as it is, for the search to
    mend under the clock: on a 1,029-order part of a 10,000-order day with 13
    vans (34,895 s of time warp in the start), that second local search had
    not ended after 10 minutes; without it the part's 7 s solve took 7.0 s.

    Parameters
    ----------
    data
        The PyVRP model.
    seed
        The search's seed.
    deadline
        Past it, the first step's start is returned as it is.
    budget_s
        Seconds the construction may take: when the local search is expected
        to take longer (:func:`exhaustive_estimate_s`), the start is
        :func:`greedy_start`'s, which looks at ``deadline`` after every stop.
        None: no budget.

    Returns
    -------
    pyvrp.Solution
        The starting solution (possibly infeasible).
    """
    if not fits_budget(data, budget_s):
        return polish_in_parts(data, greedy_start(data, deadline), seed, deadline)
    params = solve_params(data)
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(data, params.neighbourhood)
    search = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for operator in params.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    usual = PenaltyParams()
    start = search(
        pyvrp.Solution.make_random(data, rng),
        PenaltyManager(usual.midpoint_penalties(data), usual).max_cost_evaluator(),
        exhaustive=True,
    )
    raised = params.penalty
    if start.is_feasible() or raised.max_penalty <= usual.max_penalty:
        return start
    if start.time_warp() > 0:  # late everywhere: the raised step could run for minutes
        return start
    if deadline is not None and deadline.passed():
        return start
    evaluator = PenaltyManager(raised.midpoint_penalties(data), raised).max_cost_evaluator()
    return search(start, evaluator, exhaustive=True)


def quick_routes(problem: Problem, seed: int, deadline: Deadline) -> tuple[RouteAssignment, ...]:
    """PyVRP's bounded construction alone (:func:`construct`), as routes the evaluator accepts.

    A quick greedy plan for another backend to start from (OR-Tools on days
    too big for its own first solution within the limit): about 1.5 s at 1,000
    orders and 3 s at 2,000 on two cores, breaks placed afterwards as in a
    PyVRP solve. Locks and soft windows are not modelled (the caller's warm
    start handles them).

    Parameters
    ----------
    problem
        The day to plan.
    seed
        The construction's seed.
    deadline
        Past it, the construction returns what it has and the break placement
        drops from the end of routes.

    Returns
    -------
    tuple of RouteAssignment
        The routes (empty when PyVRP has nothing to plan).
    """
    model = build_model(problem)
    if not model.client_order and not model.shipment_orders:
        return ()
    start = construct(model.data, seed, deadline, CONSTRUCT_SHARE * deadline.left())
    return place_breaks(problem, _routes(start, model), Rules(deadline=deadline))


def _cost(solution: pyvrp.Solution) -> float:
    """PyVRP's objective of ``solution`` without penalties (inf when infeasible)."""
    if not solution.is_feasible():
        return float("inf")
    return float(CostEvaluator([0] * len(solution.excess_load()), 0, 0).cost(solution))


def _search(
    problem: Problem,
    model: _Model,
    stop: _Stop,
    initial: pyvrp.Solution | None,
    settings: SolveSettings,
) -> pyvrp.Solution:
    """The fleet phase (when it applies), then the search: the best solution found.

    Every ``pyvrp.solve`` gets a start built by :func:`construct` (or the warm
    start, or the fleet phase's plan), so the clock is looked at within about a
    second of local search whatever the penalty cap; once ``stop``'s deadline
    has passed the start is returned as it is.
    """
    data = model.data
    if settings.fleet_search and _fleet_can_shrink(problem, model):
        seconds, total = stop.seconds, settings.max_iterations
        stop.limit(seconds * FLEET_SHARE, None if total is None else int(total * FLEET_SHARE))
        data, smaller = _minimise_fleet(data, stop, settings.seed, model.order_dims)
        initial = smaller or initial
        stop.limit(seconds, total)
    budget = CONSTRUCT_SHARE * stop.seconds
    if initial is None:
        initial = construct(data, settings.seed, stop.deadline, budget)
    if stop.deadline.passed():
        return initial
    with warnings.catch_warnings():
        if data is not model.data:
            # The fleet is cut to a count with a feasible plan in hand, so
            # penalties at their bound only mean a tight fleet: expected.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            data,
            stop,
            seed=settings.seed,
            collect_stats=False,
            display=False,
            initial_solution=initial,
            params=solve_params(data, exhaustive=fits_budget(data, budget)),
        )
    return result.best


def _fleet_can_shrink(problem: Problem, model: _Model) -> bool:
    """Whether the vehicles objective can search for a smaller fleet first.

    Every order must be required (break stops are optional: a vehicle removed
    takes its break stop's prize with it, the same for every fleet).
    """
    data = model.data
    return (
        problem.objective is Objective.VEHICLES
        and data.num_vehicle_types == 1
        and data.num_groups == 0
        and all(c.required for k, c in enumerate(data.clients()) if not model.is_break(k))
        and all(s.required for s in data.shipments())
    )


def _fleet_lower_bound(data: pyvrp.ProblemData, dims: int) -> int:
    """Vehicles the clients' deliveries and pickups need at least, by capacity.

    Only the first ``dims`` load dimensions (the orders'; break stops count
    in the others) bound the fleet.
    """
    capacity = data.vehicle_type(0).capacity
    need = 1
    for k, cap in enumerate(capacity[:dims]):
        if cap <= 0:
            continue
        for amounts in (
            [c.delivery[k] for c in data.clients()],
            [c.pickup[k] for c in data.clients()],
        ):
            need = max(need, -(-sum(amounts) // cap))
    return need


def _minimise_fleet(
    data: pyvrp.ProblemData, stop: _Stop, seed: int, dims: int
) -> tuple[pyvrp.ProblemData, pyvrp.Solution | None]:
    """Drop vehicles while PyVRP still finds a feasible plan within ``stop``'s limit.

    Returns the data with the smallest fleet found and that plan (None when no
    vehicle could be removed).
    """
    best = None
    fleet = data.vehicle_type(0)
    lower = _fleet_lower_bound(data, dims)
    while fleet.num_available > lower and not stop.interrupted:
        trial = data.replace(vehicle_types=[fleet.replace(num_available=fleet.num_available - 1)])
        budget = CONSTRUCT_SHARE * stop.seconds
        start = construct(trial, seed, stop.deadline, budget)
        if stop.deadline.passed():
            break
        with warnings.catch_warnings():
            # Too few vehicles drive PyVRP's penalties to their bound: expected here.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            result = pyvrp.solve(
                trial,
                MultipleCriteria([FirstFeasible(), stop]),
                seed=seed,
                collect_stats=False,
                display=False,
                initial_solution=start,
                params=solve_params(trial, exhaustive=fits_budget(trial, budget)),
            )
        if not result.best.is_feasible():
            break
        fleet = fleet.replace(num_available=result.best.num_routes())
        data = data.replace(vehicle_types=[fleet])
        best = result.best
    if best is None:
        return data, None
    routes = [
        pyvrp.Route(
            data,
            [pyvrp.Activity(a.type, a.idx) for a in route.schedule() if not a.is_depot()],
            route.vehicle_type(),
        )
        for route in best.routes()
    ]
    return data, pyvrp.Solution(data, routes)


def _profile_key(vehicle: Vehicle) -> tuple[str, frozenset[str]]:
    return (vehicle.profile.value, vehicle.skills)


def _scale(problem: Problem, vehicle: Vehicle) -> tuple[int, int, int]:
    """(fixed, per metre, per second) costs in PyVRP's integer units."""
    if problem.objective is Objective.COST:
        c = vehicle.costs
        return c.fixed * MILLI, c.per_km, round(c.per_hour * MILLI / 3600)
    if problem.objective is Objective.VEHICLES:
        return VEHICLE_WEIGHT_M, 1, 0
    return 0, 1, 0


def _prize(problem: Problem, index: int) -> int:
    if problem.objective is Objective.COST:
        return problem.drop_penalty[index] * MILLI
    return problem.drop_weight_m(index)


def _window(order: Order, k: int = 0) -> tuple[int, int]:
    if not order.windows:
        return 0, np.iinfo(np.int64).max
    w = order.windows[k]
    return w.start, w.end


def _fits(order: Order, vehicle: Vehicle) -> bool:
    """Whether ``order`` alone fits in ``vehicle`` (else no route can carry it)."""
    return all(
        d <= c for d, c in zip(order.demand.as_tuple(), vehicle.capacity.as_tuple(), strict=True)
    )


@dataclass
class RaisedCapPenalties(PenaltyParams):
    """PyVRP's penalty parameters with a raised cap but PyVRP's usual starting point.

    ``pyvrp.solve`` starts every penalty at the midpoint of ``min_penalty`` and
    ``max_penalty``. With the cap raised to 2e9 (vehicles first) that start is
    1e9 per unit of excess load or time, so the search rejects every infeasible
    move until the penalties have decayed (tens of thousands of iterations,
    tens of seconds on a 100-stop day) and stalls on its first local optimum.
    The penalties start where PyVRP's defaults put them and may still climb to
    the raised cap when a feasible plan needs them to.
    """

    def midpoint_penalties(self, data: pyvrp.ProblemData) -> tuple[list[float], float, float]:
        """Starting penalties: the midpoint of PyVRP's default range."""
        usual = PenaltyParams(min_penalty=self.min_penalty)
        return usual.midpoint_penalties(data)


def solve_params(data: pyvrp.ProblemData, exhaustive: bool = True) -> SolveParams:
    """PyVRP's parameters, with penalties allowed to outgrow every cost and prize.

    PyVRP caps the penalty of a unit of excess load or time at 100,000 by
    default. With fixed vehicle costs or prizes above that, overloading a van
    (or serving a stop late) can stay cheaper than paying for a second van or
    dropping the stop, and the search never finds a feasible plan. So the cap is
    raised to twice the largest fixed cost or prize; the penalties still start
    where PyVRP starts them (:class:`RaisedCapPenalties`).

    Parameters
    ----------
    data
        The PyVRP model.
    exhaustive
        Let the search run an exhaustive local search on each new best
        (PyVRP's default); False where that would not fit the time limit.

    Returns
    -------
    SolveParams
        The penalty and search parameters.
    """
    ils = IteratedLocalSearchParams(exhaustive_on_best=exhaustive)
    biggest = max(
        [float(vt.fixed_cost) for vt in data.vehicle_types()]
        + [float(c.prize) for c in data.clients()]
        + [float(s.prize) for s in data.shipments()],
        default=0.0,
    )
    default = PenaltyParams()
    if 2 * biggest <= default.max_penalty:
        return SolveParams(ils=ils, penalty=default)
    return SolveParams(ils=ils, penalty=RaisedCapPenalties(max_penalty=2 * biggest))


def load_dimensions(problem: Problem) -> tuple[int, ...]:
    """The capacity dimensions (parcels, grams, millilitres) some order uses.

    PyVRP's search cost grows with every load dimension, so a day whose orders
    carry only parcel counts plans with one dimension, not three (Solomon R109:
    about 20% more iterations in the same time).
    """
    used = tuple(k for k in range(3) if any(o.demand.as_tuple()[k] for o in problem.orders))
    return used or (0,)


def _amounts(amounts: tuple[int, ...], dims: tuple[int, ...]) -> list[int]:
    return [amounts[k] for k in dims]


def _break_kinds(problem: Problem) -> list[tuple[int, int, int]]:
    """The distinct breaks of the fleet: (window start, window end, duration)."""
    kinds = (_break_kind(v) for v in problem.fleet.vehicles)
    return [k for k in dict.fromkeys(kinds) if k is not None]


def _break_kind(vehicle: Vehicle) -> tuple[int, int, int] | None:
    """``vehicle``'s entry in :func:`_break_kinds` (None without a break)."""
    b = vehicle.break_
    return None if b is None else (b.window.start, b.window.end, b.duration_s)


def _break_prize(fixed: list[int], prizes: list[int]) -> int:
    """The prize of a break stop of vehicles whose fixed costs are ``fixed``.

    Just under the cheapest of those fixed costs, so no vehicle is taken out
    for its break alone but a route loses more by skipping its break than any
    distance or time saves; when vehicles cost nothing to use,
    :data:`BREAK_PRIZE_M` or twice the dearest order, whichever is more.
    """
    cheapest = min(fixed)
    if cheapest > 1:
        return cheapest - 1
    return max(BREAK_PRIZE_M, 2 * max(prizes, default=0) + 1)


def build_model(problem: Problem, *, breaks_in_search: bool = False) -> _Model:
    """Translate ``problem`` into PyVRP's ``ProblemData``.

    Parameters
    ----------
    problem
        The day.
    breaks_in_search
        Plan breaks inside the search: each vehicle with a break gets a break
        stop (an optional client at a location 0 m and 0 s from everywhere, its
        window the break's, its service the break's duration), one load
        dimension per kind of break with room for one, and its full shift.
        Otherwise vehicles plan with their shift and maximum duration shortened
        by the break, placed afterwards (:func:`doorstep.plan.repair.place_breaks`).
        A break stop costs no travel: the leg it sits on is not counted, so the
        search sees routes up to one leg short; the evaluator counts it.

    Returns
    -------
    _Model
        The PyVRP data and the way back to orders and vehicles.
    """
    vehicles = problem.fleet.vehicles
    servable = [
        any(problem.can_serve(v, o) and _fits(o, v) for v in vehicles)
        and problem.order_location(i) not in problem.off_network
        for i, o in enumerate(problem.orders)
    ]
    locations = [pyvrp.Location(d.location.lon, d.location.lat) for d in problem.fleet.depots]
    locations += [pyvrp.Location(o.location.lon, o.location.lat) for o in problem.orders]
    depots = [pyvrp.Depot(i) for i in range(problem.depot_count)]
    model = _Model(data=None)  # type: ignore[arg-type]
    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    shipments: list[pyvrp.Shipment] = []
    paired = {p for pair in problem.pairs() for p in pair}
    dims = load_dimensions(problem)
    kinds = _break_kinds(problem) if breaks_in_search else []
    no_break = [0] * len(kinds)
    nothing = [0] * len(dims) + no_break
    model.order_dims = len(dims)
    for i, order in enumerate(problem.orders):
        if i in paired or not servable[i]:
            continue
        location = problem.order_location(i)
        amounts = _amounts(order.demand.as_tuple(), dims) + no_break
        delivery = amounts if order.kind is OrderKind.DELIVERY else nothing
        pickup = amounts if order.kind is OrderKind.PICKUP else nothing
        windows = range(len(order.windows)) if len(order.windows) > 1 else [0]
        group = None
        if len(order.windows) > 1:
            group = len(groups)
            members = list(range(len(clients), len(clients) + len(order.windows)))
            groups.append(pyvrp.ClientGroup(members, required=problem.all_required))
        for k in windows:
            early, late = _window(order, k)
            clients.append(
                pyvrp.Client(
                    location,
                    service_duration=order.service_s,
                    tw_early=early,
                    tw_late=late,
                    prize=0 if problem.all_required else _prize(problem, i),
                    required=problem.all_required and group is None,
                    group=group,
                    delivery=delivery,
                    pickup=pickup,
                )
            )
            model.client_order.append(i)
    for first, second in problem.pairs():
        if not (servable[first] and servable[second]):
            continue
        p, d = problem.orders[first], problem.orders[second]
        p_early, p_late = _window(p)
        d_early, d_late = _window(d)
        shipments.append(
            pyvrp.Shipment(
                problem.order_location(first),
                problem.order_location(second),
                pickup_tw_early=p_early,
                pickup_tw_late=p_late,
                pickup_service_duration=p.service_s,
                delivery_tw_early=d_early,
                delivery_tw_late=d_late,
                delivery_service_duration=d.service_s,
                amount=_amounts(d.demand.as_tuple(), dims) + no_break,
                prize=0
                if problem.all_required
                else _prize(problem, first) + _prize(problem, second),
                required=problem.all_required,
            )
        )
        model.shipment_orders.append((first, second))

    keys: list[tuple[str, frozenset[str]]] = []
    distance_matrices: list[np.ndarray] = []
    duration_matrices: list[np.ndarray] = []
    vehicle_types: list[pyvrp.VehicleType] = []
    specs: list[tuple[object, ...]] = []
    for v_index, vehicle in enumerate(vehicles):
        key = _profile_key(vehicle)
        if key not in keys:
            keys.append(key)
            dist = np.minimum(problem.distances[vehicle.profile], FORBIDDEN).astype(np.int64)
            dur = np.minimum(problem.durations[vehicle.profile], FORBIDDEN).astype(np.int64)
            dist[dist >= UNREACHABLE] = FORBIDDEN
            dur[dur >= UNREACHABLE] = FORBIDDEN
            barred = [
                problem.order_location(i)
                for i, o in enumerate(problem.orders)
                if not problem.can_serve(vehicle, o)
            ]
            if barred:
                dist = dist.copy()
                dur = dur.copy()
                dist[barred, :] = dist[:, barred] = FORBIDDEN
                dur[barred, :] = dur[:, barred] = FORBIDDEN
            np.fill_diagonal(dist, 0)
            np.fill_diagonal(dur, 0)
            if kinds:  # the break stops' location: nowhere, 0 m and 0 s from everywhere
                dist = np.pad(dist, ((0, 1), (0, 1)))
                dur = np.pad(dur, ((0, 1), (0, 1)))
            distance_matrices.append(dist)
            duration_matrices.append(dur)
        fixed, per_m, per_s = _scale(problem, vehicle)
        shift = vehicle.shift
        pause = vehicle.break_.duration_s if vehicle.break_ is not None and not kinds else 0
        capacity = _amounts(vehicle.capacity.as_tuple(), dims)
        capacity += [int(kind == _break_kind(vehicle)) for kind in kinds]
        max_duration = (
            vehicle.max_duration_s - pause
            if vehicle.max_duration_s is not None
            else np.iinfo(np.int64).max
        )
        spec = (
            tuple(capacity),
            problem.start_location(vehicle),
            problem.end_location(vehicle),
            fixed,
            shift.start,
            max(shift.start, shift.end - pause),
            max_duration,
            per_m,
            per_s,
            keys.index(key),
        )
        if spec in specs:
            model.vehicles_of_type[specs.index(spec)].append(v_index)
            continue
        specs.append(spec)
        model.vehicles_of_type.append([v_index])
        vehicle_types.append(
            pyvrp.VehicleType(
                1,
                capacity=capacity,
                start_depot=problem.start_location(vehicle),
                end_depot=problem.end_location(vehicle),
                fixed_cost=fixed,
                tw_early=shift.start,
                tw_late=max(shift.start, shift.end - pause),
                shift_duration=max_duration,
                unit_distance_cost=per_m,
                unit_duration_cost=per_s,
                profile=keys.index(key),
                name=vehicle.id,
            )
        )
    vehicle_types = [
        vt.replace(num_available=len(model.vehicles_of_type[t]))
        for t, vt in enumerate(vehicle_types)
    ]
    if kinds:
        locations.append(locations[0])  # the break stops' (distances 0 to and from anywhere)
        prizes = [c.prize for c in clients] + [s.prize for s in shipments]
        for k, (early, end, duration) in enumerate(kinds):
            own = [v for v in vehicles if _break_kind(v) == (early, end, duration)]
            prize = _break_prize([_scale(problem, v)[0] for v in own], prizes)
            delivery = [0] * len(dims) + [int(j == k) for j in range(len(kinds))]
            clients += [
                pyvrp.Client(
                    problem.location_count,
                    delivery=delivery,
                    pickup=nothing,
                    service_duration=duration,
                    tw_early=early,
                    tw_late=end - duration,
                    prize=prize,
                    required=False,
                )
                for _ in own
            ]
    model.data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        distance_matrices,  # type: ignore[arg-type]
        duration_matrices,  # type: ignore[arg-type]
        groups=groups,
        shipments=shipments,
    )
    return model


def _routes(solution: pyvrp.Solution, model: _Model) -> tuple[RouteAssignment, ...]:
    """The solution's routes by vehicle; a break stop becomes the route's ``break_after``."""
    out = []
    free = [list(vehicles) for vehicles in model.vehicles_of_type]
    for route in solution.routes():
        orders: list[int] = []
        break_after: int | None = None
        for activity in route.schedule():
            if activity.is_client() and model.is_break(activity.idx):
                break_after = len(orders) - 1
            elif activity.is_client():
                orders.append(model.client_order[activity.idx])
            elif activity.is_shipment():
                pickup, delivery = model.shipment_orders[activity.idx]
                orders.append(pickup if activity.is_pickup() else delivery)
        if orders:
            vehicle = free[route.vehicle_type()].pop(0)
            out.append(RouteAssignment(vehicle, tuple(orders), break_after))
    return tuple(sorted(out, key=lambda r: r.vehicle))


def _warm_start(problem: Problem, model: _Model) -> pyvrp.Solution | None:
    """The previous plan as PyVRP's initial solution (None when it does not translate)."""
    if not problem.warm_start:
        return None
    client_of: dict[str, int] = {}
    for c, order in enumerate(model.client_order):
        client_of.setdefault(problem.orders[order].id, c)
    vehicle_ids = [v.id for v in problem.fleet.vehicles]
    routes = []
    for vehicle_id, order_ids in problem.warm_start.items():
        if vehicle_id not in vehicle_ids:
            continue
        v = vehicle_ids.index(vehicle_id)
        activities = [
            pyvrp.Activity(pyvrp.ActivityType.CLIENT, client_of[o])
            for o in order_ids
            if o in client_of
        ]
        if activities:
            kind = next(t for t, vs in enumerate(model.vehicles_of_type) if v in vs)
            routes.append(pyvrp.Route(model.data, activities, kind))
    try:
        return pyvrp.Solution(model.data, routes)
    except (RuntimeError, ValueError):
        return None
