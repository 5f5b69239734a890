"""The routing backends by name, and the choice of one for a problem.

A registry is plain data (name -> factory, imported on use), so a setting or a
command-line option can name a backend.
"""

from __future__ import annotations

from collections.abc import Callable

from doorstep.errors import InputError
from doorstep.plan.problem import Feature, Problem
from doorstep.plan.solver import Solver


def _pyvrp() -> Solver:
    from doorstep.plan.backends.pyvrp import PyVrpSolver

    return PyVrpSolver()


def _ortools() -> Solver:
    from doorstep.plan.backends.ortools import OrToolsSolver

    return OrToolsSolver()


def _vroom() -> Solver:
    from doorstep.plan.backends.vroom import VroomSolver

    return VroomSolver()


def _decompose() -> Solver:
    from doorstep.plan.decompose import DecomposeSolver

    return DecomposeSolver()


def _depots() -> Solver:
    from doorstep.plan.depots import DepotSplitSolver

    return DepotSplitSolver()


BACKENDS: dict[str, Callable[[], Solver]] = {
    "pyvrp": _pyvrp,
    "ortools": _ortools,
    "vroom": _vroom,
    "decompose": _decompose,
    "depots": _depots,
}
"""Backend name -> factory."""


def backends() -> dict[str, Callable[[], Solver]]:
    """Backend name -> factory (a copy of :data:`BACKENDS`)."""
    return dict(BACKENDS)


def backend_named(name: str) -> Solver:
    """The backend called ``name``.

    Parameters
    ----------
    name
        ``pyvrp``, ``ortools`` or ``vroom``.

    Returns
    -------
    Solver
        A new instance.

    Raises
    ------
    InputError
        For an unknown backend name.
    """
    if name not in BACKENDS:
        raise InputError(f"unknown solver {name!r}", hint=f"Choose one of: {', '.join(BACKENDS)}.")
    return BACKENDS[name]()


ENGINES = ("pyvrp", "ortools", "vroom")
"""Backends that search a whole problem themselves (the others split it and call these)."""

DECOMPOSE_MIN_ORDERS = 400
"""From this many orders a day is planned by the decomposition (``decompose``).

On the Gehring-Homberger 400- and 600-customer instances at 60 s the
decomposition was ahead of PyVRP called directly on all four tried, and on three
of four 1,000-customer ones (the fourth a tie at the best known):
``bench/bench_decompose.py``, BENCHMARKS.md."""

DEPOTS_MIN_ORDERS = 1500
"""From this many orders a day with several depots is split by depot (``depots``).

Below it the whole-day search serves more: on a 3 x 200 day the split served 590
orders against 600 (``bench/bench_depots.py --compare``, BENCHMARKS.md)."""


def choose_engine(problem: Problem, name: str | None = None) -> Solver:
    """The named search engine, or the best one for the problem's features.

    PyVRP unless the day uses what it lacks (locks, soft windows) or has driver
    breaks: PyVRP places breaks only after its search, and on the Helsinki demo
    day OR-Tools, which plans them inside its search, served more orders at half
    the cost in less time (``bench/bench_breaks.py``, BENCHMARKS.md). The
    decomposition and the depot split use this for the day and its parts.

    Parameters
    ----------
    problem
        The day (or part) to plan.
    name
        An engine asked for by name (one of :data:`ENGINES`); ``None`` to choose.

    Returns
    -------
    Solver
        The engine.

    Raises
    ------
    InputError
        For an unknown name, or a strategy (``decompose``, ``depots``) named as engine.
    """
    if name is not None:
        if name in BACKENDS and name not in ENGINES:
            raise InputError(
                f"{name} splits a day into parts; it cannot plan the parts itself",
                hint=f"Name one of: {', '.join(ENGINES)}.",
            )
        return backend_named(name)
    solver = backend_named("pyvrp")
    features = problem.features()
    if features <= solver.features and Feature.BREAKS not in features:
        return solver
    return backend_named("ortools")


def choose_backend(problem: Problem, name: str | None = None) -> Solver:
    """The named backend, or the best one for the problem's size and features.

    A day with several depots and at least :data:`DEPOTS_MIN_ORDERS` orders is
    split by depot; a day of at least :data:`DECOMPOSE_MIN_ORDERS` orders
    without locks goes to VROOM whole when drivers take breaks (VROOM plans them
    inside its search; on a 2,000-order Helsinki day with breaks, 60 s, it served
    1,985 orders at 148 EUR with penalties against 1,977 at 188 EUR for the
    decomposition, 1,961 at 269 EUR for OR-Tools and 1,936 at 392 EUR for PyVRP:
    ``bench/bench_big_day.py``, BENCHMARKS.md), else to the decomposition (the same
    day without breaks: 2,000 served at 66 EUR, against 70 for PyVRP, 71 for
    OR-Tools and 1,934 served for VROOM); any other day to :func:`choose_engine`.

    Parameters
    ----------
    problem
        The day to plan.
    name
        A backend asked for by name; ``None`` to choose.

    Returns
    -------
    Solver
        The backend.

    Raises
    ------
    InputError
        For an unknown backend name.
    """
    if name is not None:
        return backend_named(name)
    size = len(problem.orders)
    if problem.depot_count > 1 and size >= DEPOTS_MIN_ORDERS:
        return backend_named("depots")
    if size >= DECOMPOSE_MIN_ORDERS and not problem.locks:
        features = problem.features()
        vroom = backend_named("vroom")
        if Feature.BREAKS in features and features <= vroom.features:
            return vroom
        return backend_named("decompose")
    return choose_engine(problem)
