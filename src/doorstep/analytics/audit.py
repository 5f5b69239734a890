"""Plan versus actual, stop by stop: why each late stop was late, to the second.

Pure functions over plain frozen data (no I/O): the store builds a
:class:`RouteRecord` (:func:`doorstep.store.queries.audit.load_route`), a test
builds one by hand, and :func:`audit_route` answers a :class:`RouteAudit`.
Clock times are seconds after midnight of the route's day (as in
:mod:`doorstep.store.tables`). ``docs/audit.md`` explains each cause.

The rule that makes the causes add up. A stop's lateness is its actual
arrival minus its planned arrival. Both are sums along a chain from the depot:

- planned: ``planned departure + Σ (transit + wait + service)`` over the stops
  planned before it, plus the transit into it (a transit is the time from
  finishing the previous stop, or leaving the depot, to arriving; a planned
  break sits inside it);
- actual: the same sum over the stops actually served before it, in the order
  they were served, from the actual departure.

Subtracting the two chains term by term gives the causes: the departures'
difference (``late_departure``); for a leg driven as planned (same stop
before it), its transit's difference (``driving``, per leg); for a stop in
both chains, its service's and its wait's differences (``service``,
``waiting``); whatever belongs to one chain only goes to
``out_of_sequence`` (a stop of the plan served in another order, or a leg from
another stop than planned), ``added_stops`` (stops not in the plan: accepted
proposals) or ``removed_stops`` (stops of the plan taken off this route,
counted negative). Every term lands in exactly one cause, so they add up to
the lateness exactly; ``remainder`` carries any difference (zero by
construction, kept as a guard).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from doorstep.units import format_clock

DEPOT = "depot"
"""How the depot is named in a leg (``depot -> O01``)."""

BEHIND_PLAN_S = 15 * 60
"""Default tolerance: a stop arriving more than this after its planned arrival is late."""

CAUSES = (
    "late_departure",
    "driving",
    "service",
    "waiting",
    "out_of_sequence",
    "added_stops",
    "removed_stops",
    "replanned",
    "remainder",
)
"""Every cause, in the order an audit lists them."""


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One stop of a route version as planned (clock seconds)."""

    order_id: str
    leg_s: int
    """Planned driving time from the previous stop (or the depot)."""
    service_s: int
    planned_arrival_s: int
    planned_start_s: int
    """When service was planned to begin (after waiting for the window, if any)."""
    window_start_s: int | None = None
    window_end_s: int | None = None

    @property
    def planned_finish_s(self) -> int:
        """When service was planned to end."""
        return self.planned_start_s + self.service_s


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of a route (1: as published) and its stops in planned order."""

    route_id: str
    version: int
    start_s: int
    """Planned departure from the depot."""
    stops: tuple[PlannedStop, ...]


@dataclass(frozen=True, slots=True)
class ActualStop:
    """A stop of the route's current version and what happened at it."""

    order_id: str
    seq: int
    """Its place in the current version (1 first)."""
    state: str
    """pending, arrived, done or failed."""
    arrived_s: int | None = None
    """The ``at_stop`` scan, if any."""
    finished_s: int | None = None
    """The scan that ended the visit (delivered, failed...), if any."""
    failure_reason: str | None = None
    attempts: int = 0
    """The order's failed attempts at the door so far (``orders.attempts``)."""
    earlier_attempts: tuple[dict[str, Any], ...] = ()
    """The order's attempts on other routes before this one (``/v1/orders/{id}/attempts``)."""
    findings: tuple[dict[str, Any], ...] = ()
    """The gate's findings on the row the order was imported from (``orders.findings``)."""


@dataclass(frozen=True, slots=True)
class RouteRecord:
    """What an audit reads of one route: every version's plan and what happened."""

    route_id: str
    """The current version's id."""
    day: str
    vehicle_id: str
    driver_id: str | None
    state: str
    versions: tuple[PlanVersion, ...]
    """Oldest first; the last is the current version."""
    stops: tuple[ActualStop, ...]
    """The current version's stops, in its order."""
    departure_s: int | None = None
    """The first ``out_for_delivery`` scan of the route's parcels on the day."""


@dataclass(frozen=True, slots=True)
class Part:
    """One term of a cause: a leg, a stop, or the departure, and its seconds."""

    what: str
    """``depot -> O01`` for a leg, an order id for a stop, ``departure``."""
    seconds: int
    planned_s: int | None = None
    """The planned duration (or moment, for the departure), when there is one."""
    actual_s: int | None = None


