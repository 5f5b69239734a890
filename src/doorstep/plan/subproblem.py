"""Part of a day as a day of its own: a problem cut to some orders and vehicles, and back.

The decomposition search (:mod:`doorstep.plan.decompose`) and the per-depot
split (:mod:`doorstep.plan.depots`) both cut the whole problem into parts,
solve each part with an ordinary backend, and put the routes back. This module
is the one place that cut is written:

* :func:`restrict` builds a :class:`SubProblem`: a :class:`Problem` carrying
  only the chosen orders, the chosen vehicles, the depots those vehicles start
  or end at, and the travel matrices sliced to those locations (depots first,
  then orders, as in every problem), with the index maps back to the whole.
* :meth:`SubProblem.lift` turns a part's routes back into the whole problem's
  indices; :meth:`SubProblem.lower` does the opposite.
* :func:`score` is the one comparison of two plans of a problem (used to
  decide whether a part's new routes replace its old ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from doorstep.domain.fleet import Fleet, Profile
from doorstep.plan.evaluator import evaluate
from doorstep.plan.problem import (
    VEHICLE_WEIGHT_M,
    IntMatrix,
    Lock,
    Objective,
    Problem,
    TravelMatrix,
)
from doorstep.plan.solver import Assignment, RouteAssignment


@dataclass(frozen=True, slots=True, eq=False)
class SubProblem:
    """A problem cut from a whole one, with the index maps back.

    Attributes
    ----------
    problem
        The part as a problem of its own (picklable: it travels to workers).
    orders
        Whole-problem order index of each of the part's orders.
    vehicles
        Whole-problem vehicle index of each of the part's vehicles.
    depots
        Whole-problem depot index (= location index) of each of the part's depots.
    """

    problem: Problem
    orders: tuple[int, ...]
    vehicles: tuple[int, ...]
    depots: tuple[int, ...]

    def lift(self, routes: Iterable[RouteAssignment]) -> tuple[RouteAssignment, ...]:
        """The part's routes in the whole problem's indices (breaks stay where they are).

        Parameters
        ----------
        routes
            Routes over the part's vehicle and order indices.

        Returns
        -------
        tuple of RouteAssignment
            The same routes over the whole problem's indices.
        """
        return tuple(
            RouteAssignment(
                self.vehicles[r.vehicle], tuple(self.orders[i] for i in r.orders), r.break_after
            )
            for r in routes
        )

    def lower(self, routes: Iterable[RouteAssignment]) -> tuple[RouteAssignment, ...]:
        """Whole-problem routes in the part's indices (the inverse of :meth:`lift`).

        Parameters
        ----------
        routes
            Routes of the part's vehicles, visiting only the part's orders.

        Returns
        -------
        tuple of RouteAssignment
            The same routes over the part's indices.

        Raises
        ------
        ValueError
            When a route's vehicle or one of its orders is not in the part.
        """
        vehicle = {v: k for k, v in enumerate(self.vehicles)}
        order = {o: k for k, o in enumerate(self.orders)}
        out = []
        for r in routes:
            if r.vehicle not in vehicle or any(i not in order for i in r.orders):
                raise ValueError(f"route of vehicle {r.vehicle} reaches outside the part")
            out.append(
                RouteAssignment(
                    vehicle[r.vehicle], tuple(order[i] for i in r.orders), r.break_after
                )
            )
        return tuple(out)


def restrict(
    problem: Problem,
    order_indices: Sequence[int],
    vehicle_indices: Sequence[int],
    warm_start: Iterable[RouteAssignment] | None = None,
) -> SubProblem:
    """``problem`` cut to some of its orders and vehicles.

    The part keeps the depots its vehicles start or end at (in the whole's
    order), the matrices of its vehicles' profiles sliced to its depots and
    orders, the orders' drop penalties, the off-network locations among its
    own, the objective and the other settings. Locks and the warm start are
    kept where both their order and vehicle are in the part.

    Parameters
    ----------
    problem
        The whole day.
    order_indices
        The part's orders (whole-problem indices, no repeats); the part numbers
        them in this order.
    vehicle_indices
        The part's vehicles (whole-problem indices, no repeats), numbered in this order.
    warm_start
        Routes (whole-problem indices) to start the part's search from, in place
        of ``problem.warm_start``; stops outside the part are left out.

    Returns
    -------
    SubProblem
        The part and its index maps.

    Raises
    ------
    ValueError
        An index repeats, or an order locked to a vehicle is in the part without
        that vehicle.
    doorstep.errors.InputError
        A paired delivery is in the part without its pickup (or the reverse).
    """
    orders = tuple(int(i) for i in order_indices)
    vehicles = tuple(int(v) for v in vehicle_indices)
    if len(set(orders)) != len(orders) or len(set(vehicles)) != len(vehicles):
        raise ValueError("a part lists an order or a vehicle twice")
    fleet_vehicles = tuple(problem.fleet.vehicles[v] for v in vehicles)
    used = {d for v in fleet_vehicles for d in (v.depot_id, v.end_depot_id or v.depot_id)}
    depots = tuple(k for k, d in enumerate(problem.fleet.depots) if d.id in used)
    locations = np.array(list(depots) + [problem.depot_count + i for i in orders], dtype=np.int64)
    profiles = tuple(dict.fromkeys(v.profile for v in fleet_vehicles))
    part_orders = tuple(problem.orders[i] for i in orders)
    sub = Problem(
        orders=part_orders,
        fleet=Fleet(tuple(problem.fleet.depots[k] for k in depots), fleet_vehicles),
        durations=_sliced(problem.durations, profiles, locations),
        distances=_sliced(problem.distances, profiles, locations),
        objective=problem.objective,
        locks=_locks(problem, orders, vehicles),
        warm_start=_warm_start(problem, orders, vehicles, warm_start),
        drop_penalty=tuple(problem.drop_penalty[i] for i in orders),
        off_network=frozenset(
            k for k, loc in enumerate(locations.tolist()) if loc in problem.off_network
        ),
        source=problem.source,
        estimated=problem.estimated,
        all_required=problem.all_required,
    )
    return SubProblem(sub, orders, vehicles, depots)


def _sliced(
    matrices: Mapping[Profile, TravelMatrix], profiles: Sequence[Profile], locations: np.ndarray
) -> dict[Profile, IntMatrix]:
    """Each profile's matrix over ``locations`` only (a dense copy: the part travels alone)."""
    index = np.ix_(locations, locations)
    return {p: np.ascontiguousarray(matrices[p][index], dtype=np.int64) for p in profiles}


