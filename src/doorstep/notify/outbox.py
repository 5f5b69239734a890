"""Writing webhook messages to the outbox, in the caller's transaction.

A message is written in the same transaction as the change it reports, so a
crash between commit and sending loses nothing: the sender
(:mod:`doorstep.notify.sender`) picks up whatever is pending.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.domain.events import ScanKind
from doorstep.store import tables as t

EVENT_TYPES: tuple[str, ...] = (
    *(f"parcel.{kind.value}" for kind in ScanKind),
    "order.status_changed",
    "plan.done",
    "plan.failed",
    "plan.published",
)
"""What a subscription may ask for (``*`` means all of them)."""


def enqueue(session: Session, event_type: str, payload: dict[str, Any]) -> int:
    """Queue ``payload`` for every active subscription to ``event_type``.

    Returns
    -------
    int
        Messages written.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    subscriptions = session.scalars(
        select(t.WebhookSubscription).where(t.WebhookSubscription.active.is_(True))
    ).all()
    written = 0
    for sub in subscriptions:
        if event_type in sub.event_types or "*" in sub.event_types:
            session.add(
                t.OutboxMessage(
                    subscription_id=sub.id,
                    event_type=event_type,
                    payload={"type": event_type, "data": payload},
                )
            )
            written += 1
    return written