@dataclass(frozen=True, slots=True)
class Cause:
    """A share of a stop's lateness (negative: time gained) and the terms it is made of."""

    cause: str
    seconds: int
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True, slots=True)
class StopAudit:
    """One stop: planned against actual times, whether it was late, and why."""

    order_id: str
    seq: int
    """Place in the current version."""
    state: str
    planned_seq: int | None
    """Place in the plan it is measured against (``planned_in``)."""
    actual_seq: int | None
    """Place in the order the stops were actually served (None: not reached)."""
    planned_in: int
    """The route version whose plan it is measured against (1, or the version that added it)."""
    window_start_s: int | None
    window_end_s: int | None
    planned_arrival_s: int
    planned_start_s: int
    planned_finish_s: int
    arrived_s: int | None
    started_s: int | None
    finished_s: int | None
    arrival_inferred: bool
    """No arrival scan: the arrival is taken as the finish less the planned service."""
    lateness_s: int | None
    """Actual arrival minus planned arrival (None: not reached)."""
    late: bool
    late_because: tuple[str, ...]
    """``finished_after_window``, ``started_after_window``, ``behind_plan``."""
    causes: tuple[Cause, ...]
    """For a late stop: the causes, adding up to ``lateness_s``."""
    failure_reason: str | None = None
    attempts: int = 0
    earlier_attempts: tuple[dict[str, Any], ...] = ()
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class RouteAudit:
    """A route's audit: its stops (current version), and the plan's stops it lost."""

    route_id: str
    day: str
    vehicle_id: str
    driver_id: str | None
    state: str
    version: int
    planned_departure_s: int
    departure_s: int | None
    stops: tuple[StopAudit, ...]
    removed: tuple[str, ...] = ()
    """Orders of version 1 no longer on this route (handed over, put off)."""
    tolerance_s: int = BEHIND_PLAN_S

    @property
    def late_stops(self) -> int:
        """How many stops were late."""
        return sum(1 for s in self.stops if s.late)

    @property
    def failed_stops(self) -> int:
        """How many stops failed."""
        return sum(1 for s in self.stops if s.state == "failed")


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop as served: arrival, start of service and finish (clock seconds)."""

    order_id: str
    arrived_s: int
    started_s: int
    finished_s: int


@dataclass(frozen=True, slots=True)
class Reference:
    """The plan a stop is measured against: a version's stops and when each was planned.

    ``planned_in[k]`` is the version that last set stop ``k``'s planned times
    (an accepted proposal re-plans only the stops still to do; the others keep
    the times of the version before).
    """

    start_s: int
    stops: tuple[PlannedStop, ...]
    planned_in: tuple[int, ...] = ()


def actual_times(
    arrived_s: int | None,
    finished_s: int | None,
    service_s: int,
    window_start_s: int | None,
    previous_finish_s: int | None = None,
) -> tuple[int, int, int | None, bool] | None:
    """Arrival, start of service, finish and whether the arrival was inferred.

    Parameters
    ----------
    arrived_s, finished_s
        The scans, if any.
    service_s
        Planned service time (to infer a missing arrival).
    window_start_s
        Service does not start before the window opens.
    previous_finish_s
        When the stop served just before finished (an inferred arrival is not earlier).

    Returns
    -------
    tuple or None
        ``(arrived_s, started_s, finished_s, inferred)``; None when neither scan exists.
    """
    inferred = False
    if arrived_s is None:
        if finished_s is None:
            return None
        inferred = True
        arrived_s = finished_s - service_s
        if previous_finish_s is not None:
            arrived_s = max(arrived_s, min(previous_finish_s, finished_s))
    started = max(arrived_s, window_start_s if window_start_s is not None else arrived_s)
    if finished_s is not None:
        started = min(started, finished_s)
    return arrived_s, started, finished_s, inferred


class _Ledger:
    """The parts of each cause as they are found."""

    def __init__(self) -> None:
        self.parts: dict[str, list[Part]] = {c: [] for c in CAUSES}

    def add(self, cause: str, part: Part) -> None:
        if part.seconds:
            self.parts[cause].append(part)

    def total(self) -> int:
        return sum(p.seconds for parts in self.parts.values() for p in parts)

    def causes(self) -> tuple[Cause, ...]:
        return tuple(
            Cause(c, sum(p.seconds for p in parts), tuple(parts))
            for c, parts in self.parts.items()
            if parts
        )


def _chain_before(order: Sequence[str], target: str) -> tuple[list[str], dict[str, str]]:
    """The stops up to ``target`` (included) and each one's predecessor (the depot first)."""
    chain = list(order[: order.index(target) + 1])
    previous = {o: (chain[i - 1] if i else DEPOT) for i, o in enumerate(chain)}
    return chain, previous


