"""Exceptions of the day, detected from its state and the clock: pure functions.

:func:`detect` is the one place the rules live: the service's monitor, the CLI
and a simulator call it with a :class:`~doorstep.dispatch.day.DayState` and a
moment, and get every exception that holds at that moment. Each has a
``cause``: the same cause seen on the next tick is the same exception (the
monitor keeps one open exception per cause and resolves it when the cause is
no longer detected).

Types and triggers (thresholds in :class:`Thresholds`, from the service's
settings):

``late_departure``
    A published route not out for delivery ``late_departure_min`` after its
    planned start.
``running_late``
    Projected from the latest scans, the remaining plan and the clock, one or
    more pending stops start more than ``running_late_min`` after their window
    closes, or the route is back more than that after the shift ends.
``missed_scan``
    A parcel of a departed route never scanned loaded or out for delivery; a
    stop passed (a later stop scanned) without a scan; a parcel delivered that
    was never loaded; no terminal scan by the end of the shift. Each waits
    ``missed_scan_grace_min`` first.
``vehicle_unavailable``
    A breakdown or accident reported on a route with stops left.
``failed_attempt``
    A stop that failed and whose order waits for another attempt.
``prolonged_stop``
    A stop reached but not finished after ``prolonged_stop_factor`` times its
    service time (and at least ``prolonged_stop_min`` more).
``customer_request``
    An open request of the customer or the shop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from doorstep.dispatch.day import DayState, RouteNow, StopNow
from doorstep.dispatch.eta import StopTimes, estimate
from doorstep.units import format_clock


class ExceptionKind(StrEnum):
    """What went wrong."""

    LATE_DEPARTURE = "late_departure"
    RUNNING_LATE = "running_late"
    MISSED_SCAN = "missed_scan"
    VEHICLE_UNAVAILABLE = "vehicle_unavailable"
    FAILED_ATTEMPT = "failed_attempt"
    PROLONGED_STOP = "prolonged_stop"
    CUSTOMER_REQUEST = "customer_request"


class Severity(StrEnum):
    """How soon a dispatcher should look: high first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The triggers' parameters, in minutes (see the module docstring)."""

    late_departure_min: float = 15.0
    running_late_min: float = 5.0
    missed_scan_grace_min: float = 15.0
    prolonged_stop_factor: float = 3.0
    prolonged_stop_min: float = 10.0

    @classmethod
    def of(cls, settings: Any) -> Thresholds:
        """The thresholds of a :class:`~doorstep.settings.Settings` (or anything alike)."""
        return cls(
            late_departure_min=settings.late_departure_min,
            running_late_min=settings.running_late_min,
            missed_scan_grace_min=settings.missed_scan_grace_min,
            prolonged_stop_factor=settings.prolonged_stop_factor,
            prolonged_stop_min=settings.prolonged_stop_min,
        )


@dataclass(frozen=True, slots=True)
class DayException:
    """One exception as detected at a moment."""

    kind: ExceptionKind
    cause: str
    """Identifies the exception across ticks: ``kind:route[:detail]``."""
    severity: Severity
    sentence: str
    """What happened and what it means, for a dispatcher."""
    route_id: str | None = None
    order_ids: tuple[str, ...] = ()
    parcel_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A pending stop projected to miss its window."""

    order_id: str
    eta_s: int
    late_s: int
    """Seconds between the window's close and the projected start (> 0)."""


def clock_of(state: DayState, now: datetime | int) -> int:
    """``now`` as seconds after midnight of the state's day (ints are taken as they are).

    Parameters
    ----------
    state
        The day (its date and time zone).
    now
        A timezone-aware moment, or clock seconds already.

    Returns
    -------
    int
        Seconds after midnight of ``state.day`` in its zone (may be negative or
        past 86,400 on other days).
    """
    if isinstance(now, int):
        return now
    zone = ZoneInfo(state.timezone)
    midnight = datetime.combine(date.fromisoformat(state.day), time(0), tzinfo=zone)
    return int((now - midnight).total_seconds())


