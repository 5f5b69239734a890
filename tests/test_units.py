"""Tests for doorstep.units: time parsing and unit conversion at the edges."""

from datetime import date, datetime, time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.units import format_clock, haversine_array_m, haversine_m, kg_to_g, parse_clock


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("09:30", 34_200),
        ("9:30", 34_200),
        ("09:30:15", 34_215),
        ("25:00", 90_000),
        ("570", 34_200),
        (570, 34_200),
        (570.5, 34_230),
        ("2026-11-23T09:30:00", 34_200),
        ("2026-11-23T09:30:00+02:00", 34_200),
        ("09:30:00Z", 34_200),
        (time(9, 30), 34_200),
        (datetime(2026, 11, 23, 9, 30), 34_200),
    ],
)
def test_parse_clock_accepts_documented_forms(value: object, seconds: int) -> None:
    """HH:MM, ISO 8601 and minutes after midnight all give seconds after midnight."""
    assert parse_clock(value) == seconds


def test_parse_clock_counts_later_days_from_the_planning_day() -> None:
    """01:00 on the day after the planning day is 25 hours after its midnight."""
    assert parse_clock("2026-11-24T01:00", day=date(2026, 11, 23)) == 90_000


@pytest.mark.parametrize(
    "value", ["half past nine", "12:75", "", "-5", True, None, float("nan"), "9" * 400]
)
def test_parse_clock_rejects_non_times(value: object) -> None:
    """Anything else raises ValueError."""
    with pytest.raises(ValueError):
        parse_clock(value)


@given(st.integers(min_value=0, max_value=3 * 86_400 - 1))
def test_format_then_parse_round_trips_whole_minutes(seconds: int) -> None:
    """format_clock's HH:MM parses back to the same minute (same day)."""
    minute = seconds - seconds % 60
    if minute < 86_400:
        assert parse_clock(format_clock(minute)) == minute


def test_conversions_round_half_up() -> None:
    """Kg -> g rounds to whole grams."""
    assert kg_to_g(2.5) == 2_500
    assert kg_to_g(0.0005) == 1


def test_haversine_known_distance() -> None:
    """Helsinki to Tampere is about 160 km as the crow flies."""
    assert 155_000 < haversine_m(60.1699, 24.9384, 61.4978, 23.7610) < 165_000


def test_haversine_array_agrees_with_haversine_and_broadcasts() -> None:
    """The vectorised haversine gives haversine_m's distances, in the broadcast shape."""
    lat = np.array([60.1699, 61.4978, 60.4518, -33.8688])
    lon = np.array([24.9384, 23.7610, 22.2666, 151.2093])
    matrix = haversine_array_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert matrix.shape == (4, 4)
    for i in range(4):
        for j in range(4):
            assert matrix[i, j] == pytest.approx(haversine_m(lat[i], lon[i], lat[j], lon[j]))
    to_helsinki = haversine_array_m(lat, lon, 60.1699, 24.9384)
    assert to_helsinki.tolist() == pytest.approx(matrix[:, 0].tolist())
    assert float(haversine_array_m(0.0, 0.0, 0.0, 180.0)) == pytest.approx(
        haversine_m(0, 0, 0, 180)
    )
