"""Rules about the fleet file, and the building of a :class:`Fleet` from its clean rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import UNLIMITED, Break, Costs, Depot, Fleet, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.time_window import TimeWindow
from doorstep.gate.context import in_range
from doorstep.io.fleet import VehicleRecord
from doorstep.units import format_clock, haversine_m

DEPOT_CONFLICT_M = 50.0
"""Two rows naming one depot may disagree on its location by this much (GPS noise)."""


def _error(record: VehicleRecord, field_name: str | None, code: str, message: str) -> Finding:
    return Finding(code, Severity.ERROR, message, record.row, field_name, source="fleet")


def check_fleet(records: Sequence[VehicleRecord]) -> Iterator[Finding]:
    """Check every vehicle row.

    Codes (all errors): ``fleet_vehicle_id_missing``, ``fleet_duplicate_vehicle_id``,
    ``fleet_depot_missing_coordinates``, ``fleet_depot_coordinates_invalid``,
    ``fleet_depot_conflict``, ``fleet_shift_end_before_start``, ``fleet_zero_capacity``,
    ``fleet_break_invalid``, ``fleet_end_depot_unknown``.
    """
    seen_ids: dict[str, int] = {}
    depots: dict[str, VehicleRecord] = {}
    for record in records:
        if not record.vehicle_id:
            yield _error(record, "vehicle_id", "fleet_vehicle_id_missing", "the vehicle has no id.")
        elif seen_ids.setdefault(record.vehicle_id, record.row) != record.row:
            yield _error(
                record,
                "vehicle_id",
                "fleet_duplicate_vehicle_id",
                f"vehicle id {record.vehicle_id} is already used on row "
                f"{seen_ids[record.vehicle_id]}; give each vehicle its own id.",
            )
        yield from _check_depot(record, depots)
        yield from _check_shift(record)
        yield from _check_capacity(record)
    for record in records:
        yield from _check_end_depot(record, depots)


def _check_end_depot(record: VehicleRecord, depots: dict[str, VehicleRecord]) -> Iterator[Finding]:
    """An end depot needs a place: its own coordinates, or a start depot of the fleet."""
    end_id = record.end_depot_id
    if not end_id or {"end_depot_lat", "end_depot_lon", "end_depot_id"} & record.unparsed:
        return
    lat, lon = record.end_depot_lat, record.end_depot_lon
    if lat is None or lon is None:
        if end_id not in depots:
            yield _error(
                record,
                "end_depot_id",
                "fleet_end_depot_unknown",
                f"end depot {end_id} is no vehicle's start depot and has no coordinates; add "
                "end_depot_lat and end_depot_lon (or list the depot), or leave end_depot_id "
                "empty to end at the start depot.",
            )
        return
    yield from _check_place(
        record, "end_depot_lat", f"end depot {end_id}", lat, lon, depots.get(end_id)
    )


def _check_depot(record: VehicleRecord, depots: dict[str, VehicleRecord]) -> Iterator[Finding]:
    if {"depot_lat", "depot_lon"} & record.unparsed:
        return
    lat, lon = record.depot_lat, record.depot_lon
    if lat is None or lon is None:
        yield _error(
            record,
            "depot_lat" if lat is None else "depot_lon",
            "fleet_depot_missing_coordinates",
            f"depot {record.depot_id or '(unnamed)'} has no coordinates; add depot_lat and "
            "depot_lon.",
        )
        return
    first = depots.setdefault(record.depot_id, record) if in_range(lat, lon) else None
    yield from _check_place(record, "depot_lat", f"depot {record.depot_id}", lat, lon, first)


def _check_place(
    record: VehicleRecord,
    field: str,
    depot: str,
    lat: float,
    lon: float,
    first: VehicleRecord | None,
) -> Iterator[Finding]:
    """A depot's coordinates: a real place, and where ``first`` (its first row) puts it."""
    if not in_range(lat, lon):
        yield _error(
            record,
            field,
            "fleet_depot_coordinates_invalid",
            f"{depot} coordinates ({lat}, {lon}) are not a real place; check them.",
        )
        return
    if first is None or first.depot_lat is None or first.depot_lon is None:
        return
    gap = haversine_m(lat, lon, first.depot_lat, first.depot_lon)
    if gap > DEPOT_CONFLICT_M:
        yield _error(
            record,
            field,
            "fleet_depot_conflict",
            f"{depot} is {gap:,.0f} m from where row {first.row} puts it; "
            "use one location per depot id.",
        )