def projection(route: RouteNow, now_s: int) -> list[int]:
    """Projected arrival at every stop of ``route`` (actual arrivals where known).

    The vehicle leaves at its departure scan, or, not out yet, no earlier than
    now; then :func:`doorstep.dispatch.eta.estimate` replays the plan.

    Parameters
    ----------
    route
        The route.
    now_s
        The clock (seconds after midnight).

    Returns
    -------
    list of int
        One arrival per stop, in order.
    """
    departure = route.departed_s
    if departure is None:
        departure = max(route.start_s, now_s)
    times = [
        StopTimes(
            leg_s=s.leg_s,
            service_s=s.service_s,
            window_start_s=s.window_start_s,
            arrived_s=s.arrived_s,
            finished_s=s.finished_s,
        )
        for s in route.stops
    ]
    return estimate(times, departure, now_s)


def at_risk(route: RouteNow, now_s: int, slack_s: int) -> tuple[list[AtRisk], int]:
    """Pending stops projected to start more than ``slack_s`` after their window closes.

    Parameters
    ----------
    route
        The route.
    now_s
        The clock.
    slack_s
        Lateness tolerated.

    Returns
    -------
    (list of AtRisk, int)
        The stops at risk in route order, and the seconds the route is projected
        back after its shift end (0 when in time).
    """
    arrivals = projection(route, now_s)
    risky: list[AtRisk] = []
    free = route.start_s
    for stop, arrival in zip(route.stops, arrivals, strict=True):
        begin = max(arrival, stop.window_start_s or 0)
        if stop.finished_s is not None:
            free = stop.finished_s
            continue
        free = begin + stop.service_s
        if stop.state != "pending" or stop.window_end_s is None:
            continue
        late = begin - stop.window_end_s
        if late > slack_s:
            risky.append(AtRisk(stop.order_id, arrival, late))
    back_leg = _return_leg(route)
    overtime = free + back_leg - route.shift_end_s
    return risky, overtime if overtime > slack_s else 0


def _return_leg(route: RouteNow) -> int:
    """Planned drive from the last stop back to the depot."""
    if not route.stops:
        return 0
    last = route.stops[-1]
    planned_start = max(last.planned_arrival_s, last.window_start_s or 0)
    return max(0, route.end_s - planned_start - last.service_s)


def _late_phrase(risky: list[AtRisk], overtime_s: int) -> str:
    parts = []
    if risky:
        worst = max(risky, key=lambda r: r.late_s)
        n = len(risky)
        parts.append(
            f"{n} stop{'s' if n > 1 else ''} will miss {'their windows' if n > 1 else 'its window'}"
            f", the worst {worst.order_id} by {_minutes(worst.late_s)} minutes"
        )
    if overtime_s:
        parts.append(f"the route ends {_minutes(overtime_s)} minutes after the shift")
    return "; ".join(parts)


def _minutes(seconds: int | float) -> int:
    return max(1, round(seconds / 60))


def _pending(route: RouteNow) -> list[StopNow]:
    return [s for s in route.stops if s.state in ("pending", "arrived")]


def _late_departure(route: RouteNow, now_s: int, th: Thresholds) -> DayException | None:
    if route.state != "published" or route.departed_s is not None:
        return None
    late = now_s - route.start_s
    if late <= th.late_departure_min * 60:
        return None
    risky, overtime = at_risk(route, now_s, int(th.running_late_min * 60))
    sentence = (
        f"{route.vehicle_id} has not left: planned out at {format_clock(route.start_s)}, "
        f"{_minutes(late)} minutes ago"
    )
    consequence = _late_phrase(risky, overtime)
    sentence += f"; {consequence}." if consequence else "; every stop can still make its window."
    return DayException(
        ExceptionKind.LATE_DEPARTURE,
        f"late_departure:{route.id}",
        Severity.HIGH if risky or overtime else Severity.MEDIUM,
        sentence,
        route.id,
        tuple(s.order_id for s in route.stops),
        details={
            "late_min": _minutes(late),
            "at_risk": [r.order_id for r in risky],
            "overtime_min": _minutes(overtime) if overtime else 0,
        },
    )


