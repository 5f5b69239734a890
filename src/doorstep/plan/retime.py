"""Retiming a plan's routes: when each visit starts, and which way round each van drives.

A route's stops fix its km, but not when each visit starts: a van whose day is
short can hold a visit until its customer is home, leaving later or waiting
between stops. :func:`retime` asks :func:`doorstep.plan.waits.best_starts`, for
every route and (for a van without a break) its reversed sequence too, for the
starts with the lowest expected failed attempts x re-delivery cost + duty hours x
the vehicle's hourly cost, and keeps the variant that lowers vehicle cost +
expected failures x re-delivery cost, checked by the evaluator. A held visit gets
a window that opens at its chosen start (inside the order's own windows), so the
plan's schedule keeps it. Routes keep their stops: no order changes vehicle, so
no parcel has to move between vans, and the km change only by reversals (a
reversal is kept only when it adds no km).
"""

from __future__ import annotations

import dataclasses
from datetime import date

from doorstep.domain.order import Order
from doorstep.learn.risk import FailureRisk
from doorstep.plan.bands import HourlyRisk, duty_span, visit_risks
from doorstep.plan.evaluator import evaluate, route_cost, schedule_route
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.plan.waits import best_starts, hold


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
        visit_risks(
            risk,
            [problem.orders[i] for i in route.orders],
            [visit.start_s for visit in schedule.visits],
            day,
        )
    )
    duty = schedule.end_s - schedule.start_s
    return route_cost(vehicle, schedule.distance_m, duty) + expected * redelivery_cents


def _with_orders(problem: Problem, changed: dict[int, Order]) -> Problem:
    if not changed:
        return problem
    orders = tuple(changed.get(i, o) for i, o in enumerate(problem.orders))
    return dataclasses.replace(problem, orders=orders)


def retime(
    plan: DayPlan,
    risk: FailureRisk,
    day: date,
    redelivery_cents: int,
    table: HourlyRisk | None = None,
) -> DayPlan:
    """``plan`` with each visit held until (and each van driven the way) its customers are home.

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
    table
        The orders' P(fail) per hour, when already asked (else asked here).

    Returns
    -------
    DayPlan
        The same routes (stops and vehicles), each with the best starts and
        direction found, held visits carrying windows that open at their start,
        evaluated again; ``plan`` itself when nothing is better.
    """
    problem = plan.problem
    routes = plan.evaluation.plan.routes
    if not routes:
        return plan
    by_id = {v.id: k for k, v in enumerate(problem.fleet.vehicles)}
    index = {o.id: k for k, o in enumerate(problem.orders)}
    if table is None:
        table = HourlyRisk.of(problem.orders, risk, day, duty_span(problem))
    chosen: list[RouteAssignment] = []
    held: dict[int, Order] = {}
    for route in routes:
        k = by_id[route.vehicle_id]
        vehicle = problem.fleet.vehicles[k]
        stops = tuple(index[v.order_id] for v in route.visits)
        kept = RouteAssignment(k, stops, route.break_after)
        best_cost = _variant_cost(problem, kept, risk, day, redelivery_cents)
        best: tuple[float | None, RouteAssignment, dict[int, Order]] = (best_cost, kept, {})
        variants = [kept]
        if vehicle.break_ is None and len(stops) > 1:
            reversed_ = RouteAssignment(k, stops[::-1], None)
            if schedule_route(problem, reversed_).distance_m <= route.distance_m:
                variants.append(reversed_)
        for variant in variants:
            found = best_starts(problem, variant, table.at, redelivery_cents)
            if found is None:
                continue
            orders = {
                variant.orders[p]: hold(
                    problem.orders[variant.orders[p]], found.starts[p], vehicle.shift.end
                )
                for p in found.held
            }
            trial = _with_orders(problem, orders)
            cost = _variant_cost(trial, variant, risk, day, redelivery_cents)
            if cost is not None and (best[0] is None or cost < best[0] - 1e-6):
                best = (cost, variant, orders)
        chosen.append(best[1])
        held.update(best[2])
    originals = [tuple(index[v.order_id] for v in r.visits) for r in routes]
    if not held and [c.orders for c in chosen] == originals:
        return plan
    current = _with_orders(problem, held)
    evaluation = evaluate(current, Assignment(tuple(chosen), "retimed"))
    return dataclasses.replace(plan, problem=current, evaluation=evaluation)
