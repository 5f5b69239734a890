"""The planning model: a day's orders and fleet with their travel matrices, free of I/O.

Locations are numbered depots first (in ``fleet.depots`` order), then orders
(in ``orders`` order): order ``i`` is at location ``len(depots) + i``. Times
are whole seconds after midnight, distances whole metres, money whole cents.
Every backend reads this model, and the evaluator checks plans against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Fleet, Profile, Vehicle
from doorstep.domain.order import Order, OrderKind, PairingProblem, pairing_problem
from doorstep.errors import InputError
from doorstep.plan.block_matrix import BlockMatrix

IntMatrix = npt.NDArray[np.int64]

TravelMatrix = IntMatrix | BlockMatrix
"""A problem's travel matrix: dense, or held as blocks for a day too big to hold whole
(:class:`~doorstep.plan.block_matrix.BlockMatrix`, read the same way)."""

DEFAULT_DROP_PENALTY = 50_000
"""Cents (500 EUR) for leaving a normal order out: more than serving any stop costs,
so the engine leaves an order out only when it cannot be served."""

OPTIONAL_DROP_PENALTY = 500
"""Cents for leaving out an optional order (priority below 0): served when cheap."""


NOMINAL_CENTS_PER_KM = 50
"""What a kilometre weighs against a drop penalty under the distance and vehicles
objectives: the default order (500 EUR) is worth a 1,000 km detour, an optional
one (5 EUR) a 10 km detour."""

VEHICLE_WEIGHT_M = 10**9
"""Under ``Objective.VEHICLES``, what one vehicle weighs, in metres: a million km,
more than any fleet drives in a day, so fewer vehicles always wins over distance."""


class Objective(StrEnum):
    """What the engine minimises (after serving every order it can).

    Every backend weighs the objective the same way (:meth:`Problem.drop_weight_m`,
    :data:`VEHICLE_WEIGHT_M`).
    """

    COST = "cost"
    """Fixed, per-km and per-hour vehicle costs, against drop penalties in cents."""
    DISTANCE = "distance"
    """Total distance driven, against drop penalties at :data:`NOMINAL_CENTS_PER_KM`."""
    VEHICLES = "vehicles"
    """Orders served first, then fewest vehicles, then distance."""


class Feature(StrEnum):
    """Modelling features a problem uses and a backend may support."""

    CAPACITY = "capacity"
    """Vehicle capacities in parcels, weight and volume (every problem uses it)."""
    TIME_WINDOWS = "time_windows"
    """Some order must be served inside a time window."""
    SOFT_WINDOWS = "soft_windows"
    """Some order may be served after its last window closes, at a cost per hour late."""
    MULTIPLE_WINDOWS = "multiple_windows"
    """Some order has more than one window, and the stop may use any of them."""
    SHIFTS = "shifts"
    """Some vehicle's shift is shorter than the whole day."""
    MAX_DURATION = "max_duration"
    """Some vehicle has a longest allowed route, depot to depot."""
    BREAKS = "breaks"
    """Some driver takes a break within a window."""
    MULTI_DEPOT = "multi_depot"
    """More than one depot, or a vehicle that ends its day at another depot."""
    MIXED_FLEET = "mixed_fleet"
    """Vehicles differ in capacity, costs or profile."""
    PROFILES = "profiles"
    """Vehicles of more than one profile, hence more than one travel matrix."""
    PICKUPS = "pickups"
    """Some pickup (a return) is not paired with a delivery."""
    PAIRED = "paired"
    """Pickup-and-delivery pairs, served by one vehicle, the pickup first."""
    SKILLS = "skills"
    """Some order needs skills that only some vehicles have."""
    OPTIONAL = "optional"
    """Some order is optional (priority below 0), cheap to leave out."""
    LOCKS = "locks"
    """Some order is pinned to a vehicle, maybe at a fixed position."""
    WARM_START = "warm_start"
    """A previous plan is given to start the search from."""