def _running_late(route: RouteNow, now_s: int, th: Thresholds) -> DayException | None:
    if route.state != "in_progress" and route.departed_s is None:
        return None  # not out yet: late_departure speaks for it
    if route.incident is not None:
        return None  # vehicle_unavailable speaks for it
    risky, overtime = at_risk(route, now_s, int(th.running_late_min * 60))
    if not risky and not overtime:
        return None
    severity = Severity.HIGH if len(risky) > 3 or overtime else Severity.MEDIUM
    return DayException(
        ExceptionKind.RUNNING_LATE,
        f"running_late:{route.id}",
        severity,
        f"{route.vehicle_id} is running late: {_late_phrase(risky, overtime)}.",
        route.id,
        tuple(r.order_id for r in risky),
        details={
            "at_risk": [
                {"order_id": r.order_id, "eta_s": r.eta_s, "late_min": _minutes(r.late_s)}
                for r in risky
            ],
            "overtime_min": _minutes(overtime) if overtime else 0,
        },
    )


def _missed_scans(route: RouteNow, now_s: int, th: Thresholds) -> list[DayException]:
    grace = th.missed_scan_grace_min * 60
    out: list[DayException] = []

    def add(detail: str, stops: list[StopNow], parcels: list[str], sentence: str) -> None:
        out.append(
            DayException(
                ExceptionKind.MISSED_SCAN,
                f"missed_scan:{route.id}:{detail}",
                Severity.LOW,
                sentence,
                route.id,
                tuple(s.order_id for s in stops),
                tuple(parcels),
                details={"scan": detail},
            )
        )

    departed = route.departed_s
    if departed is not None and now_s - departed > grace:
        unloaded = [
            (s, p)
            for s in route.stops
            if s.state == "pending" and s.kind == "delivery"
            for p in s.parcel_ids
            if p not in s.loaded
        ]
        if unloaded:
            parcels = [p for _, p in unloaded]
            stops = list(dict.fromkeys(s for s, _ in unloaded))
            add(
                "not_loaded",
                stops,
                parcels,
                f"{route.vehicle_id} left at {format_clock(departed)} but {len(parcels)} "
                f"parcel{'s were' if len(parcels) > 1 else ' was'} never scanned loaded: "
                f"{', '.join(parcels[:5])}{'...' if len(parcels) > 5 else ''}.",
            )
    scanned_at = [s.arrived_s or s.finished_s for s in route.stops]
    passed = []
    for k, stop in enumerate(route.stops):
        if stop.state != "pending":
            continue
        later = [m for m in scanned_at[k + 1 :] if m is not None]
        if later and now_s - min(later) > grace:
            passed.append(stop)
    if passed:
        add(
            "stop_passed",
            passed,
            [p for s in passed for p in s.parcel_ids],
            f"{route.vehicle_id} went past {len(passed)} stop{'s' if len(passed) > 1 else ''} "
            f"without a scan: {', '.join(s.order_id for s in passed[:5])}.",
        )
    never_loaded = [
        (s, p)
        for s in route.stops
        if s.state == "done" and s.order_status == "delivered" and s.kind == "delivery"
        for p in s.parcel_ids
        if p not in s.loaded
    ]
    if never_loaded:
        parcels = [p for _, p in never_loaded]
        add(
            "delivered_not_loaded",
            list(dict.fromkeys(s for s, _ in never_loaded)),
            parcels,
            f"{route.vehicle_id} delivered {len(parcels)} parcel"
            f"{'s' if len(parcels) > 1 else ''} never scanned loaded: {', '.join(parcels[:5])}.",
        )
    if now_s - route.shift_end_s > grace:
        open_stops = _pending(route)
        if open_stops:
            add(
                "no_terminal_scan",
                open_stops,
                [p for s in open_stops for p in s.parcel_ids],
                f"{route.vehicle_id}'s shift ended at {format_clock(route.shift_end_s)} with "
                f"{len(open_stops)} stop{'s' if len(open_stops) > 1 else ''} neither delivered "
                "nor failed.",
            )
    return out


def _vehicle_unavailable(route: RouteNow) -> DayException | None:
    incident = route.incident
    if incident is None:
        return None
    left = _pending(route)
    if not left:
        return None
    parcels = [p for s in left for p in s.parcel_ids]
    at = format_clock(int(incident["at_s"]))
    return DayException(
        ExceptionKind.VEHICLE_UNAVAILABLE,
        f"vehicle_unavailable:{incident['id']}",
        Severity.HIGH,
        f"{route.vehicle_id} reported a {incident['kind']} at {at}: {len(left)} stop"
        f"{'s' if len(left) > 1 else ''} ({len(parcels)} parcel{'s' if len(parcels) > 1 else ''})"
        " are left to serve.",
        route.id,
        tuple(s.order_id for s in left),
        tuple(parcels),
        details={"incident_id": incident["id"], "kind": incident["kind"], "note": incident["note"]},
    )