def _check_shift(record: VehicleRecord) -> Iterator[Finding]:
    if not {"shift_start", "shift_end"} & record.unparsed and (
        record.shift_end <= record.shift_start
    ):
        yield _error(
            record,
            "shift_end",
            "fleet_shift_end_before_start",
            f"the shift ends at {format_clock(record.shift_end)}, not after it starts at "
            f"{format_clock(record.shift_start)}; correct the times (a night shift ends "
            "after 24:00, e.g. 26:00).",
        )
        return
    if record.max_duration_s == 0:
        yield _error(
            record,
            "max_duration_min",
            "fleet_zero_duration",
            "the maximum route duration is 0; leave it empty for no limit.",
        )
    if record.break_s is not None:
        start = record.shift_start if record.break_start is None else record.break_start
        end = record.shift_end if record.break_end is None else record.break_end
        if (
            end < start
            or end - start < record.break_s
            or start < record.shift_start
            or end > record.shift_end
        ):
            yield _error(
                record,
                "break_start",
                "fleet_break_invalid",
                f"a {record.break_s // 60} min break between {format_clock(start)} and "
                f"{format_clock(end)} does not fit in the shift "
                f"{format_clock(record.shift_start)}-{format_clock(record.shift_end)}.",
            )


def _check_capacity(record: VehicleRecord) -> Iterator[Finding]:
    for column, value in (
        ("capacity_parcels", record.capacity_parcels),
        ("capacity_kg", record.capacity_g),
        ("capacity_l", record.capacity_ml),
    ):
        if value == 0:
            yield _error(
                record,
                column,
                "fleet_zero_capacity",
                f"{column} is 0, so the vehicle can carry nothing; give its capacity or "
                "leave the cell empty for no limit.",
            )


def build_fleet(records: Sequence[VehicleRecord], rejected_rows: set[int]) -> Fleet:
    """Build the :class:`Fleet` from the rows that have no error.

    An end depot named without coordinates takes those of the start depot with its id.
    """
    depots: dict[str, Depot] = {}
    places = {
        r.depot_id: Location(r.depot_lat, r.depot_lon)
        for r in reversed(records)
        if r.depot_lat is not None
        and r.depot_lon is not None
        and in_range(r.depot_lat, r.depot_lon)
    }
    vehicles: list[Vehicle] = []
    for r in records:
        if r.row in rejected_rows or r.depot_lat is None or r.depot_lon is None:
            continue
        depots.setdefault(r.depot_id, Depot(r.depot_id, Location(r.depot_lat, r.depot_lon)))
        end_id = r.end_depot_id or None
        if end_id is not None and end_id not in depots:
            if r.end_depot_lat is not None and r.end_depot_lon is not None:
                place = Location(r.end_depot_lat, r.end_depot_lon)
            else:
                place = places[end_id]
            depots[end_id] = Depot(end_id, place)
        shift = TimeWindow(r.shift_start, r.shift_end)
        pause = None
        if r.break_s is not None:
            window = TimeWindow(
                r.shift_start if r.break_start is None else r.break_start,
                r.shift_end if r.break_end is None else r.break_end,
            )
            pause = Break(window, r.break_s)
        vehicles.append(
            Vehicle(
                id=r.vehicle_id,
                depot_id=r.depot_id,
                profile=r.profile,
                capacity=Load(
                    UNLIMITED if r.capacity_parcels is None else r.capacity_parcels,
                    UNLIMITED if r.capacity_g is None else r.capacity_g,
                    UNLIMITED if r.capacity_ml is None else r.capacity_ml,
                ),
                shift=shift,
                max_duration_s=r.max_duration_s,
                break_=pause,
                costs=Costs(r.cost_fixed, r.cost_per_km, r.cost_per_hour),
                skills=r.skills,
                end_depot_id=end_id,
            )
        )
    return Fleet(tuple(depots.values()), tuple(vehicles))
