"""Rules: every order needs a unique id, and the same stop should not be ordered twice."""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext
from doorstep.io.orders import OrderRecord


def check_duplicate_ids(ctx: RuleContext) -> Iterator[Finding]:
    """Flag rows without an id (``order_id_missing``) and ids used twice (``duplicate_order_id``).

    The first row with an id keeps it; each later row with the same id is an error.
    """
    first_row: dict[str, int] = {}
    for record in ctx.records:
        if not record.order_id:
            yield Finding(
                "order_id_missing",
                Severity.ERROR,
                "the row has no order id; give every order a unique id.",
                record.row,
                "order_id",
            )
            continue
        seen = first_row.setdefault(record.order_id, record.row)
        if seen != record.row:
            yield Finding(
                "duplicate_order_id",
                Severity.ERROR,
                f"order id {record.order_id} is already used on row {seen}; "
                "give each order its own id (or remove the repeated row).",
                record.row,
                "order_id",
            )


def _stop_key(record: OrderRecord, buildings: dict[int, str]) -> tuple[object, ...] | None:
    if record.address:
        place: object = buildings[record.row]
    elif record.lat is not None and record.lon is not None:
        place = (round(record.lat, 5), round(record.lon, 5))
    else:
        return None
    unit = " ".join(record.unit.lower().split())
    return (place, unit, record.kind, tuple(record.windows))


def check_duplicate_stops(ctx: RuleContext) -> Iterator[Finding]:
    """Flag a second order for the same address, unit, kind and window (``duplicate_stop``).

    A warning, not an error: two parcels for one door are real, but a repeated
    row in an export is the commoner cause. Rows that repeat an order id are
    left to :func:`check_duplicate_ids`.
    """
    first_row: dict[tuple[object, ...], int] = {}
    ids: set[str] = set()
    for record in ctx.records:
        if record.order_id in ids:
            continue
        ids.add(record.order_id)
        key = _stop_key(record, ctx.buildings)
        if key is None:
            continue
        seen = first_row.setdefault(key, record.row)
        if seen != record.row:
            yield Finding(
                "duplicate_stop",
                Severity.WARNING,
                f"same address, unit and time window as row {seen}: a likely duplicate; "
                "remove one, or merge them into one order with more parcels.",
                record.row,
                "address",
            )
