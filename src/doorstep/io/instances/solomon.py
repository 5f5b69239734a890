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

from pathlib import Path

from doorstep.domain import Instance, Metric, OrderKind
from doorstep.io.instances import _common
from doorstep.io.instances._task_table import (
    TaskRow,
    depot_and_shift,
    read_task_row,
    task_order,
)

__all__ = ["parse_solomon", "read_solomon"]

_LAYOUT_HINT = (
    "A Solomon file has a name line, then VEHICLE / NUMBER CAPACITY / <two numbers>, "
    "then CUSTOMER / <column titles> / one row of 7 numbers per customer."
)
_COLUMNS = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")
_TITLES = ", ".join(_COLUMNS)
_FIRST_ROW = 6
"""Index (among non-blank lines) of the first customer row."""


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
    return parse_solomon(_common.read_text(path), source=str(path))


def parse_solomon(text: str, source: str = "<text>") -> Instance:
    """Parse the text of a Solomon instance (see the module docstring for the mapping).

    Unlike an :class:`~._common.InstanceParser` it takes no ``name``: the first
    line of the file names the instance. ``source`` names the text in errors,
    which raise :class:`~doorstep.errors.InstanceFormatError` naming the line.
    """
    lines = _common.data_lines(text)
    if not lines:
        raise _common.empty_error(source, "a Solomon instance")
    name = " ".join(lines[0][1])
    count, capacity = _vehicle_section(lines, text, source)
    rows = [read_task_row(line, source, _COLUMNS, _TITLES) for line in lines[_FIRST_ROW:]]
    if not rows:
        raise _common.format_error(
            source,
            f"line {_common.last_line_number(text)}",
            "the file ends before the first customer row.",
            _LAYOUT_HINT,
        )
    _check_unique(rows, source)
    depot, shift = depot_and_shift(rows[0], source, "customer", _LAYOUT_HINT)
    orders = tuple(task_order(row, source, OrderKind.DELIVERY, row.demand) for row in rows[1:])
    if not orders:
        raise _common.format_error(
            source, f"line {rows[0].line}", "the depot is the only row.", "Add customer rows."
        )
    with _common.domain_errors(source, f"line {lines[3][0]}"):
        vehicles = _common.homogeneous_fleet(count, capacity, depot, shift)
    return Instance(name, (depot,), vehicles, orders, Metric.EUCLIDEAN)


def _vehicle_section(lines: list[_common.Line], text: str, source: str) -> tuple[int, int]:
    """Check the header lines and return ``(NUMBER, CAPACITY)``."""
    for index, keyword in ((1, "VEHICLE"), (2, "NUMBER"), (4, "CUSTOMER"), (5, "CUST")):
        _expect(lines, index, keyword, text, source)
    number, tokens = lines[3]
    if len(tokens) != 2:
        raise _common.format_error(
            source,
            f"line {number}",
            f"expected 2 numbers (NUMBER CAPACITY), found {len(tokens)}.",
            _LAYOUT_HINT,
        )
    count = _common.parse_int(tokens[0], source, number, "NUMBER")
    capacity = _common.parse_int(tokens[1], source, number, "CAPACITY")
    return _common.check_vehicle_count(count, source, f"line {number}"), capacity


def _expect(lines: list[_common.Line], index: int, keyword: str, text: str, source: str) -> None:
    """Check that non-blank line ``index`` starts with ``keyword``."""
    if index >= len(lines):
        raise _common.format_error(
            source,
            f"line {_common.last_line_number(text)}",
            f"the file ends where the {keyword!r} line was expected.",
            _LAYOUT_HINT,
        )
    number, tokens = lines[index]
    if not tokens[0].upper().startswith(keyword):
        raise _common.format_error(
            source,
            f"line {number}",
            f"expected a line starting with {keyword!r}, found {' '.join(tokens)!r}.",
            _LAYOUT_HINT,
        )


def _check_unique(rows: list[TaskRow], source: str) -> None:
    """Refuse a customer number that appears twice."""
    ids = ((row.id, row.line) for row in rows)
    _common.refuse_repeated_ids(ids, source, "customer", "Customer numbers must be unique.")
