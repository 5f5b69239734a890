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

from dataclasses import dataclass
from pathlib import Path

from doorstep.domain import Depot, Instance, Load, Metric, Order, OrderKind, TimeWindow
from doorstep.io.instances._common import (
    Line,
    check_vehicle_count,
    data_lines,
    domain_errors,
    empty_error,
    format_error,
    homogeneous_fleet,
    last_line_number,
    parse_float,
    parse_int,
    planar_location,
    read_text,
    round_half_up,
)

__all__ = ["parse_lilim", "read_lilim"]

_COLUMNS = ("id", "x", "y", "demand", "ready", "due", "service", "pickup", "delivery")
_PAIR_HINT = "Each pickup row names its delivery row and that row names it back."


@dataclass(frozen=True, slots=True)
class _Row:
    """One task row (or the depot)."""

    line: int
    id: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int
    pickup: int
    delivery: int

    @property
    def is_pickup(self) -> bool:
        """Whether the row names a delivery and no pickup."""
        return self.pickup == 0 and self.delivery != 0

    @property
    def is_delivery(self) -> bool:
        """Whether the row names a pickup and no delivery."""
        return self.pickup != 0 and self.delivery == 0


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
    path = Path(path)
    return parse_lilim(read_text(path), source=str(path), name=path.stem)


def parse_lilim(text: str, source: str = "<text>", name: str = "lilim") -> Instance:
    """Parse the text of a Li & Lim instance (see the module docstring for the mapping).

    Parameters
    ----------
    text
        The whole file.
    source
        How to name the file in error messages.
    name
        The instance name.

    Returns
    -------
    Instance
        The instance.

    Raises
    ------
    InstanceFormatError
        If the text does not follow the layout or a pair is inconsistent.
    """
    lines = data_lines(text)
    if not lines:
        raise empty_error(source, "a Li & Lim instance (a line `K Q speed`, then task rows)")
    count, capacity = _header(lines[0], source)
    rows = [_row(line, source) for line in lines[1:]]
    if len(rows) < 2:
        raise format_error(
            source,
            f"line {last_line_number(text)}",
            "the file ends before the first task row.",
            "After the depot row comes one row per pickup and per delivery.",
        )
    by_id = _index(rows, source)
    depot, shift = _depot(rows[0], source)
    for row in rows[1:]:
        _check_pair(row, by_id, source)
    orders = tuple(_order(row, source) for row in rows[1:])
    with domain_errors(source, f"line {lines[0][0]}"):
        vehicles = homogeneous_fleet(count, capacity, depot, shift)
    return Instance(name, (depot,), vehicles, orders, Metric.EUCLIDEAN)


def _header(line: Line, source: str) -> tuple[int, int]:
    """Parse ``K Q speed`` into ``(K, Q)``; the speed is checked but not kept."""
    number, tokens = line
    if len(tokens) != 3:
        raise format_error(
            source,
            f"line {number}",
            f"expected 3 numbers (vehicles, capacity, speed), found {len(tokens)}.",
            "The first line of a Li & Lim file is `K Q speed`.",
        )
    count = parse_int(tokens[0], source, number, "the number of vehicles")
    capacity = parse_int(tokens[1], source, number, "the capacity")
    parse_float(tokens[2], source, number, "the speed")
    return check_vehicle_count(count, source, f"line {number}"), capacity


def _row(line: Line, source: str) -> _Row:
    """Parse one row of 9 numbers."""
    number, tokens = line
    if len(tokens) != len(_COLUMNS):
        raise format_error(
            source,
            f"line {number}",
            f"expected {len(_COLUMNS)} columns ({' '.join(_COLUMNS)}), found {len(tokens)}.",
            "Fix the row; a truncated file often ends with a short row.",
        )
    whole = {i: parse_int(tokens[i], source, number, _COLUMNS[i]) for i in (0, 3, 7, 8)}
    real = {i: parse_float(tokens[i], source, number, _COLUMNS[i]) for i in (1, 2, 4, 5, 6)}
    return _Row(
        line=number,
        id=whole[0],
        x=real[1],
        y=real[2],
        demand=whole[3],
        ready=round_half_up(real[4]),
        due=round_half_up(real[5]),
        service=round_half_up(real[6]),
        pickup=whole[7],
        delivery=whole[8],
    )


