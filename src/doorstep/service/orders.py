"""The rules of orders: ids are never reused, and a manifest imports what the gate accepts.

The routers call :func:`add_orders` and :func:`import_orders`; both raise
:class:`~doorstep.service.refusal.RefusedError` naming what is wrong, and write
nothing when they do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.order import Order
from doorstep.gate.report import Report
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import orders as q


def default_parcel_ids(order: Order) -> list[str]:
    """``<order id>-1`` ... ``-<parcels>``: the parcel ids of an order that names none."""
    return [f"{order.id}-{k}" for k in range(1, max(order.demand.parcels, 1) + 1)]


def _repeated(ids: Sequence[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def add_orders(
    db: Session, orders: Sequence[tuple[Order, Sequence[str] | None]]
) -> list[tuple[t.Order, list[str]]]:
    """Store orders and their parcels, all or none.

    Parameters
    ----------
    db
        A session; nothing is written when the orders are refused.
    orders
        Each order with its parcel ids (``None``: :func:`default_parcel_ids`).

    Returns
    -------
    list of (Order row, parcel ids)
        In the order given.

    Raises
    ------
    RefusedError
        ``conflict`` (409) when an order or parcel id is repeated or already used.
    """
    given = [(o, list(p) if p is not None else default_parcel_ids(o)) for o, p in orders]
    order_ids = [o.id for o, _ in given]
    parcel_ids = [p for _, ps in given for p in ps]
    clash = _repeated(order_ids) | q.taken_order_ids(db, order_ids)
    if clash:
        raise RefusedError(
            "conflict", f"Order ids already used: {', '.join(sorted(clash)[:10])}.", conflict=True
        )
    clash = _repeated(parcel_ids) | q.taken_parcel_ids(db, parcel_ids)
    if clash:
        raise RefusedError(
            "conflict", f"Parcel ids already used: {', '.join(sorted(clash)[:10])}.", conflict=True
        )
    rows = q.add_orders(db, given)
    return [(row, ids) for row, (_, ids) in zip(rows, given, strict=True)]


@dataclass(frozen=True, slots=True)
class Imported:
    """What a manifest import stored, and the findings it adds to the gate's."""

    orders: list[tuple[t.Order, list[str]]]
    findings: list[Finding]


def import_orders(db: Session, report: Report) -> Imported:
    """Store the orders a gate report accepted, skipping those already in Doorstep.

    Parameters
    ----------
    db
        A session.
    report
        The gate's report on a manifest.

    Returns
    -------
    Imported
        The orders stored, and an ``order_id_taken`` finding for each order whose
        id (or one of whose parcel ids) is already used.
    """
    ids = [o.id for o in report.orders]
    parcels = [p for o in report.orders for p in default_parcel_ids(o)]
    taken = q.taken_order_ids(db, ids) | q.owners_of_parcels(db, parcels)
    stored = add_orders(db, [(o, None) for o in report.orders if o.id not in taken])
    findings = [
        Finding(
            "order_id_taken",
            Severity.ERROR,
            f"Order {o.id} is already in Doorstep; it was not imported again.",
            field="order_id",
        )
        for o in report.orders
        if o.id in taken
    ]
    return Imported(stored, findings)
