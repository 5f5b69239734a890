"""Tests for time-of-day speed multipliers."""

from pathlib import Path

import pytest

from doorstep.errors import InputError
from doorstep.network.profiles import CLASS_INDEX
from doorstep.network.traffic import URBAN_WEEKDAY, TrafficProfile, read_traffic


def test_urban_weekday_slows_main_roads_in_the_peaks_only() -> None:
    """Primary roads are slower at 08:00 than at 03:00; residential streets less so."""
    peak, night = URBAN_WEEKDAY.for_hour(8), URBAN_WEEKDAY.for_hour(3)
    primary, residential = CLASS_INDEX["primary"], CLASS_INDEX["residential"]
    assert peak[primary] < peak[residential] < 1 == night[primary] == night[residential]
    assert URBAN_WEEKDAY.for_hour(16)[primary] < 1


def test_read_both_yaml_shapes(tmp_path: Path) -> None:
    """A list of 24 numbers or an hour -> value map; unnamed classes and hours stay 1."""
    path = tmp_path / "traffic.yaml"
    path.write_text("primary: [" + ", ".join(["0.5"] * 24) + "]\nresidential: {8: 0.8}\n")
    profile = read_traffic(path)
    assert profile.for_hour(0)[CLASS_INDEX["primary"]] == 0.5
    assert profile.for_hour(8)[CLASS_INDEX["residential"]] == 0.8
    assert profile.for_hour(9)[CLASS_INDEX["residential"]] == 1.0
    assert profile.for_hour(8)[CLASS_INDEX["secondary"]] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("autobahn: {8: 0.5}", "unknown road class"),
        ("primary: {25: 0.5}", "hour 25"),
        ("primary: [1, 2]", "24 positive"),
        ("primary: 0.5", "24 numbers"),
        ("- just a list", "maps road classes"),
        ("primary: [", "cannot read"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    """Each mistake gives an InputError naming it."""
    path = tmp_path / "traffic.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_traffic(path)


def test_hour_out_of_range() -> None:
    """Hours are 0-23."""
    with pytest.raises(ValueError):
        TrafficProfile("x").for_hour(24)
