"""When each stop of a fixed route starts: waiting for customers to be home.

A route's sequence fixes its km; when each visit starts is still free, between
"as soon as the van gets there" and "as late as the rest of the route allows".
A van whose day is short can serve part of its stops in the morning, wait, and
serve the rest in the evening, on the same roads. :func:`best_starts` chooses,
for one route, the starts that minimise::

    expected failed attempts x re-delivery cost + hours on duty x the vehicle's hourly cost

by dynamic programming over labels ``(start of this stop, cost so far)``. A
label that starts no later and costs no more than another dominates it (the van
can always wait), so only a Pareto front is kept per stop. Each stop may start
as soon as the van can, or at any hour boundary inside its windows (the risk
model's answers change by the hour), as long as the rest of the route still
fits the shift; the driver's break is taken where the route has it.

:func:`hold` writes a chosen start into an order as a window that opens then
(inside the order's own windows): the evaluator's schedule, which starts every
visit as early as it can, then waits exactly there. The evaluator checks the
result; this module only proposes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from doorstep.domain.order import Order
from doorstep.domain.time_window import TimeWindow
from doorstep.plan.problem import Problem
from doorstep.plan.solver import RouteAssignment

STEP_S = 3600
"""Visits may be held until a multiple of this (an hour: the model's resolution)."""
MAX_LABELS = 96
"""Most labels kept per stop; a longer front is thinned to the cheapest per time bucket."""


@dataclass(frozen=True, slots=True)
class _Label:
    start: int
    cost: float
    departure: int
    parent: _Label | None


@dataclass(frozen=True, slots=True)
class Starts:
    """The chosen starts of one route's visits and what they cost.

    Attributes
    ----------
    starts
        Per stop, in route order, when service starts (seconds after midnight).
    earliest
        Per stop, when service could start given the previous stops' chosen
        starts (no hold): a stop with ``starts[k] > earliest[k]`` is held.
    cost
        Expected failures x re-delivery cost + duty hours x hourly cost, in cents
        (by the risk table the search was given).
    """

    starts: tuple[int, ...]
    earliest: tuple[int, ...]
    cost: float

    @property
    def held(self) -> tuple[int, ...]:
        """Positions of the stops that wait beyond their earliest start."""
        return tuple(
            k for k, (s, e) in enumerate(zip(self.starts, self.earliest, strict=True)) if s > e
        )


def _fit(windows: tuple[tuple[int, int], ...], t: int) -> int | None:
    """The earliest start at or after ``t`` inside ``windows`` (``t`` without windows)."""
    if not windows:
        return t
    for start, end in windows:
        if t <= end:
            return max(t, start)
    return None


def _front(labels: list[_Label], max_labels: int) -> list[_Label]:
    """The labels no other label dominates, thinned to ``max_labels``."""
    labels.sort(key=lambda label: (label.start, label.cost))
    front: list[_Label] = []
    for label in labels:
        if not front or label.cost < front[-1].cost - 1e-9:
            front.append(label)
    if len(front) <= max_labels:
        return front
    first, last = front[0].start, front[-1].start
    width = max(1.0, (last - first + 1) / max_labels)
    thinned: dict[int, _Label] = {}
    for label in front:  # later labels in a bucket cost less
        thinned[int((label.start - first) / width)] = label
    return list(thinned.values())


def best_starts(
    problem: Problem,
    route: RouteAssignment,
    p_fail: Callable[[int, int], float],
    redelivery_cents: float,
    *,
    step_s: int = STEP_S,
    max_labels: int = MAX_LABELS,
) -> Starts | None:
    """The starts of ``route``'s visits with the lowest expected failure and duty cost.

    Parameters
    ----------
    problem
        The day.
    route
        The vehicle, its stops in visit order and where its break is taken.
    p_fail
        ``(order index, start second) -> P(the attempt fails)``.
    redelivery_cents
        What one failed first attempt costs.
    step_s
        Holds end on multiples of this.
    max_labels
        Bound on the labels kept per stop.

    Returns
    -------
    Starts or None
        The best starts found; ``None`` when the route is empty or no schedule
        of its sequence keeps every window, the break, the shift and the
        maximum duration (the route is left as it is).
    """
    if not route.orders:
        return None
    vehicle = problem.fleet.vehicles[route.vehicle]
    durations = problem.durations[vehicle.profile]
    orders = [problem.orders[i] for i in route.orders]
    path = problem.path(vehicle, route.orders)
    legs = [int(durations[a, b]) for a, b in pairwise(path)]
    service = [o.service_s for o in orders]
    windows = [tuple((w.start, w.end) for w in o.windows) for o in orders]
    brk = vehicle.break_
    after = route.break_after
    n = len(orders)
    # rest[k]: the least time from the start of stop k until the van is back.
    rest = [0] * n
    tail = legs[n]
    for k in range(n - 1, -1, -1):
        tail += service[k] + (brk.duration_s if brk is not None and after == k else 0)
        rest[k] = tail
        tail += legs[k]
    shift_start, shift_end = vehicle.shift.start, vehicle.shift.end
    per_hour = vehicle.costs.per_hour / 3600

    def after_stop(now: int, k: int) -> int | None:
        if brk is None or after != k:
            return now
        finished = max(now, brk.window.start) + brk.duration_s
        return finished if finished <= brk.window.end else None

    first_free = after_stop(shift_start, -1)
    if first_free is None:
        return None
    fixed_departure = brk is not None and after == -1
    labels: list[_Label] = [_Label(first_free, 0.0, shift_start, None)]
    # The root label's start is "when the van is free to drive to the first stop".
    for k in range(n):
        latest = shift_end - rest[k]
        grown: list[_Label] = []
        for label in labels:
            ready = label.start + (0 if label.parent is None else service[k - 1])
            if label.parent is not None:
                ready_or_none = after_stop(ready, k - 1)
                if ready_or_none is None:
                    continue
                ready = ready_or_none
            earliest = _fit(windows[k], ready + legs[k])
            if earliest is None or earliest > latest:
                continue
            candidates = {earliest}
            boundary = (earliest // step_s + 1) * step_s
            while boundary <= latest:
                held = _fit(windows[k], boundary)
                if held is None or held > latest:
                    break
                candidates.add(held)
                boundary += step_s
            for start in candidates:
                cost = label.cost + redelivery_cents * p_fail(route.orders[k], start)
                departure = label.departure
                if label.parent is None and not fixed_departure:
                    departure = start - legs[0]
                    cost -= per_hour * departure
                grown.append(_Label(start, cost, departure, label))
        if not grown:
            return None
        labels = _front(grown, max_labels)
    best: tuple[float, _Label] | None = None
    for label in labels:
        done = after_stop(label.start + service[n - 1], n - 1)
        if done is None:
            continue
        end = done + legs[n]
        if end > shift_end:
            continue
        if vehicle.max_duration_s is not None and end - label.departure > vehicle.max_duration_s:
            continue
        total = label.cost + per_hour * end - (per_hour * shift_start if fixed_departure else 0)
        if best is None or total < best[0]:
            best = (total, label)
    if best is None:
        return None
    chain: list[_Label] = []
    node: _Label | None = best[1]
    while node is not None and node.parent is not None:
        chain.append(node)
        node = node.parent
    starts = tuple(label.start for label in reversed(chain))
    at = _earliest(first_free, starts, legs, service, windows, after_stop)
    return Starts(starts, at, best[0])


def _earliest(
    first_free: int,
    starts: tuple[int, ...],
    legs: list[int],
    service: list[int],
    windows: list[tuple[tuple[int, int], ...]],
    after_stop: Callable[[int, int], int | None],
) -> tuple[int, ...]:
    """Per stop, its earliest start after the previous stop's chosen start."""
    earliest: list[int] = []
    for k, start in enumerate(starts):
        ready = first_free if k == 0 else after_stop(starts[k - 1] + service[k - 1], k - 1)
        fitted = None if ready is None else _fit(windows[k], ready + legs[k])
        earliest.append(start if fitted is None else min(fitted, start))
    return tuple(earliest)


def hold(order: Order, start_s: int, day_end_s: int) -> Order:
    """``order`` with windows that open at ``start_s`` (inside its own windows).

    Parameters
    ----------
    order
        The order; ``start_s`` must lie inside one of its windows (or it has none).
    start_s
        When its visit is to start.
    day_end_s
        The end of the window of an order that has none (its vehicle's shift end).

    Returns
    -------
    Order
        The same order whose windows start at ``start_s``: the window holding it
        cut to begin there, earlier ones dropped.
    """
    if not order.windows:
        return dataclasses.replace(order, windows=(TimeWindow(start_s, max(start_s, day_end_s)),))
    kept = tuple(
        TimeWindow(max(w.start, start_s), w.end) for w in order.windows if w.end >= start_s
    )
    return dataclasses.replace(order, windows=kept)
