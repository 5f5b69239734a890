"""A day too big for its square: the depot's travel held, every other pair asked when read.

A one-depot day of 20,000 orders has a 20,001 x 20,001 matrix: 3.2 GB per
matrix, two per profile (durations and distances), and the search engines
copy what they are given. Nothing in the decomposition needs the whole
square at once: its first plan is made territory by territory, each round
cuts parts of a few hundred orders, and the evaluator reads each route's
legs. So :func:`build_sparse_problem` asks the roads only for the depots'
rows and columns (the same tables as the depot split's first step), and
gives each matrix a :class:`RoadSource`, which asks the travel-time provider
for any other pair when it is read:

- a part's square when :func:`~doorstep.plan.subproblem.restrict` cuts it (one
  table, durations and distances together);
- a route's legs when the evaluator walks a plan (chunks of
  :data:`PAIR_CHUNK` pairs per table, kept once asked).

Memory then grows with the day (its strips, the legs asked), not with its
square; the time to ask grows with the parts cut (a 200-order part's square
is about 2 ms on the bundled network).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Fleet, Profile
from doorstep.domain.location import Location
from doorstep.domain.order import Order
from doorstep.network.provider import UNREACHABLE, Table, TravelTimeProvider, both_ways
from doorstep.plan.block_matrix import BlockLayout, BlockMatrix, Indices
from doorstep.plan.problem import IntMatrix, Lock, Objective, Problem

PAIR_CHUNK = 256
"""Pairs asked per provider table when reading pairs that no block holds (route legs).

A table of 256 sources by 256 targets costs about 2 ms on the bundled CCH, a
single pair about 0.5 ms: reading legs a chunk at a time is the cheaper."""

MATRIX_CHUNK = 1000
"""Orders per provider call when asking for the depots-to-orders travel."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DepotTravel:
    """The depots' rows and columns of one profile's matrices.

    Attributes
    ----------
    durations, distances
        Each a pair: depots x all locations, then all locations x depots
        (depots first, then orders, as in a :class:`Problem`).
    off_network
        Location indices of the orders the provider could not attach to a road.
    source
        What computed the figures.
    estimated
        The figures are straight-line estimates.
    """

    durations: tuple[IntMatrix, IntMatrix]
    distances: tuple[IntMatrix, IntMatrix]
    off_network: frozenset[int]
    source: str
    estimated: bool


def depot_travel(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    profile: Profile,
    chunk: int = MATRIX_CHUNK,
) -> DepotTravel:
    """The depots' rows and columns of the day's matrices, a chunk of orders at a time.

    Asks the provider for tables (depots to orders and back), never for the
    orders to each other.

    Parameters
    ----------
    orders, fleet
        The day (depots first, then orders).
    provider
        The roads.
    profile
        The vehicle profile.
    chunk
        Orders per provider call.

    Returns
    -------
    DepotTravel
        The strips, the off-network locations and the figures' source.
    """
    depots = [d.location for d in fleet.depots]
    dc, n = len(depots), len(depots) + len(orders)
    out_of = [np.full((dc, n), UNREACHABLE, dtype=np.int64) for _ in range(2)]
    into = [np.full((n, dc), UNREACHABLE, dtype=np.int64) for _ in range(2)]
    between = provider.table(depots, depots, profile)
    for k, m in enumerate((between.durations, between.distances)):
        out_of[k][:, :dc] = m
        into[k][:dc] = m
    off: set[int] = set()  # orders only: a depot off the roads is not a stop to report
    estimated = between.estimated
    for start in range(0, len(orders), chunk):
        stop = min(start + chunk, len(orders))
        places = [orders[i].location for i in range(start, stop)]
        out, back = both_ways(provider, depots, places, profile)
        out_of[0][:, dc + start : dc + stop] = out.durations
        out_of[1][:, dc + start : dc + stop] = out.distances
        into[0][dc + start : dc + stop] = back.durations
        into[1][dc + start : dc + stop] = back.distances
        off.update(dc + start + k for k in out.off_targets)
        estimated = estimated or out.estimated
    return DepotTravel(
        (out_of[0], into[0]), (out_of[1], into[1]), frozenset(off), between.source, estimated
    )


def strip_layout(size: int, depot_count: int) -> BlockLayout:
    """The layout of the depots' rows (depots x all) and columns (all x depots)."""
    everything, depots = np.arange(size), np.arange(depot_count)
    return BlockLayout.of(size, [(depots, everything), (everything, depots)])