def explain(
    reference: Reference,
    visits: Sequence[Visit],
    target: str,
    departure_s: int,
    removed: Iterable[str] = (),
) -> tuple[int, tuple[Cause, ...]]:
    """The lateness of ``target``'s arrival against ``reference``, split into causes.

    Parameters
    ----------
    reference
        The plan (``target`` must be one of its stops).
    visits
        The stops served, in the order they were served (``target`` among them).
    target
        The order id of the stop to explain.
    departure_s
        The actual departure (the planned one when none was scanned).
    removed
        Orders of ``reference`` that are no longer on the route.

    Returns
    -------
    tuple
        ``(lateness_s, causes)``: the causes' seconds add up to ``lateness_s``.
    """
    gone = set(removed)
    plan = {s.order_id: s for s in reference.stops}
    version = {
        s.order_id: (reference.planned_in[k] if reference.planned_in else 1)
        for k, s in enumerate(reference.stops)
    }
    version[DEPOT] = 1
    seen = {v.order_id: v for v in visits}
    plan_chain, plan_prev = _chain_before([s.order_id for s in reference.stops], target)
    act_chain, act_prev = _chain_before([v.order_id for v in visits], target)
    plan_set, act_set = set(plan_chain), set(act_chain)
    ledger = _Ledger()
    start = reference.start_s
    ledger.add("late_departure", Part("departure", departure_s - start, start, departure_s))

    def planned_finish(o: str) -> int:
        return start if o == DEPOT else plan[o].planned_finish_s

    def actual_finish(o: str) -> int:
        return departure_s if o == DEPOT else seen[o].finished_s

    def transit_plan(o: str) -> int:
        return plan[o].planned_arrival_s - planned_finish(plan_prev[o])

    def transit_act(o: str) -> int:
        return seen[o].arrived_s - actual_finish(act_prev[o])

    def elsewhere(o: str) -> str:
        """The cause of a stop in one chain only."""
        if o not in plan:
            return "added_stops"
        return "removed_stops" if o in gone else "out_of_sequence"

    for o in act_chain[:-1]:
        v = seen[o]
        wait, service = v.started_s - v.arrived_s, v.finished_s - v.started_s
        if o in plan_set:
            p = plan[o]
            p_wait, p_service = p.planned_start_s - p.planned_arrival_s, p.service_s
            ledger.add("service", Part(o, service - p_service, p_service, service))
            ledger.add("waiting", Part(o, wait - p_wait, p_wait, wait))
        else:
            ledger.add(elsewhere(o), Part(o, wait + service, None, wait + service))
    for o in plan_chain[:-1]:
        if o not in act_set:
            p = plan[o]
            stay = p.planned_finish_s - p.planned_arrival_s
            ledger.add(elsewhere(o), Part(o, -stay, stay, None))
    for o in act_chain:
        leg = f"{act_prev[o]} -> {o}"
        actual = transit_act(o)
        if o not in plan_set:
            ledger.add(elsewhere(o), Part(leg, actual, None, actual))
            continue
        planned = transit_plan(o)
        if act_prev[o] != plan_prev[o]:
            before = act_prev[o]
            cause = "out_of_sequence"
            if before != DEPOT and before not in plan:
                cause = "added_stops"
            elif plan_prev[o] in gone:
                cause = "removed_stops"
            ledger.add(cause, Part(leg, actual - planned, planned, actual))
        elif version[plan_prev[o]] != version[o]:
            driving = plan[o].leg_s
            ledger.add("driving", Part(leg, actual - driving, driving, actual))
            ledger.add("replanned", Part(leg, driving - planned, planned, driving))
        else:
            ledger.add("driving", Part(leg, actual - planned, planned, actual))
    for o in plan_chain:
        if o not in act_set:
            planned = transit_plan(o)
            ledger.add(elsewhere(o), Part(f"{plan_prev[o]} -> {o}", -planned, planned, None))
    lateness = seen[target].arrived_s - plan[target].planned_arrival_s
    ledger.add("remainder", Part("remainder", lateness - ledger.total()))
    return lateness, ledger.causes()


