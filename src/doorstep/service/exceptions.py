"""Keeping the stored exceptions in step with what :func:`detect` finds: one per cause.

A cause whose exception a person closed by accepting a proposal stays closed for
the day (a late route re-sequenced on request is not raised again each tick);
a new cause (another route version, another attempt) opens a new exception.

A monitor tick detects the day's exceptions and :func:`sync_exceptions`
writes the difference: a cause seen for the first time opens an exception
(``exception.opened`` webhook), one seen again refreshes it (its sentence,
stops and ``last_seen``), and an unresolved exception whose cause is no longer
detected resolves itself (``exception.resolved``). Every change is appended to
the exception's audit trail.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from doorstep.analytics.reconcile import gap_exceptions, reconcile
from doorstep.dispatch.exceptions import DayException, Thresholds, clock_of, detect
from doorstep.notify.outbox import Outbox, Subscribers
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.queries import dispatch as q
from doorstep.store.queries.reconcile import day_scans


@dataclass(frozen=True, slots=True)
class Synced:
    """What one sync changed."""

    opened: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()


def new_id(prefix: str) -> str:
    """A fresh id such as ``exc_3k9...`` (url-safe, 16 random characters)."""
    return f"{prefix}_{secrets.token_hex(8)}"


def trail(row: Any, now: datetime, what: str, by: str) -> None:
    """Append ``what`` (done by ``by``) to ``row``'s audit trail."""
    row.history = [*row.history, {"at": now.isoformat(), "what": what, "by": by}]


def payload(row: t.DispatchException) -> dict[str, Any]:
    """The webhook body of an exception."""
    return {
        "exception_id": row.id,
        "day": row.day,
        "kind": row.kind,
        "severity": row.severity,
        "route_id": row.route_id,
        "order_ids": row.order_ids,
        "sentence": row.sentence,
        "status": row.status,
    }


def sync_exceptions(db: Session, day: str, found: Sequence[DayException], now: datetime) -> Synced:
    """Open, refresh and resolve the stored exceptions of ``day`` to match ``found``.

    Parameters
    ----------
    db
        A session, in the caller's transaction.
    day
        ISO date.
    found
        What :func:`~doorstep.dispatch.exceptions.detect` found now.
    now
        The moment of the detection.

    Returns
    -------
    Synced
        Ids of the exceptions opened and resolved.
    """
    stored = q.unresolved(db, day)
    decided = q.decided_causes(db, day)
    outbox = Outbox(Subscribers.load(db))
    opened: list[str] = []
    resolved: list[str] = []
    for exception in found:
        row = stored.get(exception.cause)
        if row is None and exception.cause in decided:
            continue  # a person decided it today; a new cause opens a new exception
        if row is None:
            row = t.DispatchException(
                id=new_id("exc"),
                day=day,
                kind=exception.kind.value,
                cause=exception.cause,
                severity=exception.severity.value,
                route_id=exception.route_id,
                order_ids=list(exception.order_ids),
                parcel_ids=list(exception.parcel_ids),
                sentence=exception.sentence,
                details=exception.details,
                status="open",
                first_seen=now,
                last_seen=now,
                history=[{"at": now.isoformat(), "what": "opened", "by": "monitor"}],
            )
            db.add(row)
            opened.append(row.id)
            outbox.add("exception.opened", payload(row), None)
            continue
        if row.severity != exception.severity.value:
            trail(row, now, f"severity {row.severity} -> {exception.severity.value}", "monitor")
        row.severity = exception.severity.value
        row.sentence = exception.sentence
        row.route_id = exception.route_id
        row.order_ids = list(exception.order_ids)
        row.parcel_ids = list(exception.parcel_ids)
        row.details = exception.details
        row.last_seen = now
    seen = {e.cause for e in found}
    for cause, row in stored.items():
        if cause in seen:
            continue
        resolve(row, now, "its cause is gone", "monitor")
        resolved.append(row.id)
        outbox.add("exception.resolved", payload(row), None)
    db.flush()
    outbox.write(db)
    return Synced(tuple(opened), tuple(resolved))


def resolve(row: t.DispatchException, now: datetime, why: str, by: str) -> None:
    """Mark ``row`` resolved at ``now`` (``why`` and ``by`` go to its audit trail)."""
    row.status = "resolved"
    row.resolved_at = now
    trail(row, now, f"resolved: {why}", by)


def tick(db: Session, day: str, settings: Settings, now: datetime) -> Synced:
    """Detect ``day``'s exceptions at ``now`` and store the difference.

    Parameters
    ----------
    db
        A session, in the caller's transaction.
    day
        ISO date.
    settings
        The service's settings (time zone, thresholds).
    now
        The moment.

    Once the last shift of the day has ended, the day's reconciliation
    (:func:`doorstep.analytics.reconcile.reconcile`) adds a ``missed_scan`` per
    kind of gap in the scan chain (:func:`~doorstep.analytics.reconcile.gap_exceptions`).

    Returns
    -------
    Synced
        What changed.
    """
    state = q.day_state(db, day, settings.timezone)
    found = detect(state, now, Thresholds.of(settings))
    ends = [r.shift_end_s for r in state.routes]
    if ends and clock_of(state, now) > max(ends):  # the day is over: account for every parcel
        report = reconcile(day_scans(db, day, settings.timezone, now), now)
        found += gap_exceptions(report, report.end_of_day)
    return sync_exceptions(db, day, found, now)


def acknowledge(db: Session, exception_id: str, now: datetime, by: str) -> t.DispatchException:
    """A dispatcher has seen the exception: open -> acknowledged (idempotent).

    Raises
    ------
    RefusedError
        ``exception_resolved`` (409) for a resolved exception.
    """
    row = db.get(t.DispatchException, exception_id, with_for_update=True)
    if row is None:
        raise LookupError(exception_id)
    if row.status == "resolved":
        raise RefusedError(
            "exception_resolved", f"Exception {exception_id} is resolved.", conflict=True
        )
    if row.status == "open":
        row.status = "acknowledged"
        trail(row, now, "acknowledged", by)
    return row
