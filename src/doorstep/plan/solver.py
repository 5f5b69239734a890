"""The ``Solver`` protocol every backend implements, and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from doorstep.plan.problem import Feature, Problem


@dataclass(frozen=True, slots=True)
class RouteAssignment:
    """One vehicle's stops, as order indices in visit order.

    ``break_after`` is where the driver's break is taken: after stop
    ``break_after`` (-1: before the first stop, at the depot); None when the
    vehicle has no break. The evaluator derives every time from this.
    """

    vehicle: int
    orders: tuple[int, ...]
    break_after: int | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A backend's answer: routes (vehicles with no stops may be left out)."""

    routes: tuple[RouteAssignment, ...]
    backend: str
    runtime_s: float = 0.0
    objective: float | None = None
    """The backend's own objective value, for information only."""


@dataclass(frozen=True, slots=True)
class SolveSettings:
    """How long and how to search.

    A time limit makes the result depend on the machine's speed; give
    ``max_iterations`` too (backends that count iterations stop at whichever
    comes first) for a plan that is the same on every machine for a seed.
    """

    time_limit_s: float = 10.0
    seed: int = 0
    max_iterations: int | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported while solving: elapsed seconds and the best objective so far."""

    elapsed_s: float
    best_cost: float | None
    feasible: bool


ProgressCallback = Callable[[Progress], None]


class Solver(Protocol):
    """A routing backend."""

    name: str
    features: frozenset[Feature]
    """What it can model; the engine only gives it problems within this set."""

    def solve(
        self,
        problem: Problem,
        settings: SolveSettings,
        progress: ProgressCallback | None = None,
    ) -> Assignment:
        """Plan ``problem`` within ``settings.time_limit_s``.

        Stops early, with its best answer, when interrupted (KeyboardInterrupt
        inside the search).
        """
        ...
