"""A simulated day written down as a real one: its scan events and its analytics facts.

:func:`day_events` gives the scans a driver's device would have sent
(:class:`doorstep.dispatch.ingest.EventIn`: ``scanned_at_depot``, ``loaded``
and ``out_for_delivery`` for each delivery parcel before departure (a
standby van started on the day carries parcels already out: none),
``arrived_at_stop``, ``delivered`` / ``return_picked_up`` or ``failed_attempt``
with reason ``not_home`` at each visit (a same-day retry is a second
``arrived_at_stop`` and its outcome, as a driver scans it), and
``returned_to_depot`` at the end for the deliveries whose last visit failed,
on the van that made it, and the returns collected). :func:`runs_facts` gives the facts tables
(:data:`doorstep.analytics.facts.SCHEMAS`) those scans make once ingested and
read back by :func:`doorstep.analytics.facts.load_facts`, built directly for
speed (a test feeds the events through the store and checks that both give
the same KPIs), so the KPIs of a simulated day come out of
:func:`doorstep.analytics.kpis.compute_kpis`, the code of real days.

Each run is one "driver" of the facts (``driver_id`` = ``run-0001``...) and its
routes are ``run-0001/<vehicle>``: one KPI query grouped by driver measures
every run at once.

An order visited twice in a day is one stop of the facts, as the store reads
it back (its first arrival, its last finish and outcome, on the route of its
first visit) and its parcels carry the day's failed attempts: a retry never
counts as a first-attempt success, and a parcel delivered at the retry counts
as delivered, with two attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from doorstep.analytics.facts import SCHEMAS, WEEKDAYS, Facts, customer_key, day_start
from doorstep.dispatch.eta import StopTimes, estimate
from doorstep.dispatch.ingest import EventIn
from doorstep.domain.events import FailureReason, ScanKind
from doorstep.simulate.day import DayResult, RouteResult, StopResult
from doorstep.simulate.plan_input import parcel_ids

NOT_HOME = FailureReason.NOT_HOME.value


def run_label(run: int) -> str:
    """The ``driver_id`` that stands for run ``run`` in the facts."""
    return f"run-{run:04d}"


def day_events(result: DayResult, timezone: str) -> list[EventIn]:
    """The scans of one simulated day, in the order they happened.

    Parameters
    ----------
    result
        The simulated day.
    timezone
        The service's zone (the plan's clock is local time of that zone).

    Returns
    -------
    list of EventIn
        Ids ``sim-<run>-<n>``; sorted by moment (stable).
    """
    midnight = day_start(result.day.isoformat(), ZoneInfo(timezone))
    out: list[tuple[int, EventIn]] = []

    def add(clock_s: int, parcel: str, kind: ScanKind, vehicle: str, **extra: Any) -> None:
        event_id = f"sim-{result.run}-{len(out) + 1}"
        moment = midnight + timedelta(seconds=clock_s)
        out.append((clock_s, EventIn(event_id, parcel, kind, moment, vehicle, **extra)))

    last = _last_visits(result)
    for route in result.routes:
        vehicle = route.route.vehicle_id
        loading: tuple[tuple[int, ScanKind], ...] = (
            (route.departure_s - 120, ScanKind.SCANNED_AT_DEPOT),
            (route.departure_s - 60, ScanKind.LOADED),
            (route.departure_s, ScanKind.OUT_FOR_DELIVERY),
        )
        if route.route.standby:
            loading = ()  # its parcels were handed over from a van already out
        for clock_s, kind in loading:
            for stop in route.route.stops:
                if stop.kind == "delivery":
                    for parcel in parcel_ids(stop.order_id, stop.parcels):
                        add(clock_s, parcel, kind, vehicle)
        for done in route.stops:
            stop = done.stop
            place = {"lat": stop.lat, "lon": stop.lon}
            for parcel in parcel_ids(stop.order_id, stop.parcels):
                add(done.arrived_s, parcel, ScanKind.ARRIVED_AT_STOP, vehicle, **place)
            for parcel in parcel_ids(stop.order_id, stop.parcels):
                if not done.success:
                    add(
                        done.finished_s,
                        parcel,
                        ScanKind.FAILED_ATTEMPT,
                        vehicle,
                        failure_reason=FailureReason.NOT_HOME,
                        **place,
                    )
                elif stop.kind == "delivery":
                    add(done.finished_s, parcel, ScanKind.DELIVERED, vehicle, **place)
                else:
                    add(done.finished_s, parcel, ScanKind.RETURN_PICKED_UP, vehicle, **place)
        for done in route.stops:
            if last[done.stop.order_id] is not done:
                continue  # visited again later: the last visit says what comes back
            if done.success == (done.stop.kind == "pickup"):
                for parcel in parcel_ids(done.stop.order_id, done.stop.parcels):
                    add(route.back_s, parcel, ScanKind.RETURNED_TO_DEPOT, vehicle)
    out.sort(key=lambda pair: pair[0])
    return [event for _, event in out]


def _last_visits(result: DayResult) -> dict[str, StopResult]:
    """Each order's last visit of the day."""
    out: dict[str, StopResult] = {}
    for route in result.routes:
        for done in route.stops:
            seen = out.get(done.stop.order_id)
            if seen is None or done.stop.attempt > seen.stop.attempt:
                out[done.stop.order_id] = done
    return out


