"""The task table of Solomon and Li & Lim files: one row of numbers per task, the depot first.

Both formats give each task ``id x y demand ready due service``; Li & Lim rows
carry two more columns, the ``pickup`` and ``delivery`` task they pair with.
Ids and demands must be whole numbers, times are rounded half up and
coordinates are kept as given. The first row is the depot, and its window is
every vehicle's shift.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.domain import Depot, Load, Order, OrderKind, TimeWindow
from doorstep.io.instances._common import (
    Line,
    domain_errors,
    format_error,
    parse_float,
    parse_int,
    planar_location,
    round_half_up,
)

_WHOLE = (0, 3, 7, 8)
"""Positions of the whole-number columns: id, demand, pickup, delivery."""
_REAL = (1, 2, 4, 5, 6)
"""Positions of the real-number columns: x, y, ready, due, service."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One row of the task table (or the depot), with the line it stands on."""

    line: int
    id: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int
    pickup: int = 0
    """The pickup task a Li & Lim delivery names (0: none; Solomon rows have none)."""
    delivery: int = 0
    """The delivery task a Li & Lim pickup names (0: none; Solomon rows have none)."""

    @property
    def is_pickup(self) -> bool:
        """Whether the row names a delivery and no pickup."""
        return self.pickup == 0 and self.delivery != 0

    @property
    def is_delivery(self) -> bool:
        """Whether the row names a pickup and no delivery."""
        return self.pickup != 0 and self.delivery == 0


def read_task_row(line: Line, source: str, columns: tuple[str, ...], titles: str) -> TaskRow:
    """Parse one row of the table.

    Parameters
    ----------
    line
        The row's line number and tokens.
    source
        How to name the file in error messages.
    columns
        The format's column titles: the seven task columns, then ``pickup`` and
        ``delivery`` if the format has them.
    titles
        The titles as the error for a row of the wrong length lists them.

    Returns
    -------
    TaskRow
        The row, its times rounded half up.

    Raises
    ------
    InstanceFormatError
        If the row does not hold ``len(columns)`` numbers, or an id or demand is
        not a whole number.
    """
    number, tokens = line
    if len(tokens) != len(columns):
        raise format_error(
            source,
            f"line {number}",
            f"expected {len(columns)} columns ({titles}), found {len(tokens)}.",
            "Fix the row; a truncated file often ends with a short row.",
        )
    whole = [parse_int(tokens[i], source, number, columns[i]) for i in _WHOLE if i < len(tokens)]
    real = [parse_float(tokens[i], source, number, columns[i]) for i in _REAL]
    x, y, ready, due, service = real
    return TaskRow(
        number,
        whole[0],
        x,
        y,
        whole[1],
        round_half_up(ready),
        round_half_up(due),
        round_half_up(service),
        *whole[2:],
    )


def depot_and_shift(row: TaskRow, source: str, noun: str, hint: str) -> tuple[Depot, TimeWindow]:
    """Return the depot ``"0"`` at the first row and its window, every vehicle's shift.

    Parameters
    ----------
    row
        The table's first row, which must be task 0.
    source
        How to name the file in error messages.
    noun
        What the format calls a row (``"customer"``, ``"task"``), for the message.
    hint
        What to do when the first row is not the depot.

    Raises
    ------
    InstanceFormatError
        If the row is not task 0, or its window ends before it starts.
    """
    if row.id != 0:
        raise format_error(
            source,
            f"line {row.line}",
            f"the first row is {noun} {row.id}, but it must be the depot, {noun} 0.",
            hint,
        )
    with domain_errors(source, f"line {row.line}"):
        shift = TimeWindow(row.ready, row.due)
        return Depot(id="0", location=planar_location(row.x, row.y)), shift


def task_order(
    row: TaskRow, source: str, kind: OrderKind, parcels: int, paired_pickup: str | None = None
) -> Order:
    """Build the order of a task row: its id, location, window and service time.

    Parameters
    ----------
    row
        The task's row.
    source
        How to name the file in error messages.
    kind
        Delivery or pickup.
    parcels
        The demand in parcels (the file's demand, made positive for a delivery).
    paired_pickup
        The id of the pickup order that a paired delivery belongs to.

    Raises
    ------
    InstanceFormatError
        If the row's values make no valid order (a window ending before it starts).
    """
    with domain_errors(source, f"line {row.line}"):
        return Order(
            id=str(row.id),
            kind=kind,
            location=planar_location(row.x, row.y),
            windows=(TimeWindow(row.ready, row.due),),
            service_s=row.service,
            demand=Load(parcels=parcels),
            paired_pickup=paired_pickup,
        )
