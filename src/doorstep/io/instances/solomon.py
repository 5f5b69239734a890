"""Solomon and Gehring & Homberger VRPTW instances (text).

The layout (blank lines anywhere are ignored; CRLF or LF)::

    C101
    VEHICLE
    NUMBER     CAPACITY
      25         200
    CUSTOMER
    CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME
        0      40         50          0          0       1236          0
        1      45         68         10        912        967         90

Mapping onto the domain model:

* the instance name is the first line;
* customer ``0`` (which must be the first row) is the depot
  ``Depot(id="0", location=Location(lat=y, lon=x))``; its demand and service
  time are ignored;
* every other row is a delivery ``Order(id=str(no))`` at ``Location(lat=y, lon=x)``
  with one window ``TimeWindow(ready, due)``, ``service_s=service`` and
  ``demand=Load(parcels=demand)``;
* ``NUMBER`` identical vehicles ``v0`` ... ``v{NUMBER-1}`` at depot ``"0"`` with
  ``Load(parcels=CAPACITY, weight_g=UNLIMITED, volume_ml=UNLIMITED)`` and the
  depot's window as their shift;
* the metric is :attr:`Metric.EUCLIDEAN` (travel time equals distance).

Times stay in the file's own unit. The published files hold whole numbers only;
a time or service duration with decimals is rounded to the nearest whole number
(halves up), while ids, demands, ``NUMBER`` and ``CAPACITY`` must be whole
(rounding a demand could hide an overload). Coordinates are kept as given.
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

__all__ = ["parse_solomon", "read_solomon"]

_LAYOUT_HINT = (
    "A Solomon file has a name line, then VEHICLE / NUMBER CAPACITY / <two numbers>, "
    "then CUSTOMER / <column titles> / one row of 7 numbers per customer."
)
_COLUMNS = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")
_FIRST_ROW = 6
"""Index (among non-blank lines) of the first customer row."""


@dataclass(frozen=True, slots=True)
class _Row:
    """One row of the customer table."""

    line: int
    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


def read_solomon(path: str | Path) -> Instance:
    """Read a Solomon or Gehring & Homberger instance file.

    Parameters
    ----------
    path
        The ``.txt`` file.

    Returns
    -------
    Instance
        Delivery orders, one depot and a homogeneous fleet, with a Euclidean metric.

    Raises
    ------
    InstanceFormatError
        If the file does not follow the layout; the message names the line.
    """
    return parse_solomon(read_text(path), source=str(path))


def parse_solomon(text: str, source: str = "<text>") -> Instance:
    """Parse the text of a Solomon instance (see the module docstring for the mapping).

    Parameters
    ----------
    text
        The whole file.
    source
        How to name the file in error messages.

    Returns
    -------
    Instance
        The instance.

    Raises
    ------
    InstanceFormatError
        If the text does not follow the layout; the message names the line.
    """
    lines = data_lines(text)
    if not lines:
        raise empty_error(source, "a Solomon instance")
    name = " ".join(lines[0][1])
    count, capacity = _vehicle_section(lines, text, source)
    rows = [_row(line, source) for line in lines[_FIRST_ROW:]]
    if not rows:
        raise format_error(
            source,
            f"line {last_line_number(text)}",
            "the file ends before the first customer row.",
            _LAYOUT_HINT,
        )
    _check_unique(rows, source)
    depot, shift = _depot(rows[0], source)
    orders = tuple(_order(row, source) for row in rows[1:])
    if not orders:
        raise format_error(
            source, f"line {rows[0].line}", "the depot is the only row.", "Add customer rows."
        )
    with domain_errors(source, f"line {lines[3][0]}"):
        vehicles = homogeneous_fleet(count, capacity, depot, shift)
    return Instance(name, (depot,), vehicles, orders, Metric.EUCLIDEAN)


def _vehicle_section(lines: list[Line], text: str, source: str) -> tuple[int, int]:
    """Check the header lines and return ``(NUMBER, CAPACITY)``."""
    for index, keyword in ((1, "VEHICLE"), (2, "NUMBER"), (4, "CUSTOMER"), (5, "CUST")):
        _expect(lines, index, keyword, text, source)
    number, tokens = lines[3]
    if len(tokens) != 2:
        raise format_error(
            source,
            f"line {number}",
            f"expected 2 numbers (NUMBER CAPACITY), found {len(tokens)}.",
            _LAYOUT_HINT,
        )
    count = parse_int(tokens[0], source, number, "NUMBER")
    capacity = parse_int(tokens[1], source, number, "CAPACITY")
    return check_vehicle_count(count, source, f"line {number}"), capacity


def _expect(lines: list[Line], index: int, keyword: str, text: str, source: str) -> None:
    """Check that non-blank line ``index`` starts with ``keyword``."""
    if index >= len(lines):
        raise format_error(
            source,
            f"line {last_line_number(text)}",
            f"the file ends where the {keyword!r} line was expected.",
            _LAYOUT_HINT,
        )
    number, tokens = lines[index]
    if not tokens[0].upper().startswith(keyword):
        raise format_error(
            source,
            f"line {number}",
            f"expected a line starting with {keyword!r}, found {' '.join(tokens)!r}.",
            _LAYOUT_HINT,
        )


def _row(line: Line, source: str) -> _Row:
    """Parse one customer row of 7 numbers."""
    number, tokens = line
    if len(tokens) != len(_COLUMNS):
        raise format_error(
            source,
            f"line {number}",
            f"expected {len(_COLUMNS)} columns ({', '.join(_COLUMNS)}), found {len(tokens)}.",
            "Fix the row; a truncated file often ends with a short row.",
        )
    whole = [parse_int(tokens[i], source, number, _COLUMNS[i]) for i in (0, 3)]
    real = [parse_float(tokens[i], source, number, _COLUMNS[i]) for i in (1, 2, 4, 5, 6)]
    x, y, ready, due, service = real
    return _Row(
        number,
        whole[0],
        x,
        y,
        whole[1],
        round_half_up(ready),
        round_half_up(due),
        round_half_up(service),
    )


def _check_unique(rows: list[_Row], source: str) -> None:
    """Refuse a customer number that appears twice."""
    seen: dict[int, int] = {}
    for row in rows:
        if row.number in seen:
            raise format_error(
                source,
                f"line {row.line}",
                f"customer {row.number} already appears on line {seen[row.number]}.",
                "Customer numbers must be unique.",
            )
        seen[row.number] = row.line


def _depot(row: _Row, source: str) -> tuple[Depot, TimeWindow]:
    """Return the depot (customer 0) and its window, which becomes every vehicle's shift."""
    if row.number != 0:
        raise format_error(
            source,
            f"line {row.line}",
            f"the first row is customer {row.number}, but it must be the depot, customer 0.",
            _LAYOUT_HINT,
        )
    with domain_errors(source, f"line {row.line}"):
        shift = TimeWindow(row.ready, row.due)
        return Depot(id="0", location=planar_location(row.x, row.y)), shift


def _order(row: _Row, source: str) -> Order:
    """Build the delivery order for one customer row."""
    with domain_errors(source, f"line {row.line}"):
        return Order(
            id=str(row.number),
            kind=OrderKind.DELIVERY,
            location=planar_location(row.x, row.y),
            windows=(TimeWindow(row.ready, row.due),),
            service_s=row.service,
            demand=Load(parcels=row.demand),
        )