def references(versions: Sequence[PlanVersion]) -> dict[str, tuple[int, Reference]]:
    """Each order -> the first version it is on, and that version as a :class:`Reference`.

    A stop of version 1 is measured against version 1; a stop added later
    against the version that added it, whose stops carried over from the
    version before keep that version's ``planned_in``.
    """
    out: dict[str, tuple[int, Reference]] = {}
    previous: dict[str, tuple[PlannedStop, int]] = {}
    for v in versions:
        planned_in = []
        for stop in v.stops:
            before = previous.get(stop.order_id)
            same = before is not None and (
                (before[0].planned_arrival_s, before[0].planned_start_s)
                == (stop.planned_arrival_s, stop.planned_start_s)
            )
            planned_in.append(before[1] if same and before is not None else v.version)
        reference = Reference(v.start_s, v.stops, tuple(planned_in))
        for stop in v.stops:
            out.setdefault(stop.order_id, (v.version, reference))
        previous = {s.order_id: (s, n) for s, n in zip(v.stops, planned_in, strict=True)}
    return out


def visits_of(stops: Sequence[ActualStop], plan: dict[str, PlannedStop]) -> list[Visit]:
    """The stops reached, in the order they were served (by arrival, then finish, then seq).

    A missing arrival scan is inferred (:func:`actual_times`); a stop reached
    but not finished counts as finished when its service began.
    """
    reached = [s for s in stops if s.arrived_s is not None or s.finished_s is not None]

    def key(s: ActualStop) -> tuple[int, int, int]:
        first = s.arrived_s if s.arrived_s is not None else s.finished_s
        assert first is not None
        return first, s.finished_s if s.finished_s is not None else first, s.seq

    visits: list[Visit] = []
    for s in sorted(reached, key=key):
        p = plan[s.order_id]
        previous = visits[-1].finished_s if visits else None
        times = actual_times(s.arrived_s, s.finished_s, p.service_s, p.window_start_s, previous)
        assert times is not None
        arrived, started, finished, _ = times
        visits.append(
            Visit(s.order_id, arrived, started, started if finished is None else finished)
        )
    return visits


def _late_because(
    arrived: int | None, started: int | None, finished: int | None, p: PlannedStop, tolerance: int
) -> tuple[str, ...]:
    why = []
    end = p.window_end_s
    if end is not None and finished is not None and finished > end:
        why.append("finished_after_window")
    elif end is not None and finished is None and started is not None and started > end:
        why.append("started_after_window")
    if arrived is not None and arrived - p.planned_arrival_s > tolerance:
        why.append("behind_plan")
    return tuple(why)


def audit_route(record: RouteRecord, tolerance_s: int = BEHIND_PLAN_S) -> RouteAudit:
    """Audit one route: every stop's planned and actual times, and why late stops were late.

    Parameters
    ----------
    record
        The route's versions and what happened (see :class:`RouteRecord`).
    tolerance_s
        A stop arriving more than this after its planned arrival is late
        (``behind_plan``), besides stops finished after their window closed.

    Returns
    -------
    RouteAudit
        One :class:`StopAudit` per stop of the current version, in its order.
    """
    current = record.versions[-1]
    first = record.versions[0]
    refs = references(record.versions)
    on_route = {s.order_id for s in record.stops}
    removed = tuple(s.order_id for s in first.stops if s.order_id not in on_route)
    now_plan = {s.order_id: s for s in current.stops}
    visits = visits_of(record.stops, now_plan)
    served = {v.order_id: k for k, v in enumerate(visits, start=1)}
    by_order = {v.order_id: v for v in visits}
    departure = first.start_s if record.departure_s is None else record.departure_s
    out = []
    for stop in record.stops:
        planned_in, reference = refs[stop.order_id]
        p = next(s for s in reference.stops if s.order_id == stop.order_id)
        visit = by_order.get(stop.order_id)
        arrived = started = finished = lateness = None
        inferred = False
        causes: tuple[Cause, ...] = ()
        if visit is not None:
            arrived, started = visit.arrived_s, visit.started_s
            finished = stop.finished_s
            inferred = stop.arrived_s is None
            lateness = arrived - p.planned_arrival_s
        why = _late_because(arrived, started, finished, p, tolerance_s)
        if why and visit is not None:
            gone = [s.order_id for s in reference.stops if s.order_id not in on_route]
            lateness, causes = explain(reference, visits, stop.order_id, departure, gone)
        out.append(
            StopAudit(
                order_id=stop.order_id,
                seq=stop.seq,
                state=stop.state,
                planned_seq=[s.order_id for s in reference.stops].index(stop.order_id) + 1,
                actual_seq=served.get(stop.order_id),
                planned_in=planned_in,
                window_start_s=p.window_start_s,
                window_end_s=p.window_end_s,
                planned_arrival_s=p.planned_arrival_s,
                planned_start_s=p.planned_start_s,
                planned_finish_s=p.planned_finish_s,
                arrived_s=arrived,
                started_s=started,
                finished_s=finished,
                arrival_inferred=inferred,
                lateness_s=lateness,
                late=bool(why),
                late_because=why,
                causes=causes,
                failure_reason=stop.failure_reason if stop.state == "failed" else None,
                attempts=stop.attempts,
                earlier_attempts=stop.earlier_attempts if stop.state == "failed" else (),
                findings=stop.findings if stop.state == "failed" else (),
            )
        )
    return RouteAudit(
        route_id=record.route_id,
        day=record.day,
        vehicle_id=record.vehicle_id,
        driver_id=record.driver_id,
        state=record.state,
        version=current.version,
        planned_departure_s=first.start_s,
        departure_s=record.departure_s,
        stops=tuple(out),
        removed=removed,
        tolerance_s=tolerance_s,
    )


