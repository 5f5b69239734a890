"""The OR-Tools routing model: nodes, costs, time, breaks, loads and orders.

See the package docstring for how each feature is modelled and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from doorstep.domain.fleet import Profile
from doorstep.domain.order import OrderKind
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.backends.ortools.scope import Scope, break_window
from doorstep.plan.problem import (
    NOMINAL_CENTS_PER_KM,
    VEHICLE_WEIGHT_M,
    Objective,
    Problem,
    TravelMatrix,
)
from doorstep.plan.repair import LOCK_PENALTY_FACTOR

SCALE = 18_000
"""Objective units per cent: lcm(1,000 m/km, 3,600 s/h), so per-km and per-hour costs
become exact integer coefficients (per_km x 18 per metre, per_hour x 5 per second)."""

NOMINAL_PER_METRE = NOMINAL_CENTS_PER_KM * SCALE // 1000
"""Objective units per metre under the distance and vehicles objectives."""


@dataclass(slots=True)
class Model:
    """The OR-Tools routing model of a :class:`~.scope.Scope` and how its indices map back."""

    scope: Scope
    routing: Any
    time_dimension: Any
    index_order: dict[int, int]
    """Routing index of a stop -> its order."""
    order_indices: dict[int, list[int]]
    """Order -> the routing indices of its stop (one per window)."""
    index_window: dict[int, tuple[int, int]]
    """Routing index of a stop -> the cumul range of its window."""
    breaks: dict[int, Any] = field(default_factory=dict)
    """Vehicle -> its break interval."""


@dataclass(slots=True)
class _Nodes:
    """What each routing node stands for, while the model is built."""

    locations: list[int]
    order: list[int]
    """Order index of a stop; -1 for depots."""
    window: list[tuple[int, int] | None]
    """Cumul range of a stop (None: no window)."""


def _nodes(scope: Scope, depots: list[int]) -> _Nodes:
    """Depots, then a stop per order and window (one stop for orders in a locked prefix)."""
    problem = scope.problem
    nodes = _Nodes(list(depots), [-1] * len(depots), [None] * len(depots))

    def add(location: int, order: int, window: tuple[int, int] | None) -> None:
        nodes.locations.append(location)
        nodes.order.append(order)
        nodes.window.append(window)

    chained = {i for chain in scope.chains.values() for i in chain}
    for i in scope.orders:
        windows = problem.orders[i].windows
        location = problem.order_location(i)
        if len(windows) > 1 and i not in chained:
            for w in windows:
                add(location, i, (w.start, w.end))
        else:
            add(location, i, (windows[0].start, windows[-1].end) if windows else None)
    return nodes


def build_model(scope: Scope, *, chains: bool) -> Model:
    """The OR-Tools model of ``scope`` (see the package docstring).

    Parameters
    ----------
    scope
        What to model.
    chains
        Whether to pin the vehicles' locked sequence prefixes.

    Returns
    -------
    Model
        The routing model with every dimension, disjunction and break, not yet closed.
    """
    problem = scope.problem
    vehicles = problem.fleet.vehicles
    depots = sorted(
        {problem.start_location(v) for v in vehicles} | {problem.end_location(v) for v in vehicles}
    )
    nodes = _nodes(scope, depots)
    depot_node = {location: node for node, location in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(nodes.order),
        len(vehicles),
        [depot_node[problem.start_location(v)] for v in vehicles],
        [depot_node[problem.end_location(v)] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    model = Model(scope, routing, None, {}, {}, {})
    for node in range(len(depots), len(nodes.order)):
        index, i = int(manager.NodeToIndex(node)), nodes.order[node]
        model.index_order[index] = i
        model.order_indices.setdefault(i, []).append(index)
        if (cumul_range := nodes.window[node]) is not None:
            model.index_window[index] = cumul_range

    locations = np.array(nodes.locations, dtype=np.int64)
    service = np.array(
        [0 if i < 0 else problem.orders[i].service_s for i in nodes.order], dtype=np.int64
    )
    time_callbacks = {
        profile: routing.RegisterTransitMatrix(
            _node_matrix(problem.durations[profile], locations, len(depots), 1, service)
        )
        for profile in problem.profiles
    }
    _add_costs(model, locations, len(depots))
    model.time_dimension = _add_time(model, time_callbacks)
    _add_breaks(model)
    _add_capacities(model, nodes)
    _add_orders(model)
    if chains:
        for v, chain in scope.chains.items():
            previous = routing.Start(v)
            for i in chain:
                (index,) = model.order_indices[i]
                routing.NextVar(previous).SetValue(index)
                previous = index
    return model


def _node_matrix(
    matrix: TravelMatrix,
    locations: np.ndarray,
    depot_count: int,
    scale: int,
    service: np.ndarray | None = None,
) -> list[list[int]]:
    """``matrix`` over the model's nodes, times ``scale``, plus the from-node's service.

    Unreachable pairs stay huge but cannot overflow; depot-to-depot entries are
    zero because only an empty route goes from a depot to a depot.
    """
    sub = np.minimum(matrix[np.ix_(locations, locations)], UNREACHABLE).astype(np.int64) * scale
    if service is not None:
        sub += service[:, None]
    sub[:depot_count, :depot_count] = 0
    np.fill_diagonal(sub, 0)
    result: list[list[int]] = sub.tolist()
    return result


def _add_costs(model: Model, locations: np.ndarray, depot_count: int) -> None:
    """Arc costs and fixed costs per vehicle, in ``SCALE`` units per cent."""
    problem, routing = model.scope.problem, model.routing
    callbacks: dict[tuple[Profile, int], int] = {}
    for v, vehicle in enumerate(problem.fleet.vehicles):
        if problem.objective is Objective.COST:
            per_metre = vehicle.costs.per_km * SCALE // 1000 + 1  # + 1: tie-break on distance
            fixed = vehicle.costs.fixed * SCALE
        else:
            per_metre = NOMINAL_PER_METRE
            fixed = VEHICLE_WEIGHT_M * per_metre if problem.objective is Objective.VEHICLES else 0
        key = (vehicle.profile, per_metre)
        if key not in callbacks:
            distances = problem.distances[vehicle.profile]
            callbacks[key] = routing.RegisterTransitMatrix(
                _node_matrix(distances, locations, depot_count, per_metre)
            )
        routing.SetArcCostEvaluatorOfVehicle(callbacks[key], v)
        routing.SetFixedCostOfVehicle(fixed, v)


def _add_time(model: Model, callbacks: dict[Profile, int]) -> Any:
    """The time dimension: windows, shifts, maximum durations, per-hour costs."""
    problem, routing = model.scope.problem, model.routing
    vehicles = problem.fleet.vehicles
    horizon = _horizon(problem)
    routing.AddDimensionWithVehicleTransitAndCapacity(
        [callbacks[v.profile] for v in vehicles], horizon, [horizon] * len(vehicles), False, "time"
    )
    time_dimension = routing.GetDimensionOrDie("time")
    for index, (start, end) in model.index_window.items():
        cumul = time_dimension.CumulVar(index)
        order = problem.orders[model.index_order[index]]
        if order.soft_windows and end == order.windows[-1].end:
            # Soft: any later start is allowed, at the lateness cost per second.
            cumul.SetRange(start, horizon)
            coefficient = order.late_cost_per_hour * SCALE // 3600
            time_dimension.SetCumulVarSoftUpperBound(index, end, coefficient)
        else:
            cumul.SetRange(start, end)
        for before, after in pairwise(problem.orders[model.index_order[index]].windows):
            if start <= before.end and after.start <= end and after.start - before.end > 1:
                cumul.RemoveInterval(before.end + 1, after.start - 1)
    for v, vehicle in enumerate(vehicles):
        start, end = routing.Start(v), routing.End(v)
        time_dimension.CumulVar(start).SetRange(vehicle.shift.start, vehicle.shift.end)
        time_dimension.CumulVar(end).SetRange(vehicle.shift.start, vehicle.shift.end)
        routing.AddVariableMinimizedByFinalizer(time_dimension.CumulVar(end))
        if vehicle.max_duration_s is not None:
            time_dimension.SetSpanUpperBoundForVehicle(vehicle.max_duration_s, v)
        if problem.objective is Objective.COST and vehicle.costs.per_hour:
            coefficient = vehicle.costs.per_hour * SCALE // 3600
            time_dimension.SetSpanCostCoefficientForVehicle(coefficient, v)
    return time_dimension


def _horizon(problem: Problem) -> int:
    """Latest time any cumul may take."""
    ends = [86_400]
    ends += [v.shift.end for v in problem.fleet.vehicles]
    ends += [w.end for o in problem.orders for w in o.windows]
    return max(ends) + 1


def _add_breaks(model: Model) -> None:
    """One break interval per vehicle that has a break (see the package docstring)."""
    problem, routing = model.scope.problem, model.routing
    visit_transits = [0] * routing.Size()
    for index, i in model.index_order.items():
        visit_transits[index] = problem.orders[i].service_s
    for v, vehicle in enumerate(problem.fleet.vehicles):
        if vehicle.break_ is None or v in model.scope.unusable:
            continue
        window = break_window(vehicle)
        if window is None:
            # No break fits: the route must be over before the break window opens.
            model.time_dimension.CumulVar(routing.End(v)).SetMax(vehicle.break_.window.start)
            continue
        interval = routing.solver().FixedDurationIntervalVar(
            window[0], window[1], vehicle.break_.duration_s, False, f"break {vehicle.id}"
        )
        model.time_dimension.SetBreakIntervalsOfVehicle([interval], v, visit_transits)
        model.breaks[v] = interval


def _add_capacities(model: Model, nodes: _Nodes) -> None:
    """Dimensions for each capacity that can bind (see the package docstring)."""
    scope, routing = model.scope, model.routing
    problem = scope.problem
    paired_deliveries = {d for _, d in scope.pairs}
    has_pickups = any(problem.orders[i].kind is OrderKind.PICKUP for i in scope.orders)
    for k in scope.binding:
        loaded = [0] * len(nodes.order)
        on_board = [0] * len(nodes.order)
        for node, i in enumerate(nodes.order):
            if i < 0:
                continue
            order = problem.orders[i]
            amount = order.demand.as_tuple()[k]
            if order.kind is OrderKind.PICKUP:
                on_board[node] = amount
            else:
                on_board[node] = -amount
                loaded[node] = 0 if i in paired_deliveries else amount
        capacities = [v.capacity.as_tuple()[k] for v in problem.fleet.vehicles]
        name = ("parcels", "weight", "volume")[k]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(loaded), 0, capacities, True, f"{name} loaded"
        )
        if has_pickups:
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(on_board), 0, capacities, False, name
            )


def _add_orders(model: Model) -> None:
    """Orders are optional at their penalty, on allowed vehicles; pairs travel together."""
    scope, routing = model.scope, model.routing
    problem = scope.problem
    disjunctions: dict[int, int] = {}
    for i, indices in model.order_indices.items():
        if problem.objective is Objective.COST:
            penalty = problem.drop_penalty[i] * SCALE
        else:
            penalty = problem.drop_weight_m(i) * NOMINAL_PER_METRE
        if i in scope.locked:
            penalty *= LOCK_PENALTY_FACTOR
        disjunctions[i] = routing.AddDisjunction(indices, penalty, 1)
        for index in indices:
            if i in scope.allowed:
                _allow(routing, index, scope.allowed[i])
    for v in scope.unusable:
        routing.NextVar(routing.Start(v)).SetValue(routing.End(v))
    for pickup, delivery in scope.pairs:
        routing.AddPickupAndDeliverySets(disjunctions[pickup], disjunctions[delivery])


def _allow(routing: Any, index: int, vehicles: tuple[int, ...]) -> None:
    """Restrict ``index`` to ``vehicles`` (or being dropped)."""
    try:
        routing.SetAllowedVehiclesForIndex(list(vehicles), index)
    except TypeError:  # ortools 9.15's wrapper rejects every Python sequence here
        routing.VehicleVar(index).SetValues([-1, *vehicles])
