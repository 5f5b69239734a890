"""Every KPI of the day, once: DuckDB SQL over the facts tables (Arrow or Parquet).

:func:`compute_kpis` runs the same SQL whether the facts were read from SQLite
or PostgreSQL (:func:`doorstep.analytics.facts.load_facts`) or from a Parquet
export, so all three give the same numbers. DuckDB runs in memory with its
extensions never installed nor loaded (nothing downloads): it is handed Arrow
tables or reads Parquet files.

The definitions (docs/kpis.md says them in the same words):

Stops (table ``stops``; a stop is *visited* when it has a finish time: a
parcel delivered, picked up or failed at the door):

- ``stops``: stops on the current route versions. ``stops_visited``.
- ``on_time_rate``: visited stops finished inside their window
  (``window_start_s <= finished_s <= window_end_s``; a stop without a window
  is on time) / visited stops. A stop completed before its window opens is
  not on time. Failed attempts count: the visit was made (or not) on time.
- ``eta_mae_min``: mean of ``|actual arrival - ETA given at departure|`` in
  minutes, over stops with an actual arrival (the ``arrived_at_stop`` scan,
  else the finish). ``eta_within_15_rate``: the share of those within ±15
  minutes (900 s).
- ``service_min_actual`` / ``service_min_planned``: mean of ``finished_s -
  arrived_s`` and of the planned service time, over stops with both scans
  (waiting at the door for the window counts as actual service).
- ``sequence_adherence``: visited stops whose rank by finish time equals
  their rank by planned sequence (among the route's visited stops) /
  visited stops.

Routes (one per current route version and day, shared out evenly over its
stops, so that grouping by area, hour or customer adds up to the whole):

- ``km``: the route's planned distance (the store has no odometer).
  ``km_per_stop``: km / stops. ``km_per_parcel``: km / parcels delivered or
  picked up.
- ``duty_h``: from the actual departure (else the planned one) to the last
  finish plus the planned drive back (the planned end minus the planned end
  of service at the last stop); a route with no visit: its planned duration.
  ``overtime_h``: duty beyond the vehicle's shift end. ``stops_per_hour``:
  visited stops / duty hours.
- ``cost``: ``cost_fixed + cost_per_km * km + cost_per_hour * duty hours``
  (the planner's formula, :func:`doorstep.plan.evaluator.route_cost`), in
  currency units. ``cost_per_parcel``: cost / parcels delivered or picked up.

Parcels (table ``parcels``, one row per parcel of each stop):

- ``parcels_attempted``: parcels delivered, picked up or failed at the door
  on the stop's day. ``parcels_delivered`` (deliveries handed over),
  ``parcels_picked_up`` (returns collected), ``failed_attempts`` (failed
  scans), ``parcel_attempts`` (failed scans plus handovers).
- ``first_attempt_success_rate``: parcels handed over at their first attempt
  / parcels whose first attempt falls in the range (each parcel counts once,
  on the day of its first attempt; a parcel that failed before the range is
  not counted again).
- ``attempts_per_delivered_parcel``: mean attempt number at handover of the
  delivered parcels (earlier failed attempts + 1, before the range too).
- ``failures_by_reason``: failed attempts by reason (reason -> count).
- ``parcels_returned``: delivery parcels scanned ``returned_to_depot`` on the
  stop's day (returns collected from customers are not counted).
- ``redelivery_lead_time_h``: mean hours from a delivered parcel's first
  failed attempt to its delivery, over parcels delivered after a failure.

Dispatch (tables ``exceptions`` and ``decisions``):

- ``exceptions_opened`` (opened on a day of the range), ``exceptions_resolved``,
  ``exception_resolve_min`` (mean minutes from first seen to resolved).
- ``proposals_accepted`` (by a person or automatically), ``proposals_rejected``.

A ratio whose denominator is zero is ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from doorstep.analytics.facts import SCHEMAS, Facts, load_facts, parquet_paths
from doorstep.service.refusal import RefusedError

MAX_DAYS = 366
"""The longest range anyone may ask for."""
DRIVER_MAX_DAYS = 31
"""The longest range a driver may ask for (its own figures)."""
EARLIEST = date(1970, 1, 1)
LATEST = date(9999, 12, 30)
"""The days a range may name (midnights beyond them have no UTC moment)."""

GROUP_BY: dict[str, str] = {
    "depot": "depot_id",
    "route": "route_id",
    "driver": "driver_id",
    "vehicle": "vehicle_id",
    "weekday": "weekday",
    "hour": "hour",
    "area": "zip",
    "customer": "customer",
}
"""What ``group_by`` may be -> the facts column that is the group's key."""

