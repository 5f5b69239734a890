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


BACKENDS: dict[str, Callable[[], Solver]] = {"pyvrp": _pyvrp, "ortools": _ortools, "vroom": _vroom}
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


def choose_backend(problem: Problem, name: str | None = None) -> Solver:
    """The named backend, or the best one for the problem's features.

    PyVRP unless the day uses what it lacks (locks, soft windows) or has driver
    breaks: PyVRP places breaks only after its search, and on the Helsinki demo
    day OR-Tools, which plans them inside its search, served more orders at half
    the cost in less time (``bench/bench_breaks.py``, BENCHMARKS.md).

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
    solver = backend_named("pyvrp")
    features = problem.features()
    if features <= solver.features and Feature.BREAKS not in features:
        return solver
    return backend_named("ortools")
