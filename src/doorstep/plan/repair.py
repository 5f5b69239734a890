"""The one repair engine: backends' routes brought to the evaluator's terms.

Backends plan under their own rules, which differ from the evaluator's in
places (PyVRP knows no breaks; OR-Tools and VROOM may take one mid-drive;
OR-Tools may start a route with returns on board). Every backend hands its
routes to this module, and the evaluator's
:func:`~doorstep.plan.evaluator.schedule_route` is the only judge of a route
(candidates are counted with :func:`~doorstep.plan.evaluator.check_schedule`,
the same schedule rule without the visit and violation records):

* :func:`place_break` puts the vehicle's break where the route is cleanest
  (fewest violations, then least amount, then shortest duty; a backend's hint
  wins ties). No break when the route is back before the break window opens.
  One schedule pass without the break times every position (a break only
  delays the stops after it, less the waiting on the way); the pick is then
  checked by the evaluator. What the route without a break already breaks,
  no position mends: :func:`clean_break` gives up after that one check.
* :func:`finish_route` repairs a route no break position makes clean: returns
  (unpaired pickups) are moved later while that lowers the overload, then
  stops are dropped with their pair partners, fewest violations first, then
  cheapest to drop (locked orders count :data:`LOCK_PENALTY_FACTOR` times);
  stops are tried cheapest first, and the search ends once no dearer one can win.
  Past the deadline (or after Ctrl-C), stops are dropped from the end; what
  the deadline cut is listed in :attr:`Rules.cut`, to be explained as
  ``time_ran_out``.
* :func:`reinsert` offers dropped unpaired orders to every route at the
  cheapest detours the evaluator accepts, never costing more than the order's
  drop penalty; a vehicle not yet used comes after every used one.
* :func:`settle_routes` does all of it for a backend's routes;
  :func:`place_breaks` for routes planned without breaks.

:class:`Rules` carries what a backend's model restricts beyond the evaluator
(allowed vehicles, locked orders and prefixes) and when repairs must wrap up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from doorstep.domain.order import OrderKind
from doorstep.plan.evaluator import _Schedule, check_schedule, schedule_route
from doorstep.plan.problem import NOMINAL_CENTS_PER_KM, Objective, Problem
from doorstep.plan.solver import Deadline, RouteAssignment

LOCK_PENALTY_FACTOR = 100
"""A locked order's drop penalty is multiplied by this: a person asked for it."""

REINSERT_TRIES = 50
"""Insertion positions tried per dropped order, cheapest detour first."""

MOVE_TRIES = 20
"""Moves of a return tried per round, shortest detour first."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What repairs keep to beyond the evaluator's rules, and when they must wrap up."""

    vehicles_for: Callable[[int], Iterable[int]] | None = None
    """Vehicles that may serve an order; None: every vehicle with the skills it needs."""
    locked: frozenset[int] = frozenset()
    """Locked orders: dropping one harms ``LOCK_PENALTY_FACTOR`` times its penalty."""
    chains: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    """Vehicle -> its locked sequence prefix; re-insertion never goes inside one."""
    deadline: Deadline | float | None = None
    """When repairs must wrap up (a :class:`~doorstep.plan.solver.Deadline`, or a
    ``time.perf_counter()`` reading): past it they drop from the end and nothing
    is re-inserted."""
    cut: set[int] = field(default_factory=set)
    """Filled by the repairs: orders dropped or not offered again because the deadline passed."""

    def passed(self) -> bool:
        """Whether the deadline has passed or the solve was interrupted (never, without one)."""
        if self.deadline is None:
            return False
        if isinstance(self.deadline, Deadline):
            return self.deadline.passed()
        return time.perf_counter() > self.deadline


@dataclass(frozen=True, slots=True)
class RouteCheck:
    """What the evaluator finds wrong with a route, as numbers to compare candidates by."""

    violations: int
    amount: int
    """Sum of the violations' amounts (seconds late, units over capacity...)."""
    duty_s: int
    overload: int
    """Position of the first stop after which the vehicle carries too much; -1 if none."""


