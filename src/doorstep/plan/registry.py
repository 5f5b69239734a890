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

VROOM_BREAKS_MIN_ORDERS = 3000
"""From this many orders a day with breaks goes to VROOM whole, not the decomposition.

Measured: the decomposition ahead at 1,000 and 2,000 orders (every order
served, half VROOM's cost plus penalties); VROOM ahead at 3,500 and 5,000 (every
order served, against 23 and 21 left out). The switch lies between; 3,000 is
not measured (``bench/bench_big_day.py``, BENCHMARKS.md)."""

DEPOTS_MIN_ORDERS = 1500
"""From this many orders a day with several depots is split by depot (``depots``).

Below it the whole-day search serves more: on a 3 x 200 day the split served 590
orders against 600 (``bench/bench_depots.py --compare``, BENCHMARKS.md)."""


SPARSE_MIN_ORDERS = 8000
"""From this many orders a one-depot day is held sparse and planned by the decomposition.

Its matrices hold the depot's row and column and ask the roads for any other
pair when read (:mod:`doorstep.plan.sparse`): the whole square of 8,000 orders
is 0.5 GB per matrix, two per profile, and the engines copy theirs; at 20,000
it is 3.2 GB per matrix. Whole-day engines (VROOM, a whole-day PyVRP search)
need the square, so such a day goes to the decomposition, whose first plan is
made territory by territory (``bench/bench_sparse.py``, BENCHMARKS.md)."""


def holds_sparse(depot_count: int, order_count: int) -> bool:
    """Whether the automatic choice holds a day's matrices sparse (see :data:`SPARSE_MIN_ORDERS`).

    Parameters
    ----------
    depot_count, order_count
        The day's depots and orders.

    Returns
    -------
    bool
        One depot and at least :data:`SPARSE_MIN_ORDERS` orders (a day with
        several depots and that many orders is split by depot).
    """
    return depot_count == 1 and order_count >= SPARSE_MIN_ORDERS


def choose_engine(problem: Problem, name: str | None = None, *, big_day: bool = False) -> Solver:
    """The named search engine, or the best one for the problem's features and size.

    PyVRP unless the day uses what it lacks (locks, soft windows), or has driver
    breaks and is not big: on the 286-order Helsinki demo day, OR-Tools served as
    many orders as PyVRP with its breaks planned inside its search, at 10% less
    cost plus penalties (``bench/bench_breaks.py``, 10 s, three seeds). On big
    days with breaks PyVRP is far ahead: the decomposition with PyVRP for its
    first plan and its parts served all 2,000 orders of a Helsinki day at 71 EUR
    in 60 s, against 1,990 at 122 EUR with OR-Tools for them and 1,985 at 148 EUR
    for VROOM whole (``bench/bench_big_day.py``, BENCHMARKS.md). The
    decomposition and the depot split use this for the day and its parts.

    Parameters
    ----------
    problem
        The day (or part) to plan.
    name
        An engine asked for by name (one of :data:`ENGINES`); ``None`` to choose.
    big_day
        The problem is a big day or a part of one (the decomposition, the depot
        split): PyVRP whenever it models the day's features, breaks included.

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
    if features <= solver.features and (big_day or Feature.BREAKS not in features):
        return solver
    return backend_named("ortools")


def splits_by_depot(depot_count: int, order_count: int) -> bool:
    """Whether the automatic choice plans a day split by depot (the ``depots`` backend).

    Parameters
    ----------
    depot_count, order_count
        The day's depots and orders.

    Returns
    -------
    bool
        Several depots and at least :data:`DEPOTS_MIN_ORDERS` orders.
    """
    return depot_count > 1 and order_count >= DEPOTS_MIN_ORDERS


def choose_backend(problem: Problem, name: str | None = None) -> Solver:
    """The named backend, or the best one for the problem's size and features.

    A day with several depots and at least :data:`DEPOTS_MIN_ORDERS` orders is
    split by depot; a one-depot day held sparse (:data:`SPARSE_MIN_ORDERS`) goes
    to the decomposition, the one backend that never needs its whole square; a
    day of at least :data:`DECOMPOSE_MIN_ORDERS` orders without locks goes to the
    decomposition (its first plan and parts by PyVRP, breaks planned inside its
    search), except a day of
    :data:`VROOM_BREAKS_MIN_ORDERS` orders or more with breaks, which goes to
    VROOM whole; any other day to :func:`choose_engine`. Measured on generated
    Helsinki days (``bench/bench_big_day.py`` and ``doorstep plan``, BENCHMARKS.md):

    - with breaks, 2,000 orders, 60 s: the decomposition served all 2,000 at
      7,087 EUR, VROOM whole 1,985 at 14,807 EUR with penalties;
    - with breaks, 3,500 and 5,000 orders: VROOM whole served every order, the
      decomposition left out 23 and 21;
    - without breaks, 2,000 orders: the decomposition 2,000 at 6,630 EUR,
      PyVRP whole 7,030 EUR.

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
    if splits_by_depot(problem.depot_count, size):
        return backend_named("depots")
    if not problem.dense and problem.depot_count == 1 and not problem.locks:
        return backend_named("decompose")
    if size >= DECOMPOSE_MIN_ORDERS and not problem.locks:
        features = problem.features()
        vroom = backend_named("vroom")
        if (
            size >= VROOM_BREAKS_MIN_ORDERS
            and Feature.BREAKS in features
            and features <= vroom.features
        ):
            return vroom
        return backend_named("decompose")
    return choose_engine(problem)
