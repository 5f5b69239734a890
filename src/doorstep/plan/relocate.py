"""Moving visits to where their customers are home, for a few metres each.

Holding visits (:mod:`doorstep.plan.waits`) times a route's stretches for the
customers on them, but a route mixes customers who are home at different hours:
the one who is out in the morning sits in the morning stretch because that is
where the roads put them. :func:`relocate` moves such visits, one at a time, to
the position (on any route whose van can take them) whose timing suits them,
choosing the move that saves the most expected re-delivery cost per metre it
adds, while the metres added stay within an allowance. After each move the two
routes touched get new starts from :func:`doorstep.plan.waits.best_starts`, so
the next move sees the times the plan will keep. The evaluator checks the
result; a result with a violation the plan did not have is not returned.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from doorstep.domain.order import OrderKind
from doorstep.plan.bands import HourlyRisk
from doorstep.plan.evaluator import evaluate
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.plan.waits import best_starts

MAX_MOVES = 100
"""Moves tried at most."""
SHORTEST_M = 20
"""A move's metres are counted as at least this when ranking (no free lunch from rounding)."""


@dataclass
class _Route:
    vehicle: int
    stops: list[int]
    break_after: int | None
    starts: list[int]
    cost: float = 0.0
    """Expected failures x re-delivery + duty cost of its best starts, in cents."""

    def assignment(self) -> RouteAssignment:
        return RouteAssignment(self.vehicle, tuple(self.stops), self.break_after)


def _break_after_removal(route: _Route, position: int) -> int | None:
    after = route.break_after
    if after is None or after < position:
        return after
    return max(after - 1, -1)


def _break_after_insertion(route: _Route, position: int) -> int | None:
    after = route.break_after
    if after is None or after < position:
        return after
    return after + 1


def relocate(
    plan: DayPlan,
    table: HourlyRisk,
    redelivery_cents: float,
    allowance_m: float,
    *,
    min_saving: float = 0.02,
    max_moves: int = MAX_MOVES,
    deadline: float | None = None,
) -> DayPlan:
    """``plan`` with visits moved to positions timed for their customers.

    Parameters
    ----------
    plan
        An evaluated plan whose problem's windows are the customers' own (not held).
    table
        P(fail) of every order of the problem per hour.
    redelivery_cents
        What one failed first attempt costs.
    allowance_m
        Metres the moves may add in all.
    min_saving
        A move must lower the visit's P(fail) by at least this much.
    max_moves
        Moves made at most.
    deadline
        ``time.perf_counter()`` value after which no move is tried.

    Returns
    -------
    DayPlan
        The plan with the moves made, evaluated on the same problem (visits as
        early as they can, to be held again); ``plan`` itself when no move was
        made or the result has a violation ``plan`` did not have.
    """
    problem = plan.problem
    if problem.locks or not plan.evaluation.plan.routes:
        return plan
    index = problem.order_index()
    by_id = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
    paired = {i for pair in problem.pairs() for i in pair}
    movable = np.array(
        [o.kind is not OrderKind.PICKUP and i not in paired for i, o in enumerate(problem.orders)]
    )
    demand = np.array([o.demand.as_tuple() for o in problem.orders], dtype=np.int64)
    p_table = np.array(table.table)
    routes: list[_Route] = []
    for r in plan.evaluation.plan.routes:
        route = _Route(
            by_id[r.vehicle_id], [index[v.order_id] for v in r.visits], r.break_after, []
        )
        found = best_starts(problem, route.assignment(), table.at, redelivery_cents)
        if found is None:
            return plan  # a route the waits cannot time: leave the plan alone
        route.starts, route.cost = list(found.starts), found.cost
        routes.append(route)
    moved = 0
    spent = 0.0
    banned: set[tuple[int, int, int]] = set()
    tries = 0
    while moved < max_moves and tries < 3 * max_moves:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        tries += 1
        best = _best_move(
            problem, routes, p_table, table.first_hour, movable, demand, banned,
            min_saving, allowance_m - spent,
        )  # fmt: skip
        if best is None:
            break
        source, position, target, slot, metres = best
        order = routes[source].stops[position]
        before = (
            [list(r.stops) for r in routes],
            [r.break_after for r in routes],
            [list(r.starts) for r in routes],
            [r.cost for r in routes],
        )
        src, dst = routes[source], routes[target]
        src.break_after = _break_after_removal(src, position)
        del src.stops[position]
        place = slot - 1 if target == source and slot > position else slot
        dst.break_after = _break_after_insertion(dst, place)
        dst.stops.insert(place, order)
        touched = list({id(src): src, id(dst): dst}.values())
        was = sum(route.cost for route in touched)
        ok = True
        for route in touched:
            if not route.stops:
                route.starts, route.cost = [], 0.0
                continue
            found = best_starts(problem, route.assignment(), table.at, redelivery_cents)
            if found is None:
                ok = False
                break
            route.starts, route.cost = list(found.starts), found.cost
        per_km = problem.fleet.vehicles[dst.vehicle].costs.per_km
        if not ok or sum(route.cost for route in touched) + per_km * metres / 1000 >= was - 1:
            for route, stops, after, starts, cost in zip(routes, *before, strict=True):
                route.stops, route.break_after, route.starts, route.cost = (
                    stops,
                    after,
                    starts,
                    cost,
                )
            banned.add((order, target, slot))
            continue
        spent += metres
        moved += 1
    if not moved:
        return plan
    assignment = Assignment(tuple(r.assignment() for r in routes if r.stops), "relocated")
    evaluation = evaluate(problem, assignment)
    if len(evaluation.violations) > len(plan.evaluation.violations):
        return plan
    return dataclasses.replace(plan, evaluation=evaluation)


