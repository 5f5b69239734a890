"""VRPLIB instances (CVRPLIB's CVRP and VRPTW files), parsed with the ``vrplib`` package.

A VRPLIB file is a header of ``KEY : value`` lines followed by ``*_SECTION``
blocks and an optional ``EOF``. ``vrplib`` drops the node id column of every
section and gives the rows in file order, so before handing the text over this
module checks the layout itself (with line numbers): every per-node section
lists nodes ``1 .. DIMENSION`` in that order, with the right number of columns.

Mapping onto the domain model:

* the name is ``NAME`` (else the file's stem);
* the single node listed in ``DEPOT_SECTION`` is ``Depot(id=str(node))``; files
  with several depots are refused (nothing says which vehicles start where);
* every other node ``i`` is a delivery ``Order(id=str(i))`` with
  ``demand=Load(parcels=DEMAND)`` (0 without a ``DEMAND_SECTION``), the window
  of ``TIME_WINDOW_SECTION`` if present, and the service time of
  ``SERVICE_TIME_SECTION`` or of the ``SERVICE_TIME`` keyword (else 0);
* ``NODE_COORD_SECTION`` ``x y`` becomes ``Location(lat=y, lon=x)``; without
  coordinates (an explicit matrix only) ``DISPLAY_DATA_SECTION`` is used, and
  failing that every location is the placeholder ``Location(0, 0)``: the matrix
  prices travel, not the points;
* ``VEHICLES`` identical vehicles ``v0`` ... (when the file does not say, one per
  customer, which never binds) with ``Load(parcels=CAPACITY, weight_g=UNLIMITED,
  volume_ml=UNLIMITED)`` (``CAPACITY`` absent: unlimited), the depot's time
  window as shift (no windows: an unbounded shift) and ``DISTANCE``, the
  route-length limit of Christofides-style files, as ``max_duration_s``
  (travel time equals distance, and service time counts, as in those files);
* ``EDGE_WEIGHT_TYPE : EUC_2D`` gives :attr:`Metric.EUCLIDEAN` (unrounded
  Euclidean distance; the rounding conventions some papers apply to ``EUC_2D``
  are theirs to apply). ``EXPLICIT`` (``FULL_MATRIX`` or ``LOWER_ROW``) and the
  rounded types ``FLOOR_2D``, ``CEIL_2D`` and ``EXACT_2D`` give
  :attr:`Metric.EXPLICIT` with the matrix ``vrplib`` reads or computes,
  reordered so that the depot comes first and the orders follow in node order
  (the order :attr:`Instance.matrix` documents), whatever the depot's node id.

Times stay in the file's own unit; decimals are rounded to the nearest whole
number (halves up). Demands, ``CAPACITY``, ``VEHICLES`` and ``DIMENSION`` must be
whole. Sections other than those named above (pickup-and-delivery, backhaul,
multi-depot data...) are refused rather than silently dropped; unknown header
keywords are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from vrplib.parse import parse_vrplib

from doorstep.domain.fleet import UNLIMITED, Depot, Vehicle
from doorstep.domain.instance import Instance, Metric
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Order, OrderKind
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import InstanceFormatError
from doorstep.io.instances._common import (
    UNBOUNDED_SHIFT,
    check_vehicle_count,
    domain_errors,
    empty_error,
    format_error,
    last_line_number,
    parse_float,
    parse_int,
    planar_location,
    read_with,
    round_half_up,
)

__all__ = ["parse_vrplib_text", "read_vrplib"]

Matrix = npt.NDArray[np.float64]

_NODE_SECTIONS = {
    "NODE_COORD": 3,
    "DEMAND": 2,
    "TIME_WINDOW": 3,
    "SERVICE_TIME": 2,
    "DISPLAY_DATA": 3,
}
"""Per-node sections and their column count (node id included)."""
_KNOWN_SECTIONS = {*_NODE_SECTIONS, "DEPOT", "EDGE_WEIGHT"}
_SUPPORTED_TYPES = {"CVRP", "VRPTW", "CVRPTW"}
_MATRIX_TYPES = {"EXPLICIT", "FLOOR_2D", "CEIL_2D", "EXACT_2D"}
_EXPLICIT_FORMATS = {"FULL_MATRIX", "LOWER_ROW"}
_HINT = "See the VRPLIB format as the vrplib package documents it (github.com/PyVRP/VRPLIB)."


@dataclass(slots=True)
class _Section:
    """A ``*_SECTION`` block: its name, the line of its title and its rows."""

    name: str
    line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class _Layout:
    """What the line-by-line check found: keywords (with their line) and sections."""

    specs: dict[str, tuple[int, str]] = field(default_factory=dict)
    sections: dict[str, _Section] = field(default_factory=dict)

    def spec(self, key: str) -> str | None:
        """The value of header keyword ``key``, if present."""
        found = self.specs.get(key)
        return None if found is None else found[1]


def read_vrplib(path: str | Path) -> Instance:
    """Read a VRPLIB (CVRP or VRPTW) instance file.

    Parameters
    ----------
    path
        The ``.vrp`` (or ``.txt``) file; its stem names the instance if ``NAME`` is absent.

    Returns
    -------
    Instance
        Delivery orders, one depot and a homogeneous fleet.

    Raises
    ------
    InstanceFormatError
        If the file is not a VRPLIB instance Doorstep can read; the message names the line.
    """
    return read_with(parse_vrplib_text, path)


def parse_vrplib_text(text: str, source: str = "<text>", default_name: str = "vrplib") -> Instance:
    """Parse the text of a VRPLIB instance: an :class:`~._common.InstanceParser`.

    The module docstring gives the mapping; ``default_name`` names the instance
    only when the file has no ``NAME``.
    """
    layout = _scan(text, source)
    dimension = _check(layout, text, source)
    data = _parse(text, source)
    name = layout.spec("NAME") or default_name
    return _build(name, data, layout, dimension, source)


def _scan(text: str, source: str) -> _Layout:
    """Split the text into keywords and sections, checking every data token is a number."""
    layout = _Layout()
    current: _Section | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "EOF" in line:  # where vrplib stops reading
            break
        if "_SECTION" in line:
            current = _open_section(line, number, layout, source)
        elif current is None:
            _add_spec(line, number, layout, source)
        else:
            _add_row(line, number, current, source)
    if not layout.specs and not layout.sections:
        raise empty_error(source, "a VRPLIB instance (`NAME : ...`, `TYPE : CVRP`, ...)")
    return layout


def _open_section(line: str, number: int, layout: _Layout, source: str) -> _Section:
    """Start a ``*_SECTION`` block, refusing unknown or repeated ones."""
    name = line.strip(" :").removesuffix("_SECTION").upper()
    if name not in _KNOWN_SECTIONS:
        raise format_error(
            source,
            f"line {number}",
            f"Doorstep does not read {name}_SECTION.",
            "Only CVRP and VRPTW data is supported: "
            + ", ".join(f"{s}_SECTION" for s in sorted(_KNOWN_SECTIONS))
            + ".",
        )
    if name in layout.sections:
        raise format_error(
            source,
            f"line {number}",
            f"{name}_SECTION appears a second time (first on line {layout.sections[name].line}).",
            "Keep one copy of the section.",
        )
    section = _Section(name, number)
    layout.sections[name] = section
    return section


def _add_spec(line: str, number: int, layout: _Layout, source: str) -> None:
    """Record a ``KEY : value`` header line."""
    key, colon, value = line.partition(":")
    if not colon:
        raise format_error(
            source,
            f"line {number}",
            f"expected `KEY : value` or a `*_SECTION` title, found {line!r}.",
            _HINT,
        )
    layout.specs[key.strip().upper()] = (number, value.strip())


def _add_row(line: str, number: int, section: _Section, source: str) -> None:
    """Record a data row of a section; every token must be a number."""
    if ":" in line:
        raise format_error(
            source,
            f"line {number}",
            f"a `KEY : value` line inside {section.name}_SECTION.",
            "Header keywords go before the first section.",
        )
    tokens = line.split()
    for token in tokens:
        parse_float(token, source, number, f"a value of {section.name}_SECTION")
    section.rows.append((number, tokens))


def _check(layout: _Layout, text: str, source: str) -> int:
    """Check the header and the sections; return ``DIMENSION``."""
    dimension = _whole_spec(layout, "DIMENSION", source, minimum=2)
    if dimension is None:
        raise _missing(text, source, "the DIMENSION keyword", "`DIMENSION : <number of nodes>`")
    problem = (layout.spec("TYPE") or "CVRP").upper()
    if problem not in _SUPPORTED_TYPES:
        raise _spec_error(layout, "TYPE", source, f"type {problem} is not supported.")
    _check_edge_weights(layout, text, source)
    for name, width in _NODE_SECTIONS.items():
        if name in layout.sections:
            _check_node_section(layout.sections[name], width, dimension, source)
    _check_depot(layout, dimension, text, source)
    _whole_spec(layout, "CAPACITY", source, minimum=0)
    vehicles = _whole_spec(layout, "VEHICLES", source, minimum=1)
    if vehicles is not None:
        check_vehicle_count(vehicles, source, f"line {layout.specs['VEHICLES'][0]}")
    for key in ("SERVICE_TIME", "DISTANCE"):
        _number_spec(layout, key, source)
    return dimension


def _check_edge_weights(layout: _Layout, text: str, source: str) -> None:
    """Check that the edge weight type is supported and its data is present."""
    kind = layout.spec("EDGE_WEIGHT_TYPE")
    if kind is None:
        raise _missing(
            text, source, "the EDGE_WEIGHT_TYPE keyword", "e.g. `EDGE_WEIGHT_TYPE : EUC_2D`"
        )
    kind = kind.upper()
    if kind != "EUC_2D" and kind not in _MATRIX_TYPES:
        supported = ", ".join(sorted({"EUC_2D", *_MATRIX_TYPES}))
        raise _spec_error(
            layout, "EDGE_WEIGHT_TYPE", source, f"{kind} is not supported ({supported})."
        )
    if kind != "EXPLICIT":
        if "NODE_COORD" not in layout.sections:
            raise _missing(text, source, "NODE_COORD_SECTION", f"{kind} distances need coordinates")
        return
    weight_format = (layout.spec("EDGE_WEIGHT_FORMAT") or "").upper()
    if weight_format not in _EXPLICIT_FORMATS:
        raise _spec_error(
            layout,
            "EDGE_WEIGHT_FORMAT" if "EDGE_WEIGHT_FORMAT" in layout.specs else "EDGE_WEIGHT_TYPE",
            source,
            "EXPLICIT weights need EDGE_WEIGHT_FORMAT FULL_MATRIX or LOWER_ROW, "
            f"not {weight_format!r}.",
        )
    if "EDGE_WEIGHT" not in layout.sections:
        raise _missing(text, source, "EDGE_WEIGHT_SECTION", "EXPLICIT weights are listed in it")


def _check_node_section(section: _Section, width: int, dimension: int, source: str) -> None:
    """Check that a per-node section lists nodes 1 .. dimension in order, ``width`` columns each."""
    for expected, (number, tokens) in enumerate(section.rows, start=1):
        if len(tokens) != width:
            raise format_error(
                source,
                f"line {number}",
                f"{section.name}_SECTION rows have {width} columns (node id first), "
                f"this one has {len(tokens)}.",
                "Fix the row.",
            )
        node = parse_int(tokens[0], source, number, "the node id")
        if node != expected:
            raise format_error(
                source,
                f"line {number}",
                f"{section.name}_SECTION lists node {node} where node {expected} was expected.",
                "List nodes 1, 2, ... in order: vrplib drops the id column and goes by position.",
            )
        if section.name == "DEMAND":
            parse_int(tokens[1], source, number, "the demand")
    if len(section.rows) != dimension:
        raise format_error(
            source,
            f"line {section.line}",
            f"{section.name}_SECTION lists {len(section.rows)} nodes but DIMENSION is {dimension}.",
            "The file may be truncated; every node needs a row.",
        )


def _check_depot(layout: _Layout, dimension: int, text: str, source: str) -> None:
    """Check the depot section: exactly one node id in range, then ``-1``."""
    section = layout.sections.get("DEPOT")
    if section is None:
        raise _missing(text, source, "DEPOT_SECTION", "it names the depot node, then -1")
    depots: list[int] = []
    for number, tokens in section.rows:
        for token in tokens:
            node = parse_int(token, source, number, "a depot node")
            if node != -1 and not 1 <= node <= dimension:
                raise format_error(
                    source,
                    f"line {number}",
                    f"depot node {node} is not between 1 and DIMENSION ({dimension}).",
                    "Name an existing node.",
                )
            if node != -1:
                depots.append(node)
    if len(depots) != 1:
        raise format_error(
            source,
            f"line {section.line}",
            f"DEPOT_SECTION lists {len(depots)} depots; Doorstep reads single-depot files only.",
            "Give exactly one depot node, followed by -1.",
        )


def _whole_spec(layout: _Layout, key: str, source: str, minimum: int) -> int | None:
    """The whole-number value of a header keyword (at least ``minimum``), if present."""
    found = layout.specs.get(key)
    if found is None:
        return None
    value = parse_int(found[1], source, found[0], key)
    if value < minimum:
        raise _spec_error(layout, key, source, f"{key} is {value}; it must be at least {minimum}.")
    return value


def _number_spec(layout: _Layout, key: str, source: str) -> float | None:
    """The non-negative numeric value of a header keyword, if present."""
    found = layout.specs.get(key)
    if found is None:
        return None
    value = parse_float(found[1], source, found[0], key)
    if value < 0:
        raise _spec_error(layout, key, source, f"{key} is {found[1]}; it cannot be negative.")
    return value


def _spec_error(layout: _Layout, key: str, source: str, what: str) -> InstanceFormatError:
    """An error pointing at the line of header keyword ``key``."""
    return format_error(source, f"line {layout.specs[key][0]}", what, _HINT)


def _missing(text: str, source: str, what: str, why: str) -> InstanceFormatError:
    """An error for something the file should hold but does not."""
    return format_error(
        source, f"line {last_line_number(text)}", f"the file has no {what} ({why}).", _HINT
    )


def _parse(text: str, source: str) -> dict[str, Any]:
    """Parse the checked text with vrplib (computing edge weights, its default).

    ``vrplib.read_instance(path)`` is this same function applied to the file's text.
    """
    try:
        data: dict[str, Any] = parse_vrplib(text)
    except (ValueError, RuntimeError, IndexError, KeyError, TypeError) as exc:
        raise format_error(
            source, "whole file", f"vrplib cannot parse it ({exc}).", _HINT
        ) from None
    return data


def _build(
    name: str, data: dict[str, Any], layout: _Layout, dimension: int, source: str
) -> Instance:
    """Turn vrplib's dictionary into an instance."""
    depot_index = int(np.asarray(data["depot"]).ravel()[0])
    customers = [i for i in range(dimension) if i != depot_index]
    locations = _locations(data, dimension)
    windows = _windows(data, dimension)
    depot = Depot(id=str(depot_index + 1), location=locations[depot_index])
    orders = tuple(_order(i, locations[i], windows[i], data, layout, source) for i in customers)
    vehicles = _vehicles(layout, depot, windows[depot_index], len(customers), source)
    metric, matrix = _metric(data, layout, [depot_index, *customers], dimension, source)
    return Instance(name, (depot,), vehicles, orders, metric, matrix)


