"""Retiming a plan's routes: when each van leaves, and which way round it drives.

A route that ends well before its shift does can leave later: every visit then
comes later by the same amount, on the same roads. With a failure-risk model
that matters: customers who are out in the morning are home in the afternoon.
:func:`retime` tries, for every route, later departures (in steps of
:data:`STEP_S`, as long as the route stays within its shift and every window)
and, for a van without a break, the reversed sequence; it keeps the variant
with the lowest vehicle cost + expected failed attempts x re-delivery cost,
checked by the evaluator. Routes keep their stops: no order changes vehicle,
so no parcel has to move between vans, and the km change only by reversals
(a reversal is kept only when it pays for its own km).
"""

from __future__ import annotations

import dataclasses
from datetime import date

from doorstep.domain.fleet import Fleet, Vehicle
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError
from doorstep.learn.risk import FailureRisk
from doorstep.plan.bands import visit_p_fail
from doorstep.plan.evaluator import evaluate, route_cost, schedule_route
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, RouteAssignment

STEP_S = 900
"""Departure delays tried, in steps of this many seconds (15 minutes)."""


def _with_vehicle(problem: Problem, index: int, vehicle: Vehicle) -> Problem:
    vehicles = list(problem.fleet.vehicles)
    vehicles[index] = vehicle
    fleet = Fleet(problem.fleet.depots, tuple(vehicles))
    return dataclasses.replace(problem, fleet=fleet)


def _variant_cost(
    problem: Problem,
    route: RouteAssignment,
    risk: FailureRisk,
    day: date,
    redelivery_cents: int,
) -> float | None:
    """Vehicle cost + expected failures x re-delivery cost (cents); None when infeasible."""
    schedule = schedule_route(problem, route)
    if schedule.violations:
        return None
    vehicle = problem.fleet.vehicles[route.vehicle]
    expected = sum(
        visit_p_fail(risk, problem.orders[i], day, visit.start_s)
        for i, visit in zip(route.orders, schedule.visits, strict=True)
    )
    duty = schedule.end_s - schedule.start_s
    return route_cost(vehicle, schedule.distance_m, duty) + expected * redelivery_cents


def retime(
    plan: DayPlan,
    risk: FailureRisk,
    day: date,
    redelivery_cents: int,
    step_s: int = STEP_S,
) -> DayPlan:
    """``plan`` with each route leaving when (and driven the way) its customers are home.

    Parameters
    ----------
    plan
        An evaluated plan.
    risk
        The failure-risk model.
    day
        The planning day.
    redelivery_cents
        What one failed first attempt costs.
    step_s
        Granularity of the departure delays tried.

    Returns
    -------
    DayPlan
        The same routes (stops and vehicles), each with the best departure and
        direction found, its vehicle's shift starting at that departure, evaluated
        again; ``plan`` itself when nothing is better.
    """
    problem = plan.problem
    by_id = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
    index = {o.id: k for k, o in enumerate(problem.orders)}
    chosen: list[RouteAssignment] = []
    current = problem
    changed = False
    for route in plan.evaluation.plan.routes:
        k = by_id[route.vehicle_id]
        vehicle = problem.fleet.vehicles[k]
        stops = tuple(index[v.order_id] for v in route.visits)
        kept = RouteAssignment(k, stops, route.break_after)
        best_cost = _variant_cost(current, kept, risk, day, redelivery_cents)
        best = (best_cost, kept, vehicle)
        metres = route.distance_m
        orientations = [stops]
        if vehicle.break_ is None and len(stops) > 1:
            orientations.append(stops[::-1])
        slack = vehicle.shift.end - route.end_s
        for orders in orientations:
            for delay in range(0, max(slack, 0) + step_s, step_s):
                try:
                    moved = dataclasses.replace(
                        vehicle,
                        shift=TimeWindow(route.start_s + delay, vehicle.shift.end),
                    )
                except DomainError:
                    break
                trial = _with_vehicle(current, k, moved)
                variant = RouteAssignment(k, orders, route.break_after if orders == stops else None)
                if orders != stops and schedule_route(trial, variant).distance_m > metres:
                    break  # a reversal may not add km
                cost = _variant_cost(trial, variant, risk, day, redelivery_cents)
                if cost is None:
                    continue
                if best[0] is None or cost < best[0] - 1e-6:
                    best = (cost, variant, moved)
        _, assignment, vehicle_now = best
        if vehicle_now is not vehicle or assignment is not kept:
            changed = True
            current = _with_vehicle(current, k, vehicle_now)
        chosen.append(assignment)
    if not changed:
        return plan
    evaluation = evaluate(current, Assignment(tuple(chosen), "retimed"))
    return dataclasses.replace(plan, problem=current, evaluation=evaluation)