KPI_TABLES = ("stops", "parcels", "exceptions", "decisions")
"""The facts tables the KPIs read."""

_STOPS = """
route AS (
    SELECT day, route_id,
        count(*) AS n_stops,
        max(finished_s) AS last_finish_s,
        arg_max(planned_start_s + planned_service_s, seq) AS last_planned_free_s,
        any_value(route_start_s) AS start_s,
        any_value(route_end_s) AS end_s,
        any_value(departure_s) AS departure_s,
        any_value(route_distance_m) AS distance_m,
        any_value(shift_end_s) AS shift_end_s,
        coalesce(any_value(cost_fixed), 0) AS cost_fixed,
        coalesce(any_value(cost_per_km), 0) AS cost_per_km,
        coalesce(any_value(cost_per_hour), 0) AS cost_per_hour
    FROM stops GROUP BY day, route_id
),
duty AS (
    SELECT *,
        coalesce(departure_s, start_s) AS duty_start_s,
        CASE WHEN last_finish_s IS NULL
            THEN coalesce(departure_s, start_s) + end_s - start_s
            ELSE last_finish_s + greatest(end_s - last_planned_free_s, 0)
        END AS duty_end_s
    FROM route
),
route_cost AS (
    SELECT day, route_id, n_stops, distance_m,
        duty_end_s - duty_start_s AS duty_s,
        greatest(duty_end_s - coalesce(shift_end_s, end_s), 0) AS overtime_s,
        cost_fixed + cost_per_km * distance_m / 1000.0
            + cost_per_hour * (duty_end_s - duty_start_s) / 3600.0 AS cost_cents
    FROM duty
),
ranks AS (
    SELECT day, route_id, seq,
        row_number() OVER (PARTITION BY day, route_id ORDER BY seq) AS planned_rank,
        row_number() OVER (PARTITION BY day, route_id ORDER BY finished_s, seq) AS actual_rank
    FROM stops WHERE finished_s IS NOT NULL
),
stop_kpis AS (
    SELECT {key} AS key, {sort} AS sort_key,
        count(*) AS stops,
        count(s.finished_s) AS stops_visited,
        count(*) FILTER (WHERE s.finished_s
            BETWEEN coalesce(s.window_start_s, s.finished_s)
            AND coalesce(s.window_end_s, s.finished_s)) AS stops_on_time,
        count(coalesce(s.arrived_s, s.finished_s)) AS stops_arrived,
        avg(abs(coalesce(s.arrived_s, s.finished_s) - s.eta_departure_s)) / 60.0 AS eta_mae_min,
        count(*) FILTER (WHERE abs(coalesce(s.arrived_s, s.finished_s) - s.eta_departure_s)
            <= 900) AS stops_eta_within_15,
        avg(s.finished_s - s.arrived_s) / 60.0 AS service_min_actual,
        avg(CASE WHEN s.finished_s IS NOT NULL AND s.arrived_s IS NOT NULL
            THEN s.planned_service_s END) / 60.0 AS service_min_planned,
        count(*) FILTER (WHERE r.planned_rank = r.actual_rank) AS stops_in_sequence,
        sum(c.distance_m / c.n_stops) / 1000.0 AS km,
        sum(c.duty_s / c.n_stops) / 3600.0 AS duty_h,
        sum(c.overtime_s / c.n_stops) / 3600.0 AS overtime_h,
        sum(c.cost_cents / c.n_stops) / 100.0 AS cost
    FROM stops s
    JOIN route_cost c ON c.day = s.day AND c.route_id = s.route_id
    LEFT JOIN ranks r ON r.day = s.day AND r.route_id = s.route_id AND r.seq = s.seq
    GROUP BY 1
)"""

