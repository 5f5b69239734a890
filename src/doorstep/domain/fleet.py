"""The means: depots and vehicles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from doorstep.domain.load import Load, check_non_negative
from doorstep.domain.location import Location
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError


class Profile(StrEnum):
    """How a vehicle moves, which decides the roads it may use and its speeds."""

    CAR = "car"
    """Roads from motorways down to service roads and living streets, at car speeds."""
    VAN = "van"
    """The roads a car uses, a little slower, and at most 70 km/h on fast roads."""
    BIKE = "bike"
    """A (cargo) bike: cycleways, paths and roads but motorways and trunks; one-ways bind."""
    FOOT = "foot"
    """On foot: every way but motorways and trunks, in both directions, at walking pace."""


@dataclass(frozen=True, slots=True)
class Depot:
    """Where vehicles start and end their day."""

    id: str
    location: Location
    name: str = ""


@dataclass(frozen=True, slots=True)
class Break:
    """A driver break of ``duration_s`` that must lie within ``window``."""

    window: TimeWindow
    duration_s: int

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise DomainError("a break cannot have a negative duration")
        if self.duration_s > self.window.duration:
            raise DomainError(f"a {self.duration_s} s break does not fit in window {self.window}")

    def check_within(self, shift: TimeWindow) -> None:
        """Check that the break can be taken on duty: inside both its window and ``shift``.

        Parameters
        ----------
        shift
            The vehicle's shift.

        Raises
        ------
        DomainError
            When the part of the window inside the shift is shorter than the break.
        """
        start, end = max(self.window.start, shift.start), min(self.window.end, shift.end)
        if end - start < self.duration_s:
            raise DomainError(
                f"a {self.duration_s // 60} min break in window {self.window} cannot be taken "
                f"during the shift {shift}"
            )


def check_shift(shift: TimeWindow) -> None:
    """Check that a vehicle's shift ends after it starts.

    Parameters
    ----------
    shift
        The shift.

    Raises
    ------
    DomainError
        When the shift is empty (a night shift ends after 24:00, e.g. 26:00).
    """
    if shift.end <= shift.start:
        raise DomainError(f"the shift {shift} must end after it starts")


@dataclass(frozen=True, slots=True)
class Costs:
    """What a vehicle costs, in cents: once if used, per km driven and per hour on duty."""

    fixed: int = 0
    per_km: int = 0
    per_hour: int = 0

    def __post_init__(self) -> None:
        check_non_negative("costs", self, self.fixed, self.per_km, self.per_hour)


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle with its driver's shift.

    Parameters
    ----------
    capacity
        Capacity in each dimension. A manifest's fleet file that leaves a
        dimension empty gets an unlimited capacity there (a very large number).
    shift
        When the vehicle may leave and must be back at its depot.
    max_duration_s
        Longest allowed route (depot to depot), or ``None`` for the whole shift.
    """

    id: str
    depot_id: str
    profile: Profile = Profile.VAN
    capacity: Load = field(default_factory=Load)
    shift: TimeWindow = field(default_factory=lambda: TimeWindow(0, 86_400))
    max_duration_s: int | None = None
    break_: Break | None = None
    costs: Costs = field(default_factory=Costs)
    skills: frozenset[str] = frozenset()
    end_depot_id: str | None = None

    def __post_init__(self) -> None:
        check_shift(self.shift)
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise DomainError(f"vehicle {self.id}: maximum duration must be positive")
        if self.break_ is not None:
            self.break_.check_within(self.shift)


UNLIMITED = 2**31 - 1
"""The capacity that stands for "no limit" in a dimension the fleet file leaves empty."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """Depots and the vehicles based at them."""

    depots: tuple[Depot, ...] = ()
    vehicles: tuple[Vehicle, ...] = ()

    def depot(self, depot_id: str) -> Depot:
        """Return the depot with this id.

        Raises
        ------
        KeyError
            If no depot has that id.
        """
        for depot in self.depots:
            if depot.id == depot_id:
                return depot
        raise KeyError(depot_id)
