"""Build a day in code and plan it: the library's :class:`Model`, like ``pyvrp.Model``.

::

    m = Model()
    depot = m.add_depot(60.1662, 24.9528, id="HUB")
    m.add_vehicle(depot, capacity=40, shift=("08:00", "16:00"))
    m.add_order(60.1699, 24.9384, windows=[("09:00", "12:00")])
    result = m.solve(time_limit_s=2, max_iterations=300)

Every ``add_*`` builds the domain object at once, so an impossible value (a
window that ends before it starts, a negative service time) raises a
:class:`~doorstep.errors.DomainError` on the line that gave it; a reference
that does not exist (an unknown depot, a duplicate id) raises an
:class:`~doorstep.errors.InputError`.

Travel times come from, in this order: matrices given with
:meth:`Model.set_matrices`; the ``provider`` passed to :meth:`Model.solve`
(e.g. :class:`~doorstep.network.OsmProvider` for the bundled Helsinki roads);
otherwise straight-line estimates (:class:`~doorstep.network.StraightLineProvider`),
which work anywhere and instantly but know no roads.

:meth:`Model.solve` plans through the one pipeline every door uses
(:func:`~doorstep.plan.pipeline.plan_problem`), so a model and the same orders
in files give the same plan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import UNLIMITED, Break, Costs, Depot, Fleet, Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, Order, OrderKind
from doorstep.domain.plan import Route, Unassigned
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError, InputError
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.evaluator import Kpis, Violation
from doorstep.plan.library import frozen
from doorstep.plan.pipeline import PlanOptions, build_problem, canonical, plan_problem
from doorstep.plan.problem import IntMatrix, Lock, Objective, Problem
from doorstep.plan.result import DayPlan
from doorstep.units import format_clock, parse_clock

if TYPE_CHECKING:
    from doorstep.network.provider import TravelTimeProvider

Clock = int | str
"""A time of day: seconds after midnight, or ``"HH:MM"`` (hours past 23 for the next day)."""

SUMMARY_STOPS = 10
"""A route's first stops listed by :meth:`Result.summary`."""

WindowLike = TimeWindow | tuple[Clock, Clock]
"""A time window, or its two ends."""


class Result(DayPlan):
    """A planned day (a :class:`~doorstep.plan.result.DayPlan`) with shortcuts for notebooks.

    Everything a ``DayPlan`` has (``problem``, ``evaluation``, ``backend``,
    ``runtime_s``, ``geometry``...) is here, and it can be handed to every
    output writer that takes a ``DayPlan``.
    """

    __slots__ = ()

    @classmethod
    def of(cls, plan: DayPlan) -> Result:
        """The :class:`Result` of a ``DayPlan`` (e.g. from :func:`doorstep.plan_day`).

        Parameters
        ----------
        plan
            The planned day.

        Returns
        -------
        Result
            The same plan, with the shortcuts.
        """
        if isinstance(plan, cls):
            return plan
        return cls(**{f.name: getattr(plan, f.name) for f in fields(DayPlan)})

    @property
    def routes(self) -> tuple[Route, ...]:
        """The routes, each with its visits' times and loads."""
        return self.evaluation.plan.routes

    @property
    def unassigned(self) -> tuple[Unassigned, ...]:
        """Orders left out, each with a ``code`` and a ``reason`` for people."""
        return self.evaluation.plan.unassigned

    @property
    def violations(self) -> tuple[Violation, ...]:
        """Broken constraints (empty for a feasible plan)."""
        return self.evaluation.violations

    @property
    def kpis(self) -> Kpis:
        """Distance, hours, orders served, costs and more."""
        return self.evaluation.kpis

    @property
    def feasible(self) -> bool:
        """True when the plan breaks no constraint (orders may still be left out)."""
        return self.evaluation.feasible

    @property
    def cost(self) -> float:
        """What the routes cost in currency units: vehicle costs plus lateness costs."""
        return self.evaluation.kpis.cost

    def sequences(self) -> dict[str, tuple[str, ...]]:
        """Vehicle id -> order ids in visiting order, for every route.

        Returns
        -------
        dict
            The plan in the form :func:`doorstep.evaluate` and ``warm_start`` take.
        """
        return {r.vehicle_id: tuple(v.order_id for v in r.visits) for r in self.routes}

    def summary(self) -> str:
        """The routes, KPIs, violations and left-out orders as text for people.

        Returns
        -------
        str
            Several lines, one per route, then one per violation and left-out order.
        """
        k = self.kpis
        lines = [
            f"{k.served}/{k.orders} orders on {k.vehicles_used} routes, {k.distance_km:.1f} km, "
            f"cost {k.cost:.2f} ({self.backend}, {self.runtime_s:.1f} s)"
        ]
        for r in self.routes:
            ids = [v.order_id for v in r.visits]
            more = len(ids) - SUMMARY_STOPS
            stops = " ".join(ids[:SUMMARY_STOPS]) + (f" ... (+{more})" if more > 0 else "")
            lines.append(
                f"  {r.vehicle_id} {format_clock(r.start_s)}-{format_clock(r.end_s)} "
                f"{r.distance_m / 1000:.1f} km, {len(ids)} stops: {stops}"
            )
        lines += [f"  violation {v.code}: {v.message}" for v in self.violations]
        lines += [f"  left out {u.order_id} ({u.code}): {u.reason}" for u in self.unassigned]
        return "\n".join(lines)


