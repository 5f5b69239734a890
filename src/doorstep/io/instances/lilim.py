"""Li & Lim pickup-and-delivery instances with time windows (PDPTW, text).

The layout (tab- or space-separated; blank lines ignored; CRLF or LF)::

    K   Q   speed
    0   40  50  0    0    1236  0   0   0      <- the depot
    1   45  68  -10  912  967   90  11  0      <- a delivery whose pickup is task 11
    3   42  66  10   65   146   90  0   75     <- a pickup whose delivery is task 75

i.e. a first line with the number of vehicles ``K``, their capacity ``Q`` and a
speed, then one row per task: ``id x y demand ready due service pickup delivery``.

Mapping onto the domain model:

* the instance name is the file's stem (the file carries none);
* row ``0`` (which must be the first row) is the depot
  ``Depot(id="0", location=Location(lat=y, lon=x))``;
* a row whose pickup index is 0 and whose delivery index is set is a pickup:
  ``Order(id=str(id), kind=PICKUP, demand=Load(parcels=demand))``; its demand
  must not be negative;
* a row whose pickup index is set and whose delivery index is 0 is a delivery:
  ``Order(id=str(id), kind=DELIVERY, demand=Load(parcels=-demand),
  paired_pickup=str(pickup))``; its demand must not be positive;
* the pairing is checked both ways: a pickup's delivery row must name it as its
  pickup and carry the opposite demand, and a delivery's pickup row must name
  it as its delivery;
* every order has one window ``TimeWindow(ready, due)`` and ``service_s=service``;
* ``K`` identical vehicles ``v0`` ... at depot ``"0"`` with
  ``Load(parcels=Q, weight_g=UNLIMITED, volume_ml=UNLIMITED)`` and the depot's
  window as their shift;
* the metric is :attr:`Metric.EUCLIDEAN` (travel time equals distance). The
  ``speed`` column is read but not used: the published files say 1 or 0, and
  the literature always takes travel time to equal distance.

Times with decimals are rounded to the nearest whole number (halves up); ids,
demands, ``K`` and ``Q`` must be whole. Coordinates are kept as given.
"""

from __future__ import annotations

from pathlib import Path

from doorstep.domain import Instance, Metric, Order, OrderKind
from doorstep.io.instances import _common
from doorstep.io.instances._task_table import (
    TaskRow,
    depot_and_shift,
    read_task_row,
    task_order,
)

__all__ = ["parse_lilim", "read_lilim"]

_COLUMNS = ("id", "x", "y", "demand", "ready", "due", "service", "pickup", "delivery")
_PAIR_HINT = "Each pickup row names its delivery row and that row names it back."


def read_lilim(path: str | Path) -> Instance:
    """Read a Li & Lim PDPTW instance file.

    Parameters
    ----------
    path
        The ``.txt`` file; its stem becomes the instance name.

    Returns
    -------
    Instance
        Paired pickup and delivery orders, one depot and a homogeneous fleet.

    Raises
    ------
    InstanceFormatError
        If the file does not follow the layout or a pair is inconsistent; the
        message names the line.
    """
    return _common.read_with(parse_lilim, path)


def parse_lilim(text: str, source: str = "<text>", name: str = "lilim") -> Instance:
    """Parse the text of a Li & Lim instance: an :class:`~._common.InstanceParser`.

    The module docstring gives the mapping. Besides a row that does not follow
    the layout, a pickup-and-delivery pair that is inconsistent raises
    :class:`~doorstep.errors.InstanceFormatError`.
    """
    lines = _common.data_lines(text)
    if not lines:
        raise _common.empty_error(
            source, "a Li & Lim instance (a line `K Q speed`, then task rows)"
        )
    count, capacity = _header(lines[0], source)
    rows = [read_task_row(line, source, _COLUMNS, " ".join(_COLUMNS)) for line in lines[1:]]
    if len(rows) < 2:
        raise _common.format_error(
            source,
            f"line {_common.last_line_number(text)}",
            "the file ends before the first task row.",
            "After the depot row comes one row per pickup and per delivery.",
        )
    by_id = _index(rows, source)
    depot, shift = depot_and_shift(
        rows[0], source, "task", "The row after `K Q speed` describes the depot."
    )
    for row in rows[1:]:
        _check_pair(row, by_id, source)
    orders = tuple(_order(row, source) for row in rows[1:])
    with _common.domain_errors(source, f"line {lines[0][0]}"):
        vehicles = _common.homogeneous_fleet(count, capacity, depot, shift)
    return Instance(name, (depot,), vehicles, orders, Metric.EUCLIDEAN)