_PARCELS = """
parcel_kpis AS (
    SELECT {key} AS key, {sort} AS sort_key,
        count(*) AS parcels,
        count(*) FILTER (WHERE attempted) AS parcels_attempted,
        count(*) FILTER (WHERE delivered) AS parcels_delivered,
        count(*) FILTER (WHERE picked_up) AS parcels_picked_up,
        coalesce(sum(failures), 0) AS failed_attempts,
        coalesce(sum(failures + CAST(delivered OR picked_up AS BIGINT)), 0) AS parcel_attempts,
        count(*) FILTER (WHERE prior_failures = 0 AND attempted) AS first_attempts,
        count(*) FILTER (WHERE prior_failures = 0 AND failures = 0
            AND (delivered OR picked_up)) AS first_attempt_successes,
        avg(CASE WHEN delivered THEN prior_failures + failures + 1 END)
            AS attempts_per_delivered_parcel,
        count(*) FILTER (WHERE returned) AS parcels_returned,
        avg(CASE WHEN delivered AND first_failed_epoch_s IS NOT NULL
            THEN (done_epoch_s - first_failed_epoch_s) / 3600.0 END) AS redelivery_lead_time_h
    FROM parcels GROUP BY 1
)"""

_DISPATCH = """
exception_kpis AS (
    SELECT {key} AS key, {sort} AS sort_key,
        count(*) AS exceptions_opened,
        count(resolved_epoch_s) AS exceptions_resolved,
        avg((resolved_epoch_s - first_seen_epoch_s) / 60.0) AS exception_resolve_min
    FROM exceptions GROUP BY 1
),
decision_kpis AS (
    SELECT {key} AS key, {sort} AS sort_key,
        count(*) FILTER (WHERE decision IN ('accepted', 'automatic')) AS proposals_accepted,
        count(*) FILTER (WHERE decision = 'rejected') AS proposals_rejected
    FROM decisions GROUP BY 1
)"""

_SELECT = """
keys AS (
    SELECT key, min(sort_key) AS sort_key FROM (
        SELECT key, sort_key FROM stop_kpis
        UNION ALL SELECT key, sort_key FROM parcel_kpis
        UNION ALL SELECT key, sort_key FROM exception_kpis
        UNION ALL SELECT key, sort_key FROM decision_kpis
        UNION ALL SELECT NULL, NULL WHERE {always}
    ) GROUP BY key
)
SELECT k.key,
    coalesce(s.stops, 0) AS stops,
    coalesce(s.stops_visited, 0) AS stops_visited,
    coalesce(p.parcels, 0) AS parcels,
    coalesce(p.parcels_attempted, 0) AS parcels_attempted,
    coalesce(p.parcels_delivered, 0) AS parcels_delivered,
    coalesce(p.parcels_picked_up, 0) AS parcels_picked_up,
    coalesce(p.parcel_attempts, 0) AS parcel_attempts,
    coalesce(p.failed_attempts, 0) AS failed_attempts,
    coalesce(s.stops_on_time, 0) AS stops_on_time,
    s.stops_on_time / nullif(s.stops_visited, 0) AS on_time_rate,
    p.first_attempt_successes / nullif(p.first_attempts, 0) AS first_attempt_success_rate,
    p.attempts_per_delivered_parcel,
    coalesce(s.km, 0) AS km,
    s.km / nullif(s.stops, 0) AS km_per_stop,
    s.km / nullif(p.parcels_delivered + p.parcels_picked_up, 0) AS km_per_parcel,
    coalesce(s.duty_h, 0) AS duty_h,
    coalesce(s.overtime_h, 0) AS overtime_h,
    s.stops_visited / nullif(s.duty_h, 0) AS stops_per_hour,
    coalesce(s.cost, 0) AS cost,
    s.cost / nullif(p.parcels_delivered + p.parcels_picked_up, 0) AS cost_per_parcel,
    s.eta_mae_min,
    s.stops_eta_within_15 / nullif(s.stops_arrived, 0) AS eta_within_15_rate,
    s.service_min_actual,
    s.service_min_planned,
    s.stops_in_sequence / nullif(s.stops_visited, 0) AS sequence_adherence,
    coalesce(p.parcels_returned, 0) AS parcels_returned,
    p.redelivery_lead_time_h,
    coalesce(e.exceptions_opened, 0) AS exceptions_opened,
    coalesce(e.exceptions_resolved, 0) AS exceptions_resolved,
    e.exception_resolve_min,
    coalesce(d.proposals_accepted, 0) AS proposals_accepted,
    coalesce(d.proposals_rejected, 0) AS proposals_rejected
FROM keys k
LEFT JOIN stop_kpis s ON s.key IS NOT DISTINCT FROM k.key
LEFT JOIN parcel_kpis p ON p.key IS NOT DISTINCT FROM k.key
LEFT JOIN exception_kpis e ON e.key IS NOT DISTINCT FROM k.key
LEFT JOIN decision_kpis d ON d.key IS NOT DISTINCT FROM k.key
ORDER BY k.sort_key NULLS LAST, k.key NULLS LAST
"""

