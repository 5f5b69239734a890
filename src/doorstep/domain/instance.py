"""A routing problem read from a benchmark or interchange file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from doorstep.domain.fleet import Depot, Vehicle
from doorstep.domain.order import Order


class Metric(StrEnum):
    """How travel between two locations is measured in an instance."""

    GEOGRAPHIC = "geographic"
    """WGS84 coordinates; travel comes from a road network or a router."""
    EUCLIDEAN = "euclidean"
    """Planar coordinates (x in ``lon``, y in ``lat``); travel time equals distance."""
    EXPLICIT = "explicit"
    """The instance carries its own matrix in :attr:`Instance.matrix`."""


@dataclass(frozen=True, slots=True)
class Instance:
    """Orders, depots and vehicles, with the metric that prices travel between them.

    ``matrix`` (only for :attr:`Metric.EXPLICIT`) is indexed by ``locations``:
    depots first, then orders, in the order given. Times in benchmark instances
    are in the instance's own unit and stored as given (no conversion to seconds).
    """

    name: str
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    orders: tuple[Order, ...]
    metric: Metric = Metric.GEOGRAPHIC
    matrix: tuple[tuple[float, ...], ...] | None = None
