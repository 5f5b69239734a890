"""Run the gate: read, parse, check every rule, and build the orders that pass."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Fleet
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, Order
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError
from doorstep.gate.context import RuleContext
from doorstep.gate.phone_worker import PhoneWorker
from doorstep.gate.report import Report, rejected_rows
from doorstep.gate.rules import ORDER_RULES
from doorstep.gate.rules.fleet import build_fleet, check_fleet
from doorstep.gate.settings import GateSettings
from doorstep.io.fleet import parse_fleet
from doorstep.io.orders import OrderRecord, parse_orders
from doorstep.io.tables import RawTable, read_table
from doorstep.io.values import text

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1}


def validate_files(
    orders: str | Path,
    fleet: str | Path | None = None,
    settings: GateSettings | None = None,
) -> Report:
    """Validate an orders file, and a fleet file if given.

    Parameters
    ----------
    orders
        Orders file: CSV, Excel, JSON or GeoJSON.
    fleet
        Fleet file: CSV, Excel, JSON or YAML. Without it, rules that need the
        fleet (windows vs shifts, capacity, skills) do not run.
    settings
        Thresholds of the statistical rules.

    Returns
    -------
    Report
        Every row accepted or named in a finding.

    Raises
    ------
    InputError
        When a file cannot be read at all (missing, wrong type, empty, damaged,
        no recognisable column).
    """
    with _collector_paused():
        fleet_table = read_table(fleet, kind="fleet") if fleet is not None else None
        return validate(read_table(orders, kind="orders"), fleet_table, settings)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Reference counting still frees everything; the collector would only rescan
    the growing heap again and again (about a fifth of the run on 100,000 rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(
    orders: RawTable,
    fleet: RawTable | Fleet | None = None,
    settings: GateSettings | None = None,
) -> Report:
    """Validate tables already read (see :func:`validate_files`).

    ``fleet`` is a fleet table, or a fleet already built (the service's stored
    vehicles), which the fleet rules then check the orders against.
    """
    with _collector_paused():
        return _validate(orders, fleet, settings or GateSettings())


def _validate(orders: RawTable, fleet: RawTable | Fleet | None, settings: GateSettings) -> Report:
    findings: list[Finding] = []
    built_fleet: Fleet | None = None
    fleet_rows = 0
    if isinstance(fleet, Fleet):
        built_fleet, fleet_rows = fleet, len(fleet.vehicles)
    elif fleet is not None:
        vehicle_records, fleet_findings = parse_fleet(fleet)
        fleet_findings.extend(check_fleet(vehicle_records))
        rejected = {f.row for f in fleet_findings if f.row is not None}
        built_fleet = build_fleet(vehicle_records, rejected)
        findings.extend(fleet_findings)
        fleet_rows = len(vehicle_records)
    with _phone_worker(orders, settings) as invalid_phones:
        records, parse_findings = parse_orders(orders)
        findings.extend(parse_findings)
        usable_fleet = built_fleet if built_fleet is not None and built_fleet.vehicles else None
        # A row that could not be read as a row (shifted values, not an object) already
        # has its error; checking its fields would only add noise.
        readable = [r for r in records if "row" not in r.unparsed]
        context = RuleContext(readable, usable_fleet, settings, invalid_phones)
        for rule in ORDER_RULES.values():
            findings.extend(rule(context))
    orders_out = _accepted_orders(records, findings)
    findings.sort(
        key=lambda f: (f.source != "orders", f.row or 0, _SEVERITY_ORDER[f.severity], f.code)
    )
    return Report(
        source=orders.source,
        rows=len(records),
        orders=tuple(orders_out),
        findings=tuple(findings),
        fleet=built_fleet,
        fleet_rows=fleet_rows,
        ignored_columns=orders.ignored_columns,
        order_rows={r.order_id: r.row for r in records if r.order_id},
    )


@contextmanager
def _phone_worker(table: RawTable, settings: GateSettings) -> Iterator[PhoneWorker | None]:
    """Check the table's phone numbers in a second process when there are many of them."""
    phones = [(raw.row, text(raw.values.get("phone"))) for raw in table.rows]
    phones = [(row, number) for row, number in phones if number]
    if not settings.worker_min_phones or len(phones) < settings.worker_min_phones:
        yield None
        return
    worker = PhoneWorker(phones, settings.phone_region)
    try:
        yield worker
    finally:
        worker.close()


def _accepted_orders(records: list[OrderRecord], findings: list[Finding]) -> list[Order]:
    rejected = rejected_rows(findings)
    accepted: list[Order] = []
    for record in records:
        if record.row in rejected:
            continue
        try:
            accepted.append(to_order(record))
        except DomainError as exc:  # a combination no rule foresaw: reject it, never crash
            findings.append(
                Finding("row_invalid", Severity.ERROR, f"{exc}; fix the row.", record.row)
            )
    return _without_orphans(accepted, findings, {r.order_id: r.row for r in records})


def _without_orphans(
    accepted: list[Order], findings: list[Finding], rows: dict[str, int]
) -> list[Order]:
    """Reject a paired delivery whose pickup was rejected: it cannot be planned alone."""
    ids = {order.id for order in accepted}
    kept: list[Order] = []
    for order in accepted:
        if order.paired_pickup is not None and order.paired_pickup not in ids:
            findings.append(
                Finding(
                    "paired_pickup_rejected",
                    Severity.ERROR,
                    f"its paired pickup {order.paired_pickup} (row "
                    f"{rows.get(order.paired_pickup, '?')}) was rejected, and a paired delivery "
                    "is not planned without its pickup; fix the pickup's row.",
                    rows[order.id],
                    "paired_pickup",
                )
            )
        else:
            kept.append(order)
    return kept


@lru_cache(maxsize=4_096)
def _merge(windows: tuple[tuple[int, int], ...]) -> tuple[TimeWindow, ...]:
    """Sorted, merged windows; cached, as a manifest repeats a few windows many times."""
    merged: list[list[int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(TimeWindow(start, end) for start, end in merged)


def to_order(record: OrderRecord) -> Order:
    """Build the domain :class:`Order` from a record that passed the gate.

    Overlapping windows are merged.

    Raises
    ------
    DomainError
        If the record still holds impossible values.
    """
    if record.lat is None or record.lon is None:
        raise DomainError("no coordinates")
    return Order(
        id=record.order_id,
        kind=record.kind,
        location=Location(record.lat, record.lon),
        address=Address(record.address, record.unit, record.zip, record.city),
        windows=_merge(tuple(record.windows)),
        service_s=record.service_s,
        demand=Load(record.parcels, record.weight_g, record.volume_ml),
        skills=record.skills,
        priority=record.priority,
        late_cost_per_hour=record.late_cost_per_hour,
        contact=Contact(record.name, record.phone, record.email),
        notes=record.notes,
        paired_pickup=record.paired_pickup or None,
        customer_id=record.customer_id or None,
    )