_REASONS = """
SELECT {key} AS key, failure_reason AS reason, sum(failures) AS failures
FROM parcels WHERE failures > 0
GROUP BY 1, 2 ORDER BY 2
"""

FIELDS: tuple[str, ...] = (
    "stops",
    "stops_visited",
    "parcels",
    "parcels_attempted",
    "parcels_delivered",
    "parcels_picked_up",
    "parcel_attempts",
    "failed_attempts",
    "stops_on_time",
    "on_time_rate",
    "first_attempt_success_rate",
    "attempts_per_delivered_parcel",
    "failures_by_reason",
    "km",
    "km_per_stop",
    "km_per_parcel",
    "duty_h",
    "overtime_h",
    "stops_per_hour",
    "cost",
    "cost_per_parcel",
    "eta_mae_min",
    "eta_within_15_rate",
    "service_min_actual",
    "service_min_planned",
    "sequence_adherence",
    "parcels_returned",
    "redelivery_lead_time_h",
    "exceptions_opened",
    "exceptions_resolved",
    "exception_resolve_min",
    "proposals_accepted",
    "proposals_rejected",
)
"""The KPIs of a group (and of the total), in the order they are printed."""


def check_group_by(group_by: str | None) -> str | None:
    """``group_by`` itself when it is one of :data:`GROUP_BY` (or None).

    Raises
    ------
    RefusedError
        ``unknown_group_by`` otherwise (422).
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise RefusedError(
            "unknown_group_by",
            f"Cannot group by {group_by!r}: use one of {', '.join(GROUP_BY)}.",
            errors=[{"field": "query.group_by", "message": "unknown grouping"}],
        )
    return group_by


def check_range(first: date, last: date, max_days: int = MAX_DAYS) -> None:
    """Refuse a range that runs backwards or is longer than ``max_days`` (both days count).

    Raises
    ------
    RefusedError
        ``range_backwards`` when ``last`` is before ``first``; ``range_too_long``
        beyond ``max_days`` days; ``day_out_of_range`` for a day before
        :data:`EARLIEST` or after :data:`LATEST`.
    """
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            raise RefusedError(
                "day_out_of_range",
                f"{name}={day} is out of range: give a day from {EARLIEST} to {LATEST}.",
                errors=[{"field": f"query.{name}", "message": "out of range"}],
            )
    if last < first:
        raise RefusedError(
            "range_backwards",
            f"The range ends ({last}) before it starts ({first}): swap from and to.",
            errors=[{"field": "query.to", "message": "before from"}],
        )
    days = (last - first).days + 1
    if days > max_days:
        raise RefusedError(
            "range_too_long",
            f"{days} days asked; at most {max_days} days at a time for this key. "
            "Ask for a shorter range.",
            errors=[{"field": "query.to", "message": f"more than {max_days} days after from"}],
        )


def kpi_answer(
    db: Session,
    first: date,
    last: date,
    group_by: str | None,
    timezone: str,
    driver_id: str | None = None,
) -> dict[str, Any]:
    """The KPIs of a range from the store, as ``GET /v1/kpis`` and ``doorstep kpi`` answer.

    Parameters
    ----------
    db
        A session.
    first, last
        The range, both days included (checked by :func:`check_range`: a
        driver's at most :data:`DRIVER_MAX_DAYS`).
    group_by
        A key of :data:`GROUP_BY`, or None.
    timezone
        The service's zone.
    driver_id
        Only this driver's figures (a driver's key).

    Returns
    -------
    dict
        ``{"from", "to", "group_by", "total": {FIELDS...}, "groups": [{"key", FIELDS...}]}``
        (``groups`` empty without ``group_by``).

    Raises
    ------
    RefusedError
        ``range_backwards``, ``range_too_long``, ``unknown_group_by``.
    """
    check_range(first, last, MAX_DAYS if driver_id is None else DRIVER_MAX_DAYS)
    check_group_by(group_by)
    facts = load_facts(db, first.isoformat(), last.isoformat(), timezone, driver_id, events=False)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "group_by": group_by,
        "total": total(facts),
        "groups": [] if group_by is None else compute_kpis(facts, group_by),
    }


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never installs nor loads an extension (nothing downloads)."""
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def register(
    con: duckdb.DuckDBPyConnection, source: Facts | Path, days: tuple[date, date] | None = None
) -> None:
    """Make the KPI tables visible to ``con`` under their names.

    Parameters
    ----------
    con
        A connection from :func:`connect`.
    source
        Facts in memory (their Arrow tables are handed over, not copied), or a
        directory of ``<name>.parquet`` files (read in place; a missing
        ``exceptions`` or ``decisions`` file is an empty table).
    days
        Only the rows of these days (first and last included); None: all.
    """
    where = "" if days is None else f" WHERE day BETWEEN '{days[0]}' AND '{days[1]}'"
    if isinstance(source, Facts):
        for name in KPI_TABLES:
            con.register(f"all_{name}", source[name])
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM all_{name}{where}")
        return
    files = parquet_paths(source)
    for name in KPI_TABLES:
        if name in files:
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quoted(files[name])}){where}"
            )
        elif name in ("stops", "parcels"):
            raise RefusedError(
                "missing_facts",
                f"No {name}.parquet in {source}: export it with `doorstep export {name}`.",
            )
        else:
            con.register(f"all_{name}", SCHEMAS[name].empty_table())
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM all_{name}")