def _locations(data: dict[str, Any], dimension: int) -> list[Location]:
    """Node locations from the coordinates, the display data or placeholders."""
    for key in ("node_coord", "display_data"):
        if key in data:
            coords = np.asarray(data[key], dtype=float).reshape(dimension, 2)
            return [planar_location(float(x), float(y)) for x, y in coords]
    return [Location(0.0, 0.0)] * dimension


def _windows(data: dict[str, Any], dimension: int) -> list[tuple[int, int] | None]:
    """Node time windows (rounded half up), or ``None`` for each node without."""
    if "time_window" not in data:
        return [None] * dimension
    pairs = np.asarray(data["time_window"], dtype=float).reshape(dimension, 2)
    return [(round_half_up(float(a)), round_half_up(float(b))) for a, b in pairs]


def _service(data: dict[str, Any], index: int) -> int:
    """The service time of node ``index`` from the section or the keyword (else 0)."""
    service = data.get("service_time", 0)
    values = np.asarray(service, dtype=float).ravel()
    return round_half_up(float(values[index] if values.size > 1 else values[0]))


def _order(
    index: int,
    location: Location,
    window: tuple[int, int] | None,
    data: dict[str, Any],
    layout: _Layout,
    source: str,
) -> Order:
    """The delivery order for node ``index`` (0-based)."""
    demand = int(np.asarray(data["demand"]).ravel()[index]) if "demand" in data else 0
    row = layout.sections["DEMAND"].rows[index][0] if "DEMAND" in layout.sections else None
    where = f"line {row}" if row is not None else f"node {index + 1}"
    with domain_errors(source, where):
        return Order(
            id=str(index + 1),
            kind=OrderKind.DELIVERY,
            location=location,
            windows=() if window is None else (TimeWindow(*window),),
            service_s=_service(data, index),
            demand=Load(parcels=demand),
        )