@dataclass(frozen=True, slots=True)
class Lock:
    """A person's override: ``order_id`` must be on ``vehicle_id``.

    With ``position`` (0 = first stop), the order is part of a fixed sequence
    prefix: all locks of a vehicle with positions form its first stops, in order.
    """

    order_id: str
    vehicle_id: str
    position: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """One day to plan.

    Attributes
    ----------
    orders, fleet
        What to serve and with what.
    durations, distances
        Per profile used by the fleet, square matrices over all locations:
        numpy arrays, or for a many-depot day only the blocks that were asked
        (:class:`~doorstep.plan.block_matrix.BlockMatrix`, read the same way).
    objective
        What to minimise.
    locks
        Orders pinned to vehicles (and sequence prefixes).
    warm_start
        A previous plan: vehicle id -> order ids in visit order.
    drop_penalty
        Cost (cents) of leaving each order out, aligned with ``orders``.
    off_network
        Location indices the travel provider could not attach to a road.
    source
        Where the travel times come from (for outputs).
    estimated
        True when the travel times are straight-line estimates.
    all_required
        Every order must be served (benchmarks): backends model no drop
        penalties, and a plan that leaves one out is infeasible.
    """

    orders: tuple[Order, ...]
    fleet: Fleet
    durations: Mapping[Profile, TravelMatrix]
    distances: Mapping[Profile, TravelMatrix]
    objective: Objective = Objective.COST
    locks: tuple[Lock, ...] = ()
    warm_start: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    drop_penalty: tuple[int, ...] = ()
    off_network: frozenset[int] = frozenset()
    source: str = ""
    estimated: bool = False
    all_required: bool = False

    def __post_init__(self) -> None:
        n = self.location_count
        for profile in self.profiles:
            if profile not in self.durations or profile not in self.distances:
                raise InputError(f"no travel matrices for profile {profile.value}")
            if self.durations[profile].shape != (n, n) or self.distances[profile].shape != (n, n):
                raise InputError(f"matrices for {profile.value} must be {n} x {n}")
        if not self.drop_penalty:
            object.__setattr__(self, "drop_penalty", tuple(default_penalty(o) for o in self.orders))
        ids = [o.id for o in self.orders]
        if len(set(ids)) != len(ids):
            raise InputError("order ids must be unique within a plan")
        known = {o.id for o in self.orders}
        vehicles = {v.id for v in self.fleet.vehicles}
        for lock in self.locks:
            if lock.order_id not in known:
                raise InputError(
                    f"lock {lock.order_id} -> {lock.vehicle_id}: unknown order {lock.order_id}",
                    hint="Lock an order that is planned (not one the gate rejected).",
                )
            if lock.vehicle_id not in vehicles:
                raise InputError(
                    f"lock {lock.order_id} -> {lock.vehicle_id}: unknown vehicle {lock.vehicle_id}"
                )
        _check_pairs(self.orders)

    @property
    def dense(self) -> bool:
        """Every travel matrix is held whole (a numpy array), none as blocks.

        A day split by depot, or too big for its square
        (:mod:`doorstep.plan.sparse`), holds :class:`~doorstep.plan.block_matrix.BlockMatrix` es.
        """
        matrices = (*self.durations.values(), *self.distances.values())
        return all(isinstance(m, np.ndarray) for m in matrices)

    @property
    def depot_count(self) -> int:
        """Number of depots (the first locations)."""
        return len(self.fleet.depots)

    @property
    def location_count(self) -> int:
        """Depots plus orders."""
        return self.depot_count + len(self.orders)

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """Profiles the fleet uses, in first-seen order."""
        return tuple(dict.fromkeys(v.profile for v in self.fleet.vehicles))

    def order_location(self, index: int) -> int:
        """Location index of order ``index``."""
        return self.depot_count + index

    def depot_location(self, depot_id: str) -> int:
        """Location index of a depot."""
        for i, depot in enumerate(self.fleet.depots):
            if depot.id == depot_id:
                return i
        raise KeyError(depot_id)

    def start_location(self, vehicle: Vehicle) -> int:
        """Where ``vehicle`` starts."""
        return self.depot_location(vehicle.depot_id)

    def end_location(self, vehicle: Vehicle) -> int:
        """Where ``vehicle`` ends (its start depot unless told otherwise)."""
        return self.depot_location(vehicle.end_depot_id or vehicle.depot_id)

    def path(self, vehicle: Vehicle, orders: Iterable[int]) -> list[int]:
        """Location indices ``vehicle`` passes serving ``orders`` in turn.

        Parameters
        ----------
        vehicle
            The vehicle.
        orders
            Order indices, in visiting order.

        Returns
        -------
        list[int]
            Its start depot, each order's location, its end depot.
        """
        middle = [self.order_location(i) for i in orders]
        return [self.start_location(vehicle), *middle, self.end_location(vehicle)]

    def order_index(self) -> dict[str, int]:
        """Order id -> index."""
        return {o.id: i for i, o in enumerate(self.orders)}

    def can_serve(self, vehicle: Vehicle, order: Order) -> bool:
        """Whether ``vehicle`` has every skill ``order`` needs."""
        return order.skills <= vehicle.skills

    def drop_weight_m(self, index: int) -> int:
        """What leaving order ``index`` out weighs in metres (distance, vehicles objectives).

        Distance: its drop penalty at :data:`NOMINAL_CENTS_PER_KM`. Vehicles: that
        plus the weight of every vehicle in the fleet and one more, so no number of
        vehicles saved is worth an order.
        """
        metres = self.drop_penalty[index] * 1000 // NOMINAL_CENTS_PER_KM
        if self.objective is Objective.VEHICLES:
            metres += VEHICLE_WEIGHT_M * (len(self.fleet.vehicles) + 1)
        return metres

    def features(self) -> frozenset[Feature]:
        """The modelling features this problem uses."""
        used: set[Feature] = {Feature.CAPACITY}
        orders, vehicles = self.orders, self.fleet.vehicles
        if any(o.windows for o in orders):
            used.add(Feature.TIME_WINDOWS)
        if any(o.soft_windows for o in orders):
            used.add(Feature.SOFT_WINDOWS)
        if any(len(o.windows) > 1 for o in orders):
            used.add(Feature.MULTIPLE_WINDOWS)
        if any(v.shift.start > 0 or v.shift.end < 86_400 for v in vehicles):
            used.add(Feature.SHIFTS)
        if any(v.max_duration_s is not None for v in vehicles):
            used.add(Feature.MAX_DURATION)
        if any(v.break_ is not None for v in vehicles):
            used.add(Feature.BREAKS)
        if self.depot_count > 1 or any(v.end_depot_id not in (None, v.depot_id) for v in vehicles):
            used.add(Feature.MULTI_DEPOT)
        if len({(v.capacity, v.costs, v.profile) for v in vehicles}) > 1:
            used.add(Feature.MIXED_FLEET)
        if len(self.profiles) > 1:
            used.add(Feature.PROFILES)
        if any(o.kind is OrderKind.PICKUP and o.id not in self._paired_ids for o in orders):
            used.add(Feature.PICKUPS)
        if self._paired_ids:
            used.add(Feature.PAIRED)
        if any(o.skills for o in orders):
            used.add(Feature.SKILLS)
        if any(o.priority < 0 for o in orders):
            used.add(Feature.OPTIONAL)
        if self.locks:
            used.add(Feature.LOCKS)
        if self.warm_start:
            used.add(Feature.WARM_START)
        return frozenset(used)

    @property
    def _paired_ids(self) -> frozenset[str]:
        return frozenset(o.paired_pickup for o in self.orders if o.paired_pickup)

    def pairs(self) -> list[tuple[int, int]]:
        """(pickup index, delivery index) of every paired pickup-and-delivery."""
        index = self.order_index()
        return [(index[o.paired_pickup], i) for i, o in enumerate(self.orders) if o.paired_pickup]