def _visits_by_route(result: DayResult) -> dict[int, list[list[StopResult]]]:
    """Route index -> its orders' visits, one list per order (on its first visit's route)."""
    first: dict[str, tuple[int, int]] = {}
    out: dict[int, list[list[StopResult]]] = {k: [] for k in range(len(result.routes))}
    ordered = sorted(
        ((k, done) for k, route in enumerate(result.routes) for done in route.stops),
        key=lambda pair: pair[1].stop.attempt,
    )
    for k, done in ordered:
        oid = done.stop.order_id
        if oid not in first:
            first[oid] = (k, len(out[k]))
            out[k].append([done])
        else:
            k0, j = first[oid]
            out[k0][j].append(done)
    return out


def _route_rows(
    route: RouteResult,
    visits: Sequence[Sequence[StopResult]],
    day: str,
    run: int,
    midnight: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stop and parcel facts of one simulated route (``visits``: per order, its visits)."""
    plan = route.route
    weekday = datetime.fromisoformat(day).isoweekday()
    firsts = [v[0] for v in visits]
    etas = estimate(
        [StopTimes(d.stop.leg_s, d.stop.service_s, d.stop.window_start_s) for d in firsts],
        route.departure_s,
        route.departure_s,
    )
    stops, parcels = [], []
    for tries, eta in zip(visits, etas, strict=True):
        done, end = tries[0], tries[-1]
        stop = done.stop
        delivery = stop.kind == "delivery"
        success = next((t for t in tries if t.success), None)
        failed = [t for t in tries if not t.success]
        outcome = "failed_attempt" if success is None else "delivered" if delivery else "picked_up"
        group = {
            "day": day,
            "weekday": WEEKDAYS[weekday - 1],
            "weekday_num": weekday,
            "hour": end.finished_s // 3600,
            "route_id": f"{run_label(run)}/{plan.vehicle_id}",
            "vehicle_id": plan.vehicle_id,
            "driver_id": run_label(run),
            "depot_id": plan.depot_id,
            "order_id": stop.order_id,
            "zip": stop.zip,
            "customer": stop.customer_id or customer_key(stop.order_id, None, None),
        }
        stops.append(
            group
            | {
                "route_version": 1,
                "seq": stop.seq,
                "kind": stop.kind,
                "parcels": stop.parcels,
                "window_start_s": stop.window_start_s,
                "window_end_s": stop.window_end_s,
                "planned_arrival_s": stop.planned_arrival_s,
                "planned_start_s": stop.planned_start_s,
                "planned_service_s": stop.service_s,
                "leg_s": stop.leg_s,
                "route_start_s": plan.start_s,
                "route_end_s": plan.end_s,
                "route_distance_m": plan.distance_m,
                "shift_end_s": None,
                "cost_fixed": None,
                "cost_per_km": None,
                "cost_per_hour": None,
                "departure_s": route.departure_s,
                "eta_departure_s": eta,
                "arrived_s": done.arrived_s,
                "finished_s": end.finished_s,
                "outcome": outcome,
                "failure_reason": NOT_HOME if failed else None,
                "attempt": 1,
            }
        )

        def epoch(clock_s: int) -> int:
            return int((midnight + timedelta(seconds=clock_s)).timestamp())

        done_epoch = None if success is None else epoch(success.finished_s)
        first_failed = epoch(failed[0].finished_s) if failed and success is not None else None
        for parcel in parcel_ids(stop.order_id, stop.parcels):
            parcels.append(
                group
                | {
                    "parcel_id": parcel,
                    "kind": stop.kind,
                    "prior_failures": 0,
                    "failures": len(failed),
                    "failure_reason": NOT_HOME if failed else None,
                    "attempted": True,
                    "delivered": success is not None and delivery,
                    "picked_up": success is not None and not delivery,
                    "returned": delivery and success is None,
                    "done_epoch_s": done_epoch,
                    "first_failed_epoch_s": first_failed,
                }
            )
    return stops, parcels


def runs_facts(results: Sequence[DayResult], timezone: str) -> Facts:
    """The analytics facts of many simulated runs of a day (one ``driver_id`` per run).

    Parameters
    ----------
    results
        The runs (any number, at least one).
    timezone
        The service's zone.

    Returns
    -------
    Facts
        ``stops`` and ``parcels`` filled, the other tables empty.
    """
    zone = ZoneInfo(timezone)
    stops: list[dict[str, Any]] = []
    parcels: list[dict[str, Any]] = []
    days = sorted({r.day.isoformat() for r in results})
    for result in results:
        day = result.day.isoformat()
        midnight = day_start(day, zone)
        visits = _visits_by_route(result)
        for k, route in enumerate(result.routes):
            s, p = _route_rows(route, visits[k], day, result.run, midnight)
            stops += s
            parcels += p
    tables = {
        "stops": pa.Table.from_pylist(stops, schema=SCHEMAS["stops"]),
        "parcels": pa.Table.from_pylist(parcels, schema=SCHEMAS["parcels"]),
    }
    return Facts(days[0], days[-1], tables)
