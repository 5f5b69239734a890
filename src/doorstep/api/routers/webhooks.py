"""Webhook subscriptions (admin and integration keys): create, list, deactivate, test, log.

A subscription's secret is shown once, in the response that creates it; the
signatures of its requests are made with it (see ``docs/webhooks.md``).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, true, update

from doorstep.api.deps import Config, Db, Limit, WebhookOwner
from doorstep.api.problems import ProblemError, not_found
from doorstep.api.security import Principal, Role
from doorstep.notify.addresses import forbidden
from doorstep.notify.outbox import EVENT_TYPES, enqueue_to
from doorstep.notify.sender import DEAD, PENDING
from doorstep.store import tables as t

router = APIRouter(prefix="/v1", tags=["webhooks"])

ALL_EVENTS = "*"
PING = "ping"
SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


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


def _check_url(url: str, allow_private: bool) -> None:
    problem = None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        problem = "not a URL"
    else:
        if parts.scheme not in ("http", "https"):
            problem = "the scheme must be http or https"
        elif not parts.hostname:
            problem = "no host"
        elif any(c.isspace() or ord(c) < 0x20 for c in url):
            problem = "contains whitespace or control characters"
        elif not allow_private and (address := _literal_private(parts.hostname)):
            problem = (
                f"{address} is a private address (the service will not call into "
                "its own network unless webhook_allow_private is set)"
            )
    if problem is not None:
        raise ProblemError(
            422,
            "invalid_url",
            f"The webhook URL {url!r} cannot be used: {problem}.",
            [{"field": "body.url", "message": problem}],
        )


def _literal_private(host: str) -> str | None:
    """The host if it is a private address or ``localhost`` (names resolve at send time)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(ip) if forbidden(ip) else None


def _check_event_types(event_types: list[str]) -> list[str]:
    known = {*EVENT_TYPES, ALL_EVENTS}
    errors: list[dict[str, Any]] = [
        {"field": f"body.event_types[{i}]", "message": f"unknown event type {name!r}"}
        for i, name in enumerate(event_types)
        if name not in known
    ]
    if errors:
        raise ProblemError(
            422,
            "unknown_event_type",
            f"Unknown event types; use {ALL_EVENTS!r} or some of: {', '.join(EVENT_TYPES)}.",
            errors,
        )
    return list(dict.fromkeys(event_types))


def _mine(who: Principal) -> Any:
    """The subscriptions ``who`` may see: its own for an integration key, all for an admin."""
    if who.role is Role.ADMIN:
        return true()
    return t.WebhookSubscription.owner_key_id == who.key_id


def _subscription(db: Db, subscription_id: str, who: Principal) -> t.WebhookSubscription:
    # An id that cannot have been issued is not looked up (PostgreSQL refuses NUL bytes).
    if not SUBSCRIPTION_ID.fullmatch(subscription_id):
        raise not_found("webhook subscription", subscription_id)
    row = db.scalars(
        select(t.WebhookSubscription).where(t.WebhookSubscription.id == subscription_id, _mine(who))
    ).first()
    if row is None:
        raise not_found("webhook subscription", subscription_id)
    return row


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=NewSubscription)
def create_subscription(
    body: SubscriptionIn, db: Db, settings: Config, who: WebhookOwner
) -> NewSubscription:
    """Subscribe a URL to event types; the response holds the secret, shown only here."""
    _check_url(body.url, settings.webhook_allow_private)
    event_types = _check_event_types(body.event_types)
    row = t.WebhookSubscription(
        id="wh_" + secrets.token_hex(8),
        url=body.url,
        event_types=event_types,
        secret=body.secret or secrets.token_urlsafe(32),
        active=True,
        owner_key_id=who.key_id,
    )
    db.add(row)
    db.flush()
    return NewSubscription(secret=row.secret, **SubscriptionOut.model_validate(row).model_dump())


@router.get("/webhooks", response_model=list[SubscriptionOut])
def list_subscriptions(db: Db, who: WebhookOwner) -> list[t.WebhookSubscription]:
    """The caller's subscriptions (an admin sees all), deactivated ones included, oldest first."""
    query = (
        select(t.WebhookSubscription)
        .where(_mine(who))
        .order_by(t.WebhookSubscription.created_at, t.WebhookSubscription.id)
    )
    return list(db.scalars(query))


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
    row.active = False
    db.execute(
        update(t.OutboxMessage)
        .where(
            t.OutboxMessage.subscription_id == subscription_id,
            t.OutboxMessage.status == PENDING,
        )
        .values(status=DEAD, last_error="the subscription was deactivated")
        .execution_options(synchronize_session=False)
    )
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
    d, m = t.WebhookDelivery, t.OutboxMessage
    rows = db.execute(
        select(d, m.event_type, m.status)
        .join(m, m.id == d.message_id)
        .where(m.subscription_id == subscription_id)
        .order_by(d.at.desc(), d.id.desc())
        .limit(limit)
    ).all()
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
        for delivery, event_type, message_status in rows
    ]


@router.post(
    "/webhooks/{subscription_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PingQueued,
)
def ping_subscription(subscription_id: str, db: Db, who: WebhookOwner) -> PingQueued:
    """Queue a ``ping`` message for this subscription only; follow it in the delivery log."""
    row = _subscription(db, subscription_id, who)
    if not row.active:
        raise ProblemError(
            409,
            "subscription_inactive",
            f"Webhook subscription {subscription_id!r} is deactivated; create a new one.",
        )
    message = enqueue_to(db, row.id, PING, {"subscription_id": row.id})
    return PingQueued(message_id=message.id, event_type=PING)