def _locks(
    problem: Problem, orders: tuple[int, ...], vehicles: tuple[int, ...]
) -> tuple[Lock, ...]:
    """The locks of the part's orders; each must have its vehicle in the part."""
    order_ids = {problem.orders[i].id for i in orders}
    vehicle_ids = {problem.fleet.vehicles[v].id for v in vehicles}
    kept = []
    for lock in problem.locks:
        if lock.order_id not in order_ids:
            continue
        if lock.vehicle_id not in vehicle_ids:
            raise ValueError(
                f"order {lock.order_id} is locked to {lock.vehicle_id}, which is not in the part"
            )
        kept.append(lock)
    return tuple(kept)


def _warm_start(
    problem: Problem,
    orders: tuple[int, ...],
    vehicles: tuple[int, ...],
    routes: Iterable[RouteAssignment] | None,
) -> dict[str, tuple[str, ...]]:
    """The warm start over the part's vehicles and orders (vehicle id -> order ids)."""
    order_ids = {problem.orders[i].id for i in orders}
    vehicle_ids = {problem.fleet.vehicles[v].id for v in vehicles}
    if routes is None:
        given = dict(problem.warm_start)
    else:
        given = {
            problem.fleet.vehicles[r.vehicle].id: tuple(problem.orders[i].id for i in r.orders)
            for r in routes
        }
    out = {}
    for vehicle_id, order_list in given.items():
        kept = tuple(o for o in order_list if o in order_ids)
        if vehicle_id in vehicle_ids and kept:
            out[vehicle_id] = kept
    return out


class Score(NamedTuple):
    """How good a plan of a problem is; smaller is better, compared field by field.

    Attributes
    ----------
    violations
        Constraints the evaluator finds broken.
    dropped
        Orders left out that are not optional (priority 0 or more).
    objective
        The problem's objective as every backend weighs it: under
        ``Objective.COST`` the route costs the evaluator computes (fixed, per km,
        per hour, lateness) plus the drop penalties of the orders left out, in
        cents; under ``DISTANCE`` metres plus :meth:`Problem.drop_weight_m` of
        the orders left out; under ``VEHICLES`` that plus
        :data:`~doorstep.plan.problem.VEHICLE_WEIGHT_M` per vehicle used.
    """

    violations: int
    dropped: int
    objective: float


def score(problem: Problem, routes: Iterable[RouteAssignment]) -> Score:
    """The evaluator's verdict on ``routes`` as a :class:`Score`.

    The one comparison of two plans of the same problem: fewer violations,
    then fewer (non-optional) orders left out, then the problem's objective.
    Every term adds up over routes and left-out orders, so improving each of a
    plan's disjoint parts (with the part's own score) improves the whole.

    Parameters
    ----------
    problem
        The day (or a part of it).
    routes
        The plan's routes.

    Returns
    -------
    Score
        Violations, non-optional orders left out, objective.
    """
    evaluation = evaluate(problem, Assignment(tuple(routes), "score"))
    index = problem.order_index()
    left_out = [index[u.order_id] for u in evaluation.plan.unassigned]
    dropped = sum(1 for i in left_out if problem.orders[i].priority >= 0)
    metres = sum(r.distance_m for r in evaluation.plan.routes)
    if problem.objective is Objective.COST:
        objective = float(
            sum(evaluation.route_costs) + sum(problem.drop_penalty[i] for i in left_out)
        )
    else:
        objective = float(metres + sum(problem.drop_weight_m(i) for i in left_out))
        if problem.objective is Objective.VEHICLES:
            objective += VEHICLE_WEIGHT_M * len(evaluation.plan.routes)
    return Score(len(evaluation.violations), dropped, objective)
