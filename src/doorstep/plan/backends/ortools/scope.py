"""What of a problem goes into the OR-Tools model: the :class:`Scope` of a solve."""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.domain.fleet import Vehicle
from doorstep.plan.problem import Problem
from doorstep.plan.repair import clean_break
from doorstep.plan.solver import RouteAssignment


@dataclass(frozen=True, slots=True)
class Scope:
    """The problem cut down to what OR-Tools is given."""

    problem: Problem
    orders: tuple[int, ...]
    """Modelled order indices."""
    allowed: dict[int, tuple[int, ...]]
    """Order -> vehicles that may serve it, only where not every vehicle may."""
    chains: dict[int, tuple[int, ...]]
    """Vehicle -> its locked sequence prefix (modelled orders)."""
    locked: frozenset[int]
    pairs: tuple[tuple[int, int], ...]
    unusable: frozenset[int]
    """Vehicles that can never take their break, so never leave."""
    binding: tuple[int, ...]
    """Capacity dimensions (0 parcels, 1 grams, 2 millilitres) that can limit a vehicle."""

    @staticmethod
    def of(problem: Problem) -> Scope:
        """Decide what of ``problem`` to model.

        Parameters
        ----------
        problem
            The day to plan.

        Returns
        -------
        Scope
            Orders, vehicle restrictions, locked prefixes, pairs, unusable
            vehicles and binding capacities (see the package docstring).
        """
        vehicles = problem.fleet.vehicles
        unusable = frozenset(v for v, vehicle in enumerate(vehicles) if break_impossible(vehicle))
        usable = [v for v in range(len(vehicles)) if v not in unusable]
        index = problem.order_index()
        vehicle_index = {vehicle.id: v for v, vehicle in enumerate(vehicles)}
        lock_vehicle = {
            index[lock.order_id]: vehicle_index[lock.vehicle_id] for lock in problem.locks
        }
        allowed: dict[int, set[int]] = {}
        for i, order in enumerate(problem.orders):
            if problem.order_location(i) in problem.off_network:
                continue
            ok = {v for v in usable if problem.can_serve(vehicles[v], order)}
            if i in lock_vehicle:
                ok &= {lock_vehicle[i]}
            if ok:
                allowed[i] = ok
        # A pickup and its deliveries share one route: keep them where a vehicle may do all.
        groups: dict[int, list[int]] = {}
        for pickup, delivery in problem.pairs():
            groups.setdefault(pickup, []).append(delivery)
        pairs: list[tuple[int, int]] = []
        for pickup, deliveries in groups.items():
            group = [pickup, *deliveries]
            common = set(usable)
            for i in group:
                common &= allowed.get(i, set())
            for i in group:
                if common:
                    allowed[i] = common
                else:
                    allowed.pop(i, None)
            if common:
                pairs += [(pickup, d) for d in deliveries]
        chains: dict[int, tuple[int, ...]] = {}
        positioned = sorted(
            (lock.position, vehicle_index[lock.vehicle_id], index[lock.order_id])
            for lock in problem.locks
            if lock.position is not None
        )
        for vehicle in sorted({v for _, v, _ in positioned}):
            chain: list[int] = []
            for position, v, i in positioned:
                if v != vehicle:
                    continue
                if position != len(chain) or i not in allowed:
                    break
                chain.append(i)
            # A prefix the evaluator rejects on its own cannot start any route.
            if chain and clean_break(problem, RouteAssignment(vehicle, tuple(chain))) is not None:
                chains[vehicle] = tuple(chain)
        modelled = tuple(sorted(allowed))
        binding = tuple(k for k in range(3) if binds(problem, modelled, k))
        everyone = set(usable)
        return Scope(
            problem,
            modelled,
            {i: tuple(sorted(vs)) for i, vs in allowed.items() if vs != everyone},
            chains,
            frozenset(i for i in lock_vehicle if i in allowed),
            tuple(pairs),
            unusable,
            binding,
        )

    def vehicles_for(self, order: int) -> tuple[int, ...]:
        """Vehicles that may serve ``order``.

        Parameters
        ----------
        order
            A modelled order's index.

        Returns
        -------
        tuple of int
            Vehicle indices.
        """
        everyone = range(len(self.problem.fleet.vehicles))
        return self.allowed.get(order, tuple(v for v in everyone if v not in self.unusable))


def binds(problem: Problem, orders: tuple[int, ...], k: int) -> bool:
    """Whether capacity dimension ``k`` can limit any vehicle.

    Parameters
    ----------
    problem
        The day, for its orders' demands and vehicles' capacities.
    orders
        The modelled orders.
    k
        0 parcels, 1 grams, 2 millilitres.

    Returns
    -------
    bool
        True when the orders' total demand exceeds some vehicle's capacity.
    """
    total = sum(problem.orders[i].demand.as_tuple()[k] for i in orders)
    return total > 0 and min(v.capacity.as_tuple()[k] for v in problem.fleet.vehicles) < total


def break_window(vehicle: Vehicle) -> tuple[int, int] | None:
    """Earliest and latest start of the vehicle's break within its window and the shift.

    Parameters
    ----------
    vehicle
        A vehicle with a break.

    Returns
    -------
    tuple of int or None
        (earliest, latest) start in seconds after midnight; None if no start fits.
    """
    brk = vehicle.break_
    assert brk is not None
    low = max(brk.window.start, vehicle.shift.start)
    high = min(brk.window.end, vehicle.shift.end) - brk.duration_s
    return (low, high) if low <= high else None


def break_impossible(vehicle: Vehicle) -> bool:
    """Whether the break cannot fit while the shift starts after the break window opens.

    Such a vehicle can only avoid a break by ending before the window opens,
    which it cannot; the evaluator would flag any route it drives.

    Parameters
    ----------
    vehicle
        Any vehicle.

    Returns
    -------
    bool
        True when the vehicle can drive no route at all.
    """
    if vehicle.break_ is None or break_window(vehicle) is not None:
        return False
    return vehicle.shift.start > vehicle.break_.window.start
