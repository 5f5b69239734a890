"""The day as dispatch sees it: published routes, their stops and parcels, incidents, requests.

Plain frozen data, free of I/O: the service builds it from the store
(:func:`doorstep.store.queries.dispatch.day_state`), a simulator or a test
builds it by hand, and :func:`doorstep.dispatch.exceptions.detect` reads it.
Clock times are seconds after midnight of the day (the plan's clock, as in
:mod:`doorstep.store.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StopNow:
    """One stop of a published route and what is known of it."""

    order_id: str
    seq: int
    leg_s: int
    """Planned driving time from the previous stop (or the depot)."""
    service_s: int
    planned_arrival_s: int
    eta_s: int
    window_start_s: int | None = None
    told_s: int | None = None
    """The ETA the customer was last told (None: the planned arrival)."""
    window_end_s: int | None = None
    state: str = "pending"
    """pending, arrived, done or failed (see :func:`doorstep.dispatch.state.stop_state`)."""
    order_status: str = "planned"
    arrived_s: int | None = None
    finished_s: int | None = None
    parcel_ids: tuple[str, ...] = ()
    loaded: tuple[str, ...] = ()
    """The parcels scanned ``loaded`` or ``out_for_delivery`` on the day."""
    failure_reason: str | None = None
    """The reason of the latest failed attempt at this stop, if it failed."""
    attempt: int = 1
    """Which attempt at the order this stop is (1 for a first delivery)."""
    location: tuple[float, float] | None = None
    """``(lat, lon)`` of the stop, for playbooks that need it."""
    kind: str = "delivery"
    """delivery or pickup (a pickup's parcels are not loaded at the depot)."""


@dataclass(frozen=True, slots=True)
class RouteNow:
    """A published route (its current version) and its stops in order."""

    id: str
    vehicle_id: str
    state: str
    """published, in_progress or completed."""
    start_s: int
    """Planned departure from the depot."""
    end_s: int
    """Planned return to the depot."""
    shift_end_s: int
    stops: tuple[StopNow, ...]
    driver_id: str | None = None
    version: int = 1
    departed_s: int | None = None
    """First ``out_for_delivery`` scan of the route's parcels on the day, if any."""
    incident: dict[str, Any] | None = None
    """An open breakdown or accident: ``{"id", "kind", "at_s", "note"}``."""


@dataclass(frozen=True, slots=True)
class RequestNow:
    """An open customer or shop request about one order."""

    id: str
    order_id: str
    kind: str
    """time_window, another_day, safe_place, neighbour or address."""
    source: str
    details: dict[str, Any] = field(default_factory=dict)
    route_id: str | None = None
    """The published route the order is on, if any."""


@dataclass(frozen=True, slots=True)
class DayState:
    """Everything :func:`~doorstep.dispatch.exceptions.detect` needs about one day."""

    day: str
    """ISO date."""
    routes: tuple[RouteNow, ...] = ()
    requests: tuple[RequestNow, ...] = ()
    timezone: str = "Europe/Helsinki"
    """The zone of the clock times (to read a ``datetime`` ``now``)."""

    def route(self, route_id: str) -> RouteNow | None:
        """The route with id ``route_id``, or None."""
        return next((r for r in self.routes if r.id == route_id), None)