def _header(line: _common.Line, source: str) -> tuple[int, int]:
    """Parse ``K Q speed`` into ``(K, Q)``; the speed is checked but not kept."""
    number, tokens = line
    if len(tokens) != 3:
        raise _common.format_error(
            source,
            f"line {number}",
            f"expected 3 numbers (vehicles, capacity, speed), found {len(tokens)}.",
            "The first line of a Li & Lim file is `K Q speed`.",
        )
    count = _common.parse_int(tokens[0], source, number, "the number of vehicles")
    capacity = _common.parse_int(tokens[1], source, number, "the capacity")
    _common.parse_float(tokens[2], source, number, "the speed")
    return _common.check_vehicle_count(count, source, f"line {number}"), capacity


def _index(rows: list[TaskRow], source: str) -> dict[int, TaskRow]:
    """Rows by id, refusing an id that appears twice."""
    ids = ((row.id, row.line) for row in rows)
    _common.refuse_repeated_ids(ids, source, "task", "Task ids must be unique.")
    return {row.id: row for row in rows}


def _check_pair(row: TaskRow, by_id: dict[int, TaskRow], source: str) -> None:
    """Check that a row is a pickup or a delivery and that its partner names it back."""
    where = f"line {row.line}"
    if not (row.is_pickup and row.demand >= 0) and not (row.is_delivery and row.demand <= 0):
        raise _common.format_error(
            source,
            where,
            f"task {row.id} (demand {row.demand}, pickup {row.pickup}, delivery {row.delivery}) "
            "is neither a pickup (pickup 0, a delivery, demand >= 0) nor a delivery "
            "(a pickup, delivery 0, demand <= 0).",
            _PAIR_HINT,
        )
    if row.is_pickup:
        role, other, partner_id, names_back = "pickup", "delivery", row.delivery, (row.id, 0)
    else:
        role, other, partner_id, names_back = "delivery", "pickup", row.pickup, (0, row.id)
    partner = by_id.get(partner_id)
    if partner is None or (partner.pickup, partner.delivery) != names_back:
        raise _common.format_error(
            source,
            where,
            f"{role} {row.id} names {other} {partner_id}, {_says(partner)}.",
            _PAIR_HINT,
        )
    if row.is_pickup and partner.demand != -row.demand:
        raise _common.format_error(
            source,
            where,
            f"pickup {row.id} loads {row.demand} but its delivery {partner.id} "
            f"(line {partner.line}) unloads {-partner.demand}.",
            "A delivery's demand is minus its pickup's demand.",
        )


def _says(partner: TaskRow | None) -> str:
    """Describe what the partner row says, for a pairing error."""
    if partner is None:
        return "but there is no such task"
    return (
        f"but task {partner.id} (line {partner.line}) says pickup {partner.pickup}, "
        f"delivery {partner.delivery}"
    )


def _order(row: TaskRow, source: str) -> Order:
    """Build the pickup or delivery order for one checked row."""
    if row.is_pickup:
        return task_order(row, source, OrderKind.PICKUP, row.demand)
    return task_order(row, source, OrderKind.DELIVERY, -row.demand, paired_pickup=str(row.pickup))
