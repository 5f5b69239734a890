"""Rule: a delivery's ``paired_pickup`` must name a pickup of the same manifest, once.

A paired delivery is collected first, by the same vehicle, at its pickup
(pickup-and-delivery). The planner needs the pickup among the orders it plans,
so a pairing it cannot honour is an error, never dropped quietly.
"""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.order import OrderKind
from doorstep.gate.context import RuleContext


def check_paired_pickups(ctx: RuleContext) -> Iterator[Finding]:
    """Flag pairings the planner cannot honour (all errors, field ``paired_pickup``).

    Codes: ``paired_pickup_unknown`` (no order has that id),
    ``paired_pickup_not_pickup`` (the named order is a delivery),
    ``paired_pickup_on_pickup`` (a pickup names a pickup: only a delivery is paired),
    ``paired_pickup_shared`` (a second delivery names a pickup already paired).
    """
    kinds: dict[str, tuple[OrderKind, int]] = {}
    for record in ctx.records:
        if record.order_id:
            kinds.setdefault(record.order_id, (record.kind, record.row))
    taken: dict[str, int] = {}
    for record in ctx.records:
        pickup = record.paired_pickup
        if not pickup or "paired_pickup" in record.unparsed:
            continue
        if record.kind is OrderKind.PICKUP:
            yield _error(
                record.row,
                "paired_pickup_on_pickup",
                f"order {record.order_id} is a pickup and names paired pickup {pickup}; only a "
                "delivery is paired (with the pickup collected before it): make this row a "
                "delivery or clear paired_pickup.",
            )
            continue
        found = kinds.get(pickup)
        if found is None:
            yield _error(
                record.row,
                "paired_pickup_unknown",
                f"paired pickup {pickup} is not an order of this manifest; add the pickup "
                "row or clear paired_pickup.",
            )
        elif found[0] is not OrderKind.PICKUP:
            yield _error(
                record.row,
                "paired_pickup_not_pickup",
                f"paired pickup {pickup} (row {found[1]}) is a delivery, not a pickup; set its "
                "kind to pickup or name the right order.",
            )
        elif taken.setdefault(pickup, record.row) != record.row:
            yield _error(
                record.row,
                "paired_pickup_shared",
                f"pickup {pickup} is already paired with the delivery on row {taken[pickup]}; "
                "each pickup is paired with one delivery.",
            )


def _error(row: int, code: str, message: str) -> Finding:
    return Finding(code, Severity.ERROR, message, row, "paired_pickup")
