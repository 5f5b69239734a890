"""Straight-line travel estimates, for when no road network or router is configured.

Distance is the great-circle distance times a **circuity factor**: roads are
longer than the crow flies. Studies of urban road networks put the ratio of
road to straight-line distance at about 1.2-1.4 (Ballou et al. 2002, "Selected
country circuity factors for road travel distance estimation"); 1.3 is the
default. Duration is that distance at a flat average speed per profile,
including stops at junctions. Every matrix it returns says ``estimated=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.network.provider import Matrices, TravelTimeProvider, check_locations
from doorstep.units import haversine_array_m

DEFAULT_CIRCUITY = 1.3
"""Road distance / great-circle distance in a typical city."""

DEFAULT_SPEEDS_KMH: Mapping[Profile, float] = MappingProxyType(
    {Profile.CAR: 30.0, Profile.VAN: 25.0, Profile.BIKE: 15.0, Profile.FOOT: 5.0}
)
"""Average door-to-door urban speeds in km/h, stops at junctions included."""


class StraightLineProvider(TravelTimeProvider):
    """Haversine distance x circuity, at a flat speed per profile.

    Parameters
    ----------
    circuity
        Factor from great-circle to road distance (>= 1).
    speeds_kmh
        Average speed per profile; profiles not given keep the defaults.
    """

    def __init__(
        self,
        circuity: float = DEFAULT_CIRCUITY,
        speeds_kmh: Mapping[Profile, float] | None = None,
    ) -> None:
        if circuity < 1.0:
            raise ValueError("circuity cannot be below 1: roads are never shorter than a line")
        speeds = {**DEFAULT_SPEEDS_KMH, **(speeds_kmh or {})}
        if min(speeds.values()) <= 0:
            raise ValueError("speeds must be positive")
        self.circuity = circuity
        self.speeds_kmh = speeds

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Estimated duration (s) and distance (m) between every pair of ``locations``."""
        check_locations(locations)
        lat = np.array([p.lat for p in locations])
        lon = np.array([p.lon for p in locations])
        great_circle = haversine_array_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        road = great_circle * self.circuity
        seconds = road / (self.speeds_kmh[profile] / 3.6)
        return Matrices(
            durations=np.rint(seconds).astype(np.int64),
            distances=np.rint(road).astype(np.int64),
            source=f"straight line x {self.circuity} at {self.speeds_kmh[profile]:g} km/h",
            estimated=True,
        )

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """A straight segment: there is no road to draw."""
        check_locations((start, end))
        return [start, end]