class RoadSource:
    """A day's locations on a provider's roads, asked for the pairs a matrix does not hold.

    One source serves both matrices of a profile (:attr:`durations`,
    :attr:`distances`): the provider answers both in one table, and the second
    read finds the first's answer. Pairs read one by one or as pairs are kept
    once asked (a route's legs are read again each time a plan is evaluated);
    rectangles (a part's square) are not, but for the last one.

    Parameters
    ----------
    provider
        The roads.
    locations
        Every location of the day, in the matrix's order.
    profile
        The vehicle profile.
    """

    def __init__(
        self, provider: TravelTimeProvider, locations: Sequence[Location], profile: Profile
    ) -> None:
        self.provider = provider
        self.locations = tuple(locations)
        self.profile = profile
        self.cells_asked = 0
        """Pairs asked from the provider so far (for benchmarks)."""
        self._known: dict[int, tuple[int, int]] = {}
        self._last: tuple[bytes, Table] | None = None
        self.durations = _Reading(self, 0)
        self.distances = _Reading(self, 1)

    def table(self, rows: IntArray, cols: IntArray) -> Table:
        """Travel from locations ``rows`` to locations ``cols`` (the last answer reused)."""
        key = rows.tobytes() + b"|" + cols.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        self._last = None  # let the last rectangle go before asking for the next
        places = self.locations
        table = self.provider.table(
            [places[i] for i in rows.tolist()], [places[j] for j in cols.tolist()], self.profile
        )
        self.cells_asked += rows.size * cols.size
        self._last = (key, table)
        return table

    def values(self, kind: int, rows: IntArray, cols: IntArray) -> IntArray:
        """Durations (``kind`` 0) or distances (1) of pairs ``(rows[k], cols[k])``."""
        n = len(self.locations)
        keys = (rows.astype(np.int64) * n + cols).tolist()
        known = self._known
        out = np.empty(len(keys), dtype=np.int64)
        missing: list[int] = []
        for k, key in enumerate(keys):
            both = known.get(key)
            if both is None:
                missing.append(k)
            else:
                out[k] = both[kind]
        for start in range(0, len(missing), PAIR_CHUNK):
            at = np.array(missing[start : start + PAIR_CHUNK], dtype=np.int64)
            sources, r = np.unique(rows[at], return_inverse=True)
            targets, c = np.unique(cols[at], return_inverse=True)
            table = self.table(sources, targets)
            durations, distances = table.durations[r, c], table.distances[r, c]
            for k, d, m in zip(at.tolist(), durations.tolist(), distances.tolist(), strict=True):
                known[keys[k]] = (d, m)
            out[at] = durations if kind == 0 else distances
        return out


@dataclass(frozen=True, slots=True)
class _Reading:
    """One of a :class:`RoadSource`'s two matrices, as a block matrix's pair source."""

    road: RoadSource
    kind: int

    def pair(self, row: int, col: int) -> int:
        """The value of one pair."""
        both = self.road._known.get(row * len(self.road.locations) + col)
        if both is not None:
            return both[self.kind]
        return int(self.pairs(np.array([row]), np.array([col]))[0])

    def pairs(self, rows: Indices, cols: Indices) -> IntArray:
        """The values of pairs ``(rows[k], cols[k])``."""
        return self.road.values(self.kind, np.asarray(rows, np.int64), np.asarray(cols, np.int64))

    def outer(self, rows: Indices, cols: Indices) -> IntArray:
        """Every row to every column."""
        table = self.road.table(np.asarray(rows, np.int64), np.asarray(cols, np.int64))
        out: IntArray = table.durations if self.kind == 0 else table.distances
        return out


def build_sparse_problem(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    *,
    objective: Objective = Objective.COST,
    locks: Sequence[Lock] = (),
    warm_start: Mapping[str, tuple[str, ...]] | None = None,
    on_step: Callable[[str], None] | None = None,
    chunk: int = MATRIX_CHUNK,
) -> Problem:
    """The planning model of a big day, holding the depots' travel and asking for the rest.

    A drop-in for :func:`~doorstep.plan.pipeline.build_problem` (same arguments,
    same layout, the same value for every pair): the matrices are
    :class:`~doorstep.plan.block_matrix.BlockMatrix` es holding the depots' rows
    and columns (:func:`depot_travel`), with a :class:`RoadSource` for every
    other pair. Meant for the decomposition, which never needs the whole square;
    an engine that does (VROOM, a whole-day search) turns it dense, asking the
    provider for all of it.

    Parameters
    ----------
    orders, fleet, provider, objective, locks, warm_start, on_step
        As for :func:`~doorstep.plan.pipeline.build_problem`.
    chunk
        Orders per depots-to-orders provider call.

    Returns
    -------
    Problem
        Depots first, then orders, in the order given.
    """
    dc = len(fleet.depots)
    locations = [d.location for d in fleet.depots] + [o.location for o in orders]
    layout = strip_layout(len(locations), dc)
    durations: dict[Profile, BlockMatrix] = {}
    distances: dict[Profile, BlockMatrix] = {}
    off: set[int] = set()
    sources: list[str] = []
    estimated = False
    for profile in dict.fromkeys(v.profile for v in fleet.vehicles):
        if on_step:
            on_step(f"travel times, depots to orders ({profile.value})")
        travel = depot_travel(orders, fleet, provider, profile, chunk)
        road = RoadSource(provider, locations, profile)
        durations[profile] = BlockMatrix(layout, travel.durations, source=road.durations)
        distances[profile] = BlockMatrix(layout, travel.distances, source=road.distances)
        off |= travel.off_network
        sources.append(travel.source)
        estimated = estimated or travel.estimated
    return Problem(
        orders=tuple(orders),
        fleet=fleet,
        durations=durations,
        distances=distances,
        objective=objective,
        locks=tuple(locks),
        warm_start=dict(warm_start or {}),
        off_network=frozenset(off),
        source="; ".join(dict.fromkeys(sources)),
        estimated=estimated,
    )