def check_route(problem: Problem, route: RouteAssignment, *, rough: bool = False) -> RouteCheck:
    """Count what :func:`~doorstep.plan.evaluator.schedule_route` finds wrong with ``route``.

    Parameters
    ----------
    problem
        The day: orders, fleet and matrices the evaluator judges by.
    route
        The route, with its ``break_after``.
    rough
        Let a missing break pass (for routes whose break is placed later).

    Returns
    -------
    RouteCheck
        Violations, their total amount, the duty and the first overloaded stop.
    """
    c = check_schedule(problem, route, rough=rough)
    return RouteCheck(c.violations, c.amount, c.end_s - c.start_s, c.overload)


def _placed(
    problem: Problem, route: RouteAssignment, hint: int | None
) -> tuple[RouteAssignment, RouteCheck]:
    """:func:`place_break`, with the check of the route it picked."""
    vehicle = problem.fleet.vehicles[route.vehicle]
    brk = vehicle.break_
    without = replace(route, break_after=None)
    if brk is None or not route.orders:
        return without, check_route(problem, without)
    plain = schedule_route(problem, without)
    if plain.end_s <= brk.window.start:
        return without, check_route(problem, without)  # back before the break window opens
    # A break after stop k starts when the vehicle leaves k (or when its window opens),
    # which the break does not change: keep the positions where it can end in time.
    departures = [vehicle.shift.start] + [v.departure_s for v in plain.visits]
    fitting = [
        k - 1
        for k, leave in enumerate(departures)
        if max(leave, brk.window.start) + brk.duration_s <= brk.window.end
    ]
    positions = fitting or list(range(-1, len(route.orders)))
    if hint is not None:
        positions = [hint, *positions]
    unique = list(dict.fromkeys(positions))
    keys = _break_keys(problem, route, plain, unique)
    if keys is not None:
        k = unique[keys.index(min(keys))]  # the first of the best, as min() picks
        placed = replace(route, break_after=k)
        check = check_route(problem, placed)
        if (check.violations, check.amount, check.duty_s) == keys[unique.index(k)]:
            return placed, check
    checked = [
        (replace(route, break_after=k), check_route(problem, replace(route, break_after=k)))
        for k in unique
    ]
    return min(checked, key=lambda c: (c[1].violations, c[1].amount, c[1].duty_s))


def _break_keys(
    problem: Problem, route: RouteAssignment, plain: _Schedule, positions: Sequence[int]
) -> list[tuple[int, int, int]] | None:
    """(violations, amount, duty) of ``route`` with its break after each of ``positions``.

    One schedule pass without the break (``plain``) gives every stop's times: a
    break after stop k leaves the stops up to k as they were and delays the rest
    by the break, less the waiting on the way (a stop's start is the later of
    its arrival and its window's opening). Positions the delay rule does not
    cover (before the first stop, outside the route) are checked in full; None
    when a stop has several windows (the caller then checks every position).
    """
    orders = [problem.orders[i] for i in route.orders]
    if any(len(o.windows) > 1 for o in orders):
        return None
    vehicle = problem.fleet.vehicles[route.vehicle]
    brk = vehicle.break_
    assert brk is not None
    n = len(orders)
    fixed = fixed_amount = 0
    late = [0] * n
    for code, at, amount, _ in plain.events:
        if code == "late":
            late[at] = amount
        elif code not in ("break_missing", "shift", "max_duration"):
            fixed, fixed_amount = fixed + 1, fixed_amount + amount
    # Lates up to and after each stop, as the route without a break has them.
    before_count, before_amount = [0] * n, [0] * n
    count = amount = 0
    for j in range(n):
        count, amount = count + (late[j] > 0), amount + late[j]
        before_count[j], before_amount[j] = count, amount
    arrivals = [v.arrival_s for v in plain.visits]
    waits = [v.start_s - v.arrival_s for v in plain.visits]
    departures = [v.departure_s for v in plain.visits]
    ends = [None if o.soft_windows or not o.windows else o.windows[-1].end for o in orders]
    opens, closes, length = brk.window.start, brk.window.end, brk.duration_s
    depart, base_end = plain.start_s, plain.end_s
    keys: list[tuple[int, int, int]] = []
    for k in positions:
        if not 0 <= k < n:
            c = check_route(problem, replace(route, break_after=k))
            keys.append((c.violations, c.amount, c.duty_s))
            continue
        count, amount = fixed + before_count[k], fixed_amount + before_amount[k]
        back = max(departures[k], opens) + length
        if back > closes:
            count, amount = count + 1, amount + back - closes
        delay = back - departures[k]
        j = k + 1
        while j < n and delay > 0:
            end = ends[j]
            if end is not None and arrivals[j] + delay > end:
                count, amount = count + 1, amount + arrivals[j] + delay - end
            delay = max(0, delay - waits[j])
            j += 1
        if j < n:  # the delay is absorbed: the rest goes as without the break
            count += before_count[-1] - before_count[j - 1]
            amount += before_amount[-1] - before_amount[j - 1]
        end_s = base_end + delay
        if end_s > vehicle.shift.end:
            count, amount = count + 1, amount + end_s - vehicle.shift.end
        limit = vehicle.max_duration_s
        if limit is not None and end_s - depart > limit:
            count, amount = count + 1, amount + end_s - depart - limit
        keys.append((count, amount, end_s - depart))
    return keys


