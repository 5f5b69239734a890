"""Webhook subscriptions (admin and integration keys): create, list, deactivate, test, log.

A subscription's secret is shown once, in the response that creates it; the
signatures of its requests are made with it (see ``docs/webhooks.md``). An
integration key's subscription belongs to its tenant and receives messages about
that tenant's orders only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from doorstep.api.deps import Config, Db, Limit, WebhookOwner
from doorstep.api.problems import not_found
from doorstep.api.security import Principal, Role
from doorstep.service import webhooks as rules
from doorstep.store import tables as t
from doorstep.store.queries import webhooks as wq

router = APIRouter(prefix="/v1", tags=["webhooks"])


class SubscriptionIn(BaseModel):
    """A subscription to create: where to POST, which events, and optionally the secret."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="An http or https URL.")
    event_types: list[Annotated[str, Field(max_length=60)]] = Field(
        min_length=1,
        max_length=100,
        description='Event types to receive, or "*" for all of them.',
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=100,
        pattern=r"^[!-~]+$",
        description="The signing secret (printable ASCII, no spaces); generated when absent.",
    )


class SubscriptionOut(BaseModel):
    """A subscription as stored (without its secret)."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


class NewSubscription(SubscriptionOut):
    """A new subscription, with its signing secret: shown this once."""

    secret: str


class DeliveryOut(BaseModel):
    """One attempt to deliver a message, from the delivery log."""

    id: int
    message_id: int
    event_type: str
    message_status: str
    """The message's status now: pending, sending, sent or dead."""
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: float
    at: datetime


class PingQueued(BaseModel):
    """The ping message queued by a test."""

    message_id: int
    event_type: str


def _owner(who: Principal) -> str | None:
    """The key whose subscriptions ``who`` sees: its own; ``None`` (all) for an admin."""
    return None if who.role is Role.ADMIN else who.key_id


def _subscription(db: Db, subscription_id: str, who: Principal) -> t.WebhookSubscription:
    row = rules.visible_subscription(db, subscription_id, _owner(who))
    if row is None:
        raise not_found("webhook subscription", subscription_id)
    return row


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=NewSubscription)
def create_subscription(
    body: SubscriptionIn, db: Db, settings: Config, who: WebhookOwner
) -> NewSubscription:
    """Subscribe a URL to event types; the response holds the secret, shown only here."""
    row = rules.subscribe(
        db,
        body.url,
        body.event_types,
        body.secret,
        who.key_id,
        allow_private=settings.webhook_allow_private,
        tenant=who.tenant,
    )
    return NewSubscription(secret=row.secret, **SubscriptionOut.model_validate(row).model_dump())


@router.get("/webhooks", response_model=list[SubscriptionOut])
def list_subscriptions(db: Db, who: WebhookOwner) -> list[t.WebhookSubscription]:
    """The caller's subscriptions (an admin sees all), deactivated ones included, oldest first."""
    return wq.find_subscriptions(db, _owner(who))


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: str, db: Db, who: WebhookOwner) -> t.WebhookSubscription:
    """One subscription (another key's is a 404)."""
    return _subscription(db, subscription_id, who)


@router.delete("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def deactivate_subscription(
    subscription_id: str, db: Db, who: WebhookOwner
) -> t.WebhookSubscription:
    """Stop sending to a subscription; its messages still waiting are given up (dead)."""
    row = _subscription(db, subscription_id, who)
    rules.deactivate(db, row)
    return row


@router.get("/webhooks/{subscription_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    subscription_id: str,
    db: Db,
    who: WebhookOwner,
    limit: Limit = 100,
) -> list[DeliveryOut]:
    """The delivery log of a subscription: every attempt, newest first."""
    _subscription(db, subscription_id, who)
    return [
        DeliveryOut(
            id=delivery.id,
            message_id=delivery.message_id,
            event_type=event_type,
            message_status=message_status,
            attempt=delivery.attempt,
            status_code=delivery.status_code,
            error=delivery.error,
            duration_ms=delivery.duration_ms,
            at=delivery.at,
        )
        for delivery, event_type, message_status in wq.deliveries(db, subscription_id, limit)
    ]


@router.post(
    "/webhooks/{subscription_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PingQueued,
)
def ping_subscription(subscription_id: str, db: Db, who: WebhookOwner) -> PingQueued:
    """Queue a ``ping`` message for this subscription only; follow it in the delivery log."""
    message_id = rules.ping(db, _subscription(db, subscription_id, who))
    return PingQueued(message_id=message_id, event_type=rules.PING)
