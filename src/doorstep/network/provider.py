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


@dataclass(frozen=True, slots=True)
class Matrices:
    """Travel between every pair of locations, from row to column (may be asymmetric).

    ``durations`` are whole seconds and ``distances`` whole metres. ``estimated``
    says the figures are not from a road network (straight-line estimates), so
    outputs can tell their readers.
    """

    durations: IntMatrix
    distances: IntMatrix
    source: str
    estimated: bool = False

    def __post_init__(self) -> None:
        n = self.durations.shape[0]
        if self.durations.shape != (n, n) or self.distances.shape != (n, n):
            raise ValueError("durations and distances must be square and of the same size")


class TravelTimeProvider(Protocol):
    """Something that knows how long it takes to get from A to B for a vehicle profile."""

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Duration and distance matrices between ``locations`` for ``profile``."""
        ...

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The path from ``start`` to ``end`` as a polyline, for maps."""
        ...
