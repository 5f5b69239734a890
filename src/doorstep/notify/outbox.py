"""Writing webhook messages to the outbox, in the caller's transaction.

A message is written in the same transaction as the change it reports, so a
crash between commit and sending loses nothing: the sender
(:mod:`doorstep.notify.sender`) picks up whatever is pending.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from doorstep.domain.events import ScanKind
from doorstep.store import tables as t

EVENT_TYPES: tuple[str, ...] = (
    *(f"parcel.{kind.value}" for kind in ScanKind),
    "order.status_changed",
    "plan.done",
    "plan.failed",
    "plan.published",
    "ping",
)
"""What a subscription may ask for (``*`` means all of them). ``ping`` is only
sent by ``POST /v1/webhooks/{id}/test``, to that one subscription."""


def enqueue(session: Session, event_type: str, payload: dict[str, Any]) -> int:
    """Queue ``payload`` for every active subscription to ``event_type``.

    Returns
    -------
    int
        Messages written.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    return Subscribers.load(session).enqueue(session, event_type, payload)


class Subscribers:
    """The active subscriptions, loaded once for a batch of messages."""

    def __init__(self, subscriptions: list[t.WebhookSubscription]) -> None:
        self._by_type: dict[str, list[str]] = {}
        for sub in subscriptions:
            types = EVENT_TYPES if "*" in sub.event_types else sub.event_types
            for event_type in types:
                self._by_type.setdefault(event_type, []).append(sub.id)

    @classmethod
    def load(cls, session: Session) -> Subscribers:
        """The subscriptions active now."""
        return cls(
            list(
                session.scalars(
                    select(t.WebhookSubscription).where(t.WebhookSubscription.active.is_(True))
                )
            )
        )

    def ids(self, event_type: str) -> list[str]:
        """The subscriptions that want ``event_type``."""
        return self._by_type.get(event_type, [])

    def enqueue(self, session: Session, event_type: str, payload: dict[str, Any]) -> int:
        """Queue ``payload`` for each subscriber to ``event_type``; returns messages written."""
        outbox = Outbox(self)
        outbox.add(event_type, payload)
        return outbox.write(session)


def _message(subscription_id: str, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An outbox row: the body every webhook carries is ``{"type", "data"}``."""
    return {
        "subscription_id": subscription_id,
        "event_type": event_type,
        "payload": {"type": event_type, "data": payload},
    }


def enqueue_to(
    session: Session, subscription_id: str, event_type: str, payload: dict[str, Any]
) -> t.OutboxMessage:
    """Queue ``payload`` for one subscription only, whatever event types it asked for.

    Used for ``ping`` (a subscription's test message). The message is flushed,
    so its ``id`` is set.

    Raises
    ------
    ValueError
        For an event type not in :data:`EVENT_TYPES`.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    message = t.OutboxMessage(**_message(subscription_id, event_type, payload))
    session.add(message)
    session.flush()
    return message


class Outbox:
    """Messages collected during a batch, written with one INSERT at the end."""

    def __init__(self, subscribers: Subscribers) -> None:
        self.subscribers = subscribers
        self.rows: list[dict[str, Any]] = []

    def add(self, event_type: str, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for each subscriber to ``event_type``."""
        self.rows.extend(
            _message(sub_id, event_type, payload) for sub_id in self.subscribers.ids(event_type)
        )

    def write(self, session: Session) -> int:
        """Insert the collected messages; returns how many."""
        if self.rows:
            session.execute(insert(t.OutboxMessage), self.rows)
        written, self.rows = len(self.rows), []
        return written
