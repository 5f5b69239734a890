"""The answer: routes of visits, and the orders that could not be served."""

from __future__ import annotations

from dataclasses import dataclass, field

from doorstep.domain.load import Load


@dataclass(frozen=True, slots=True)
class Visit:
    """A vehicle's stop at an order, with its times in seconds after midnight.

    ``arrival_s`` is when the vehicle gets there, ``start_s`` when service begins
    (later if it waits for the window to open), ``departure_s`` when it leaves.
    ``load_after`` is what the vehicle carries when it leaves.
    """

    order_id: str
    arrival_s: int
    start_s: int
    departure_s: int
    load_after: Load = field(default_factory=Load)

    @property
    def wait_s(self) -> int:
        """Seconds spent waiting for the window to open."""
        return self.start_s - self.arrival_s


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's day: leave the depot, serve the visits in order, come back."""

    vehicle_id: str
    visits: tuple[Visit, ...]
    start_s: int
    end_s: int
    distance_m: int = 0
    break_after: int | None = None
    """The driver's break follows visit ``break_after`` (-1: before the first visit)."""
    break_start_s: int | None = None

    @property
    def duration_s(self) -> int:
        """Seconds from leaving the depot to returning."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Unassigned:
    """An order left out of the plan, with a machine ``code`` and a sentence for people."""

    order_id: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Routes for a day, and what they leave out."""

    routes: tuple[Route, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()

    @property
    def assigned_order_ids(self) -> frozenset[str]:
        """Ids of every order visited by some route."""
        return frozenset(v.order_id for r in self.routes for v in r.visits)
