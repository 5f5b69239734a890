"""The travel-time provider protocol every road source implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location

IntMatrix = npt.NDArray[np.int64]

UNREACHABLE = 1_000_000_000
"""Duration (s) and distance (m) of a pair with no path: about 31 years, so a
planner can add a few of them in 64-bit integers without overflow."""


@dataclass(frozen=True, slots=True)
class Matrices:
    """Travel between every pair of locations, from row to column (may be asymmetric).

    ``durations`` are whole seconds and ``distances`` whole metres; a pair with
    no path holds :data:`UNREACHABLE` in both. ``estimated`` says the figures
    are not from a road network (straight-line estimates), so outputs can tell
    their readers.

    ``snap_m`` is, per location, how far (metres) it lies from the road point it
    was attached to (empty when the provider does not snap). ``off_network``
    lists the locations farther than the provider's snap limit: they were not
    attached to any road, their rows and columns are :data:`UNREACHABLE` (but
    for the diagonal), and a planner must report them instead of routing them.
    """

    durations: IntMatrix
    distances: IntMatrix
    source: str
    estimated: bool = False
    snap_m: tuple[float, ...] = ()
    off_network: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n = self.durations.shape[0]
        if self.durations.shape != (n, n) or self.distances.shape != (n, n):
            raise ValueError("durations and distances must be square and of the same size")
        if self.snap_m and len(self.snap_m) != n:
            raise ValueError("snap_m needs one entry per location")

    @property
    def size(self) -> int:
        """Number of locations."""
        return int(self.durations.shape[0])


class TravelTimeProvider(Protocol):
    """Something that knows how long it takes to get from A to B for a vehicle profile."""

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Duration and distance matrices between ``locations`` for ``profile``."""
        ...

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The path from ``start`` to ``end`` as a polyline, for maps."""
        ...
