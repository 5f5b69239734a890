"""The facts of a range of days, read from the store into Arrow tables: one definition each.

Everything that measures the day (the KPIs of :mod:`doorstep.analytics.kpis`,
the exports, reports, audits) reads these tables rather than the store, so a
stop, a parcel or an attempt means the same everywhere, and SQLite,
PostgreSQL and a Parquet export give the same numbers.

Clock times are seconds after midnight of the row's day in the service's time
zone (converted here, in Python: DuckDB gets no time zones to convert);
moments that span days are UTC epoch seconds (``*_epoch_s``).

The tables (their columns: :data:`SCHEMAS`):

``stops``
    One row per stop of a current route version (``replaced_by`` empty, state
    published, in_progress or completed) whose day is in the range. A
    superseded version's stops were copied into its successor: they are not
    counted twice. What happened at the stop comes from the scans of the
    order's parcels on the route's day:

    - ``departure_s``: the route's actual departure, its first
      ``out_for_delivery`` scan of the day (None: not known).
    - ``eta_departure_s``: the ETA given at departure. The store keeps only the
      latest ETA, so it is recomputed by the dispatch's own rule
      (:func:`doorstep.dispatch.eta.estimate`) as it stood when the vehicle
      left: the planned legs, service times and window waits replayed from
      the actual departure, knowing no scan yet. Without a departure scan,
      from the planned departure (the plan's arrival times).
    - ``arrived_s``: the first ``arrived_at_stop`` scan; ``finished_s``: the
      last ``delivered``, ``failed_attempt`` or ``return_picked_up`` scan (a
      ``returned_to_depot`` scan at the depot ends no visit).
    - ``outcome``: ``delivered`` when every parcel was delivered;
      ``failed_attempt`` when a parcel failed at the door that day (and not all
      were delivered after all); ``delivered`` when some parcels were
      delivered and none failed (the rest was not tried: the parcel facts
      count them); ``returned`` when parcels came back to the depot untried;
      ``picked_up`` for a return collected; otherwise ``pending``.
    - ``attempt``: which visit of the order this is: 1 plus the earlier days
      on which one of its parcels failed at the door.
    - ``customer``: the order's e-mail (lower case), else its phone, else the
      order id. ``hour``: the local hour of the finish, else of the planned
      arrival.

``parcels``
    One row per parcel of each stop of ``stops``, with the stop's grouping
    columns: ``prior_failures`` (failed attempts of the parcel before the
    stop's day, also before the range), ``failures`` (on the day),
    ``delivered`` / ``picked_up`` / ``returned`` (a delivery parcel scanned
    ``returned_to_depot`` that day), ``done_epoch_s`` (the handover) and
    ``first_failed_epoch_s`` (its first failed attempt ever, when one came
    before the handover).

``events``
    Every accepted scan whose moment falls on a day of the range (local),
    with its parcel's order.

``exceptions`` and ``decisions``
    Exceptions opened on a day of the range (and the decision log of those
    days), with the grouping columns of their route (its current version) and
    of their first order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from doorstep.dispatch.eta import StopTimes, estimate
from doorstep.store.queries import analytics as q

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""``weekday`` values; ``weekday_num`` is ISO (1 for Monday)."""

_I = pa.int64()
_S = pa.string()
_B = pa.bool_()
_F = pa.float64()

GROUP_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("day", _S),
    ("weekday", _S),
    ("weekday_num", _I),
    ("hour", _I),
    ("route_id", _S),
    ("vehicle_id", _S),
    ("driver_id", _S),
    ("depot_id", _S),
    ("order_id", _S),
    ("zip", _S),
    ("customer", _S),
)
"""Columns every table but ``events`` has, for grouping."""

STOPS = pa.schema(
    [
        *GROUP_COLUMNS,
        ("route_version", _I),
        ("seq", _I),
        ("kind", _S),
        ("parcels", _I),
        ("window_start_s", _I),
        ("window_end_s", _I),
        ("planned_arrival_s", _I),
        ("planned_start_s", _I),
        ("planned_service_s", _I),
        ("leg_s", _I),
        ("route_start_s", _I),
        ("route_end_s", _I),
        ("route_distance_m", _I),
        ("shift_end_s", _I),
        ("cost_fixed", _I),
        ("cost_per_km", _I),
        ("cost_per_hour", _I),
        ("departure_s", _I),
        ("eta_departure_s", _I),
        ("arrived_s", _I),
        ("finished_s", _I),
        ("outcome", _S),
        ("failure_reason", _S),
        ("attempt", _I),
    ]
)
"""One row per stop of a current route version (see the module's docstring)."""

