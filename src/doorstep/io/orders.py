"""Turn the rows of an orders file into :class:`OrderRecord` values, noting what does not parse.

An :class:`OrderRecord` holds what a row says, parsed as far as it can be: a field
that does not parse is left at ``None`` (or its default) and a finding names it.
The gate (:mod:`doorstep.gate`) then checks the records and builds
:class:`~doorstep.domain.order.Order` values from the clean ones.

Defaults for empty cells: kind ``delivery``, one parcel, no weight or volume,
no service time, priority 0, no time window (any time of day), hard windows
(no ``late_cost_per_hour``) and no customer id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.ids import id_finding
from doorstep.domain.order import OrderKind
from doorstep.io import values as v
from doorstep.io.tables import RawRow, RawTable
from doorstep.units import (
    CENTS_PER_UNIT,
    GRAMS_PER_KG,
    MILLILITRES_PER_LITRE,
    SECONDS_PER_MINUTE,
)

CUSTOMER_ID_MAX_LENGTH = 100
"""Longest customer id (any text: it is never part of a path or a file name)."""

KIND_SYNONYMS: dict[str, OrderKind] = {
    "delivery": OrderKind.DELIVERY,
    "deliver": OrderKind.DELIVERY,
    "drop": OrderKind.DELIVERY,
    "dropoff": OrderKind.DELIVERY,
    "drop_off": OrderKind.DELIVERY,
    "d": OrderKind.DELIVERY,
    "pickup": OrderKind.PICKUP,
    "pick_up": OrderKind.PICKUP,
    "pick-up": OrderKind.PICKUP,
    "return": OrderKind.PICKUP,
    "collect": OrderKind.PICKUP,
    "collection": OrderKind.PICKUP,
    "p": OrderKind.PICKUP,
}


@dataclass(slots=True)
class OrderRecord:
    """What one row of an orders file says, in internal units.

    ``unparsed`` names the canonical fields whose value could not be read, so
    rules about those fields leave the row alone (it already has an error).
    """

    row: int
    order_id: str = ""
    kind: OrderKind = OrderKind.DELIVERY
    address: str = ""
    unit: str = ""
    zip: str = ""
    city: str = ""
    lat: float | None = None
    lon: float | None = None
    windows: list[tuple[int, int]] = field(default_factory=list)
    service_s: int = 0
    parcels: int = 1
    weight_g: int = 0
    volume_ml: int = 0
    skills: frozenset[str] = frozenset()
    priority: int = 0
    late_cost_per_hour: int = 0
    name: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""
    paired_pickup: str = ""
    customer_id: str = ""
    unparsed: set[str] = field(default_factory=set)


def parse_orders(table: RawTable) -> tuple[list[OrderRecord], list[Finding]]:
    """Parse every row of ``table``; return the records and the parse findings.

    Every row gives exactly one record, whatever it holds, so no row is lost.
    """
    records: list[OrderRecord] = []
    findings: list[Finding] = []
    for raw in table.rows:
        record, problems = parse_row(raw)
        records.append(record)
        findings.extend(problems)
    return records, findings


def _error(row: int, field_name: str | None, code: str, message: str) -> Finding:
    return Finding(code, Severity.ERROR, message, row, field_name)


def parse_row(raw: RawRow) -> tuple[OrderRecord, list[Finding]]:
    """Parse one row; return its record and the findings about values that do not parse."""
    get = raw.values.get
    row = raw.row
    findings: list[Finding] = []
    record = OrderRecord(
        row=row,
        order_id=v.text(get("order_id")),
        address=v.text(get("address")),
        unit=v.text(get("unit")),
        zip=v.text(get("zip")),
        city=v.text(get("city")),
        name=v.text(get("name")),
        phone=v.text(get("phone")),
        email=v.text(get("email")),
        notes=v.text(get("notes")),
        paired_pickup=v.text(get("paired_pickup")),
        customer_id=v.text(get("customer_id")),
    )
    if len(record.customer_id) > CUSTOMER_ID_MAX_LENGTH:
        findings.append(
            _error(
                row,
                "customer_id",
                "customer_id_too_long",
                f"customer_id {record.customer_id[:20]!r}... is {len(record.customer_id)} "
                f"characters long; the limit is {CUSTOMER_ID_MAX_LENGTH}. Shorten it or "
                "clear the cell.",
            )
        )
        record.unparsed.add("customer_id")
    bad_id = id_finding(record.order_id, row, "order_id", "order_id_invalid")
    if bad_id is not None:
        findings.append(bad_id)
        record.unparsed.add("order_id")
    if record.paired_pickup:
        bad_pair = id_finding(record.paired_pickup, row, "paired_pickup", "paired_pickup_invalid")
        if bad_pair is not None:
            findings.append(bad_pair)
            record.unparsed.add("paired_pickup")
    if raw.problem is not None:
        findings.append(_error(row, None, "row_unreadable", f"{raw.problem}; fix or remove it."))
        record.unparsed.add("row")
    if raw.extra_values:
        findings.append(
            _error(
                row,
                None,
                "row_extra_values",
                f"the row has {raw.extra_values} more value(s) than the header has columns, "
                "so its values may have shifted; quote fields that contain the delimiter.",
            )
        )
        record.unparsed.add("row")
    kind = parse_choice(
        get("kind"),
        KIND_SYNONYMS,
        record.unparsed,
        findings,
        lambda text: _error(
            row,
            "kind",
            "kind_invalid",
            f"kind {text!r} is neither 'delivery' nor 'pickup' (a return).",
        ),
    )
    record.kind = kind or record.kind
    _parse_coordinate(record, "lat", get("lat"), findings)
    _parse_coordinate(record, "lon", get("lon"), findings)
    _parse_windows(record, raw.values, findings)
    _parse_quantities(record, raw.values, findings)
    record.skills = v.skills(get("skills"))
    return record, findings


Choice = TypeVar("Choice")
Amount = TypeVar("Amount", int, float)


def parse_choice(
    value: Any,
    synonyms: Mapping[str, Choice],
    unparsed: set[str],
    out: list[Finding],
    refuse: Callable[[str], Finding],
) -> Choice | None:
    """Read a cell that names one of a few choices (an order's kind, a vehicle's profile).

    Parameters
    ----------
    value
        The cell.
    synonyms
        Each accepted spelling (lower case) and the choice it names.
    unparsed
        The record's unparsed fields: the finding's field is added when the value is unknown.
    out
        Where the finding goes.
    refuse
        Makes the finding for an unknown value, given its text.

    Returns
    -------
    Choice or None
        The choice, or ``None`` for a blank or unknown cell.
    """
    if v.is_blank(value):
        return None
    choice = synonyms.get(v.text(value).lower())
    if choice is None:
        finding = refuse(v.text(value))
        unparsed.add(finding.field or "row")
        out.append(finding)
    return choice


def parse_amount(
    value: Any,
    convert: Callable[[Any], Amount],
    unparsed: set[str],
    out: list[Finding],
    unreadable: Finding,
    negative: Finding | None,
) -> Amount | None:
    """Read a cell holding a number (a quantity, a time, an amount of money).

    Parameters
    ----------
    value
        The cell.
    convert
        Reads the cell; raises ``ValueError`` when it cannot.
    unparsed
        The record's unparsed fields: the finding's field is added on a problem.
    out
        Where the finding goes.
    unreadable
        The finding for a cell ``convert`` cannot read; ``{}`` in its message
        becomes the cell's text, quoted.
    negative
        The finding for a negative number (``{}``: the cell's text), or
        ``None`` when negative numbers are fine.

    Returns
    -------
    int or float or None
        The number, or ``None`` for a blank cell or a problem.
    """
    if v.is_blank(value):
        return None
    text = v.text(value)
    try:
        amount = convert(value)
    except ValueError:
        finding = replace(unreadable, message=unreadable.message.format(repr(text)))
    else:
        if negative is None or amount >= 0:
            return amount
        finding = replace(negative, message=negative.message.format(text))
    unparsed.add(finding.field or "row")
    out.append(finding)
    return None


def _parse_coordinate(record: OrderRecord, name: str, value: Any, out: list[Finding]) -> None:
    if v.is_blank(value):
        return
    try:
        setattr(record, name, v.number(value))
    except ValueError:
        record.unparsed.add("coordinates")
        what = "latitude" if name == "lat" else "longitude"
        out.append(
            _error(
                record.row,
                name,
                "coord_unparseable",
                f"{what} {v.text(value)!r} is not a number; write decimal degrees like 60.1699.",
            )
        )


def _parse_windows(record: OrderRecord, values: dict[str, Any], out: list[Finding]) -> None:
    many = values.get("time_windows")
    start, end = values.get("window_start"), values.get("window_end")
    try:
        if not v.is_blank(many):
            record.windows = v.window_list(many)
        elif not (v.is_blank(start) and v.is_blank(end)):
            record.windows = [v.window(start, end)]
        return
    except ValueError:
        pass
    record.unparsed.add("windows")
    if not v.is_blank(many):
        field_name = "time_windows"
    else:
        field_name = "window_end"
        try:
            v.window(start, None)
        except ValueError:
            field_name = "window_start"
    out.append(
        _error(
            record.row,
            field_name,
            "window_unparseable",
            f"{field_name} {v.text(values.get(field_name))!r} is not a time; write HH:MM "
            "(e.g. 09:30), an ISO 8601 time, or minutes after midnight.",
        )
    )


_Converter = Callable[[Any], int]

_QUANTITIES: tuple[tuple[str, str, _Converter, str], ...] = (
    ("parcels", "parcels", v.whole, "a whole number of parcels"),
    ("weight_kg", "weight_g", v.scaled(GRAMS_PER_KG), "a weight in kg"),
    ("volume_l", "volume_ml", v.scaled(MILLILITRES_PER_LITRE), "a volume in litres"),
    ("service_min", "service_s", v.scaled(SECONDS_PER_MINUTE), "a service time in minutes"),
    (
        "late_cost_per_hour",
        "late_cost_per_hour",
        v.scaled(CENTS_PER_UNIT),
        "an amount of money per hour late",
    ),
)


def _parse_quantities(record: OrderRecord, values: dict[str, Any], out: list[Finding]) -> None:
    for column, attribute, convert, meaning in _QUANTITIES:
        amount = parse_amount(
            values.get(column),
            convert,
            record.unparsed,
            out,
            unreadable=Finding(
                "quantity_not_numeric",
                Severity.ERROR,
                f"{column} {{}} is not {meaning}.",
                record.row,
                column,
            ),
            negative=Finding(
                "quantity_negative",
                Severity.ERROR,
                f"{column} is {{}}; quantities cannot be negative "
                "(a return is kind 'pickup' with a positive quantity).",
                record.row,
                column,
            ),
        )
        if amount is not None:
            setattr(record, attribute, amount)
    value = values.get("priority")
    if not v.is_blank(value):
        try:
            record.priority = v.whole(value)
        except ValueError:
            record.unparsed.add("priority")
            out.append(
                _error(
                    record.row,
                    "priority",
                    "priority_invalid",
                    f"priority {v.text(value)!r} is not a whole number (0 = normal, higher first).",
                )
            )
