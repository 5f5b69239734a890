"""The decomposition search: a big day improved part by part, with the seams moving.

A single search stalls on 1,000 orders and more. Above :data:`MIN_ORDERS`,
:class:`DecomposeSolver`:

1. asks the base backend (:func:`~doorstep.plan.registry.choose_engine`) for a
   first plan of the whole day, with :data:`FIRST_SHARE` of the time limit;
2. then, round after round until the deadline, cuts the current routes into
   groups of about ``target_size`` orders (:func:`split`): even rounds sweep the
   routes by the bearing of their centre around their depot, from a start
   bearing that turns every round; odd rounds cluster the route centres
   (a k-means with a cap on each cluster's orders). Orders left out join the
   group whose routes are nearest (a pickup-and-delivery pair as one). Each
   group becomes a part of its own (:func:`~doorstep.plan.subproblem.restrict`):
   only its orders, its routes' vehicles plus a share of the unused ones, the
   sub-matrices, and its routes as the warm start;
3. the parts are solved by the base backend through ``runner.map`` (in
   parallel where the runner can), each with its share of the round's time;
   a part's new routes replace its old ones only when
   :func:`~doorstep.plan.subproblem.score` finds them not worse (fewer
   violations, then fewer orders left out, then the problem's objective). A part
   whose worker failed (``None``) keeps its routes. Under
   ``Objective.VEHICLES`` every other round starts each part without its
   shortest route (:data:`DISSOLVE`), so the search has to fit those orders
   into the others: most of the vehicles the decomposition saves come from it
   and from the base backend's own fleet search within each part.

4. after :data:`STALL_ROUNDS` rounds in a row without a better plan, the rest of
   the time goes to one part per depot holding all its routes (the whole day
   on one depot), warm-started from the current plan, so moves across every
   seam are searched once the parts have nothing left to give. With more than
   one worker, the other workers search the same day from scratch, a fresh
   start away from the current plan's local optimum; the best copy is kept.

A day held sparse (:mod:`doorstep.plan.sparse`: its matrices ask the roads for
the pairs they do not hold) never has its whole square asked: its first plan is
made territory by territory (:func:`territories`, about
:data:`TERRITORY_SIZE` orders each, with vans in proportion to their work and
:data:`TERRITORY_RESERVE` of the fleet held back for the rounds), side by side
like the parts, in the first plan's share of the time; each part's square is
asked when it is cut; and there is no whole-day round.

Every term of the score adds up over routes and left-out orders, and the parts
share no order or vehicle, so the whole plan is never worse than the first one
(checked once more at the end). Days with locks, and days below the threshold,
go to the base backend whole.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from doorstep.errors import InputError
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.parallel import Runner, default_runner
from doorstep.plan.problem import Feature, Objective, Problem
from doorstep.plan.registry import choose_engine
from doorstep.plan.solver import (
    Deadline,
    Planned,
    RouteAssignment,
    Solver,
    SolveRequest,
    SolveSettings,
    stop_on_interrupt,
)
from doorstep.plan.subproblem import Score, SubProblem, restrict, score

MIN_ORDERS = 300
"""Days with fewer orders go to the base backend whole.

At 400 and 600 customers (r1_4_1, rc2_4_1, r1_6_1, rc2_6_1; 60 s, one core
each) the decomposition was ahead of PyVRP direct on all four; below 400 it is
not measured yet."""

TARGET_SIZE = 200
"""Orders per part (about).

Measured on the Gehring-Homberger 1,000-customer instances at 60 s (vehicles
first, parts one after the other on one core, ``bench/bench_decompose.py``, a busy
machine, one run each, 4 rounds): parts of 100 kept 102 vehicles on r1_10_1
where parts of 200 reached the best known 100, and 25 on rc2_10_1 where parts
of 200 reached 23-24; parts of 300 were not clearly better than 200."""

FIRST_SHARE = 0.4
"""Share of the time limit the first plan of the whole day gets.

Same runs: 0.3, 0.4 and 0.6 gave the same vehicle counts within the noise at 4
rounds, 0.8 the longest routes. At 12 rounds (parts of 200), 0.4 against 0.3:
r1_10_1 100 vehicles both (56,272 and 56,318), rc2_10_1 22 against 23,
rc1_10_1 91 against 92, c1_10_1 the best known both.
"""

ROUNDS = 12
"""Rounds the time after the first plan is planned for (the last one takes what is left).

