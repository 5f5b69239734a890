"""Turn the rows of a fleet file (CSV, Excel, JSON, YAML) into :class:`VehicleRecord` values.

Each row is one vehicle with its depot. Empty cells mean: the vehicle's profile
is ``van``; its shift is the whole day; a capacity dimension left empty is not
limited; no break, no maximum duration, no costs, no skills.

JSON and YAML fleets may also list depots apart, as
``{"depots": [{"id", "lat", "lon"}], "vehicles": [{"vehicle_id", "depot_id", ...}]}``;
a vehicle then takes its depot's coordinates from there.

A vehicle that ends its day at another depot names it in ``end_depot_id`` (with
``end_depot_lat``/``end_depot_lon``, or a depot of the depot list or of another
row); empty, it returns to its start depot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Profile
from doorstep.domain.ids import id_finding
from doorstep.io import values as v
from doorstep.io.orders import parse_amount, parse_choice
from doorstep.io.tables import RawTable
from doorstep.units import (
    CENTS_PER_UNIT,
    GRAMS_PER_KG,
    MILLILITRES_PER_LITRE,
    SECONDS_PER_DAY,
    SECONDS_PER_MINUTE,
)

PROFILE_SYNONYMS: dict[str, Profile] = {
    "car": Profile.CAR,
    "van": Profile.VAN,
    "truck": Profile.VAN,
    "lorry": Profile.VAN,
    "bike": Profile.BIKE,
    "bicycle": Profile.BIKE,
    "cargo_bike": Profile.BIKE,
    "cargobike": Profile.BIKE,
    "cargo bike": Profile.BIKE,
    "foot": Profile.FOOT,
    "walk": Profile.FOOT,
    "walking": Profile.FOOT,
    "pedestrian": Profile.FOOT,
}


@dataclass(slots=True)
class VehicleRecord:
    """What one row of a fleet file says, in internal units (``None`` = not given)."""

    row: int
    vehicle_id: str = ""
    depot_id: str = ""
    depot_lat: float | None = None
    depot_lon: float | None = None
    end_depot_id: str = ""
    end_depot_lat: float | None = None
    end_depot_lon: float | None = None
    profile: Profile = Profile.VAN
    shift_start: int = 0
    shift_end: int = SECONDS_PER_DAY
    max_duration_s: int | None = None
    break_start: int | None = None
    break_end: int | None = None
    break_s: int | None = None
    capacity_parcels: int | None = None
    capacity_g: int | None = None
    capacity_ml: int | None = None
    cost_fixed: int = 0
    cost_per_km: int = 0
    cost_per_hour: int = 0
    skills: frozenset[str] = frozenset()
    unparsed: set[str] = field(default_factory=set)


# column -> (attribute, converter, what the value should be)
_FIELDS: tuple[tuple[str, str, Any, str], ...] = (
    ("depot_lat", "depot_lat", v.number, "a latitude in decimal degrees"),
    ("depot_lon", "depot_lon", v.number, "a longitude in decimal degrees"),
    ("end_depot_lat", "end_depot_lat", v.number, "a latitude in decimal degrees"),
    ("end_depot_lon", "end_depot_lon", v.number, "a longitude in decimal degrees"),
    ("shift_start", "shift_start", v.clock, "a time (HH:MM)"),
    ("shift_end", "shift_end", v.clock, "a time (HH:MM)"),
    ("max_duration_min", "max_duration_s", v.scaled(SECONDS_PER_MINUTE), "minutes"),
    ("break_start", "break_start", v.clock, "a time (HH:MM)"),
    ("break_end", "break_end", v.clock, "a time (HH:MM)"),
    ("break_min", "break_s", v.scaled(SECONDS_PER_MINUTE), "minutes"),
    ("capacity_parcels", "capacity_parcels", v.whole, "a whole number of parcels"),
    ("capacity_kg", "capacity_g", v.scaled(GRAMS_PER_KG), "kilograms"),
    ("capacity_l", "capacity_ml", v.scaled(MILLILITRES_PER_LITRE), "litres"),
    ("cost_fixed", "cost_fixed", v.scaled(CENTS_PER_UNIT), "an amount of money"),
    ("cost_per_km", "cost_per_km", v.scaled(CENTS_PER_UNIT), "an amount of money"),
    ("cost_per_hour", "cost_per_hour", v.scaled(CENTS_PER_UNIT), "an amount of money"),
)
_MAY_BE_NEGATIVE = frozenset({"depot_lat", "depot_lon", "end_depot_lat", "end_depot_lon"})


def parse_fleet(table: RawTable) -> tuple[list[VehicleRecord], list[Finding]]:
    """Parse every row of a fleet table; return the records and the parse findings.

    A row that names a depot id without coordinates takes them from the table's
    separate depot list (JSON/YAML fleets), if it has that depot.
    """
    depots = table.depots
    records: list[VehicleRecord] = []
    findings: list[Finding] = []
    for raw in table.rows:
        values = dict(raw.values)
        depot_id = v.text(values.get("depot_id"))
        if depots and depot_id in depots and v.is_blank(values.get("depot_lat")):
            values["depot_lat"], values["depot_lon"] = depots[depot_id]
        end_id = v.text(values.get("end_depot_id"))
        if depots and end_id in depots and v.is_blank(values.get("end_depot_lat")):
            values["end_depot_lat"], values["end_depot_lon"] = depots[end_id]
        record = VehicleRecord(
            row=raw.row,
            vehicle_id=v.text(values.get("vehicle_id")),
            depot_id=depot_id,
            end_depot_id=end_id,
            skills=v.skills(values.get("skills")),
        )
        if raw.problem is not None:
            record.unparsed.add("row")
            findings.append(_error(raw.row, None, "row_unreadable", f"{raw.problem}."))
        ids = (("vehicle_id", record.vehicle_id), ("depot_id", depot_id), ("end_depot_id", end_id))
        for column, value in ids:
            if column == "end_depot_id" and not value:
                continue
            bad_id = id_finding(value, raw.row, column, f"fleet_{column}_invalid", "fleet")
            if bad_id is not None:
                findings.append(bad_id)
                record.unparsed.add(column)
        profile = parse_choice(
            values.get("profile"),
            PROFILE_SYNONYMS,
            record.unparsed,
            findings,
            _unknown_profile(raw.row),
        )
        record.profile = profile or record.profile
        for column, attribute, convert, meaning in _FIELDS:
            _parse_field(record, values.get(column), column, attribute, convert, meaning, findings)
        if not record.depot_id and record.depot_lat is not None and record.depot_lon is not None:
            record.depot_id = f"{record.depot_lat:.5f}_{record.depot_lon:.5f}"
        end_lat, end_lon = record.end_depot_lat, record.end_depot_lon
        if not record.end_depot_id and end_lat is not None and end_lon is not None:
            record.end_depot_id = f"{end_lat:.5f}_{end_lon:.5f}"
        records.append(record)
    return records, findings


def _error(row: int, field_name: str | None, code: str, message: str) -> Finding:
    return Finding(code, Severity.ERROR, message, row, field_name, source="fleet")


def _unknown_profile(row: int) -> Callable[[str], Finding]:
    return lambda text: _error(
        row,
        "profile",
        "fleet_profile_invalid",
        f"profile {text!r} is not one of car, van, bike, foot.",
    )


def _parse_field(
    record: VehicleRecord,
    value: Any,
    column: str,
    attribute: str,
    convert: Any,
    meaning: str,
    out: list[Finding],
) -> None:
    parsed = parse_amount(
        value,
        convert,
        record.unparsed,
        out,
        unreadable=_error(
            record.row, column, "fleet_value_unparseable", f"{column} {{}} is not {meaning}."
        ),
        negative=None
        if column in _MAY_BE_NEGATIVE
        else _error(record.row, column, "fleet_value_negative", f"{column} cannot be negative."),
    )
    if parsed is not None:
        setattr(record, attribute, parsed)