def place_break(
    problem: Problem, route: RouteAssignment, hint: int | None = None
) -> RouteAssignment:
    """``route`` with its vehicle's break where the evaluator finds the route cleanest.

    Parameters
    ----------
    problem
        The day, whose vehicle breaks and matrices time the route.
    route
        Stops in visit order; its ``break_after`` is ignored.
    hint
        A backend's own break position, preferred among equally good ones.

    Returns
    -------
    RouteAssignment
        The route with the position of fewest violations, then least amount,
        then shortest duty; ``break_after`` None when the vehicle has no break
        or the route is back before the break window opens.
    """
    return _placed(problem, route, hint)[0]


def clean_break(
    problem: Problem, route: RouteAssignment, hint: int | None = None
) -> RouteAssignment | None:
    """:func:`place_break`, if that leaves the evaluator nothing to object to.

    Parameters
    ----------
    problem
        The day, whose vehicle breaks and matrices time the route.
    route
        Stops in visit order.
    hint
        A backend's own break position, preferred among equally good ones.

    Returns
    -------
    RouteAssignment or None
        The route with its break placed, or None when no position makes it clean.
    """
    # A break only delays the stops after it (and the return): whatever the route
    # without one already breaks, every break position breaks too.
    if check_schedule(problem, replace(route, break_after=None), rough=True).violations:
        return None
    placed, check = _placed(problem, route, hint)
    return placed if check.violations == 0 else None


def _move_detour(problem: Problem, vehicle: int, stops: tuple[int, ...], a: int, b: int) -> int:
    """Metres added by moving the stop at ``a`` to just after the stop at ``b`` (> ``a``)."""
    v = problem.fleet.vehicles[vehicle]
    distances = problem.distances[v.profile]
    path = [
        problem.start_location(v),
        *(problem.order_location(i) for i in stops),
        problem.end_location(v),
    ]
    x, a, b = path[a + 1], a + 1, b + 1
    removed = distances.item(path[a - 1], x) + distances.item(x, path[a + 1])
    removed -= distances.item(path[a - 1], path[a + 1])
    added = distances.item(path[b], x) + distances.item(x, path[b + 1])
    added -= distances.item(path[b], path[b + 1])
    return int(added - removed)


def _move_returns(
    problem: Problem, vehicle: int, orders: tuple[int, ...], rules: Rules
) -> tuple[tuple[int, ...], RouteAssignment | None]:
    """Move returns later while that lowers the overload: (stops, the clean route if found)."""
    paired = {i for pair in problem.pairs() for i in pair}
    current = orders
    check = check_route(problem, RouteAssignment(vehicle, current), rough=True)
    score, overload = (check.violations, check.amount), check.overload
    while overload >= 0 and not rules.passed():  # move a return from before the overload
        moves = sorted(
            (_move_detour(problem, vehicle, current, a, b), a, b)
            for a in range(overload + 1)
            if problem.orders[current[a]].kind is OrderKind.PICKUP and current[a] not in paired
            for b in range(overload, len(current))
            if b > a
        )[:MOVE_TRIES]
        tried = []
        for _, a, b in moves:
            moved = (*current[:a], *current[a + 1 : b + 1], current[a], *current[b + 1 :])
            c = check_route(problem, RouteAssignment(vehicle, moved), rough=True)
            tried.append(((c.violations, c.amount), c.overload, moved))
        if not tried or min(tried)[0] >= score:
            break
        score, overload, current = min(tried)
        route = clean_break(problem, RouteAssignment(vehicle, current))
        if route is not None:
            return current, route
    return current, None