Same runs, 0.4 and parts of 200: 4 rounds gave r1_10_1 100 vehicles / 59,168,
8 rounds 57,834, 12 rounds 56,272 (20 rounds 57,321); rc2_10_1 24, 23 and 22
vehicles (20 rounds 22): more, shorter rounds move the seams more often."""

SPARE_PER_PART = 2
"""Unused vehicles a part gets at most beyond its routes' own, plus one per order left
out it takes in. None under ``Objective.VEHICLES`` but those per order: a part that
uses one more vehicle is never accepted there."""

DISSOLVE = True
"""Under ``Objective.VEHICLES``, odd rounds start each part without its shortest route.

On rc2_10_1 (60 s, one core, parts of 200, 4 rounds; one run each on a busy
machine) the plan ended with 23 vehicles with it and 25 without; on r1_10_1 both
kept 100."""

STALL_ROUNDS = 2
"""Rounds in a row without a better plan after which the rest of the time goes to
the whole day (one part per depot), warm-started from the current routes.

When every part is as good as its engine makes it (clustered days: c1_10_1
reached the best known within 0.006% and stayed there), only a move across
the seams can still help, and a whole-day search from the current plan looks
at all of them. With two workers or more, the copies after the first search the
day from scratch instead, over all the depot's vehicles and without the fleet
phase (``SolveSettings.fleet_search``): on c1_10_1 the plan and every search
warm-started from it stayed 2.4 above the best known, which PyVRP direct reached
from scratch in 10 s, and so did Doorstep's PyVRP backend without its fleet
phase in 30 s (with it: the same 2.4 above, at 30 and 60 s)."""

MIN_WHOLE_S = 5.0
"""A whole-day search with less time than this left is not started."""

MIN_PART_S = 0.2
"""A part with less time than this is not started (it keeps its routes)."""

PART_GRACE_S = 1.0
"""Seconds a round waits for its parts past the deadline (model building, breaks, transfer)."""

TERRITORY_SIZE = 1000
"""Orders per territory in the first plan of a day held sparse (no whole-day search).

A territory's square (about 1,000 x 1,000) is asked from the roads in about
0.1 s on the bundled network and PyVRP plans it well within a few seconds; the
rounds then re-cut the day into parts of :data:`TARGET_SIZE`."""

TERRITORY_RESERVE = 0.1
"""Share of the vehicles held back from the territories' first plans.

Territories are planned apart, each with the vans its work seems to need; where
that guess is short (tight windows), the orders it leaves out are far from any
spare van. Held-back vans go, in the rounds, to the parts that took in orders
left out (:func:`_deal_spare`), wherever those are. On a generated 10,000-order
Helsinki day (125 vans with breaks, 180 s, a local Ray's two workers, one run
each): 9,748 orders served with none held back, 9,915 with a tenth, 9,572 with
a fifth (the same day held dense: 9,921)."""

GOLDEN_TURN = math.pi * (3 - math.sqrt(5))
"""How far the sweep's start bearing turns each round (the golden angle: starts never repeat)."""

FloatArray = npt.NDArray[np.float64]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PartTask:
    """One part to solve, as it travels to a worker (picklable)."""

    part: SubProblem
    base: str | None
    """The backend's name, or None to choose by the part's features."""
    time_limit_s: float
    seed: int
    max_iterations: int | None
    not_after: float
    """Wall-clock time (``time.time()``) by which the part must be done."""
    fresh: bool = False
    """A search from scratch: the part has no warm start, and the backend searches
    without its fleet phase (``SolveSettings.fleet_search``)."""


@dataclass(frozen=True, slots=True)
class PartResult:
    """A part's routes (in the part's indices) and whether Ctrl-C stopped it."""

    routes: tuple[RouteAssignment, ...]
    interrupted: bool = False


def solve_part(task: PartTask) -> PartResult | None:
    """Solve one part with the base backend (top level, so workers can run it).

    Parameters
    ----------
    task
        The part, the backend, its time and seed.

    Returns
    -------
    PartResult or None
        The part's routes; None when no time was left to start it.
    """
    limit = min(task.time_limit_s, task.not_after - time.time())
    if limit < MIN_PART_S:
        return None
    problem = task.part.problem
    solver = choose_engine(problem, task.base, big_day=True)
    settings = SolveSettings(limit, task.seed, task.max_iterations, fleet_search=not task.fresh)
    request = SolveRequest(problem, settings)
    routes, _ = solver.plan(request)
    return PartResult(tuple(routes), request.deadline.interrupted)


