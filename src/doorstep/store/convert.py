"""Between stored rows and the domain model (orders, depots, vehicles)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from doorstep.domain.fleet import UNLIMITED as DOMAIN_UNLIMITED
from doorstep.domain.fleet import Break, Costs, Fleet, Profile
from doorstep.domain.fleet import Depot as DomainDepot
from doorstep.domain.fleet import Vehicle as DomainVehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, OrderKind
from doorstep.domain.order import Order as DomainOrder
from doorstep.domain.time_window import TimeWindow
from doorstep.store import tables as t

UNLIMITED = 10**12
"""Capacity of a dimension a vehicle leaves at 0 (not limited)."""


def new_tracking_token() -> str:
    """An unguessable token for a customer's tracking link (128 random bits)."""
    return secrets.token_urlsafe(16)


def order_row(order: DomainOrder) -> t.Order:
    """A new stored order (status ``created``, a fresh tracking token)."""
    return t.Order(
        id=order.id,
        kind=order.kind.value,
        street=order.address.street,
        unit=order.address.unit,
        zip=order.address.zip,
        city=order.address.city,
        lat=order.location.lat,
        lon=order.location.lon,
        windows=[[w.start, w.end] for w in order.windows],
        service_s=order.service_s,
        parcels=order.demand.parcels,
        weight_g=order.demand.weight_g,
        volume_ml=order.demand.volume_ml,
        skills=sorted(order.skills),
        priority=order.priority,
        late_cost_per_hour=order.late_cost_per_hour,
        name=order.contact.name,
        phone=order.contact.phone,
        email=order.contact.email,
        notes=order.notes,
        paired_pickup=order.paired_pickup,
        customer_id=order.customer_id,
        tracking_token=new_tracking_token(),
        status="created",
    )


def to_order(row: t.Order) -> DomainOrder:
    """The domain order of a stored one (the API validates a request's with it too).

    Raises
    ------
    DomainError
        When the values make no valid order (the API names the field).
    """
    return DomainOrder(
        id=row.id,
        location=Location(row.lat, row.lon),
        kind=OrderKind(row.kind),
        address=Address(row.street, row.unit, row.zip, row.city),
        windows=tuple(sorted(TimeWindow(int(a), int(b)) for a, b in row.windows)),
        service_s=row.service_s,
        demand=Load(row.parcels, row.weight_g, row.volume_ml),
        skills=frozenset(row.skills),
        priority=row.priority,
        contact=Contact(row.name, row.phone, row.email),
        notes=row.notes,
        paired_pickup=row.paired_pickup,
        late_cost_per_hour=row.late_cost_per_hour,
        customer_id=row.customer_id,
    )


def to_break(row: t.Vehicle) -> Break | None:
    """A vehicle's break, or ``None`` unless all three break fields are given.

    Raises
    ------
    DomainError
        When the break does not fit in its window.
    """
    if row.break_start_s is None or row.break_end_s is None or row.break_s is None:
        return None
    return Break(TimeWindow(row.break_start_s, row.break_end_s), row.break_s)


def to_vehicle(row: t.Vehicle) -> DomainVehicle:
    """The domain vehicle of a stored one (a capacity of 0 means not limited).

    The API validates a new vehicle with it before storing it: a
    :class:`~doorstep.errors.DomainError` says the values make no valid vehicle.
    """
    return DomainVehicle(
        id=row.id,
        depot_id=row.depot_id,
        profile=Profile(row.profile),
        capacity=Load(
            row.capacity_parcels or UNLIMITED,
            row.capacity_g or UNLIMITED,
            row.capacity_ml or UNLIMITED,
        ),
        shift=TimeWindow(row.shift_start_s, row.shift_end_s),
        max_duration_s=row.max_duration_s,
        break_=to_break(row),
        costs=Costs(row.cost_fixed, row.cost_per_km, row.cost_per_hour),
        skills=frozenset(row.skills),
    )


def vehicle_row(vehicle: DomainVehicle) -> t.Vehicle:
    """A new stored vehicle from a domain one (an unlimited capacity is stored as 0).

    The inverse of :func:`to_vehicle`, for fleets read from a fleet file; the
    vehicle's ``end_depot_id`` is not stored (a stored vehicle ends where it starts).
    """

    def stored(amount: int) -> int:
        return 0 if amount >= DOMAIN_UNLIMITED else amount

    brk = vehicle.break_
    return t.Vehicle(
        id=vehicle.id,
        depot_id=vehicle.depot_id,
        profile=vehicle.profile.value,
        capacity_parcels=stored(vehicle.capacity.parcels),
        capacity_g=stored(vehicle.capacity.weight_g),
        capacity_ml=stored(vehicle.capacity.volume_ml),
        shift_start_s=vehicle.shift.start,
        shift_end_s=vehicle.shift.end,
        max_duration_s=vehicle.max_duration_s,
        break_start_s=None if brk is None else brk.window.start,
        break_end_s=None if brk is None else brk.window.end,
        break_s=None if brk is None else brk.duration_s,
        cost_fixed=vehicle.costs.fixed,
        cost_per_km=vehicle.costs.per_km,
        cost_per_hour=vehicle.costs.per_hour,
        skills=sorted(vehicle.skills),
    )


def to_fleet(depots: Sequence[t.Depot], vehicles: Sequence[t.Vehicle]) -> Fleet:
    """The domain fleet of stored depots and vehicles."""
    return Fleet(
        tuple(DomainDepot(d.id, Location(d.lat, d.lon), d.name) for d in depots),
        tuple(to_vehicle(v) for v in vehicles),
    )