def _seconds(value: Clock, what: str) -> int:
    if isinstance(value, bool):
        raise DomainError(f"{what}: {value!r} is not a time")
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        return parse_clock(value)
    except (ValueError, TypeError) as exc:
        raise DomainError(f"{what}: {value!r} is not a time (HH:MM or seconds)") from exc


def _window(value: WindowLike, what: str) -> TimeWindow:
    if isinstance(value, TimeWindow):
        return value
    try:
        start, end = value
    except (TypeError, ValueError) as exc:
        raise DomainError(f"{what}: {value!r} is not a time window (start, end)") from exc
    return TimeWindow(_seconds(start, what), _seconds(end, what))


def _load(value: Load | int | None, default: Load, what: str) -> Load:
    if value is None:
        return default
    if isinstance(value, Load):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DomainError(f"{what}: give a Load or a whole number of parcels, not {value!r}")
    if value < 0:
        raise DomainError(f"{what}: quantities cannot be negative ({value})")
    return Load(int(value), default.weight_g, default.volume_ml)


def _location(lat: float, lon: float, what: str) -> Location:
    try:
        location = Location(float(lat), float(lon))
    except (TypeError, ValueError) as exc:
        raise DomainError(f"{what}: ({lat!r}, {lon!r}) are not coordinates in degrees") from exc
    if not location.is_geographic:
        raise DomainError(
            f"{what}: ({lat}, {lon}) is not a WGS84 point (latitude, longitude in degrees); "
            "are latitude and longitude swapped?"
        )
    return location


def _matrix(values: npt.ArrayLike, what: str) -> IntMatrix:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be a square matrix of numbers") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise InputError(f"{what} must be a square matrix, got shape {array.shape}")
    if np.isnan(array).any():
        raise InputError(f"{what} holds NaN; give a number (or inf for no path)")
    if (array < 0).any():
        raise InputError(f"{what} holds negative values")
    out: IntMatrix = np.rint(np.minimum(array, UNREACHABLE)).astype(np.int64)
    out.setflags(write=False)
    return out