def _index(rows: list[_Row], source: str) -> dict[int, _Row]:
    """Rows by id, refusing an id that appears twice."""
    by_id: dict[int, _Row] = {}
    for row in rows:
        if row.id in by_id:
            raise format_error(
                source,
                f"line {row.line}",
                f"task {row.id} already appears on line {by_id[row.id].line}.",
                "Task ids must be unique.",
            )
        by_id[row.id] = row
    return by_id


def _depot(row: _Row, source: str) -> tuple[Depot, TimeWindow]:
    """Return the depot (row 0) and its window, which becomes every vehicle's shift."""
    if row.id != 0:
        raise format_error(
            source,
            f"line {row.line}",
            f"the first task row is {row.id}, but it must be the depot, 0.",
            "The row after `K Q speed` describes the depot.",
        )
    with domain_errors(source, f"line {row.line}"):
        shift = TimeWindow(row.ready, row.due)
        return Depot(id="0", location=planar_location(row.x, row.y)), shift


def _check_pair(row: _Row, by_id: dict[int, _Row], source: str) -> None:
    """Check that a row is a pickup or a delivery and that its partner names it back."""
    where = f"line {row.line}"
    if row.is_pickup and row.demand >= 0:
        partner = by_id.get(row.delivery)
        if partner is None or partner.pickup != row.id or partner.delivery != 0:
            raise format_error(
                source,
                where,
                f"pickup {row.id} names delivery {row.delivery}, {_says(partner)}.",
                _PAIR_HINT,
            )
        if partner.demand != -row.demand:
            raise format_error(
                source,
                where,
                f"pickup {row.id} loads {row.demand} but its delivery {partner.id} "
                f"(line {partner.line}) unloads {-partner.demand}.",
                "A delivery's demand is minus its pickup's demand.",
            )
    elif row.is_delivery and row.demand <= 0:
        partner = by_id.get(row.pickup)
        if partner is None or partner.delivery != row.id or partner.pickup != 0:
            raise format_error(
                source,
                where,
                f"delivery {row.id} names pickup {row.pickup}, {_says(partner)}.",
                _PAIR_HINT,
            )
    else:
        raise format_error(
            source,
            where,
            f"task {row.id} (demand {row.demand}, pickup {row.pickup}, delivery {row.delivery}) "
            "is neither a pickup (pickup 0, a delivery, demand >= 0) nor a delivery "
            "(a pickup, delivery 0, demand <= 0).",
            _PAIR_HINT,
        )


def _says(partner: _Row | None) -> str:
    """Describe what the partner row says, for a pairing error."""
    if partner is None:
        return "but there is no such task"
    return (
        f"but task {partner.id} (line {partner.line}) says pickup {partner.pickup}, "
        f"delivery {partner.delivery}"
    )


def _order(row: _Row, source: str) -> Order:
    """Build the pickup or delivery order for one checked row."""
    with domain_errors(source, f"line {row.line}"):
        location = planar_location(row.x, row.y)
        windows = (TimeWindow(row.ready, row.due),)
        if row.is_pickup:
            return Order(
                str(row.id),
                location,
                OrderKind.PICKUP,
                windows=windows,
                service_s=row.service,
                demand=Load(parcels=row.demand),
            )
        return Order(
            str(row.id),
            location,
            OrderKind.DELIVERY,
            windows=windows,
            service_s=row.service,
            demand=Load(parcels=-row.demand),
            paired_pickup=str(row.pickup),
        )
