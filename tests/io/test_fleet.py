"""Tests for parsing fleet rows."""

import json

from doorstep.domain import Profile
from doorstep.domain.ids import is_valid_id
from doorstep.io.fleet import parse_fleet
from doorstep.io.tables import read_table_bytes
from manifests import CLEAN_FLEET, FLEET_HEADER, csv_table


def test_clean_fleet_rows_parse_to_internal_units() -> None:
    """Shifts in seconds, capacities in grams and millilitres, costs in cents."""
    records, findings = parse_fleet(csv_table(FLEET_HEADER, CLEAN_FLEET, "fleet"))
    assert findings == []
    van, _, bike = records
    assert (van.shift_start, van.shift_end) == (27_000, 57_600)
    assert (van.capacity_g, van.capacity_ml, van.cost_per_km) == (800_000, 6_000_000, 35)
    assert bike.profile is Profile.BIKE
    assert bike.max_duration_s == 420 * 60


def test_unparseable_fleet_values_are_named() -> None:
    """A bad time, a negative capacity and an unknown profile are each reported."""
    rows = ("V1,D1,60.16,24.93,hovercraft,7am,16:00,,,,,-5,,,,,,",)
    _, findings = parse_fleet(csv_table(FLEET_HEADER, rows, "fleet"))
    assert {(f.code, f.field) for f in findings} == {
        ("fleet_profile_invalid", "profile"),
        ("fleet_value_unparseable", "shift_start"),
        ("fleet_value_negative", "capacity_parcels"),
    }
    assert all(f.source == "fleet" for f in findings)


def test_json_fleet_with_separate_depots() -> None:
    """Vehicles take their depot's coordinates from a separate depot list."""
    document = {
        "depots": [{"id": "D1", "location": {"lat": 60.16, "lon": 24.93}}],
        "vehicles": [{"vehicle_id": "V1", "depot_id": "D1", "capacity_parcels": 10}],
    }
    table = read_table_bytes(json.dumps(document).encode(), "json", kind="fleet")
    records, findings = parse_fleet(table)
    assert findings == []
    assert (records[0].depot_lat, records[0].depot_lon) == (60.16, 24.93)


def test_yaml_fleet() -> None:
    """A YAML fleet reads like the JSON one."""
    text = b"vehicles:\n  - vehicle_id: V1\n    depot_lat: 60.16\n    depot_lon: 24.93\n"
    records, _ = parse_fleet(read_table_bytes(text, "yaml", kind="fleet"))
    assert records[0].vehicle_id == "V1"
    assert records[0].depot_id == "60.16000_24.93000"


def test_ids_the_service_would_refuse_are_errors_on_their_row() -> None:
    """A vehicle id with a space and a depot id with a slash are each named with their field."""
    rows = (
        "VAN 1,D1,60.16,24.93,van,07:30,16:00,,,,,,,,,,,",
        "V2,HEL/1,60.16,24.93,van,07:30,16:00,,,,,,,,,,,",
    )
    _, findings = parse_fleet(csv_table(FLEET_HEADER, rows, "fleet"))
    assert [(f.row, f.code, f.field) for f in findings] == [
        (2, "fleet_vehicle_id_invalid", "vehicle_id"),
        (3, "fleet_depot_id_invalid", "depot_id"),
    ]


def test_a_depot_named_by_its_coordinates_gets_a_valid_id() -> None:
    """A row without a depot id gets one made of its coordinates, which is a valid id."""
    rows = ("V1,,60.16,24.93,van,07:30,16:00,,,,,,,,,,,",)
    records, findings = parse_fleet(csv_table(FLEET_HEADER, rows, "fleet"))
    assert findings == []
    assert is_valid_id(records[0].depot_id)
