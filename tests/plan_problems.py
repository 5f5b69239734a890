"""Small hand-made planning problems for the evaluator and the backend conformance suite.

Points are on a plane in kilometres; travel takes 2 minutes per km (30 km/h)
for vans and 4 for bikes, distance is the Euclidean distance in metres. Every
shift starts at 08:00 unless a case says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from doorstep.domain import (
    Depot,
    Fleet,
    Load,
    Location,
    Order,
    OrderKind,
    Profile,
    TimeWindow,
    Vehicle,
)
from doorstep.domain.fleet import Break, Costs
from doorstep.plan.problem import Lock, Objective, Problem

H = 3600
M = 60
DEFAULT_COSTS = Costs(fixed=5000, per_km=50, per_hour=2000)
MINUTES_PER_KM = {Profile.VAN: 2, Profile.CAR: 2, Profile.BIKE: 4, Profile.FOOT: 12}


def at(x: float, y: float) -> Location:
    """A point x km east and y km north (stored as lon/lat, only used for maps)."""
    return Location(60 + y / 111, 25 + x / 55)


def _xy(loc: Location) -> tuple[float, float]:
    return ((loc.lon - 25) * 55, (loc.lat - 60) * 111)


def order(
    oid: str,
    x: float,
    y: float,
    *,
    windows: Sequence[tuple[int, int]] = (),
    parcels: int = 1,
    service_min: int = 5,
    kind: OrderKind = OrderKind.DELIVERY,
    skills: frozenset[str] = frozenset(),
    priority: int = 0,
    paired_pickup: str | None = None,
) -> Order:
    return Order(
        oid,
        at(x, y),
        kind=kind,
        windows=tuple(TimeWindow(a, b) for a, b in windows),
        service_s=service_min * M,
        demand=Load(parcels, parcels * 1000, parcels * 1000),
        skills=skills,
        priority=priority,
        paired_pickup=paired_pickup,
    )


def van(
    vid: str,
    depot: str = "D",
    *,
    parcels: int = 100,
    shift: tuple[int, int] = (8 * H, 18 * H),
    profile: Profile = Profile.VAN,
    max_duration_s: int | None = None,
    break_: Break | None = None,
    skills: frozenset[str] = frozenset(),
    costs: Costs = DEFAULT_COSTS,
) -> Vehicle:
    return Vehicle(
        vid,
        depot,
        profile=profile,
        capacity=Load(parcels, parcels * 1000, parcels * 1000),
        shift=TimeWindow(*shift),
        max_duration_s=max_duration_s,
        break_=break_,
        costs=costs,
        skills=skills,
    )


def problem(
    orders: Sequence[Order],
    vehicles: Sequence[Vehicle],
    depots: Sequence[tuple[str, float, float]] = (("D", 0, 0),),
    *,
    objective: Objective = Objective.COST,
    locks: Sequence[Lock] = (),
    warm_start: dict[str, tuple[str, ...]] | None = None,
) -> Problem:
    fleet = Fleet(tuple(Depot(d, at(x, y)) for d, x, y in depots), tuple(vehicles))
    points = [_xy(d.location) for d in fleet.depots] + [_xy(o.location) for o in orders]
    km = np.array([[math.dist(a, b) for b in points] for a in points])
    durations = {}
    distances = {}
    for profile in {v.profile for v in vehicles}:
        durations[profile] = np.rint(km * MINUTES_PER_KM[profile] * M).astype(np.int64)
        distances[profile] = np.rint(km * 1000).astype(np.int64)
    return Problem(
        tuple(orders),
        fleet,
        durations,
        distances,
        objective=objective,
        locks=tuple(locks),
        warm_start=warm_start or {},
    )
