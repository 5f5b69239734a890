"""The ``Solver`` base class every backend derives from, and what it returns."""

from __future__ import annotations

import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import ClassVar

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
    untried: frozenset[int] = frozenset()
    """Orders left out because the time ran out (or Ctrl-C came) before the backend
    could try to place them; :func:`doorstep.plan.reasons.explain` says so."""


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
    fleet_search: bool = True
    """Under ``Objective.VEHICLES``, whether a backend may first search for a smaller
    fleet, then improve distance from the plan it found (PyVRP's fleet phase).
    False: one search from scratch over every vehicle, whose weight alone trims
    the fleet (what PyVRP called directly does; it ends in other local optima)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported while solving: elapsed seconds and the best objective so far."""

    elapsed_s: float
    best_cost: float | None
    feasible: bool


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class Deadline:
    """When a solve must be over: a time on a clock, brought forward by Ctrl-C.

    Every phase of a backend (model building, construction, search, repairs)
    asks :meth:`passed` and wraps up with what it has once it holds.
    """

    at: float
    """The clock's reading at which time is up."""
    clock: Callable[[], float] = time.perf_counter
    """The clock (``time.perf_counter`` unless a test brings its own)."""
    interrupted: bool = False
    """Whether Ctrl-C (or :meth:`stop`) ended the solve early."""

    def passed(self) -> bool:
        """Whether time is up or the solve was interrupted.

        Returns
        -------
        bool
            True from the deadline on, or once interrupted.
        """
        return self.interrupted or self.clock() >= self.at

    def left(self) -> float:
        """Seconds until the deadline (0 once it has passed or after an interrupt).

        Returns
        -------
        float
            Non-negative seconds.
        """
        return 0.0 if self.interrupted else max(0.0, self.at - self.clock())

    def stop(self) -> None:
        """End the solve early, as Ctrl-C does."""
        self.interrupted = True


@contextmanager
def stop_on_interrupt(deadline: Deadline) -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT) stops ``deadline`` instead of raising KeyboardInterrupt.

    Only in the main thread (signals are delivered there); elsewhere nothing is
    installed. The handler in force before is restored on the way out.

    Parameters
    ----------
    deadline
        The deadline an interrupt brings forward.

    Yields
    ------
    None
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        deadline.stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True, slots=True)
class SolveRequest:
    """One call of :meth:`Solver.solve`: what to plan, how, whom to tell, and since when."""

    problem: Problem
    settings: SolveSettings
    progress: ProgressCallback | None = None
    started: float = field(default_factory=time.perf_counter)
    """``time.perf_counter()`` when the call began."""
    deadline: Deadline = field(init=False)
    """When the call must be over: ``started`` plus the time limit."""
    untried: set[int] = field(default_factory=set)
    """Filled by the backend: orders it had no time to try (see :attr:`Assignment.untried`)."""

    def __post_init__(self) -> None:
        deadline = Deadline(self.started + self.settings.time_limit_s)
        object.__setattr__(self, "deadline", deadline)

    def elapsed(self) -> float:
        """Seconds since the call began."""
        return time.perf_counter() - self.started

    def report(self, best_cost: float | None, feasible: bool = True) -> None:
        """Tell the progress callback, if any, the best objective so far.

        Parameters
        ----------
        best_cost
            The backend's best objective so far (cents), None if it has none.
        feasible
            Whether that best solution is feasible in the backend's own model.
        """
        if self.progress is not None:
            self.progress(Progress(self.elapsed(), best_cost, feasible))


Planned = tuple[Sequence[RouteAssignment], float | None]
"""What a backend's :meth:`Solver.plan` finds: routes, and its own objective (or None)."""


class Solver(ABC):
    """A routing backend.

    A backend names itself, says what it can model, and implements
    :meth:`plan`; :meth:`solve` times the call and wraps the routes.
    """

    name: ClassVar[str]
    features: ClassVar[frozenset[Feature]]
    """What it can model; the engine only gives it problems within this set."""

    def solve(
        self,
        problem: Problem,
        settings: SolveSettings,
        progress: ProgressCallback | None = None,
    ) -> Assignment:
        """Plan ``problem`` within ``settings.time_limit_s``.

        Every backend returns within the time limit plus a small overhead (its
        model building before the clock is checked, and a final check of its
        routes), and stops early, with its best answer, when interrupted
        (Ctrl-C, or a KeyboardInterrupt raised by ``progress``).

        Parameters
        ----------
        problem
            The day to plan.
        settings
            Time limit, seed and iteration limit (backends ignore what they lack).
        progress
            Called with the elapsed time and best objective as the search goes.

        Returns
        -------
        Assignment
            The routes (vehicles without stops may be left out), this backend's
            name, the seconds taken and the backend's own objective.
        """
        request = SolveRequest(problem, settings, progress)
        routes, objective = self.plan(request)
        served = {i for r in routes for i in r.orders}
        untried = frozenset(request.untried - served)
        return Assignment(tuple(routes), self.name, request.elapsed(), objective, untried)

    @abstractmethod
    def plan(self, request: SolveRequest) -> Planned:
        """Search for routes for ``request.problem``.

        Parameters
        ----------
        request
            The problem, settings, progress callback and start time of the call.

        Returns
        -------
        Planned
            Routes in visit order, and the backend's own objective (or None).
        """