def finish_route(
    problem: Problem, route: RouteAssignment, rules: Rules | None = None
) -> RouteAssignment:
    """``route`` with a break position the evaluator accepts, repaired if it must be.

    Parameters
    ----------
    problem
        The day: its pairs and drop penalties decide what goes first.
    route
        A backend's route; its ``break_after`` is taken as a hint.
    rules
        Locked orders (dearer to drop) and the deadline past which stops are
        simply dropped from the end.

    Returns
    -------
    RouteAssignment
        A route the evaluator accepts: the same stops if a break position
        allows, else returns moved later, else as few and cheap stops dropped
        (with their pair partners) as it takes; possibly empty.
    """
    rules = rules or Rules()
    vehicle = route.vehicle
    found = clean_break(problem, route, route.break_after)
    if found is not None:
        return found
    current, found = _move_returns(problem, vehicle, route.orders, rules)
    if found is not None:
        return found
    partners: dict[int, set[int]] = {}
    for pickup, delivery in problem.pairs():
        partners.setdefault(pickup, set()).add(delivery)
        partners.setdefault(delivery, set()).add(pickup)
    while current:
        if rules.passed():  # out of time: drop from the end until it holds
            rules.cut.add(current[-1])
            current = current[:-1]
        else:
            # By least harm first: a drop's violations are never below 0, so once the
            # best found beats what the harm alone allows, no later stop can win (the
            # first in route order wins ties, as before).
            candidates = []
            for position, i in enumerate(current):
                removed = {i, *partners.get(i, ())}
                harm = sum(
                    problem.drop_penalty[j] * (LOCK_PENALTY_FACTOR if j in rules.locked else 1)
                    for j in removed
                )
                candidates.append((harm, position, removed))
            candidates.sort(key=lambda c: (c[0], c[1]))
            best: tuple[tuple[int, int, int], int, tuple[int, ...]] | None = None
            for harm, position, removed in candidates:
                if best is not None and ((0, harm, 0), position) > best[:2]:
                    break
                shorter = tuple(j for j in current if j not in removed)
                c = check_route(problem, RouteAssignment(vehicle, shorter), rough=True)
                key = (c.violations, harm, c.amount)
                if best is None or (key, position) < best[:2]:
                    best = (key, position, shorter)
            assert best is not None
            current = best[2]
        found = clean_break(problem, RouteAssignment(vehicle, current))
        if found is not None:
            return found
    return RouteAssignment(vehicle, ())


def _vehicles_for(problem: Problem, rules: Rules, order: int) -> Iterable[int]:
    """Vehicles ``order`` may be offered to."""
    if rules.vehicles_for is not None:
        return rules.vehicles_for(order)
    o = problem.orders[order]
    return (v for v, vehicle in enumerate(problem.fleet.vehicles) if problem.can_serve(vehicle, o))