def _failed_attempts(route: RouteNow) -> list[DayException]:
    out = []
    for stop in route.stops:
        if stop.state != "failed" or stop.order_status not in (
            "failed_attempt",
            "returned_to_depot",
        ):
            continue
        reason = stop.failure_reason or "unknown reason"
        when = "" if stop.finished_s is None else f" at {format_clock(stop.finished_s)}"
        out.append(
            DayException(
                ExceptionKind.FAILED_ATTEMPT,
                f"failed_attempt:{stop.order_id}:{stop.attempt}",
                Severity.MEDIUM,
                f"{route.vehicle_id} could not deliver {stop.order_id}{when} "
                f"({reason.replace('_', ' ')}); attempt {stop.attempt}, it needs another.",
                route.id,
                (stop.order_id,),
                stop.parcel_ids,
                details={"failure_reason": stop.failure_reason, "attempt": stop.attempt},
            )
        )
    return out


def _prolonged(route: RouteNow, now_s: int, th: Thresholds) -> list[DayException]:
    out = []
    for stop in route.stops:
        if stop.state != "arrived" or stop.arrived_s is None:
            continue
        allowed = max(
            th.prolonged_stop_factor * stop.service_s, stop.service_s + th.prolonged_stop_min * 60
        )
        spent = now_s - stop.arrived_s
        if spent <= allowed:
            continue
        out.append(
            DayException(
                ExceptionKind.PROLONGED_STOP,
                f"prolonged_stop:{route.id}:{stop.order_id}",
                Severity.LOW,
                f"{route.vehicle_id} has been at {stop.order_id} for {_minutes(spent)} minutes "
                f"(planned {_minutes(stop.service_s)}).",
                route.id,
                (stop.order_id,),
                stop.parcel_ids,
                details={"spent_min": _minutes(spent), "planned_min": _minutes(stop.service_s)},
            )
        )
    return out


REQUEST_WORDS = {
    "time_window": "another time window",
    "another_day": "another day",
    "safe_place": "leaving it in a safe place",
    "neighbour": "leaving it with a neighbour",
    "address": "another address",
}


def _requests(state: DayState) -> list[DayException]:
    out = []
    for request in state.requests:
        who = "The customer" if request.source == "customer" else "The shop"
        out.append(
            DayException(
                ExceptionKind.CUSTOMER_REQUEST,
                f"customer_request:{request.id}",
                Severity.MEDIUM,
                f"{who} of {request.order_id} asks for "
                f"{REQUEST_WORDS.get(request.kind, request.kind)}.",
                request.route_id,
                (request.order_id,),
                details={"request_id": request.id, "kind": request.kind, **request.details},
            )
        )
    return out


def detect(
    state: DayState, now: datetime | int, thresholds: Thresholds | None = None
) -> list[DayException]:
    """Every exception that holds in ``state`` at ``now``.

    Parameters
    ----------
    state
        The day: published routes (current versions), incidents, open requests.
    now
        The moment (aware ``datetime``) or clock seconds of the day.
    thresholds
        The triggers' parameters (defaults: :class:`Thresholds`).

    Returns
    -------
    list of DayException
        In route order, then requests; at most one per cause.
    """
    th = thresholds or Thresholds()
    now_s = clock_of(state, now)
    found: list[DayException] = []
    for route in state.routes:
        if route.state not in ("published", "in_progress"):
            found.extend(_failed_attempts(route))
            continue
        for single in (
            _vehicle_unavailable(route),
            _late_departure(route, now_s, th),
            _running_late(route, now_s, th),
        ):
            if single is not None:
                found.append(single)
        found.extend(_missed_scans(route, now_s, th))
        found.extend(_failed_attempts(route))
        found.extend(_prolonged(route, now_s, th))
    found.extend(_requests(state))
    unique: dict[str, DayException] = {}
    for exception in found:
        unique.setdefault(exception.cause, exception)
    return list(unique.values())