def _best_move(
    problem: Problem,
    routes: list[_Route],
    p_table: np.ndarray,
    first_hour: int,
    movable: np.ndarray,
    demand: np.ndarray,
    banned: set[tuple[int, int, int]],
    min_saving: float,
    allowance_m: float,
) -> tuple[int, int, int, int, float] | None:
    """The move saving the most P(fail) per metre: (route, position, target route, slot, metres)."""
    hours = p_table.shape[1]

    def hour_of(seconds: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(seconds // 3600 - first_hour, 0, hours - 1))

    vehicles = problem.fleet.vehicles
    orders, where, places, now, removal = [], [], [], [], []
    for r, route in enumerate(routes):
        vehicle = vehicles[route.vehicle]
        metres_of = problem.distances[vehicle.profile]
        path = problem.path(vehicle, route.stops)
        for k, i in enumerate(route.stops):
            a, b, c = path[k], path[k + 1], path[k + 2]
            orders.append(i)
            where.append((r, k))
            places.append(b)
            now.append(route.starts[k])
            removal.append(int(metres_of[a, b] + metres_of[b, c] - metres_of[a, c]))
    if not orders:
        return None
    order_arr = np.array(orders)
    place_arr = np.array(places)
    p_now = p_table[order_arr, hour_of(np.array(now))]
    removal_arr = np.array(removal, dtype=np.float64)
    ok_rows = movable[order_arr]
    best: tuple[float, int, int, int] | None = None  # score, row, target, slot
    best_metres = 0.0
    for t, route in enumerate(routes):
        vehicle = vehicles[route.vehicle]
        d: Any = np.asarray(problem.distances[vehicle.profile])
        nodes: Any = np.array(problem.path(vehicle, route.stops))
        heads, tails = nodes[:-1], nodes[1:]
        last = route.stops[-1]
        times = np.array([*route.starts, route.starts[-1] + problem.orders[last].service_s])
        inserted = (
            d[np.ix_(place_arr, tails)] + d[np.ix_(heads, place_arr)].T - d[heads, tails][None, :]
        )
        metres = inserted - removal_arr[:, None]
        saving = p_now[:, None] - p_table[order_arr][:, hour_of(times)]
        load = demand[route.stops].sum(axis=0)
        room = np.all(
            load[None, :] + demand[order_arr] <= np.array(vehicle.capacity.as_tuple()), axis=1
        )
        skills = np.array([problem.can_serve(vehicle, problem.orders[i]) for i in orders])
        valid = (saving >= min_saving) & (metres <= allowance_m) & ok_rows[:, None]
        valid &= (room | np.array([w[0] == t for w in where]))[:, None] & skills[:, None]
        for row, (r, k) in enumerate(where):
            if r == t:
                valid[row, k : k + 2] = False  # its own place
        for order, target, slot in banned:
            if target == t and order in orders:
                valid[orders.index(order), slot] = False
        if not valid.any():
            continue
        score = np.where(valid, saving / np.maximum(metres, SHORTEST_M), -np.inf)
        row, slot = divmod(int(np.argmax(score)), score.shape[1])
        value = float(score[row, slot])
        if best is None or value > best[0]:
            best = (value, row, t, slot)
            best_metres = float(metres[row, slot])
    if best is None:
        return None
    _, chosen, target, slot = best
    source, position = where[chosen]
    return source, position, target, slot, best_metres
