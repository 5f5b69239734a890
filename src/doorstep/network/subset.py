"""Travel times of a day kept in memory, so that re-planning part of it asks no router.

Dispatch re-plans pieces of a published day many times (a breakdown, a late
route): the same stops, with vehicles starting at stops they have reached.
:class:`DayMatrices` asks its provider once for all the day's locations and
answers any request for a subset of them by slicing; a request with a
location it does not know goes to the provider. When the day gains locations
(an address corrected, an order added), :meth:`DayMatrices.grown` keeps what it
has and asks only the new locations' rows and columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import Lock

import numpy as np

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.network.provider import Matrices, TravelTimeProvider, both_ways
from doorstep.plan.problem import Problem


class DayMatrices(TravelTimeProvider):
    """A provider that slices the matrices of a remembered set of locations.

    Parameters
    ----------
    provider
        Where travel times come from.
    locations
        The day's locations (depots and stops).
    """

    def __init__(self, provider: TravelTimeProvider, locations: Sequence[Location]) -> None:
        self.provider = provider
        self.locations = list(dict.fromkeys(locations))
        self._index = {loc: k for k, loc in enumerate(self.locations)}
        self._full: dict[Profile, Matrices] = {}
        self._lock = Lock()
        self.sliced = 0
        """Requests answered from memory (for tests and benchmarks)."""

    @classmethod
    def of_problem(cls, problem: Problem, provider: TravelTimeProvider) -> DayMatrices:
        """The matrices a planned day already has (its depots, then its orders), kept.

        Parameters
        ----------
        problem
            The planned day: its matrices are reused, not asked again.
        provider
            Asked only for locations the problem does not have.
        """
        locations = [d.location for d in problem.fleet.depots] + [
            o.location for o in problem.orders
        ]
        day = cls(provider, locations)
        if len(day.locations) == len(locations):  # no repeated location: rows line up
            off = tuple(sorted(problem.off_network))
            for profile, durations in problem.durations.items():
                distances = problem.distances[profile]
                if not isinstance(durations, np.ndarray) or not isinstance(distances, np.ndarray):
                    continue  # held as blocks: the pairs never asked are asked when needed
                day._full[profile] = Matrices(
                    durations,
                    distances,
                    problem.source,
                    problem.estimated,
                    off_network=off,
                )
        return day

    def grown(self, more: Sequence[Location]) -> DayMatrices:
        """The day with ``more`` locations added: its matrices kept, only new travel asked.

        For every profile already in memory, the provider is asked for the new
        locations to the known ones and back (:func:`~doorstep.network.provider.both_ways`)
        and among themselves, never again for the known ones to each other.
        The figures are those a fresh day over all the locations would ask.

        Parameters
        ----------
        more
            Locations, known or not (known ones change nothing).

        Returns
        -------
        DayMatrices
            This day when nothing is new, else a new one over the known
            locations followed by the new ones.
        """
        new = [loc for loc in dict.fromkeys(more) if loc not in self._index]
        if not new:
            return self
        day = DayMatrices(self.provider, [*self.locations, *new])
        with self._lock:
            kept = dict(self._full)
        n, k = len(self.locations), len(new)
        # A lone new location is asked with a known one beside it: some routers (OSRM)
        # refuse a table of one point.
        anchor = self.locations[:1] if k == 1 else []
        for profile, full in kept.items():
            ahead, back = both_ways(self.provider, new, self.locations, profile)
            among = self.provider.matrices([*new, *anchor], profile)
            grown = []
            for old, out, into, inner in (
                (full.durations, ahead.durations, back.durations, among.durations[:k, :k]),
                (full.distances, ahead.distances, back.distances, among.distances[:k, :k]),
            ):
                m = np.empty((n + k, n + k), dtype=np.int64)
                m[:n, :n] = old
                m[n:, :n] = out
                m[:n, n:] = into
                m[n:, n:] = inner
                grown.append(m)
            snap = (*full.snap_m, *among.snap_m[:k]) if full.snap_m and among.snap_m else ()
            day._full[profile] = Matrices(
                durations=grown[0],
                distances=grown[1],
                source=full.source,
                estimated=full.estimated,
                snap_m=snap,
                off_network=(*full.off_network, *(n + i for i in among.off_network if i < k)),
            )
        return day

    def knows(self, locations: Sequence[Location]) -> bool:
        """Whether every one of ``locations`` is among the day's."""
        return all(loc in self._index for loc in locations)

    def full(self, profile: Profile) -> Matrices:
        """The day's matrices for ``profile`` (asked of the provider the first time)."""
        with self._lock:
            if profile not in self._full:
                self._full[profile] = self.provider.matrices(self.locations, profile)
            return self._full[profile]

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Matrices between ``locations``: sliced from the day's when it knows them all."""
        if not self.knows(locations):
            return self.provider.matrices(locations, profile)
        full = self.full(profile)
        rows = np.array([self._index[loc] for loc in locations], dtype=np.intp)
        away = set(full.off_network)
        off = tuple(k for k, r in enumerate(rows.tolist()) if r in away)
        self.sliced += 1
        return Matrices(
            durations=full.durations[np.ix_(rows, rows)],
            distances=full.distances[np.ix_(rows, rows)],
            source=full.source,
            estimated=full.estimated,
            snap_m=tuple(full.snap_m[r] for r in rows.tolist()) if full.snap_m else (),
            off_network=off,
        )

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The provider's path from ``start`` to ``end``."""
        return self.provider.geometry(start, end, profile)

    def route_geometry(self, stops: Sequence[Location], profile: Profile) -> list[list[Location]]:
        """The provider's paths along ``stops``."""
        return self.provider.route_geometry(stops, profile)
