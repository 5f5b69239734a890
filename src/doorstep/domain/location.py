"""Where things are: a WGS84 point."""

from __future__ import annotations

import math
from dataclasses import dataclass

from doorstep.errors import DomainError
from doorstep.units import haversine_m


@dataclass(frozen=True, slots=True)
class Location:
    """A point on Earth in WGS84 degrees.

    For planar benchmark instances (Solomon, Li & Lim) ``lon`` holds x and ``lat``
    holds y, and the instance says its metric is Euclidean; ranges are then not
    checked.
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise DomainError(f"coordinates must be finite numbers, got ({self.lat}, {self.lon})")

    @property
    def is_geographic(self) -> bool:
        """Whether the point lies in WGS84 range (|lat| <= 90, |lon| <= 180)."""
        return -90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0

    def distance_m(self, other: Location) -> float:
        """Great-circle distance to ``other`` in metres."""
        return haversine_m(self.lat, self.lon, other.lat, other.lon)