def _clock(seconds: int | None) -> str | None:
    return None if seconds is None else format_clock(seconds)


def _minutes(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def cause_dict(cause: Cause) -> dict[str, Any]:
    """A cause as JSON: its seconds, minutes (one decimal) and parts."""
    return {
        "cause": cause.cause,
        "seconds": cause.seconds,
        "minutes": _minutes(cause.seconds),
        "parts": [
            {"what": p.what, "seconds": p.seconds, "planned_s": p.planned_s, "actual_s": p.actual_s}
            for p in cause.parts
        ],
    }


def stop_dict(stop: StopAudit) -> dict[str, Any]:
    """A stop's audit as JSON (clock seconds, and ``HH:MM`` beside each)."""
    start, end = stop.window_start_s, stop.window_end_s
    failure = None
    if stop.state == "failed":
        failure = {
            "reason": stop.failure_reason,
            "attempts": stop.attempts,
            "earlier_attempts": list(stop.earlier_attempts),
            "findings": list(stop.findings),
        }
    return {
        "order_id": stop.order_id,
        "seq": stop.seq,
        "planned_seq": stop.planned_seq,
        "actual_seq": stop.actual_seq,
        "planned_in": stop.planned_in,
        "state": stop.state,
        "window": None if start is None or end is None else f"{_clock(start)}-{_clock(end)}",
        "window_start_s": start,
        "window_end_s": end,
        "planned": {
            "arrival_s": stop.planned_arrival_s,
            "start_s": stop.planned_start_s,
            "finish_s": stop.planned_finish_s,
            "arrival": _clock(stop.planned_arrival_s),
            "start": _clock(stop.planned_start_s),
            "finish": _clock(stop.planned_finish_s),
        },
        "actual": {
            "arrival_s": stop.arrived_s,
            "start_s": stop.started_s,
            "finish_s": stop.finished_s,
            "arrival": _clock(stop.arrived_s),
            "start": _clock(stop.started_s),
            "finish": _clock(stop.finished_s),
            "arrival_inferred": stop.arrival_inferred,
        },
        "lateness_s": stop.lateness_s,
        "lateness_min": _minutes(stop.lateness_s),
        "late": stop.late,
        "late_because": list(stop.late_because),
        "causes": [cause_dict(c) for c in stop.causes],
        "failure": failure,
    }


def route_dict(audit: RouteAudit) -> dict[str, Any]:
    """A route's audit as JSON: what ``GET /v1/routes/{id}/audit`` and ``doorstep audit`` print."""
    return {
        "route_id": audit.route_id,
        "day": audit.day,
        "vehicle_id": audit.vehicle_id,
        "driver_id": audit.driver_id,
        "state": audit.state,
        "version": audit.version,
        "planned_departure_s": audit.planned_departure_s,
        "planned_departure": _clock(audit.planned_departure_s),
        "departure_s": audit.departure_s,
        "departure": _clock(audit.departure_s),
        "tolerance_s": audit.tolerance_s,
        "late_stops": audit.late_stops,
        "failed_stops": audit.failed_stops,
        "removed": list(audit.removed),
        "stops": [stop_dict(s) for s in audit.stops],
    }