def reinsert(
    problem: Problem,
    routes: Iterable[RouteAssignment],
    orders: Sequence[int],
    rules: Rules | None = None,
) -> tuple[RouteAssignment, ...]:
    """Put each of ``orders`` where it adds the least driving and the evaluator agrees.

    Parameters
    ----------
    problem
        The day: its distances and drop penalties price each place.
    routes
        Routes the evaluator accepts (one per vehicle at most).
    orders
        Orders to offer, highest drop penalty first; paired ones are skipped.
    rules
        Allowed vehicles, locked prefixes (never entered; a prefix order only
        goes back to its own place) and the deadline (nothing is tried past it).

    Returns
    -------
    tuple of RouteAssignment
        The non-empty routes by vehicle, each still accepted by the evaluator.
        At most :data:`REINSERT_TRIES` positions are tried per order, cheapest
        detour first, never one costing more than the order's drop penalty; a
        vehicle not yet used comes after every used one.
    """
    rules = rules or Rules()
    vehicles = problem.fleet.vehicles
    by_vehicle = {r.vehicle: r for r in routes if r.orders}
    paired = {i for pair in problem.pairs() for i in pair}
    for i in sorted(orders, key=lambda j: -problem.drop_penalty[j]):
        if i in paired:
            continue
        if rules.passed():
            rules.cut.add(i)
            continue
        x = problem.order_location(i)
        options: list[tuple[float, int, int]] = []
        for v in _vehicles_for(problem, rules, i):
            vehicle = vehicles[v]
            distances = problem.distances[vehicle.profile]
            stops = by_vehicle[v].orders if v in by_vehicle else ()
            path = [
                problem.start_location(vehicle),
                *(problem.order_location(j) for j in stops),
                problem.end_location(vehicle),
            ]
            per_km = vehicle.costs.per_km if problem.objective is Objective.COST else 0
            per_km = per_km or NOMINAL_CENTS_PER_KM
            chain = rules.chains.get(v, ())
            positions = [chain.index(i)] if i in chain else range(len(chain), len(stops) + 1)
            for k in positions:
                if k > len(stops):
                    continue
                a, b = path[k], path[k + 1]
                detour = distances.item(a, x) + distances.item(x, b) - distances.item(a, b)
                if detour * per_km / 1000 >= problem.drop_penalty[i]:
                    continue
                options.append((detour + (0 if stops else 1e12), v, k))
        for _, v, k in sorted(options)[:REINSERT_TRIES]:
            stops = by_vehicle[v].orders if v in by_vehicle else ()
            route = clean_break(problem, RouteAssignment(v, (*stops[:k], i, *stops[k:])))
            if route is not None:
                by_vehicle[v] = route
                break
    return tuple(by_vehicle[v] for v in sorted(by_vehicle))


def settle_routes(
    problem: Problem,
    routes: Iterable[RouteAssignment],
    keep: Callable[[RouteAssignment], bool] = lambda route: False,
    rules: Rules | None = None,
) -> tuple[RouteAssignment, ...]:
    """Routes as the evaluator accepts them: finished, and what they dropped offered again.

    Parameters
    ----------
    problem
        The day the routes were planned for.
    routes
        A backend's routes (one per vehicle at most), ``break_after`` as a hint.
    keep
        Routes for which this holds are kept as they are; by default none.
    rules
        What the backend's model restricts, and the deadline.

    Returns
    -------
    tuple of RouteAssignment
        The non-empty routes by vehicle: each route finished with
        :func:`finish_route`, then the stops they dropped re-inserted with
        :func:`reinsert`.
    """
    rules = rules or Rules()
    settled: list[RouteAssignment] = []
    dropped: list[int] = []
    for route in routes:
        finished = route if keep(route) else finish_route(problem, route, rules)
        dropped += [i for i in route.orders if i not in finished.orders]
        settled.append(finished)
    if dropped:
        return reinsert(problem, settled, dropped, rules)
    return tuple(sorted((r for r in settled if r.orders), key=lambda r: r.vehicle))


def place_breaks(
    problem: Problem, routes: Iterable[RouteAssignment], rules: Rules | None = None
) -> tuple[RouteAssignment, ...]:
    """Every route with its break placed; stops that had to go are offered to other routes.

    Parameters
    ----------
    problem
        The day, with the vehicles' breaks.
    routes
        Routes planned without breaks (routes of vehicles without one are kept).
    rules
        The deadline past which repairs drop from the end (and what they cut
        for it); None: no deadline.

    Returns
    -------
    tuple of RouteAssignment
        The non-empty routes by vehicle, as the evaluator accepts them.
    """

    def no_break(route: RouteAssignment) -> bool:
        return problem.fleet.vehicles[route.vehicle].break_ is None

    return settle_routes(problem, routes, no_break, rules)
