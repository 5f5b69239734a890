"""Rule: a delivery's ``paired_pickup`` must name a pickup of the same manifest, once.

A paired delivery is collected first, by the same vehicle, at its pickup
(pickup-and-delivery). The planner needs the pickup among the orders it plans,
so a pairing it cannot honour is an error, never dropped quietly.
"""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.order import OrderKind, PairingProblem, pairing_problem
from doorstep.gate.context import RuleContext


def check_paired_pickups(ctx: RuleContext) -> Iterator[Finding]:
    """Flag pairings the planner cannot honour (all errors, field ``paired_pickup``).

    Codes: ``paired_pickup_unknown`` (no order has that id),
    ``paired_pickup_not_pickup`` (the named order is a delivery),
    ``paired_pickup_on_pickup`` (a pickup names a pickup: only a delivery is paired),
    ``paired_pickup_shared`` (a second delivery names a pickup already paired).
    """
    kinds: dict[str, OrderKind] = {}
    rows: dict[str, int] = {}
    for record in ctx.records:
        if record.order_id:
            kinds.setdefault(record.order_id, record.kind)
            rows.setdefault(record.order_id, record.row)
    taken: dict[str, object] = {}
    for record in ctx.records:
        pickup = record.paired_pickup
        if not pickup or "paired_pickup" in record.unparsed:
            continue
        problem = pairing_problem(record.row, record.kind, pickup, kinds, taken)
        if problem is PairingProblem.ON_PICKUP:
            message = (
                f"order {record.order_id} is a pickup and names paired pickup {pickup}; only a "
                "delivery is paired (with the pickup collected before it): make this row a "
                "delivery or clear paired_pickup."
            )
        elif problem is PairingProblem.UNKNOWN:
            message = (
                f"paired pickup {pickup} is not an order of this manifest; add the pickup "
                "row or clear paired_pickup."
            )
        elif problem is PairingProblem.NOT_PICKUP:
            message = (
                f"paired pickup {pickup} (row {rows[pickup]}) is a delivery, not a pickup; set "
                "its kind to pickup or name the right order."
            )
        elif problem is PairingProblem.SHARED:
            message = (
                f"pickup {pickup} is already paired with the delivery on row {taken[pickup]}; "
                "each pickup is paired with one delivery."
            )
        else:
            continue
        yield _error(record.row, f"paired_pickup_{problem.value}", message)


def _error(row: int, code: str, message: str) -> Finding:
    return Finding(code, Severity.ERROR, message, row, "paired_pickup")