PARCELS = pa.schema(
    [
        *GROUP_COLUMNS,
        ("parcel_id", _S),
        ("kind", _S),
        ("prior_failures", _I),
        ("failures", _I),
        ("failure_reason", _S),
        ("attempted", _B),
        ("delivered", _B),
        ("picked_up", _B),
        ("returned", _B),
        ("done_epoch_s", _I),
        ("first_failed_epoch_s", _I),
    ]
)
"""One row per parcel of each stop."""

EVENTS = pa.schema(
    [
        ("seq", _I),
        ("event_id", _S),
        ("parcel_id", _S),
        ("order_id", _S),
        ("order_kind", _S),
        ("kind", _S),
        ("at", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("day", _S),
        ("clock_s", _I),
        ("vehicle_id", _S),
        ("failure_reason", _S),
        ("lat", _F),
        ("lon", _F),
    ]
)
"""Every accepted scan of the range's days (``day``, ``clock_s``: local)."""

EXCEPTIONS = pa.schema(
    [
        *GROUP_COLUMNS,
        ("exception_id", _S),
        ("kind", _S),
        ("severity", _S),
        ("status", _S),
        ("first_seen_epoch_s", _I),
        ("resolved_epoch_s", _I),
    ]
)
"""Exceptions opened on the range's days (``hour``: local hour first seen)."""

DECISIONS = pa.schema(
    [
        *GROUP_COLUMNS,
        ("decision_id", _I),
        ("exception_id", _S),
        ("decision", _S),
        ("at_epoch_s", _I),
    ]
)
"""The decision log of the range's days, with their exception's grouping columns."""

SCHEMAS: dict[str, pa.Schema] = {
    "stops": STOPS,
    "parcels": PARCELS,
    "events": EVENTS,
    "exceptions": EXCEPTIONS,
    "decisions": DECISIONS,
}
"""Every facts table by name (the Parquet export writes ``<name>.parquet``)."""

_DONE = ("delivered", "return_picked_up")
_VISIT_ENDS = ("delivered", "failed_attempt", "return_picked_up")


@dataclass(frozen=True)
class Facts:
    """The facts of a range of days, as Arrow tables (columns: :data:`SCHEMAS`).

    Attributes
    ----------
    first_day, last_day
        ISO dates of the range, both included.
    tables
        Table name (``stops``, ``parcels``, ``events``, ``exceptions``,
        ``decisions``) -> its Arrow table.
    """

    first_day: str
    last_day: str
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pa.Table:
        """The table ``name`` (an empty one of the right columns when absent)."""
        table = self.tables.get(name)
        return SCHEMAS[name].empty_table() if table is None else table


def day_start(day: str, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` (ISO date), as an aware datetime."""
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone)


def _seconds(moment: datetime | None, midnight: datetime) -> int | None:
    return None if moment is None else int((moment - midnight).total_seconds())


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(_utc(moment).timestamp())


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def customer_key(order_id: str, email: str | None, phone: str | None) -> str:
    """Who a stop is for: the order's e-mail (lower case), else its phone, else its id."""
    return (email or "").strip().lower() or (phone or "").strip() or order_id


def _day_columns(day: str, hour: int | None) -> dict[str, Any]:
    weekday = date.fromisoformat(day).isoweekday()
    return {"day": day, "weekday": WEEKDAYS[weekday - 1], "weekday_num": weekday, "hour": hour}


@dataclass
class _Scan:
    kind: str
    at: datetime
    reason: str | None


def _outcome(kind: str, parcels: Sequence[str], scans: dict[str, list[_Scan]]) -> str:
    kinds = [{s.kind for s in scans.get(p, [])} for p in parcels]
    seen = set().union(*kinds) if kinds else set()
    if kind != "delivery":
        if "return_picked_up" in seen:
            return "picked_up"
        return "failed_attempt" if "failed_attempt" in seen else "pending"
    if parcels and all("delivered" in k for k in kinds):
        return "delivered"
    if "failed_attempt" in seen:
        return "failed_attempt"
    if "delivered" in seen:
        return "delivered"
    return "returned" if "returned_to_depot" in seen else "pending"


def _stop_facts(
    rows: Sequence[Any],
    owned: dict[str, list[str]],
    today: dict[tuple[str, str], list[_Scan]],
    failed_days: dict[str, set[str]],
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    """Stop rows (see :data:`STOPS`) from the store's rows and the day's scans.

    An order visited twice the same day (an accepted ``retry_today`` puts it on
    its route again) is one stop: the first visit's row, which sees every scan
    of its parcels that day (first arrival, last finish, the final outcome).
    """
    by_route: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        by_route[(row.day, row.route_id)].append(row)
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for (day, _route), stops in by_route.items():
        midnight = day_start(day, zone)
        per_stop = [{p: today.get((p, day), []) for p in owned.get(s.order_id, [])} for s in stops]
        departures = [
            x.at
            for scans in per_stop
            for ss in scans.values()
            for x in ss
            if x.kind == "out_for_delivery"
        ]
        departure_s = _seconds(min(departures), midnight) if departures else None
        first = stops[0]
        leave = first.route_start_s if departure_s is None else departure_s
        etas = estimate(
            [StopTimes(s.leg_s, s.service_s, s.window_start_s) for s in stops],
            leave,
            None if departure_s is None else departure_s,
        )
        for stop, scans, eta in zip(stops, per_stop, etas, strict=True):
            if (day, stop.order_id) in seen:
                continue
            seen.add((day, stop.order_id))
            flat = sorted((x for ss in scans.values() for x in ss), key=lambda x: x.at)
            arrivals = [x.at for x in flat if x.kind == "arrived_at_stop"]
            ends = [x.at for x in flat if x.kind in _VISIT_ENDS]
            failures = [x for x in flat if x.kind == "failed_attempt"]
            finished_s = _seconds(max(ends), midnight) if ends else None
            parcels = owned.get(stop.order_id, [])
            earlier = {d for p in parcels for d in failed_days.get(p, set()) if d < day}
            hour = (finished_s if finished_s is not None else stop.planned_arrival_s) // 3600
            out.append(
                {
                    **_day_columns(day, hour),
                    "route_id": stop.route_id,
                    "vehicle_id": stop.vehicle_id,
                    "driver_id": stop.driver_id,
                    "depot_id": stop.depot_id,
                    "order_id": stop.order_id,
                    "zip": stop.zip,
                    "customer": customer_key(stop.order_id, stop.email, stop.phone),
                    "route_version": stop.route_version,
                    "seq": stop.seq,
                    "kind": stop.kind,
                    "parcels": len(parcels),
                    "window_start_s": stop.window_start_s,
                    "window_end_s": stop.window_end_s,
                    "planned_arrival_s": stop.planned_arrival_s,
                    "planned_start_s": stop.planned_start_s,
                    "planned_service_s": stop.service_s,
                    "leg_s": stop.leg_s,
                    "route_start_s": stop.route_start_s,
                    "route_end_s": stop.route_end_s,
                    "route_distance_m": stop.route_distance_m,
                    "shift_end_s": stop.shift_end_s,
                    "cost_fixed": stop.cost_fixed,
                    "cost_per_km": stop.cost_per_km,
                    "cost_per_hour": stop.cost_per_hour,
                    "departure_s": departure_s,
                    "eta_departure_s": eta,
                    "arrived_s": _seconds(min(arrivals), midnight) if arrivals else None,
                    "finished_s": finished_s,
                    "outcome": _outcome(stop.kind, parcels, scans),
                    "failure_reason": failures[-1].reason if failures else None,
                    "attempt": 1 + len(earlier),
                }
            )
    return out


def _parcel_facts(
    stops: Sequence[dict[str, Any]],
    owned: dict[str, list[str]],
    today: dict[tuple[str, str], list[_Scan]],
    failed_at: dict[str, list[datetime]],
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    """Parcel rows (see :data:`PARCELS`) of the stop rows."""
    keep = [name for name, _ in GROUP_COLUMNS]
    out = []
    for stop in stops:
        midnight = day_start(stop["day"], zone)
        for parcel in owned.get(stop["order_id"], []):
            scans = today.get((parcel, stop["day"]), [])
            failed = [x for x in scans if x.kind == "failed_attempt"]
            done = next((x.at for x in scans if x.kind in _DONE), None)
            before = [m for m in failed_at.get(parcel, []) if m < (done or midnight)]
            delivered = done is not None and stop["kind"] == "delivery"
            out.append(
                {name: stop[name] for name in keep}
                | {
                    "parcel_id": parcel,
                    "kind": stop["kind"],
                    "prior_failures": sum(m < midnight for m in failed_at.get(parcel, [])),
                    "failures": len(failed),
                    "failure_reason": failed[-1].reason if failed else None,
                    "attempted": bool(failed) or done is not None,
                    "delivered": delivered,
                    "picked_up": done is not None and not delivered,
                    "returned": stop["kind"] == "delivery"
                    and any(x.kind == "returned_to_depot" for x in scans),
                    "done_epoch_s": _epoch(done),
                    "first_failed_epoch_s": _epoch(min(before)) if done and before else None,
                }
            )
    return out


def _scans(
    rows: Iterable[Any], zone: ZoneInfo, start: datetime
) -> tuple[dict[tuple[str, str], list[_Scan]], dict[str, list[datetime]], dict[str, set[str]]]:
    """The scans by (parcel, local day) from ``start``; every failed attempt by parcel."""
    today: dict[tuple[str, str], list[_Scan]] = defaultdict(list)
    failed_at: dict[str, list[datetime]] = defaultdict(list)
    failed_days: dict[str, set[str]] = defaultdict(set)
    for parcel_id, kind, at, reason in rows:
        moment = _utc(at)
        local_day = moment.astimezone(zone).date().isoformat()
        if kind == "failed_attempt":
            failed_at[parcel_id].append(moment)
            failed_days[parcel_id].add(local_day)
        if moment >= start:
            today[(parcel_id, local_day)].append(_Scan(kind, moment, reason))
    return today, failed_at, failed_days


def _event_facts(rows: Iterable[Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        moment = _utc(row.at)
        local = moment.astimezone(zone)
        day = local.date().isoformat()
        out.append(
            {
                "seq": row.seq,
                "event_id": row.event_id,
                "parcel_id": row.parcel_id,
                "order_id": row.order_id,
                "order_kind": row.order_kind,
                "kind": row.kind,
                "at": moment,
                "received_at": _utc(row.received_at),
                "day": day,
                "clock_s": _seconds(moment, day_start(day, zone)),
                "vehicle_id": row.vehicle_id,
                "failure_reason": row.failure_reason,
                "lat": row.lat,
                "lon": row.lon,
            }
        )
    return out


def _blank_group() -> dict[str, Any]:
    return {name: None for name, _ in GROUP_COLUMNS}


def _route_groups(db: Session, first_day: str, last_day: str) -> dict[str, dict[str, Any]]:
    """Every route version of the range -> the grouping columns of its current version."""
    rows = {r.id: r for r in q.route_rows(db, first_day, last_day)}
    out = {}
    for rid in rows:
        current = rid
        seen = {current}
        while rows[current].replaced_by in rows and rows[current].replaced_by not in seen:
            current = rows[current].replaced_by
            seen.add(current)
        row = rows[current]
        out[rid] = {
            "route_id": row.id,
            "vehicle_id": row.vehicle_id,
            "driver_id": row.driver_id,
            "depot_id": row.depot_id,
        }
    return out


def _dispatch_facts(
    db: Session, first_day: str, last_day: str, zone: ZoneInfo, driver_id: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Exception and decision rows (see :data:`EXCEPTIONS`, :data:`DECISIONS`)."""
    routes = _route_groups(db, first_day, last_day)
    exceptions = q.exception_rows(db, first_day, last_day)
    first_orders = [e.order_ids[0] for e in exceptions if e.order_ids]
    contacts = {o.id: o for o in q.order_contact_rows(db, sorted(set(first_orders)))}
    groups: dict[str, dict[str, Any]] = {}
    out_exceptions = []
    for e in exceptions:
        group = _blank_group() | routes.get(e.route_id or "", {})
        order = contacts.get(e.order_ids[0]) if e.order_ids else None
        if order is not None:
            group |= {
                "order_id": order.id,
                "zip": order.zip,
                "customer": customer_key(order.id, order.email, order.phone),
            }
        first_seen = _utc(e.first_seen)
        group |= _day_columns(e.day, first_seen.astimezone(zone).hour)
        groups[e.id] = group
        out_exceptions.append(
            group
            | {
                "exception_id": e.id,
                "kind": e.kind,
                "severity": e.severity,
                "status": e.status,
                "first_seen_epoch_s": _epoch(first_seen),
                "resolved_epoch_s": _epoch(e.resolved_at),
            }
        )
    out_decisions = []
    for d in q.decision_rows(db, first_day, last_day):
        at = _utc(d.at)
        group = groups.get(d.exception_id, _blank_group())
        group = group | _day_columns(d.day, at.astimezone(zone).hour)
        out_decisions.append(
            group
            | {
                "decision_id": d.id,
                "exception_id": d.exception_id,
                "decision": d.decision,
                "at_epoch_s": _epoch(at),
            }
        )
    if driver_id is not None:
        out_exceptions = [e for e in out_exceptions if e["driver_id"] == driver_id]
        out_decisions = [d for d in out_decisions if d["driver_id"] == driver_id]
    return out_exceptions, out_decisions


def load_facts(
    db: Session,
    first_day: str,
    last_day: str,
    timezone: str,
    driver_id: str | None = None,
    *,
    events: bool = True,
) -> Facts:
    """Read the facts of ``[first_day, last_day]`` from the store.

    Parameters
    ----------
    db
        A session (SQLite or PostgreSQL: the same rows either way).
    first_day, last_day
        ISO dates, both included.
    timezone
        The service's zone (``settings.timezone``): the clock of the days.
    driver_id
        Only that driver's routes, their parcels, scans, exceptions and
        decisions (what a driver's key may see); ``None``: everything.
    events
        Whether to read the ``events`` table too (the KPIs do not need it: False
        leaves it empty).

    Returns
    -------
    Facts
        The five tables (see the module's docstring).
    """
    zone = ZoneInfo(timezone)
    start = day_start(first_day, zone)
    end = day_start((date.fromisoformat(last_day) + timedelta(days=1)).isoformat(), zone)
    rows = q.stop_rows(db, first_day, last_day, driver_id)
    owned: dict[str, list[str]] = defaultdict(list)
    for parcel_id, order_id in q.parcel_rows(db, first_day, last_day, driver_id):
        owned[order_id].append(parcel_id)
    scans = q.stop_event_rows(db, first_day, last_day, start, end, driver_id)
    today, failed_at, failed_days = _scans(scans, zone, start)
    stops = _stop_facts(rows, owned, today, failed_days, zone)
    parcels = _parcel_facts(stops, owned, today, failed_at, zone)
    scanned = _event_facts(q.event_rows(db, start, end, driver_id), zone) if events else []
    exceptions, decisions = _dispatch_facts(db, first_day, last_day, zone, driver_id)
    tables = {
        "stops": stops,
        "parcels": parcels,
        "events": scanned,
        "exceptions": exceptions,
        "decisions": decisions,
    }
    return Facts(
        first_day,
        last_day,
        {name: pa.Table.from_pylist(rows, schema=SCHEMAS[name]) for name, rows in tables.items()},
    )


def write_parquet(facts: Facts, directory: Path, names: Iterable[str] = tuple(SCHEMAS)) -> None:
    """Write the tables ``names`` of ``facts`` as ``<directory>/<name>.parquet``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        pq.write_table(facts[name], directory / f"{name}.parquet")


def parquet_paths(directory: Path) -> dict[str, Path]:
    """The facts files present in ``directory``, by table name."""
    return {
        name: directory / f"{name}.parquet"
        for name in SCHEMAS
        if (directory / f"{name}.parquet").is_file()
    }
