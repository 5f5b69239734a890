"""The library's functions over files and plans: read orders and fleets strictly, check a plan.

:func:`doorstep.validate_files` is the lenient door: it accounts for every row
and plans the clean ones. :func:`read_orders` and :func:`read_fleet` are the
strict one, for code that wants domain objects or an exception: they run the
same parsing and the same gate rules, and raise :class:`~doorstep.errors.InputError`
naming the row and field of every error. :func:`evaluate` checks a plan that a
person (or another tool) wrote as vehicle id -> order ids against a problem,
with the evaluator every Doorstep plan goes through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Fleet
from doorstep.domain.order import Order
from doorstep.errors import InputError
from doorstep.gate.rules.fleet import build_fleet, check_fleet
from doorstep.gate.settings import GateSettings
from doorstep.gate.validate import validate
from doorstep.io.fleet import parse_fleet
from doorstep.io.tables import read_table
from doorstep.plan.block_matrix import BlockMatrix
from doorstep.plan.evaluator import Evaluation
from doorstep.plan.evaluator import evaluate as evaluate_assignment
from doorstep.plan.problem import Problem, TravelMatrix
from doorstep.plan.reasons import explain
from doorstep.plan.repair import place_break
from doorstep.plan.solver import Assignment, RouteAssignment

K = TypeVar("K")
V = TypeVar("V")

MAX_LISTED_ERRORS = 10
"""At most this many findings are spelled out in a read error's message."""


NOT_IN_PLAN = (
    "not_planned",
    "It is on no route of this plan, though some vehicle could serve it on its own.",
)
"""The reason :func:`evaluate` gives an order left out of a plan that one vehicle could serve."""


def _where(finding: Finding) -> str:
    place = "the file" if finding.row is None else f"row {finding.row}"
    return place if finding.field is None else f"{place}, field {finding.field}"


def _refuse(source: str, findings: Sequence[Finding], what: str) -> None:
    """Raise an :class:`InputError` listing ``findings`` of severity error, if any."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if not errors:
        return
    errors.sort(key=lambda f: (f.row or 0, f.field or "", f.code))
    lines = [f"{_where(f)}: {f.message} [{f.code}]" for f in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"... and {len(errors) - MAX_LISTED_ERRORS} more.")
    rows = {f.row for f in errors}
    raise InputError(
        f"{source}: {len(rows)} {what} row(s) cannot be used:\n  " + "\n  ".join(lines),
        hint="Fix them, or use doorstep.validate_files() to plan the clean rows only.",
    )


def read_orders(path: str | Path, settings: GateSettings | None = None) -> tuple[Order, ...]:
    """Read an orders file into domain orders, refusing any row the gate rejects.

    Parameters
    ----------
    path
        Orders file: CSV, Excel, JSON or GeoJSON (the columns of ``docs/formats.md``).
    settings
        The gate's settings (country, thresholds).

    Returns
    -------
    tuple of Order
        One order per row, in file order. Warnings (a doubtful phone number, an
        unusual weight) do not stop the read.

    Raises
    ------
    InputError
        The file cannot be read, or some row has an error; the message names
        each row and field with the gate's code (``row 4, field lat: ...``).
    """
    table = read_table(path, kind="orders")
    report = validate(table, None, settings)
    _refuse(table.source, report.findings, "order")
    return report.orders


def read_fleet(path: str | Path) -> Fleet:
    """Read a fleet file into a :class:`~doorstep.domain.fleet.Fleet`, refusing any bad row.

    Parameters
    ----------
    path
        Fleet file: CSV, Excel, JSON or YAML, one vehicle per row with its depot.

    Returns
    -------
    Fleet
        The depots (in order of first mention) and the vehicles (in file order).
        A capacity left empty is unlimited (:data:`~doorstep.domain.fleet.UNLIMITED`).

    Raises
    ------
    InputError
        The file cannot be read, or some row has an error; the message names
        each row and field.
    """
    table = read_table(path, kind="fleet")
    records, findings = parse_fleet(table)
    findings.extend(check_fleet(records))
    _refuse(table.source, findings, "vehicle")
    fleet = build_fleet(records, set())
    if not fleet.vehicles:
        raise InputError(f"{table.source}: no vehicle", hint="Add one row per vehicle.")
    return fleet


def evaluate(problem: Problem, routes: Mapping[str, Sequence[str]]) -> Evaluation:
    """Check a plan, given as vehicle id -> order ids, against a problem.

    Every time and load is recomputed by the evaluator that checks every
    Doorstep plan; each vehicle's break (if it has one) is put where its route
    is cleanest. Orders left out get the planner's reasons when nothing could
    serve them (``too_big``, ``no_skill``, ``window_unreachable``...), and the
    code ``not_planned`` when some vehicle could.

    Parameters
    ----------
    problem
        The day (from :meth:`doorstep.Model.problem` or ``DayPlan.problem``).
    routes
        Vehicle id -> the ids of the orders it serves, in visiting order.
        Vehicles not named (or with no orders) stay at their depot.

    Returns
    -------
    Evaluation
        Routes with times and loads, unassigned orders with reasons, the
        violations (``.feasible`` is True when there are none) and the KPIs.

    Raises
    ------
    InputError
        A vehicle id or an order id that is not in the problem.
    """
    vehicles = {v.id: i for i, v in enumerate(problem.fleet.vehicles)}
    orders = problem.order_index()
    out: list[RouteAssignment] = []
    for vehicle_id, order_ids in routes.items():
        if vehicle_id not in vehicles:
            raise InputError(f"vehicle {vehicle_id!r} is not in the problem")
        if isinstance(order_ids, str):
            raise InputError(f"vehicle {vehicle_id}: give a list of order ids, not one string")
        unknown = [o for o in order_ids if o not in orders]
        if unknown:
            raise InputError(f"vehicle {vehicle_id}: order(s) {unknown} are not in the problem")
        route = RouteAssignment(vehicles[vehicle_id], tuple(orders[o] for o in order_ids))
        out.append(place_break(problem, route) if route.orders else route)
    assignment = Assignment(tuple(out), backend="user")
    reasons = {
        order_id: NOT_IN_PLAN if code == "no_capacity_left" else (code, text)
        for order_id, (code, text) in explain(problem, assignment).items()
    }
    return evaluate_assignment(problem, assignment, reasons)


class FrozenMapping(Mapping[K, V]):
    """A read-only mapping (unlike ``types.MappingProxyType``, it can be pickled).

    Parameters
    ----------
    items
        The keys and values; copied.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"


def _read_only(matrix: TravelMatrix) -> TravelMatrix:
    if isinstance(matrix, BlockMatrix):  # its blocks cannot be written already
        return matrix
    out = np.array(matrix, dtype=np.int64, copy=True)
    out.setflags(write=False)
    return out


def frozen(problem: Problem) -> Problem:
    """The same problem with read-only matrices and read-only mappings.

    Parameters
    ----------
    problem
        A problem (its matrices are copied, not changed).

    Returns
    -------
    Problem
        An equal problem that nothing can change: the dataclass is frozen, its
        sequences are tuples, its mappings are :class:`FrozenMapping` and its numpy
        arrays have ``writeable`` False.
    """
    return replace(
        problem,
        durations=FrozenMapping({p: _read_only(m) for p, m in problem.durations.items()}),
        distances=FrozenMapping({p: _read_only(m) for p, m in problem.distances.items()}),
        warm_start=FrozenMapping({k: tuple(v) for k, v in problem.warm_start.items()}),
    )