@dataclass(slots=True)
class Group:
    """Routes (positions in the current plan) and left-out orders that form one part."""

    routes: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    spare: list[int] = field(default_factory=list)
    """Unused vehicles the part may use."""


class DecomposeSolver(Solver):
    """Big days part by part: a first plan, then parts re-solved round after round.

    Parameters
    ----------
    base
        The backend that solves the whole day below the threshold, the first
        plan and every part; None chooses by features (``choose_engine``, as for
        a big day: PyVRP whenever it models them, breaks included).
    runner
        Runs the parts of a round (:func:`~doorstep.plan.parallel.default_runner`
        when None).
    min_orders
        Days with fewer orders are solved whole by the base backend.
    target_size
        Orders per part, about.
    first_share
        Share of the time limit for the first plan.
    rounds
        Rounds the rest of the time is planned for.
    territory_size
        Orders per territory in the first plan of a day held sparse.
    territory_reserve
        Share of the vehicles held back from that first plan, for the rounds.
    """

    name = "decompose"
    features = frozenset(Feature)
    """Everything: parts carry what their orders and vehicles need (pairs stay in
    one part, breaks and shifts come with the vehicles, each depot's routes are
    grouped apart); days with locks go to the base backend whole. With a named
    ``base``, only what that backend models (the default chooses per part)."""

    def __init__(
        self,
        base: str | None = None,
        runner: Runner | None = None,
        min_orders: int = MIN_ORDERS,
        target_size: int = TARGET_SIZE,
        first_share: float = FIRST_SHARE,
        rounds: int = ROUNDS,
        territory_size: int = TERRITORY_SIZE,
        territory_reserve: float = TERRITORY_RESERVE,
    ) -> None:
        self.base = base
        self.runner = runner
        self.min_orders = min_orders
        self.target_size = target_size
        self.first_share = first_share
        self.rounds = rounds
        self.territory_size = territory_size
        self.territory_reserve = territory_reserve

    def plan(self, request: SolveRequest) -> Planned:
        """Plan ``request.problem``: whole below the threshold, else part by part.

        Parameters
        ----------
        request
            The problem, settings and progress callback.

        Returns
        -------
        Planned
            Routes (whole-problem indices, breaks kept) and the plan's objective
            as :func:`~doorstep.plan.subproblem.score` weighs it (the base
            backend's own objective when it solved the day whole).

        Raises
        ------
        InputError
            When the base backend is this one.
        """
        if self.base == self.name:
            raise InputError("the decomposition cannot be its own base backend")
        problem = request.problem
        if len(problem.orders) < self.min_orders or not splittable(problem):
            return choose_engine(problem, self.base).plan(request)
        runner = self.runner or default_runner()
        runner.prepare()  # Ray starts while the first plan is searched
        start = self._first(request) if problem.dense else self._by_territory(request, runner)
        if request.deadline.passed() or not start:
            return start, score(problem, start).objective
        first = score(problem, start)
        routes, best = self._rounds(request, list(start), first, runner)
        if best > first:  # cannot happen while every term adds up; never hand out worse
            routes, best = list(start), first
        request.report(best.objective, best.violations == 0)
        return sorted(routes, key=lambda r: r.vehicle), best.objective

    def _first(self, request: SolveRequest) -> tuple[RouteAssignment, ...]:
        """The base backend's plan of the whole day, in its share of the time."""
        problem, settings = request.problem, request.settings
        limit = min(settings.time_limit_s * self.first_share, request.deadline.left())
        sub = SolveRequest(
            problem, SolveSettings(limit, settings.seed, settings.max_iterations), request.progress
        )
        routes, _ = choose_engine(problem, self.base, big_day=True).plan(sub)
        request.untried.update(sub.untried)
        if sub.deadline.interrupted:
            request.deadline.stop()
        return tuple(r for r in routes if r.orders)

    def _by_territory(self, request: SolveRequest, runner: Runner) -> tuple[RouteAssignment, ...]:
        """The first plan of a day held sparse: each territory planned apart, side by side.

        Orders of a territory whose solve failed are left out (the rounds take them in).
        """
        problem, settings, deadline = request.problem, request.settings, request.deadline
        budget = min(settings.time_limit_s * self.first_share, deadline.left())
        parts = [
            restrict(problem, g.extra, g.spare)
            for g in territories(
                problem, self.territory_size, settings.seed, self.territory_reserve
            )
        ]
        waves = math.ceil(len(parts) / max(1, runner.workers))
        not_after = time.time() + budget
        tasks = [
            PartTask(
                part,
                self.base,
                budget / waves,
                settings.seed + k,
                settings.max_iterations,
                not_after,
            )
            for k, part in enumerate(parts)
        ]
        results = _solve_parts(runner, tasks, deadline)
        log.debug(
            "first plan by territory: %d territories of %s orders, %d failed",
            len(parts),
            [len(p.orders) for p in parts],
            sum(r is None for r in results),
        )
        return tuple(
            route
            for part, result in zip(parts, results, strict=True)
            if result is not None
            for route in part.lift(result.routes)
            if route.orders
        )

    def _rounds(
        self, request: SolveRequest, routes: list[RouteAssignment], best: Score, runner: Runner
    ) -> tuple[list[RouteAssignment], Score]:
        """Rounds of parts until the deadline; the current routes and their score."""
        problem, deadline = request.problem, request.deadline
        done = stalled = 0
        while not deadline.passed() and routes:
            whole = problem.dense and stalled >= STALL_ROUNDS and deadline.left() >= MIN_WHOLE_S
            size = len(problem.orders) if whole else self.target_size
            groups = split(problem, routes, done, size, request.settings.seed)
            dissolve = (
                DISSOLVE and problem.objective is Objective.VEHICLES and done % 2 == 1 and not whole
            )
            parts = [_part(problem, routes, g, dissolve) for g in groups]
            # A whole-day round leaves workers idle: each runs a copy with its own seed;
            # copies after the first search from scratch (see STALL_ROUNDS).
            copies = max(1, runner.workers // len(parts)) if whole else 1
            restarts = [_part(problem, routes, g, cold=True) for g in groups] if copies > 1 else []
            waves = math.ceil(len(parts) * copies / max(1, runner.workers))
            left = deadline.left()
            if left < MIN_PART_S * waves:
                break
            # The rest of the time over the rounds still wanted, but enough for every part;
            # a whole-day round takes all of it.
            rounds_left = 1 if whole else max(1, self.rounds - done)
            round_s = min(left, max(left / rounds_left, MIN_PART_S * waves))
            not_after = time.time() + round_s
            tasks = [
                PartTask(
                    part if copy == 0 else restarts[k],
                    self.base,
                    round_s / waves,
                    request.settings.seed + 1000 * (done + 1) + k + 100 * copy,
                    request.settings.max_iterations,
                    not_after,
                    fresh=copy > 0,
                )
                for copy in range(copies)
                for k, part in enumerate(parts)
            ]
            # Parts stop themselves at not_after; a late start (a worker starting up)
            # costs later rounds time, not this round's results.
            results = _solve_parts(runner, tasks, deadline)
            routes, taken = _merge(routes, groups, parts, results)
            before, best = best, score(problem, routes)
            stalled = 0 if best < before else stalled + 1
            log.debug(
                "round %d%s: %d parts of %s orders, %.1f s each, %d failed, %d taken; %s at %.1f s",
                done,
                " (whole day)" if whole else "",
                len(parts),
                [len(p.orders) for p in parts],
                round_s / waves,
                sum(r is None for r in results),
                taken,
                best,
                request.elapsed(),
            )
            request.report(best.objective, best.violations == 0)
            done += 1
        return routes, best


def _solve_parts(
    runner: Runner, tasks: Sequence[PartTask], deadline: Deadline
) -> list[PartResult | None]:
    """Each task's result through ``runner`` (None: failed or not started).

    The wait ends at the deadline (with :data:`PART_GRACE_S`) or on Ctrl-C,
    which stops the parts too; a part that Ctrl-C stopped stops the deadline.
    """
    with stop_on_interrupt(deadline):  # Ctrl-C ends the wait, not only the parts
        results = runner.map(
            solve_part,
            tasks,
            timeout_s=deadline.left() + PART_GRACE_S,
            stop=lambda: deadline.interrupted,
        )
    if any(r is not None and r.interrupted for r in results):
        deadline.stop()
    return list(results)


def splittable(problem: Problem) -> bool:
    """Whether the decomposition can cut ``problem`` (no locks: they go whole).

    Parameters
    ----------
    problem
        The day.

    Returns
    -------
    bool
        True when the day can be cut into parts.
    """
    return not problem.locks and bool(problem.fleet.vehicles)


def territories(problem: Problem, size: int, seed: int = 0, reserve: float = 0.0) -> list[Group]:
    """The day's orders in territories of about ``size``, each with its share of the vehicles.

    A capped k-means of the orders' places (as the odd rounds cut routes); a
    delivery goes with its paired pickup. Vehicles are dealt in fleet order to
    the territory furthest below its share of the fleet, which is its share of
    the day's work (:func:`_work`): a far or sparse territory needs more vans
    per order than a near, dense one.

    Parameters
    ----------
    problem
        The day.
    size
        Orders per territory, about.
    seed
        Seeds the k-means' first centres.
    reserve
        Share of the vehicles (the last in fleet order) dealt to no territory.

    Returns
    -------
    list of Group
        Per territory, its orders (``extra``) and vehicles (``spare``); no routes.
    """
    n = len(problem.orders)
    if not n:
        return []
    xy = _points(problem)
    places = xy[[problem.order_location(i) for i in range(n)]]
    pieces = _kmeans(places, np.ones(n, dtype=np.int64), size, np.random.default_rng(seed))
    label = np.empty(n, dtype=np.int64)
    for t, piece in enumerate(pieces):
        label[piece] = t
    for pickup, delivery in problem.pairs():
        label[delivery] = label[pickup]
    groups = [Group(extra=np.flatnonzero(label == t).tolist()) for t in range(len(pieces))]
    groups = [g for g in groups if g.extra]
    work = np.array([_work(problem, g.extra, places) for g in groups])
    dealt = len(problem.fleet.vehicles) - int(reserve * len(problem.fleet.vehicles))
    share = work * dealt / work.sum()
    given = np.zeros(len(groups))
    for v in range(dealt):
        t = int(np.argmax(share - given))
        groups[t].spare.append(v)
        given[t] += 1
    return groups


ROAD_FACTOR = 1.3
"""Road distance over straight-line distance, for :func:`_work`'s estimate of a territory's legs."""


def _work(problem: Problem, orders: Sequence[int], places: FloatArray) -> float:
    """Vans a territory needs, roughly: its work over what a van can give it.

    Work: the orders' service times plus their legs, estimated as a tour through
    ``len(orders)`` points scattered over the territory's bounding box
    (0.7124 x sqrt(area x points), Beardwood-Halton-Hammersley, times
    :data:`ROAD_FACTOR`, at the speed of the depots' travel to those orders).
    A van gives its mean shift less the territory's mean round trip from its
    depot. Parcels count too: never fewer vans than the parcels need. The first
    vehicle's depot and profile stand for the fleet's.
    """
    vehicles = problem.fleet.vehicles
    shift = float(np.mean([v.shift.end - v.shift.start for v in vehicles]))
    parcels = float(np.mean([max(1, v.capacity.parcels) for v in vehicles]))
    locations = [problem.order_location(i) for i in orders]
    profile = vehicles[0].profile
    durations, distances = problem.durations[profile], problem.distances[profile]
    depot = problem.start_location(vehicles[0])
    out = durations[np.full(len(locations), depot), np.array(locations)]
    back = durations[np.array(locations), np.full(len(locations), depot)]
    metres = distances[np.full(len(locations), depot), np.array(locations)]
    reached = (out < UNREACHABLE) & (back < UNREACHABLE) & (out > 0)
    round_trip = float(np.mean((out + back)[reached])) if reached.any() else 0.0
    speed = float(np.median(metres[reached] / out[reached])) if reached.any() else 10.0
    span = (places[orders].max(axis=0) - places[orders].min(axis=0)) * 111_320
    tour_m = ROAD_FACTOR * 0.7124 * math.sqrt(float(span[0] * span[1]) * len(orders))
    work = sum(problem.orders[i].service_s for i in orders) + tour_m / max(speed, 1.0)
    vans = work / max(shift / 4, shift - round_trip)
    load = sum(problem.orders[i].demand.parcels for i in orders) / parcels
    return max(vans, load, 1e-9)


def _part(
    problem: Problem,
    routes: Sequence[RouteAssignment],
    group: Group,
    dissolve: bool = False,
    *,
    cold: bool = False,
) -> SubProblem:
    """The group as a part: its orders, vehicles and routes as the warm start.

    With ``dissolve`` (and two routes or more), the warm start leaves out the
    part's shortest route, whose orders the search must place elsewhere (its
    vehicle stays available: the score decides whether the part kept one fewer).
    With ``cold``, the part has no warm start, and every unused vehicle of its
    routes' depots as well (a fresh search sizes its own fleet).
    """
    own = [routes[k] for k in group.routes]
    orders = [i for r in own for i in r.orders] + group.extra
    vehicles = [r.vehicle for r in own] + group.spare
    start = own
    if cold:
        start = []
        used = {r.vehicle for r in routes} | set(vehicles)
        depots = {problem.start_location(problem.fleet.vehicles[v]) for v in vehicles}
        vehicles += [
            v
            for v, vehicle in enumerate(problem.fleet.vehicles)
            if v not in used and problem.start_location(vehicle) in depots
        ]
    elif dissolve and len(own) > 1:
        shortest = min(own, key=lambda r: len(r.orders))
        start = [r for r in own if r is not shortest]
    return restrict(problem, orders, vehicles, warm_start=start)


def _merge(
    routes: list[RouteAssignment],
    groups: Sequence[Group],
    parts: Sequence[SubProblem],
    results: Sequence[PartResult | None],
) -> tuple[list[RouteAssignment], int]:
    """The current routes with each part's best new routes where they are not worse.

    ``results`` holds one result per part, or several copies of each (copy-major:
    the part's k-th copy at ``k * len(parts) + part``); each is scored once and
    the best copy of a part is the one compared with its old routes.

    Returns the routes and how many parts' new routes were taken.
    """
    replaced: set[int] = set()
    new: list[RouteAssignment] = []
    taken = 0
    for k, (group, part) in enumerate(zip(groups, parts, strict=True)):
        candidates = [
            (score(part.problem, mine), mine)
            for result in results[k :: len(parts)]
            if result is not None
            for mine in [tuple(r for r in result.routes if r.orders)]
        ]
        if not candidates:
            continue
        best, mine = min(candidates, key=lambda c: c[0])
        if best <= score(part.problem, part.lower(routes[i] for i in group.routes)):
            replaced.update(group.routes)
            new.extend(part.lift(mine))
            taken += 1
    return [r for k, r in enumerate(routes) if k not in replaced] + new, taken


def split(
    problem: Problem,
    routes: Sequence[RouteAssignment],
    round_no: int,
    target_size: int,
    seed: int = 0,
) -> list[Group]:
    """Cut the routes into groups of about ``target_size`` orders, the seams moving by round.

    Each depot's routes are grouped apart: by bearing around the depot on even
    rounds (the sweep starting :data:`GOLDEN_TURN` further each round), by a
    capped k-means of the route centres on odd ones. Orders on no route join
    the group whose routes' centre is nearest (a pair goes with its pickup);
    vehicles on no route are dealt to the groups of their depot in turn (any
    group when their depot has none), :data:`SPARE_PER_PART` each at most plus
    one per order the group takes in (only the latter under ``Objective.VEHICLES``).

    Parameters
    ----------
    problem
        The day.
    routes
        The current routes (non-empty).
    round_no
        The round (0, 1, ...): picks the method and the start bearing.
    target_size
        Orders per group, about.
    seed
        Seeds the k-means' first centres (with the round).

    Returns
    -------
    list of Group
        Groups covering every route exactly once.
    """
    xy = _points(problem)
    centres = np.array(
        [xy[[problem.order_location(i) for i in r.orders]].mean(axis=0) for r in routes]
    )
    sizes = np.array([len(r.orders) for r in routes])
    by_depot: dict[int, list[int]] = {}
    for k, r in enumerate(routes):
        depot = problem.start_location(problem.fleet.vehicles[r.vehicle])
        by_depot.setdefault(depot, []).append(k)
    groups: list[Group] = []
    depot_of: list[int] = []
    rng = np.random.default_rng(seed + round_no)
    for depot, members in by_depot.items():
        if round_no % 2 == 0:
            cut = _sweep(xy[depot], centres[members], sizes[members], round_no, target_size)
        else:
            cut = _kmeans(centres[members], sizes[members], target_size, rng)
        for piece in cut:
            groups.append(Group([members[k] for k in piece]))
            depot_of.append(depot)
    _add_left_out(problem, routes, groups, centres, sizes, xy)
    _deal_spare(problem, routes, groups, depot_of)
    return groups


def _points(problem: Problem) -> FloatArray:
    """Every location as plane coordinates (longitude shrunk by the cosine of the latitude)."""
    places = [d.location for d in problem.fleet.depots] + [o.location for o in problem.orders]
    xy = np.array([(p.lon, p.lat) for p in places], dtype=np.float64)
    mean_lat = float(xy[:, 1].mean())
    if abs(mean_lat) < 90:
        xy[:, 0] *= math.cos(math.radians(mean_lat))
    return xy


def _sweep(
    depot: FloatArray, centres: FloatArray, sizes: npt.NDArray[np.int64], round_no: int, target: int
) -> list[list[int]]:
    """Routes in bearing order from this round's start bearing, cut every ``target`` orders."""
    offset = (round_no // 2) * GOLDEN_TURN
    bearing = np.mod(
        np.arctan2(centres[:, 1] - depot[1], centres[:, 0] - depot[0]) - offset, 2 * math.pi
    )
    pieces: list[list[int]] = [[]]
    load = 0
    for k in np.argsort(bearing, kind="stable").tolist():
        if load >= target:
            pieces.append([])
            load = 0
        pieces[-1].append(k)
        load += int(sizes[k])
    if len(pieces) > 1 and load < target / 2:  # the last piece is small: it borders the first
        pieces[0].extend(pieces.pop())
    return pieces


def _kmeans(
    centres: FloatArray, sizes: npt.NDArray[np.int64], target: int, rng: np.random.Generator
) -> list[list[int]]:
    """Route centres in about total / ``target`` clusters, each capped at 1.5 ``target`` orders."""
    n = len(centres)
    k = max(1, min(n, round(int(sizes.sum()) / target)))
    means = centres[rng.choice(n, size=k, replace=False)]
    label = np.zeros(n, dtype=np.int64)
    cap = 1.5 * target
    for _ in range(10):
        distance = np.linalg.norm(centres[:, None, :] - means[None, :, :], axis=2)
        load = np.zeros(k)
        for r in np.argsort(distance.min(axis=1)).tolist():
            choices = np.argsort(distance[r]).tolist()
            fits = [c for c in choices if load[c] + sizes[r] <= cap]
            label[r] = fits[0] if fits else choices[0]
            load[label[r]] += sizes[r]
        for c in range(k):
            mine = label == c
            if mine.any():
                means[c] = np.average(centres[mine], axis=0, weights=sizes[mine])
    return [np.flatnonzero(label == c).tolist() for c in range(k) if (label == c).any()]


def _add_left_out(
    problem: Problem,
    routes: Sequence[RouteAssignment],
    groups: list[Group],
    centres: FloatArray,
    sizes: npt.NDArray[np.int64],
    xy: FloatArray,
) -> None:
    """Orders on no route join the group whose routes' centre is nearest.

    An order whose pickup-and-delivery partner already has a group joins that
    group, so a pair is never cut.
    """
    home = {i: g for g, group in enumerate(groups) for k in group.routes for i in routes[k].orders}
    mate: dict[int, int] = {}
    for pickup, delivery in problem.pairs():
        mate[pickup], mate[delivery] = delivery, pickup
    middle = np.array(
        [np.average(centres[g.routes], axis=0, weights=sizes[g.routes]) for g in groups]
    )
    for i in range(len(problem.orders)):
        if i in home:
            continue
        if i in mate and mate[i] in home:
            g = home[mate[i]]
        else:
            g = int(np.argmin(np.linalg.norm(middle - xy[problem.order_location(i)], axis=1)))
        home[i] = g
        groups[g].extra.append(i)


def _deal_spare(
    problem: Problem, routes: Sequence[RouteAssignment], groups: list[Group], depot_of: list[int]
) -> None:
    """Unused vehicles dealt in turn to their depot's groups, a few each."""
    used = {r.vehicle for r in routes}
    spare = 0 if problem.objective is Objective.VEHICLES else SPARE_PER_PART
    turn = 0
    for v, vehicle in enumerate(problem.fleet.vehicles):
        if v in used:
            continue
        depot = problem.start_location(vehicle)
        home = [g for g, d in enumerate(depot_of) if d == depot] or list(range(len(groups)))
        for step in range(len(home)):
            g = groups[home[(turn + step) % len(home)]]
            if len(g.spare) < spare + len(g.extra):
                g.spare.append(v)
                turn += step + 1
                break
