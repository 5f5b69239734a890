"""DayMatrices: subsets of the day's locations answered from memory, the same as the router's."""

from __future__ import annotations

import numpy as np

from doorstep.domain import Location, Profile
from doorstep.network.choose import open_provider
from doorstep.network.subset import DayMatrices

DAY = [
    Location(60.1699, 24.9384),
    Location(60.1668, 24.9441),
    Location(60.1725, 24.9470),
    Location(60.1650, 24.9500),
    Location(60.2000, 24.9500),  # off the bundled roads
]


def test_a_subset_in_any_order_matches_the_router() -> None:
    """Slices of the day's matrices equal the router's own answer for that subset."""
    base = open_provider("bundled")
    day = DayMatrices(base, DAY)
    subset = [DAY[3], DAY[0], DAY[4], DAY[2]]
    sliced = day.matrices(subset, Profile.VAN)
    direct = base.matrices(subset, Profile.VAN)
    assert day.sliced == 1
    assert np.array_equal(sliced.durations, direct.durations)
    assert np.array_equal(sliced.distances, direct.distances)
    assert sliced.off_network == direct.off_network == (2,)


def test_an_unknown_location_goes_to_the_router() -> None:
    """A point that is not among the day's is asked of the provider, not guessed."""
    base = open_provider("straight")
    day = DayMatrices(base, DAY[:2])
    other = [DAY[0], Location(60.18, 24.95)]
    assert not day.knows(other)
    assert np.array_equal(
        day.matrices(other, Profile.VAN).durations, base.matrices(other, Profile.VAN).durations
    )
    assert day.sliced == 0