class Model:
    """A day built in code: depots, vehicles and orders, then a plan.

    Parameters
    ----------
    objective
        What the planner minimises (after serving every order it can).

    Examples
    --------
    >>> m = Model()
    >>> hub = m.add_depot(60.1662, 24.9528, id="HUB")
    >>> van = m.add_vehicle(hub, capacity=20)
    >>> order = m.add_order(60.1699, 24.9384, windows=[("09:00", "12:00")])
    >>> m.problem().location_count
    2
    """

    def __init__(self, objective: Objective | str = Objective.COST) -> None:
        try:
            self.objective = Objective(objective)
        except ValueError as exc:
            names = ", ".join(o.value for o in Objective)
            raise InputError(f"objective {objective!r} is not one of {names}") from exc
        self._depots: list[Depot] = []
        self._vehicles: list[Vehicle] = []
        self._orders: list[Order] = []
        self._locks: list[Lock] = []
        self._matrices: dict[Profile, tuple[IntMatrix, IntMatrix]] = {}

    @property
    def depots(self) -> tuple[Depot, ...]:
        """The depots, in the order they were added."""
        return tuple(self._depots)

    @property
    def vehicles(self) -> tuple[Vehicle, ...]:
        """The vehicles, in the order they were added."""
        return tuple(self._vehicles)

    @property
    def orders(self) -> tuple[Order, ...]:
        """The orders, in the order they were added."""
        return tuple(self._orders)

    @property
    def locations(self) -> tuple[Location, ...]:
        """Depots then orders, in the order added: the rows of :meth:`set_matrices`."""
        return tuple(d.location for d in self._depots) + tuple(o.location for o in self._orders)

    def _new_id(self, given: str | None, prefix: str, taken: Iterable[str]) -> str:
        used = set(taken)
        if given is not None:
            if not isinstance(given, str) or not given.strip():
                raise InputError(f"an id must be a non-empty string, not {given!r}")
            if given in used:
                raise InputError(f"id {given!r} is already used by another {prefix}")
            return given
        n = len(used) + 1
        while f"{prefix}-{n}" in used:
            n += 1
        return f"{prefix}-{n}"

    def add_depot(self, lat: float, lon: float, *, id: str | None = None, name: str = "") -> Depot:
        """Add a depot, where vehicles start and end their day.

        Parameters
        ----------
        lat, lon
            WGS84 degrees.
        id
            A unique id; default ``depot-N``.
        name
            For people.

        Returns
        -------
        Depot
            The depot added.

        Raises
        ------
        DomainError
            The coordinates are not a WGS84 point.
        InputError
            The id is already used.
        """
        depot_id = self._new_id(id, "depot", (d.id for d in self._depots))
        depot = Depot(depot_id, _location(lat, lon, f"depot {depot_id}"), name)
        self._depots.append(depot)
        return depot

    def add_vehicle(
        self,
        depot: Depot | str,
        *,
        id: str | None = None,
        profile: Profile | str = Profile.VAN,
        capacity: Load | int | None = None,
        shift: WindowLike | None = None,
        max_duration_s: int | None = None,
        break_: Break | None = None,
        costs: Costs | None = None,
        skills: Iterable[str] = (),
        end_depot: Depot | str | None = None,
    ) -> Vehicle:
        """Add a vehicle (with its driver's shift) based at a depot.

        Parameters
        ----------
        depot
            Its start depot (a :class:`Depot` of this model, or its id).
        id
            A unique id; default ``vehicle-N``.
        profile
            How it moves: ``van`` (default), ``car``, ``bike`` or ``foot``.
        capacity
            A :class:`Load` (taken as is: 0 in a dimension carries nothing), or a
            number of parcels with weight and volume unlimited; default unlimited.
        shift
            When it may leave and must be back, e.g. ``("08:00", "16:00")``;
            default the whole day.
        max_duration_s
            Longest route, depot to depot; default the whole shift.
        break_
            The driver's break.
        costs
            Cents: fixed when used, per km, per hour on duty; default free.
        skills
            What it (and its driver) can do, e.g. ``{"cold"}``.
        end_depot
            Where it ends; default its start depot.

        Returns
        -------
        Vehicle
            The vehicle added.

        Raises
        ------
        DomainError
            An impossible shift, break, duration, capacity or cost.
        InputError
            An unknown depot or profile, or the id is already used.
        """
        vehicle_id = self._new_id(id, "vehicle", (v.id for v in self._vehicles))
        what = f"vehicle {vehicle_id}"
        try:
            moves = Profile(profile)
        except ValueError as exc:
            names = ", ".join(p.value for p in Profile)
            raise InputError(f"{what}: profile {profile!r} is not one of {names}") from exc
        unlimited = Load(UNLIMITED, UNLIMITED, UNLIMITED)
        vehicle = Vehicle(
            id=vehicle_id,
            depot_id=self._depot_id(depot, what),
            profile=moves,
            capacity=_load(capacity, unlimited, f"{what} capacity"),
            shift=_window(shift, f"{what} shift") if shift is not None else TimeWindow(0, 86_400),
            max_duration_s=max_duration_s,
            break_=break_,
            costs=costs or Costs(),
            skills=frozenset([skills] if isinstance(skills, str) else skills),
            end_depot_id=None if end_depot is None else self._depot_id(end_depot, what),
        )
        self._vehicles.append(vehicle)
        return vehicle

    def _depot_id(self, depot: Depot | str, what: str) -> str:
        depot_id = depot.id if isinstance(depot, Depot) else depot
        if not any(d.id == depot_id for d in self._depots):
            raise InputError(f"{what}: depot {depot_id!r} is not in the model; add_depot() first")
        return depot_id

    def add_order(
        self,
        lat: float,
        lon: float,
        *,
        id: str | None = None,
        kind: OrderKind | str = OrderKind.DELIVERY,
        demand: Load | int = 1,
        windows: Sequence[WindowLike] = (),
        service_s: int = 0,
        skills: Iterable[str] = (),
        priority: int = 0,
        late_cost_per_hour: int = 0,
        paired_pickup: Order | str | None = None,
        address: Address | None = None,
        contact: Contact | None = None,
        notes: str = "",
    ) -> Order:
        """Add an order: a stop to serve.

        Parameters
        ----------
        lat, lon
            Where the vehicle stops, in WGS84 degrees.
        id
            A unique id; default ``order-N``.
        kind
            ``delivery`` (default) or ``pickup`` (a return).
        demand
            A :class:`Load`, or a number of parcels (default 1) with no weight or volume.
        windows
            Disjoint windows, earliest first, e.g. ``[("09:00", "12:00")]``; none: any time.
        service_s
            Seconds at the stop.
        skills
            What the vehicle must be able to do, e.g. ``{"cold"}``.
        priority
            0 is normal, higher is more important, below 0 is optional.
        late_cost_per_hour
            Cents per hour late; 0 (default) makes the windows hard.
        paired_pickup
            For a delivery collected first elsewhere by the same vehicle: that pickup.
        address, contact, notes
            For people (manifests).

        Returns
        -------
        Order
            The order added.

        Raises
        ------
        DomainError
            Impossible windows, service time, demand or lateness cost.
        InputError
            An unknown kind or paired pickup, or the id is already used.
        """
        order_id = self._new_id(id, "order", (o.id for o in self._orders))
        what = f"order {order_id}"
        try:
            order_kind = OrderKind(kind)
        except ValueError as exc:
            raise InputError(f"{what}: kind {kind!r} is neither delivery nor pickup") from exc
        pickup = paired_pickup.id if isinstance(paired_pickup, Order) else paired_pickup
        if pickup is not None and not any(
            o.id == pickup and o.kind is OrderKind.PICKUP for o in self._orders
        ):
            raise InputError(f"{what}: paired pickup {pickup!r} is not a pickup in the model")
        order = Order(
            id=order_id,
            location=_location(lat, lon, what),
            kind=order_kind,
            address=address or Address(),
            windows=tuple(_window(w, what) for w in windows),
            service_s=service_s,
            demand=_load(demand, Load(), f"{what} demand"),
            skills=frozenset([skills] if isinstance(skills, str) else skills),
            priority=priority,
            contact=contact or Contact(),
            notes=notes,
            paired_pickup=pickup,
            late_cost_per_hour=late_cost_per_hour,
        )
        self._orders.append(order)
        return order

    def add_lock(
        self, order: Order | str, vehicle: Vehicle | str, position: int | None = None
    ) -> Lock:
        """Pin an order to a vehicle (and, with ``position``, to a place in its route).

        Parameters
        ----------
        order, vehicle
            Of this model, or their ids.
        position
            0 = first stop; the locks of a vehicle with positions form its first stops.

        Returns
        -------
        Lock
            The lock added.

        Raises
        ------
        InputError
            An unknown order or vehicle.
        """
        order_id = order.id if isinstance(order, Order) else order
        vehicle_id = vehicle.id if isinstance(vehicle, Vehicle) else vehicle
        if not any(o.id == order_id for o in self._orders):
            raise InputError(f"lock: order {order_id!r} is not in the model")
        if not any(v.id == vehicle_id for v in self._vehicles):
            raise InputError(f"lock: vehicle {vehicle_id!r} is not in the model")
        lock = Lock(order_id, vehicle_id, position)
        self._locks.append(lock)
        return lock

    def set_matrices(
        self, profile: Profile | str, durations: npt.ArrayLike, distances: npt.ArrayLike
    ) -> None:
        """Bring your own travel times and distances for vehicles of ``profile``.

        Rows and columns follow :attr:`locations`: depots first, then orders,
        each in the order added. Once any profile has matrices, every profile
        the fleet uses needs them (no provider is asked).

        Parameters
        ----------
        profile
            The vehicles they are for (``van``, ``car``, ``bike``, ``foot``).
        durations
            Seconds from row to column; ``inf`` where there is no path.
        distances
            Metres from row to column; ``inf`` where there is no path.

        Raises
        ------
        InputError
            Not square matrices of non-negative numbers, or not the same shape.
            (The size is checked against the locations by :meth:`problem`.)
        """
        try:
            moves = Profile(profile)
        except ValueError as exc:
            raise InputError(f"profile {profile!r} is not one of car, van, bike, foot") from exc
        d = _matrix(durations, f"durations ({moves.value})")
        m = _matrix(distances, f"distances ({moves.value})")
        if d.shape != m.shape:
            raise InputError(f"durations {d.shape} and distances {m.shape} differ in shape")
        self._matrices[moves] = (d, m)

    def _fleet(self) -> Fleet:
        if not self._vehicles:
            raise InputError("the model has no vehicle; add_vehicle() first")
        return Fleet(tuple(self._depots), tuple(self._vehicles))

    def problem(self, provider: TravelTimeProvider | None = None) -> Problem:
        """Freeze the model into an immutable planning :class:`Problem`.

        Orders and vehicles are taken in id order, as every door plans them;
        depots no vehicle uses are left out.

        Parameters
        ----------
        provider
            Travel times when no matrices were set; default straight-line estimates.

        Returns
        -------
        Problem
            A frozen problem with read-only numpy matrices; adding to the model
            afterwards does not change it.

        Raises
        ------
        InputError
            No vehicle, matrices missing for a profile the fleet uses or of the
            wrong size, a provider given together with matrices, or a lock the
            problem cannot hold.
        """
        orders, fleet = canonical(self._orders, self._fleet())
        if not self._matrices:
            if provider is None:
                from doorstep.network.straight_line import StraightLineProvider

                provider = StraightLineProvider()
            built = build_problem(
                orders, fleet, provider, objective=self.objective, locks=self._locks
            )
            return frozen(built)
        if provider is not None:
            raise InputError("the model has its own matrices; give no provider, or set no matrices")
        n = len(self._depots) + len(self._orders)
        depot_at = {d.id: i for i, d in enumerate(self._depots)}
        order_at = {o.id: len(self._depots) + i for i, o in enumerate(self._orders)}
        keep = [depot_at[d.id] for d in fleet.depots] + [order_at[o.id] for o in orders]
        durations: dict[Profile, IntMatrix] = {}
        distances: dict[Profile, IntMatrix] = {}
        for profile in dict.fromkeys(v.profile for v in fleet.vehicles):
            if profile not in self._matrices:
                raise InputError(
                    f"no matrices for profile {profile.value}, which a vehicle uses",
                    hint="Call set_matrices() for every profile of the fleet.",
                )
            dur, dist = self._matrices[profile]
            if dur.shape != (n, n):
                raise InputError(
                    f"the {profile.value} matrices are {dur.shape[0]} x {dur.shape[1]}, but the "
                    f"model has {n} locations ({len(self._depots)} depots + "
                    f"{len(self._orders)} orders)"
                )
            durations[profile] = dur[np.ix_(keep, keep)]
            distances[profile] = dist[np.ix_(keep, keep)]
        return frozen(
            Problem(
                orders=orders,
                fleet=fleet,
                durations=durations,
                distances=distances,
                objective=self.objective,
                locks=tuple(self._locks),
                source="user matrices",
            )
        )

    def data(self, provider: TravelTimeProvider | None = None) -> Problem:
        """The same as :meth:`problem` (the name ``pyvrp.Model`` uses).

        Parameters
        ----------
        provider
            As in :meth:`problem`.

        Returns
        -------
        Problem
            The frozen problem.
        """
        return self.problem(provider)

    def solve(
        self,
        time_limit_s: float = 10.0,
        seed: int = 0,
        backend: str | None = None,
        max_iterations: int | None = None,
        provider: TravelTimeProvider | None = None,
        *,
        with_geometry: bool = True,
    ) -> Result:
        """Plan the model: freeze it, solve, explain what is left out, evaluate.

        Parameters
        ----------
        time_limit_s
            Seconds of search.
        seed
            Random seed (with ``max_iterations``, the same plan on every machine).
        backend
            ``pyvrp``, ``ortools`` or ``vroom``; default chosen from the day's features.
        max_iterations
            Stop the search after this many iterations too.
        provider
            Travel times when no matrices were set; default straight-line
            estimates. ``doorstep.network.OsmProvider()`` gives the bundled
            Helsinki roads.
        with_geometry
            Draw each route's polyline with the provider (for maps).

        Returns
        -------
        Result
            Routes, KPIs, violations, and a reason for every order left out.

        Raises
        ------
        InputError
            As :meth:`problem`, or an unknown backend name.
        """
        if not math.isfinite(time_limit_s) or time_limit_s <= 0:
            raise InputError(f"time_limit_s must be a positive number of seconds: {time_limit_s}")
        if provider is None and not self._matrices:
            from doorstep.network.straight_line import StraightLineProvider

            provider = StraightLineProvider()
        problem = self.problem(provider)
        options = PlanOptions(
            objective=self.objective,
            time_limit_s=time_limit_s,
            seed=seed,
            max_iterations=max_iterations,
            backend=backend,
            locks=tuple(self._locks),
            with_geometry=with_geometry,
        )
        return Result.of(plan_problem(problem, options, provider=provider))
