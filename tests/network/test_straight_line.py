"""Tests for the straight-line travel estimate."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import Location, Profile
from doorstep.network import StraightLineProvider, TravelTimeProvider
from doorstep.units import haversine_m

HELSINKI = [Location(60.1699, 24.9384), Location(60.1641, 24.9381), Location(60.1866, 24.9548)]

points = st.builds(
    Location, st.floats(-80, 80, allow_nan=False), st.floats(-179, 179, allow_nan=False)
)


def test_it_is_a_travel_time_provider() -> None:
    """The class satisfies the protocol (checked by mypy too)."""
    provider: TravelTimeProvider = StraightLineProvider()
    assert provider.geometry(HELSINKI[0], HELSINKI[1], Profile.VAN) == HELSINKI[:2]


@given(st.lists(points, min_size=1, max_size=6))
def test_road_distance_never_below_great_circle(locations: list[Location]) -> None:
    """Distances are at least the great-circle distance (to rounding), zero on the diagonal."""
    m = StraightLineProvider().matrices(locations, Profile.CAR)
    assert (np.diag(m.distances) == 0).all()
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            assert m.distances[i, j] >= np.floor(haversine_m(a.lat, a.lon, b.lat, b.lon))


def test_durations_follow_profile_speed_and_are_estimates() -> None:
    """A bike takes 25/15 as long as a van over the same estimated distance."""
    provider = StraightLineProvider(circuity=1.3)
    van = provider.matrices(HELSINKI, Profile.VAN)
    bike = provider.matrices(HELSINKI, Profile.BIKE)
    assert van.estimated and "straight line" in van.source
    assert (van.distances == bike.distances).all()
    assert bike.durations[0, 2] == pytest.approx(van.durations[0, 2] * 25 / 15, abs=1)
    expected = haversine_m(60.1699, 24.9384, 60.1866, 24.9548) * 1.3
    assert van.distances[0, 2] == round(expected)
    assert van.durations[0, 2] == round(expected / (25 / 3.6))


def test_bad_parameters_are_refused() -> None:
    """Circuity below 1 or a non-positive speed is a ValueError."""
    with pytest.raises(ValueError):
        StraightLineProvider(circuity=0.9)
    with pytest.raises(ValueError):
        StraightLineProvider(speeds_kmh={Profile.FOOT: 0})
