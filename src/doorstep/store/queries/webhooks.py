"""Queries on webhook subscriptions and their delivery log."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.orm import Session

from doorstep.notify.sender import DEAD, PENDING
from doorstep.store import tables as t


def _owned_by(owner_key_id: str | None) -> ColumnElement[bool]:
    """Subscriptions made by key ``owner_key_id``; ``None``: every subscription."""
    if owner_key_id is None:
        return true()
    return t.WebhookSubscription.owner_key_id == owner_key_id


def find_subscription(
    db: Session, subscription_id: str, owner_key_id: str | None
) -> t.WebhookSubscription | None:
    """The subscription ``subscription_id`` if ``owner_key_id`` made it (``None``: any owner)."""
    query = select(t.WebhookSubscription).where(
        t.WebhookSubscription.id == subscription_id, _owned_by(owner_key_id)
    )
    return db.scalars(query).first()


def find_subscriptions(db: Session, owner_key_id: str | None) -> list[t.WebhookSubscription]:
    """The subscriptions ``owner_key_id`` made (``None``: all), oldest first."""
    query = (
        select(t.WebhookSubscription)
        .where(_owned_by(owner_key_id))
        .order_by(t.WebhookSubscription.created_at, t.WebhookSubscription.id)
    )
    return list(db.scalars(query))


def give_up_pending(db: Session, subscription_id: str, reason: str) -> None:
    """Mark the subscription's messages still waiting as dead, with ``reason``."""
    db.execute(
        update(t.OutboxMessage)
        .where(
            t.OutboxMessage.subscription_id == subscription_id,
            t.OutboxMessage.status == PENDING,
        )
        .values(status=DEAD, last_error=reason)
        .execution_options(synchronize_session=False)
    )


def deliveries(
    db: Session, subscription_id: str, limit: int
) -> list[tuple[t.WebhookDelivery, str, str]]:
    """A subscription's delivery attempts, newest first, with their message's type and status."""
    d, m = t.WebhookDelivery, t.OutboxMessage
    rows = db.execute(
        select(d, m.event_type, m.status)
        .join(m, m.id == d.message_id)
        .where(m.subscription_id == subscription_id)
        .order_by(d.at.desc(), d.id.desc())
        .limit(limit)
    ).all()
    return [(delivery, event_type, status) for delivery, event_type, status in rows]