def _key_sql(group_by: str | None, alias: str = "") -> dict[str, str]:
    """The group's key and sort expressions, their columns read from table ``alias``."""
    if group_by is None:
        return {"key": "NULL", "sort": "NULL"}
    column = alias + GROUP_BY[group_by]
    sort = alias + "weekday_num" if group_by == "weekday" else column
    return {"key": column, "sort": f"min({sort})"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _plain(value: Any) -> Any:
    """Python numbers only (DuckDB answers HUGEINT sums as int, averages as float)."""
    return float(value) if isinstance(value, float) else value


def compute_kpis(
    source: Facts | Path, group_by: str | None = None, days: tuple[date, date] | None = None
) -> list[dict[str, Any]]:
    """Every KPI of :data:`FIELDS`, for the whole range or per group.

    Parameters
    ----------
    source
        The facts (:func:`doorstep.analytics.facts.load_facts`) or a directory
        of their Parquet export.
    group_by
        ``None`` for one row for everything, or a key of :data:`GROUP_BY`.
    days
        Only these days of the facts (first and last included); None: all of them.

    Returns
    -------
    list of dict
        One plain dict per group, ``{"key": ..., <FIELDS>...}``, by key (for
        ``weekday``, Monday first; a group without a key, such as stops of a
        route without a driver, last). With ``group_by=None``, exactly one row
        whose key is None, even for an empty range.

    Raises
    ------
    RefusedError
        ``unknown_group_by`` for a ``group_by`` not in :data:`GROUP_BY`.
    """
    check_group_by(group_by)
    keys = _key_sql(group_by)
    with connect() as con:
        register(con, source, days)
        parts = [_STOPS.format(**_key_sql(group_by, "s."))]
        parts += [p.format(**keys) for p in (_PARCELS, _DISPATCH)]
        always = "true" if group_by is None else "false"
        rows = _rows(con, "WITH " + ",".join(parts) + "," + _SELECT.format(always=always))
        reasons: dict[Any, dict[str, int]] = defaultdict(dict)
        for row in _rows(con, _REASONS.format(**keys)):
            reasons[row["key"]][row["reason"] or "unknown"] = int(row["failures"])
    out = [
        {"key": row["key"]}
        | {
            name: reasons.get(row["key"], {}) if name == "failures_by_reason" else _plain(row[name])
            for name in FIELDS
        }
        for row in rows
    ]
    return out


def total(source: Facts | Path, days: tuple[date, date] | None = None) -> dict[str, Any]:
    """The KPIs of the whole range: :func:`compute_kpis` without grouping, without its key."""
    row = compute_kpis(source, None, days)[0]
    return {name: row[name] for name in FIELDS}


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    """KPI rows as an Arrow table (``failures_by_reason`` as ``reason=count; ...`` text)."""
    flat = [
        {
            **row,
            "failures_by_reason": "; ".join(
                f"{k}={v}" for k, v in row["failures_by_reason"].items()
            ),
        }
        for row in rows
    ]
    return pa.Table.from_pylist(flat)