def _vehicles(
    layout: _Layout, depot: Depot, window: tuple[int, int] | None, customers: int, source: str
) -> tuple[Vehicle, ...]:
    """``VEHICLES`` (else one per customer) identical vehicles at the depot."""
    count = _whole_spec(layout, "VEHICLES", source, minimum=1) or customers
    capacity = _whole_spec(layout, "CAPACITY", source, minimum=0)
    distance = _number_spec(layout, "DISTANCE", source)
    load = Load(
        parcels=UNLIMITED if capacity is None else capacity,
        weight_g=UNLIMITED,
        volume_ml=UNLIMITED,
    )
    with domain_errors(source, "the depot's time window"):
        shift = UNBOUNDED_SHIFT if window is None else TimeWindow(*window)
    limit = None if distance is None else max(1, round_half_up(distance))
    return tuple(
        Vehicle(id=f"v{i}", depot_id=depot.id, capacity=load, shift=shift, max_duration_s=limit)
        for i in range(count)
    )


def _metric(
    data: dict[str, Any], layout: _Layout, order: list[int], dimension: int, source: str
) -> tuple[Metric, tuple[tuple[float, ...], ...] | None]:
    """The metric, and for matrix types the matrix reordered depot first."""
    kind = (layout.spec("EDGE_WEIGHT_TYPE") or "").upper()
    if kind not in _MATRIX_TYPES:
        return Metric.EUCLIDEAN, None
    weights: Matrix = np.asarray(data["edge_weight"], dtype=float)
    where = layout.sections.get("EDGE_WEIGHT", layout.sections.get("NODE_COORD"))
    line = f"line {where.line}" if where is not None else "whole file"
    if weights.shape != (dimension, dimension):
        raise format_error(
            source,
            line,
            f"the edge weights form a {'x'.join(map(str, weights.shape))} matrix, "
            f"but DIMENSION is {dimension}.",
            "Check the section for missing or extra values (FULL_MATRIX: one row per line).",
        )
    if not np.isfinite(weights).all():
        raise format_error(source, line, "an edge weight is not finite.", "Fix the matrix.")
    reordered = weights[np.ix_(order, order)]
    return Metric.EXPLICIT, tuple(tuple(float(v) for v in row) for row in reordered)
