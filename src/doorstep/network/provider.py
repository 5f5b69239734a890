"""The travel-time provider protocol every road source implements."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import InputError

IntMatrix = npt.NDArray[np.int64]

UNREACHABLE = 1_000_000_000
"""Duration (s) and distance (m) of a pair with no path: about 31 years, so a
planner can add a few of them in 64-bit integers without overflow."""

DEFAULT_MAX_SNAP_M = 250.0
"""Farthest (m) a stop may lie from the road it is attached to before it is
reported off the network, for every provider that attaches stops to roads. Its
value is a judgement on the address, not on the router: a delivery address is
normally within a few tens of metres of a street, a large site within a
hundred or two; a stop farther than that is almost always geocoded wrong, and
the bundled roads, a ``.pbf``, OSRM and Valhalla all attach to the same
OpenStreetMap roads, so they share one limit."""


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


@dataclass(frozen=True, slots=True)
class Table:
    """Travel from each of some sources to each of some targets (a rectangle of a matrix).

    The figures are those :meth:`TravelTimeProvider.matrices` gives the same
    pairs: whole seconds and whole metres, :data:`UNREACHABLE` where there is
    no path. ``off_sources`` and ``off_targets`` list the sources and targets
    farther than the provider's snap limit (their rows or columns are
    :data:`UNREACHABLE`).
    """

    durations: IntMatrix
    distances: IntMatrix
    source: str
    estimated: bool = False
    off_sources: tuple[int, ...] = ()
    off_targets: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.durations.ndim != 2 or self.durations.shape != self.distances.shape:
            raise ValueError("durations and distances must be two matrices of the same shape")

    @classmethod
    def cut_off(
        cls,
        durations: IntMatrix,
        distances: IntMatrix,
        snap_m: Sequence[float],
        max_snap_m: float,
        source: str,
    ) -> Table:
        """A table whose points beyond ``max_snap_m`` from their road are cut off.

        Parameters
        ----------
        durations, distances
            Sources x targets, changed in place: the rows of far sources and the
            columns of far targets become :data:`UNREACHABLE`.
        snap_m
            Metres from each point to its road: the sources', then the targets'.
        max_snap_m
            The provider's snap limit.
        source
            What computed the figures.

        Returns
        -------
        Table
            The figures, with ``off_sources`` and ``off_targets`` listed.
        """
        s = durations.shape[0]
        off = [k for k, metres in enumerate(snap_m) if metres > max_snap_m]
        for k in off:
            if k < s:
                durations[k, :] = distances[k, :] = UNREACHABLE
            else:
                durations[:, k - s] = distances[:, k - s] = UNREACHABLE
        return cls(
            durations=durations,
            distances=distances,
            source=source,
            off_sources=tuple(k for k in off if k < s),
            off_targets=tuple(k - s for k in off if k >= s),
        )

    @classmethod
    def of_matrices(cls, m: Matrices, sources: int) -> Table:
        """The rectangle of ``m`` from its first ``sources`` locations to the others."""
        return cls(
            durations=m.durations[:sources, sources:],
            distances=m.distances[:sources, sources:],
            source=m.source,
            estimated=m.estimated,
            off_sources=tuple(k for k in m.off_network if k < sources),
            off_targets=tuple(k - sources for k in m.off_network if k >= sources),
        )


def check_locations(locations: Sequence[Location]) -> None:
    """Refuse points that are not WGS84 coordinates, before any road is looked up.

    Raises
    ------
    InputError
        A location's latitude is beyond +-90 or its longitude beyond +-180 (a
        planar benchmark point, or latitude and longitude swapped); the message
        names the first one.
    """
    for index, location in enumerate(locations):
        if not location.is_geographic:
            raise InputError(
                f"location {index} ({location.lat}, {location.lon}) is not a WGS84 coordinate",
                hint="Latitude must be within +-90 and longitude within +-180.",
            )


class TravelTimeProvider(Protocol):
    """Something that knows how long it takes to get from A to B for a vehicle profile.

    The whole contract is here: every provider answers all four methods and
    refuses points that are not coordinates with an
    :class:`~doorstep.errors.InputError` (:func:`check_locations`); the
    conformance suite, ``tests/network/test_provider_conformance.py``, checks
    this against every provider. Providers subclass this protocol to inherit
    the default :meth:`route_geometry`, which asks :meth:`geometry` leg by leg
    (a provider that can draw a whole route at once overrides it), and the
    default :meth:`table`, which slices :meth:`matrices` (a provider that can
    search from a few sources only overrides it).
    """

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Duration and distance matrices between ``locations`` for ``profile``."""
        ...

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The path from ``start`` to ``end`` as a polyline, for maps."""
        ...

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        """Travel from every source to every target: the same figures as :meth:`matrices`.

        The default asks :meth:`matrices` for sources and targets together and
        keeps the rectangle; a provider that can search from a few sources to
        many targets (one new point to a whole day) overrides it.

        Parameters
        ----------
        sources, targets
            Where travel starts and where it ends.
        profile
            The vehicle profile.

        Returns
        -------
        Table
            ``len(sources) x len(targets)`` durations and distances.
        """
        m = self.matrices([*sources, *targets], profile)
        return Table.of_matrices(m, len(sources))

    def route_geometry(self, stops: Sequence[Location], profile: Profile) -> list[list[Location]]:
        """The path of every leg of a route through ``stops``, in order.

        Parameters
        ----------
        stops
            The route's points: start, each stop, end.
        profile
            The vehicle profile whose roads are drawn.

        Returns
        -------
        list[list[Location]]
            One polyline per consecutive pair of ``stops`` (none for fewer than
            two stops); each runs from its pair's first stop to its second.

        Raises
        ------
        InputError
            A stop is not a WGS84 coordinate (before any leg is drawn).
        """
        check_locations(stops)
        return [self.geometry(a, b, profile) for a, b in itertools.pairwise(stops)]


def both_ways(
    provider: TravelTimeProvider,
    first: Sequence[Location],
    second: Sequence[Location],
    profile: Profile,
) -> tuple[Table, Table]:
    """Travel from ``first`` to ``second`` and from ``second`` to ``first``.

    Two tables where the provider searches from its sources (its :meth:`~TravelTimeProvider.table`
    is its own); else one :meth:`~TravelTimeProvider.matrices` over both, cut twice,
    which is what the default table would ask for each direction.

    Parameters
    ----------
    provider
        The travel-time provider.
    first, second
        The two groups of locations.
    profile
        The vehicle profile.

    Returns
    -------
    tuple of Table
        ``first`` x ``second``, then ``second`` x ``first``.
    """
    if type(provider).table is not TravelTimeProvider.table:
        return provider.table(first, second, profile), provider.table(second, first, profile)
    m = provider.matrices([*first, *second], profile)
    k = len(first)
    ahead = Table.of_matrices(m, k)
    back = Table(
        durations=m.durations[k:, :k],
        distances=m.distances[k:, :k],
        source=m.source,
        estimated=m.estimated,
        off_sources=ahead.off_targets,
        off_targets=ahead.off_sources,
    )
    return ahead, back
