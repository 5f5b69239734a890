"""The rules of orders: ids are never reused, and a manifest imports what the gate accepts.

The routers call :func:`add_orders` and :func:`import_orders`; both raise
:class:`~doorstep.service.refusal.RefusedError` naming what is wrong, and write
nothing when they do. :func:`attempt_history` tells an order's delivery attempts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.order import Order, OrderKind, PairingProblem, pairing_problem
from doorstep.gate.report import Report
from doorstep.gate.validate import validate
from doorstep.io.tables import RawTable
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import orders as q
from doorstep.store.queries.plans import load_fleet


def default_parcel_ids(order: Order) -> list[str]:
    """``<order id>-1`` ... ``-<parcels>``: the parcel ids of an order that names none."""
    return [f"{order.id}-{k}" for k in range(1, max(order.demand.parcels, 1) + 1)]


def _repeated(ids: Sequence[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def check_pairs(
    db: Session, orders: Sequence[Order], fields: Sequence[str], tenant: str | None = None
) -> None:
    """Refuse a ``paired_pickup`` that planning could not honour.

    A delivery's ``paired_pickup`` must name a pickup given in the same request
    or already stored (for a tenant: one of the tenant's own orders; another
    tenant's pickup is unknown to it), that no other delivery is paired with; a
    pickup has no ``paired_pickup``.

    Parameters
    ----------
    db
        A session.
    orders
        The orders of the request.
    fields
        Where each order is in the request (``body``, ``body.orders[3]``).
    tenant
        The caller's tenant; ``None``: the depot (any stored pickup).

    Raises
    ------
    RefusedError
        ``unknown_reference`` when the pickup does not exist, ``invalid_reference``
        when it is not a pickup, is paired already, or the order is itself a pickup;
        each naming ``<field>.paired_pickup``.
    """
    named = {o.paired_pickup for o in orders if o.paired_pickup}
    if not named:
        return
    stored = q.kinds_of(db, named, tenant)
    kinds = {i: OrderKind(k) for i, k in stored.items()} | {o.id: o.kind for o in orders}
    taken: dict[str, object] = dict(q.deliveries_paired_with(db, named))
    unknown: list[dict[str, str]] = []
    invalid: list[dict[str, str]] = []
    for order, field in zip(orders, fields, strict=True):
        pickup = order.paired_pickup
        if not pickup:
            continue
        where = f"{field}.paired_pickup"
        # An unknown pickup is named first, whatever else is wrong (unknown_reference).
        if pickup not in kinds:
            unknown.append({"field": where, "message": f"no order {pickup!r}"})
            continue
        problem = pairing_problem(order.id, order.kind, pickup, kinds, taken)
        if problem is PairingProblem.ON_PICKUP:
            invalid.append({"field": where, "message": "only a delivery has a paired pickup"})
        elif problem is PairingProblem.NOT_PICKUP:
            invalid.append({"field": where, "message": f"order {pickup!r} is not a pickup"})
        elif problem is PairingProblem.SHARED:
            invalid.append(
                {"field": where, "message": f"{pickup!r} is paired with {taken[pickup]!r}"}
            )
    if unknown:
        raise RefusedError(
            "unknown_reference",
            "paired_pickup names an order that does not exist; add the pickup first, "
            "or in the same request.",
            errors=unknown[:50],
        )
    if invalid:
        raise RefusedError(
            "invalid_reference",
            "paired_pickup must name a pickup order that no other delivery is paired with.",
            errors=invalid[:50],
        )


def add_orders(
    db: Session,
    orders: Sequence[tuple[Order, Sequence[str] | None]],
    fields: Sequence[str] | None = None,
    tenant: str | None = None,
) -> list[tuple[t.Order, list[str]]]:
    """Store orders and their parcels, all or none.

    Order and parcel ids are unique across tenants: an id another tenant uses
    is a ``conflict`` too (the refusal names only the ids the caller sent).

    Parameters
    ----------
    db
        A session; nothing is written when the orders are refused.
    orders
        Each order with its parcel ids (``None``: :func:`default_parcel_ids`).
    fields
        Where each order is in the request, for refusals (default ``orders[k]``).
    tenant
        The tenant the orders belong to (an integration key's); ``None``: depot-wide.

    Returns
    -------
    list of (Order row, parcel ids)
        In the order given.

    Raises
    ------
    RefusedError
        ``conflict`` (409) when an order or parcel id is repeated or already used;
        ``unknown_reference`` / ``invalid_reference`` (422) for a ``paired_pickup``
        that is not a pickup given or stored (:func:`check_pairs`).
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
    check_pairs(
        db, [o for o, _ in given], fields or [f"orders[{k}]" for k in range(len(given))], tenant
    )
    rows = q.add_orders(db, given, tenant)
    return [(row, ids) for row, (_, ids) in zip(rows, given, strict=True)]


@dataclass(frozen=True, slots=True)
class Imported:
    """What a manifest import stored: the gate's report, the orders, the findings it adds."""

    report: Report
    orders: list[tuple[t.Order, list[str]]]
    findings: list[Finding]


def check_manifest(db: Session, table: RawTable) -> Report:
    """The gate's report on a manifest, checked against the stored fleet; nothing is stored.

    Parameters
    ----------
    db
        A session.
    table
        The manifest, read.

    Returns
    -------
    Report
        As :func:`import_orders` would find (without the stored vehicles, the
        fleet rules do not run).
    """
    fleet = load_fleet(db, None)
    return validate(table, fleet if fleet.vehicles else None)


def import_orders(db: Session, table: RawTable, tenant: str | None = None) -> Imported:
    """Run the gate on a manifest against the stored fleet; store the orders it accepts.

    The gate checks the rows against the vehicles in Doorstep (windows against
    shifts, capacity, skills), as ``doorstep validate ORDERS --fleet FLEET``
    does, so the service and the command line give the same findings for the
    same file and fleet. Without vehicles, the fleet rules do not run (the
    report's ``fleet`` is null).

    Parameters
    ----------
    db
        A session.
    table
        The manifest, read.
    tenant
        The tenant the orders belong to (an integration key's); ``None``: depot-wide.

    Returns
    -------
    Imported
        The gate's report, the orders stored, and an ``order_id_taken`` finding
        for each accepted order whose id (or one of whose parcel ids) is already
        used: those are not imported again.
    """
    report = check_manifest(db, table)
    ids = [o.id for o in report.orders]
    parcels = [p for o in report.orders for p in default_parcel_ids(o)]
    taken = q.taken_order_ids(db, ids) | q.owners_of_parcels(db, parcels)
    stored = add_orders(db, [(o, None) for o in report.orders if o.id not in taken], tenant=tenant)
    for row, _ in stored:  # the warnings an order was accepted with stay with it
        row.findings = [
            {"code": f.code, "severity": f.severity.value, "field": f.field, "message": f.message}
            for f in report.findings_of(row.id)
        ]
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
    return Imported(report, stored, findings)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One visit of an order's stop: an attempt to deliver (or collect) it."""

    attempt: int
    """1 for the first visit, then 2, 3..."""
    route_id: str
    day: str
    outcome: str
    """``delivered`` (``picked_up`` for a return); ``failed_attempt`` (failed at the
    door, the parcel still on the vehicle); ``returned_to_depot`` (back at the depot
    undelivered, after a failed attempt or without one)."""
    failure_reason: str | None
    """The reason of the visit's last failed attempt, if there was one."""
    at: datetime | None
    """When the visit ended (its last ending scan)."""


def _outcome(kind: str, state: str, scans: Sequence[q.Scan]) -> str:
    if state == "done":
        return "picked_up" if kind == OrderKind.PICKUP.value else "delivered"
    failed = [s.kind for s in scans if s.kind in ("failed_attempt", "returned_to_depot")]
    return failed[-1] if failed else "failed_attempt"


def attempt_history(db: Session, order: t.Order, timezone: ZoneInfo) -> list[Attempt]:
    """The finished attempts of ``order``, oldest first, from its stops and scans.

    An attempt is a finished stop (done or failed) of the order on a published
    route (superseded versions left out); its outcome, failure reason and time
    come from the ending scans of the order's parcels on the route's day (local
    date in ``timezone``). A late scan of an earlier day counts for that day.

    Parameters
    ----------
    db
        A session.
    order
        The order.
    timezone
        The zone of the plans' clock times.

    Returns
    -------
    list of Attempt
        One per visit, numbered from 1. The order's ``attempts`` counts those
        that failed at the door (a ``failed_attempt`` scan).
    """
    by_day: dict[str, list[q.Scan]] = {}
    for scan in q.ending_scans(db, order.id):
        by_day.setdefault(scan.at.astimezone(timezone).date().isoformat(), []).append(scan)
    history = []
    for n, visit in enumerate(q.visits_of(db, order.id), start=1):
        scans = by_day.get(visit.day, [])
        reasons = [s.failure_reason for s in scans if s.kind == "failed_attempt"]
        history.append(
            Attempt(
                attempt=n,
                route_id=visit.route_id,
                day=visit.day,
                outcome=_outcome(order.kind, visit.state, scans),
                failure_reason=reasons[-1] if reasons and visit.state == "failed" else None,
                at=scans[-1].at if scans else visit.finished_at,
            )
        )
    return history
