"""The dispatcher's monitor on a simulated day: the same exception detection as real days.

Every ``monitor_every_s`` of simulated time, :func:`day_state` turns what the
simulated vans have done so far into the :class:`~doorstep.dispatch.day.DayState`
the service builds from its store, and :func:`doorstep.dispatch.exceptions.detect`
(the code the service's monitor runs) reads it. Each cause is recorded once,
when first seen (:class:`Seen`), so a run reports which exceptions a dispatcher
would have had, when, and how many; the KPIs of the run are unchanged by it.

A van's stops are shown in the order it takes them (done, current, pending),
numbered in that order as the service numbers a new route version; what each
has come to is kept per visit (:attr:`~doorstep.simulate.plan_input.SimStop.visit_key`),
so a same-day retry is a second stop of the order, pending while the first
is failed, with its ``attempt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from doorstep.dispatch.day import DayState, RouteNow, StopNow
from doorstep.simulate.plan_input import SimRoute, SimStop, parcel_ids


@dataclass(frozen=True, slots=True)
class Seen:
    """An exception the monitor found on a simulated day, at its first tick."""

    kind: str
    cause: str
    severity: str
    at_s: int
    route_id: str | None
    order_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Progress:
    """What one simulated van has done so far (clock seconds)."""

    route: SimRoute
    stops: list[SimStop]
    """The stops in the order the van takes them (done, current, pending)."""
    departed_s: int | None = None
    arrived: dict[str, int] = field(default_factory=dict)
    """Visit key -> arrival (as ``finished`` and ``failed``)."""
    finished: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    repair_since_s: int | None = None
    back_s: int | None = None
    version: int = 0
    """Bumped by the van at every change the monitor could see."""
    shown: tuple[int, RouteNow] | None = None
    """The :class:`RouteNow` last made, and the version it was made at."""
    known: dict[str, tuple[tuple[Any, ...], StopNow]] = field(default_factory=dict)
    """Each visit's last :class:`StopNow` and what it was made from (most do not change
    between two looks: they are made again only when they do)."""


_ORDER_STATUS = {"done": "delivered", "failed": "failed_attempt"}
"""The order status the service shows for a stop's state (others: out for delivery)."""


def _stop(stop: SimStop, seq: int, progress: Progress) -> StopNow:
    visit = stop.visit_key
    key = (
        id(stop),
        seq,
        progress.arrived.get(visit),
        progress.finished.get(visit),
        visit in progress.failed,
        progress.departed_s is None,
    )
    hit = progress.known.get(visit)
    if hit is not None and hit[0] == key:
        return hit[1]
    made = _made(stop, seq, progress)
    progress.known[visit] = (key, made)
    return made


def _made(stop: SimStop, seq: int, progress: Progress) -> StopNow:
    oid, visit = stop.order_id, stop.visit_key
    done = visit in progress.finished
    state = "pending"
    if done:
        state = "failed" if visit in progress.failed else "done"
    elif visit in progress.arrived:
        state = "arrived"
    parcels = tuple(parcel_ids(oid, stop.parcels))
    return StopNow(
        order_id=oid,
        seq=seq,
        leg_s=stop.leg_s,
        service_s=stop.service_s,
        planned_arrival_s=stop.planned_arrival_s,
        eta_s=stop.planned_arrival_s,
        window_start_s=stop.window_start_s,
        window_end_s=stop.window_end_s,
        state=state,
        order_status=_ORDER_STATUS.get(state, "out_for_delivery"),
        arrived_s=progress.arrived.get(visit),
        finished_s=progress.finished.get(visit),
        parcel_ids=parcels,
        loaded=parcels if progress.departed_s is not None else (),
        failure_reason="not_home" if state == "failed" else None,
        attempt=stop.attempt,
        location=(stop.lat, stop.lon),
        kind=stop.kind,
    )


def _route(progress: Progress, shift_end_s: int) -> RouteNow:
    """The van's route as the service would show it now."""
    route = progress.route
    state = "published"
    if progress.back_s is not None:
        state = "completed"
    elif progress.departed_s is not None:
        state = "in_progress"
    incident = None
    if progress.repair_since_s is not None:
        incident = {
            "id": f"sim-{route.vehicle_id}-{progress.repair_since_s}",
            "kind": "breakdown",
            "at_s": progress.repair_since_s,
            "note": "simulated breakdown",
        }
    return RouteNow(
        id=route.vehicle_id,
        vehicle_id=route.vehicle_id,
        state=state,
        start_s=route.start_s,
        end_s=route.end_s,
        shift_end_s=shift_end_s,
        stops=tuple(_stop(stop, k, progress) for k, stop in enumerate(progress.stops, 1)),
        departed_s=progress.departed_s,
        incident=incident,
    )


def day_state(day: str, vans: Sequence[Progress], shift_end_s: int, timezone: str) -> DayState:
    """The day as the service's store would show it, from the simulated vans' progress.

    Parameters
    ----------
    day
        ISO date.
    vans
        Each route's progress.
    shift_end_s
        The latest a van may be back (the plan gives no shift: the day's last planned return
        plus the slack the plan's caller allows).
    timezone
        The zone of the clock.

    Returns
    -------
    DayState
        Routes ``published`` until their van leaves, ``in_progress`` until it is
        back, then ``completed``; a van under repair carries an open breakdown.
    """
    routes = []
    for progress in vans:
        shown = progress.shown
        if shown is not None and shown[0] == progress.version:
            routes.append(shown[1])
            continue
        made = _route(progress, shift_end_s)
        progress.shown = (progress.version, made)
        routes.append(made)
    return DayState(day, tuple(routes), (), timezone)
