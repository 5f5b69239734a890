"""Tests for the fleet rules."""

import pytest

from manifests import CLEAN_FLEET, check

GOOD = "V9,D1,60.1600,24.9300,van,07:30,16:00,,,,,120,800,6000,60,0.35,32,"


def _fleet_codes(*rows: str) -> dict[int, set[str]]:
    report = check(fleet=(*CLEAN_FLEET, *rows))
    found: dict[int, set[str]] = {}
    for f in report.findings:
        assert f.source == "fleet"
        found.setdefault(f.row or 0, set()).add(f.code)
    return found


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (GOOD.replace("07:30,16:00", "16:00,07:30"), "fleet_shift_end_before_start"),
        (GOOD.replace(",120,800,", ",0,800,"), "fleet_zero_capacity"),
        (GOOD.replace("D1,60.1600,24.9300", "D2,,"), "fleet_depot_missing_coordinates"),
        (GOOD.replace("60.1600,24.9300", "0,0"), "fleet_depot_coordinates_invalid"),
        (GOOD.replace("60.1600,24.9300", "60.1700,24.9300"), "fleet_depot_conflict"),
        (GOOD.replace("V9", "V1"), "fleet_duplicate_vehicle_id"),
        (GOOD.replace("V9", ""), "fleet_vehicle_id_missing"),
        (GOOD.replace("16:00,,", "16:00,0,"), "fleet_zero_duration"),
        (GOOD.replace(",,,,120", ",10:00,10:20,30,120"), "fleet_break_invalid"),
        (GOOD.replace(",,,,120", ",06:00,08:00,30,120"), "fleet_break_invalid"),
    ],
)
def test_fleet_defects_are_named_on_their_row(row: str, code: str) -> None:
    """Each fleet defect gets its code on the fleet file's row 5 and nowhere else."""
    assert _fleet_codes(row) == {5: {code}}


def test_rejected_vehicles_are_left_out_of_the_fleet() -> None:
    """A vehicle with an error is not used for the order checks."""
    report = check(fleet=(*CLEAN_FLEET, GOOD.replace(",120,800,", ",0,800,")))
    assert report.fleet is not None
    assert [v.id for v in report.fleet.vehicles] == ["V1", "V2", "B1"]
    assert report.fleet.vehicles[2].max_duration_s == 420 * 60
