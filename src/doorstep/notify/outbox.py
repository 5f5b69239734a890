"""Writing webhook messages to the outbox, in the caller's transaction.

A message is written in the same transaction as the change it reports, so a
crash between commit and sending loses nothing: the sender
(:mod:`doorstep.notify.sender`) picks up whatever is pending.

Tenants: a message about an order (``order.status_changed``, ``parcel.*``) has
the order's tenant; other messages (``plan.*``) have none. A subscription of a
tenant (an integration key's) receives only messages of its tenant; a
subscription without one (an admin's) receives every message.
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
    "eta.changed",
    "exception.opened",
    "exception.resolved",
    "route.updated",
    "plan.done",
    "plan.failed",
    "plan.published",
    "ping",
)
"""What a subscription may ask for (``*`` means all of them). ``ping`` is only
sent by ``POST /v1/webhooks/{id}/test``, to that one subscription."""


def enqueue(session: Session, event_type: str, payload: dict[str, Any]) -> int:
    """Queue ``payload`` for every active subscription to ``event_type`` that may see it.

    A payload with an ``order_id`` goes to the subscriptions of that order's
    tenant and to those of no tenant (see :meth:`Subscribers.enqueue`).

    Returns
    -------
    int
        Messages written.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    return Subscribers.load(session).enqueue(session, event_type, payload)


def order_tenant(session: Session, payload: dict[str, Any]) -> str | None:
    """The tenant of the order a payload is about (its ``order_id``); ``None`` if none."""
    order_id = payload.get("order_id")
    if not isinstance(order_id, str):
        return None
    order = session.get(t.Order, order_id)
    return None if order is None else order.tenant


class Subscribers:
    """The active subscriptions, loaded once for a batch of messages."""

    def __init__(self, subscriptions: list[t.WebhookSubscription]) -> None:
        self._by_type: dict[str, list[tuple[str, str | None]]] = {}
        for sub in subscriptions:
            types = EVENT_TYPES if "*" in sub.event_types else sub.event_types
            for event_type in types:
                self._by_type.setdefault(event_type, []).append((sub.id, sub.tenant))

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

    def ids(self, event_type: str, tenant: str | None) -> list[str]:
        """The subscriptions that want ``event_type`` and may see a message of ``tenant``.

        Parameters
        ----------
        event_type
            The message's type.
        tenant
            The tenant of the order the message is about; ``None`` for a
            depot-wide order or a message about no order (only subscriptions
            without a tenant receive those).
        """
        return [
            sub_id
            for sub_id, sub_tenant in self._by_type.get(event_type, [])
            if sub_tenant is None or sub_tenant == tenant
        ]

    def enqueue(self, session: Session, event_type: str, payload: dict[str, Any]) -> int:
        """Queue ``payload`` for each subscriber to ``event_type`` that may see it.

        The message's tenant is that of the order named by the payload's
        ``order_id`` (:func:`order_tenant`); without one, only subscriptions of
        no tenant receive it. Returns messages written.
        """
        outbox = Outbox(self)
        outbox.add(event_type, payload, order_tenant(session, payload))
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

    def add(self, event_type: str, payload: dict[str, Any], tenant: str | None) -> None:
        """Queue ``payload`` for each subscriber to ``event_type`` that may see it.

        Parameters
        ----------
        event_type, payload
            The message.
        tenant
            The tenant of the order it is about (``None``: depot-wide or no
            order): see :meth:`Subscribers.ids`.
        """
        self.rows.extend(
            _message(sub_id, event_type, payload)
            for sub_id in self.subscribers.ids(event_type, tenant)
        )

    def write(self, session: Session) -> int:
        """Insert the collected messages; returns how many."""
        if self.rows:
            session.execute(insert(t.OutboxMessage), self.rows)
        written, self.rows = len(self.rows), []
        return written
