"""A simulated day written down as a real one: its scan events and its analytics facts.

:func:`day_events` gives the scans a driver's device would have sent
(:class:`doorstep.dispatch.ingest.EventIn`: ``scanned_at_depot``, ``loaded``
and ``out_for_delivery`` for each delivery parcel before departure,
``arrived_at_stop``, ``delivered`` / ``return_picked_up`` or ``failed_attempt``
with reason ``not_home``, and ``returned_to_depot`` at the end for the
deliveries brought back and the returns collected). :func:`runs_facts` gives the facts tables
(:data:`doorstep.analytics.facts.SCHEMAS`) those scans make once ingested and
read back by :func:`doorstep.analytics.facts.load_facts`, built directly for
speed (a test feeds the events through the store and checks that both give
the same KPIs), so the KPIs of a simulated day come out of
:func:`doorstep.analytics.kpis.compute_kpis`, the code of real days.

Each run is one "driver" of the facts (``driver_id`` = ``run-0001``...) and its
routes are ``run-0001/<vehicle>``: one KPI query grouped by driver measures
every run at once.
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
from doorstep.simulate.day import DayResult, RouteResult
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

    for route in result.routes:
        vehicle = route.route.vehicle_id
        loading = (
            (route.departure_s - 120, ScanKind.SCANNED_AT_DEPOT),
            (route.departure_s - 60, ScanKind.LOADED),
            (route.departure_s, ScanKind.OUT_FOR_DELIVERY),
        )
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
                if not done.home:
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
            if done.home == (done.stop.kind == "pickup"):
                for parcel in parcel_ids(done.stop.order_id, done.stop.parcels):
                    add(route.back_s, parcel, ScanKind.RETURNED_TO_DEPOT, vehicle)
    out.sort(key=lambda pair: pair[0])
    return [event for _, event in out]


def _route_rows(
    route: RouteResult, day: str, run: int, midnight: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stop and parcel facts of one simulated route."""
    plan = route.route
    weekday = datetime.fromisoformat(day).isoweekday()
    etas = estimate(
        [StopTimes(d.stop.leg_s, d.stop.service_s, d.stop.window_start_s) for d in route.stops],
        route.departure_s,
        route.departure_s,
    )
    stops, parcels = [], []
    for done, eta in zip(route.stops, etas, strict=True):
        stop = done.stop
        delivery = stop.kind == "delivery"
        outcome = "failed_attempt" if not done.home else "delivered" if delivery else "picked_up"
        group = {
            "day": day,
            "weekday": WEEKDAYS[weekday - 1],
            "weekday_num": weekday,
            "hour": done.finished_s // 3600,
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
                "finished_s": done.finished_s,
                "outcome": outcome,
                "failure_reason": None if done.home else NOT_HOME,
                "attempt": 1,
            }
        )
        done_epoch = int((midnight + timedelta(seconds=done.finished_s)).timestamp())
        for parcel in parcel_ids(stop.order_id, stop.parcels):
            parcels.append(
                group
                | {
                    "parcel_id": parcel,
                    "kind": stop.kind,
                    "prior_failures": 0,
                    "failures": 0 if done.home else 1,
                    "failure_reason": None if done.home else NOT_HOME,
                    "attempted": True,
                    "delivered": done.home and delivery,
                    "picked_up": done.home and not delivery,
                    "returned": delivery and not done.home,
                    "done_epoch_s": done_epoch if done.home else None,
                    "first_failed_epoch_s": None,
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
        for route in result.routes:
            s, p = _route_rows(route, day, result.run, midnight)
            stops += s
            parcels += p
    tables = {
        "stops": pa.Table.from_pylist(stops, schema=SCHEMAS["stops"]),
        "parcels": pa.Table.from_pylist(parcels, schema=SCHEMAS["parcels"]),
    }
    return Facts(days[0], days[-1], tables)
