"""DayMatrices: subsets of the day's locations answered from memory, the same as the router's."""

from __future__ import annotations

import numpy as np

from doorstep.domain import Location, Profile
from doorstep.network.choose import open_provider
from doorstep.network.subset import DayMatrices
from recording_provider import RecordingProvider

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


def test_a_grown_day_asks_only_the_new_locations_and_matches_a_fresh_one() -> None:
    """Two new points (one off the roads) join a day: their rows and columns, nothing more."""
    provider = RecordingProvider()
    day = DayMatrices(provider, DAY[:4])
    day.full(Profile.VAN)
    new = [Location(60.1710, 24.9420), DAY[4], DAY[1]]  # DAY[1] is known already
    grown = day.grown(new)
    assert provider.squares == [4, 2] and provider.tables == [(2, 4), (4, 2)]
    assert grown.locations == [*DAY[:4], new[0], DAY[4]]
    fresh = provider.inner.matrices(grown.locations, Profile.VAN)
    kept = grown.full(Profile.VAN)
    assert np.array_equal(kept.durations, fresh.durations)
    assert np.array_equal(kept.distances, fresh.distances)
    assert kept.off_network == fresh.off_network == (5,)
    assert kept.snap_m == fresh.snap_m
    # A profile never asked before is asked whole, once, when first needed.
    assert np.array_equal(
        grown.full(Profile.CAR).durations,
        provider.inner.matrices(grown.locations, Profile.CAR).durations,
    )
    assert provider.squares[-1] == 6
    assert day.grown(DAY[:2]) is day


def test_a_lone_new_location_is_asked_beside_a_known_one() -> None:
    """One new point: its own square is asked with a known point (OSRM refuses one point)."""
    provider = RecordingProvider()
    day = DayMatrices(provider, DAY[:3])
    day.full(Profile.VAN)
    point = Location(60.1710, 24.9420)
    grown = day.grown([point])
    assert provider.squares == [3, 2] and provider.tables == [(1, 3), (3, 1)]
    fresh = provider.inner.matrices([*DAY[:3], point], Profile.VAN)
    assert np.array_equal(grown.full(Profile.VAN).durations, fresh.durations)
    assert grown.full(Profile.VAN).snap_m == fresh.snap_m