def _check_pairs(orders: tuple[Order, ...]) -> None:
    """Refuse a pairing :meth:`Problem.pairs` cannot build (the pickup is not in the plan...).

    Raises
    ------
    InputError
        A delivery names a paired pickup that is not among ``orders`` or is not
        a pickup, a pickup names a paired pickup, or two deliveries share one pickup.
    """
    kinds = {o.id: o.kind for o in orders}
    paired: dict[str, object] = {}
    for order in orders:
        pickup = order.paired_pickup
        if not pickup:
            continue
        problem = pairing_problem(order.id, order.kind, pickup, kinds, paired)
        if problem is PairingProblem.ON_PICKUP:
            raise InputError(f"order {order.id} is a pickup and cannot have a paired pickup")
        if problem is PairingProblem.UNKNOWN:
            raise InputError(
                f"order {order.id} is paired with pickup {pickup}, which is not in this plan",
                hint="Plan the pickup and its delivery together, or remove the pairing.",
            )
        if problem is PairingProblem.NOT_PICKUP:
            raise InputError(f"order {order.id} is paired with {pickup}, which is not a pickup")
        if problem is PairingProblem.SHARED:
            raise InputError(
                f"orders {paired[pickup]} and {order.id} are both paired with pickup {pickup}"
            )


def default_penalty(order: Order) -> int:
    """Cost (cents) of leaving ``order`` out.

    Optional orders (priority below 0) are cheap to drop; each priority level
    above 0 doubles the cost.
    """
    if order.priority < 0:
        return OPTIONAL_DROP_PENALTY
    return int(DEFAULT_DROP_PENALTY * 2 ** min(order.priority, 10))
