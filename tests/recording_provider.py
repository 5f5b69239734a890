"""A travel-time provider over the bundled roads that records what it is asked (for tests)."""

from __future__ import annotations

from collections.abc import Sequence

from doorstep.domain import Location, Profile
from doorstep.network.osm_provider import OsmProvider
from doorstep.network.provider import Matrices, Table, TravelTimeProvider


class RecordingProvider(TravelTimeProvider):
    """The bundled roads, recording the size of every square and table asked."""

    def __init__(self) -> None:
        self.inner = OsmProvider(cache_matrices=False)
        self.squares: list[int] = []
        """Locations in each ``matrices`` call, in order."""
        self.tables: list[tuple[int, int]] = []
        """(sources, targets) of each ``table`` call, in order."""

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        self.squares.append(len(locations))
        return self.inner.matrices(locations, profile)

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        self.tables.append((len(sources), len(targets)))
        return self.inner.table(sources, targets, profile)

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        return self.inner.geometry(start, end, profile)
