"""The rules of webhook subscriptions: which URLs and event types, who sees which.

An integration key sees and manages only the subscriptions it made; an admin
key sees them all. A subscription belongs to its key's tenant and receives only
messages about that tenant's orders (an admin's, of no tenant, receives every
message: see :mod:`doorstep.notify.outbox`). Every refusal is a
:class:`~doorstep.service.refusal.RefusedError` naming the field.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from doorstep.notify.addresses import forbidden, literal_address
from doorstep.notify.outbox import EVENT_TYPES, enqueue_to
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import webhooks as q

ALL_EVENTS = "*"
"""The event type that subscribes to every event."""

PING = "ping"
"""The event type of a test message."""

SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
"""What an issued subscription id looks like (``wh_`` and 16 hex digits)."""


def url_problem(url: str, allow_private: bool) -> str | None:
    """What makes ``url`` unusable as a webhook target, or ``None``.

    Parameters
    ----------
    url
        The URL asked for.
    allow_private
        Allow loopback, private, link-local and reserved addresses.

    Returns
    -------
    str or None
        A phrase saying what is wrong.
    """
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parts.hostname:
        return "no host"
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        return "contains whitespace or control characters"
    if not allow_private and (address := _literal_private(parts.hostname)):
        return (
            f"{address} is a private address (the service will not call into "
            "its own network unless webhook_allow_private is set)"
        )
    return None


def _literal_private(host: str) -> str | None:
    """The host if it is a private address or ``localhost`` (names resolve at send time).

    Numeric hosts are read the way the sender's resolver reads them, legacy
    IPv4 forms included (``2130706433``, ``0x7f000001``, ``127.1``,
    ``0177.0.0.1`` all mean 127.0.0.1).
    """
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return host
    ip = literal_address(host)
    if ip is None or not forbidden(ip):
        return None
    return host if str(ip) == host else f"{host} ({ip})"


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types asked for, without repeats.

    Raises
    ------
    RefusedError
        ``unknown_event_type`` naming each unknown one's field.
    """
    known = {*EVENT_TYPES, ALL_EVENTS}
    errors: list[dict[str, Any]] = [
        {"field": f"body.event_types[{i}]", "message": f"unknown event type {name!r}"}
        for i, name in enumerate(event_types)
        if name not in known
    ]
    if errors:
        raise RefusedError(
            "unknown_event_type",
            f"Unknown event types; use {ALL_EVENTS!r} or some of: {', '.join(EVENT_TYPES)}.",
            errors=errors,
        )
    return list(dict.fromkeys(event_types))


def subscribe(
    db: Session,
    url: str,
    event_types: Sequence[str],
    secret: str | None,
    owner_key_id: str,
    *,
    allow_private: bool,
    tenant: str | None = None,
) -> t.WebhookSubscription:
    """Store a new subscription made by key ``owner_key_id``.

    Parameters
    ----------
    db
        A session.
    url, event_types
        Where to POST, and which events.
    secret
        The signing secret; ``None``: a new random one.
    owner_key_id
        The key that makes it (only that key, and admins, will see it).
    allow_private
        Allow URLs on the service's own network.
    tenant
        The owner key's tenant: the subscription hears only of that tenant's
        orders. ``None`` (an admin key): every message.

    Returns
    -------
    WebhookSubscription
        The stored subscription (flushed).

    Raises
    ------
    RefusedError
        ``invalid_url`` or ``unknown_event_type``.
    """
    problem = url_problem(url, allow_private)
    if problem is not None:
        raise RefusedError(
            "invalid_url",
            f"The webhook URL {url!r} cannot be used: {problem}.",
            errors=[{"field": "body.url", "message": problem}],
        )
    row = t.WebhookSubscription(
        id="wh_" + secrets.token_hex(8),
        url=url,
        event_types=check_event_types(event_types),
        secret=secret or secrets.token_urlsafe(32),
        active=True,
        owner_key_id=owner_key_id,
        tenant=tenant,
    )
    db.add(row)
    db.flush()
    return row


def visible_subscription(
    db: Session, subscription_id: str, owner_key_id: str | None
) -> t.WebhookSubscription | None:
    """The subscription if the caller may see it (``owner_key_id`` ``None``: an admin)."""
    # An id that cannot have been issued is not looked up (PostgreSQL refuses NUL bytes).
    if not SUBSCRIPTION_ID.fullmatch(subscription_id):
        return None
    return q.find_subscription(db, subscription_id, owner_key_id)


def deactivate(db: Session, row: t.WebhookSubscription) -> None:
    """Stop sending to a subscription; its messages still waiting are given up (dead)."""
    row.active = False
    q.give_up_pending(db, row.id, "the subscription was deactivated")


def ping(db: Session, row: t.WebhookSubscription) -> int:
    """Queue a ``ping`` message for this subscription only; returns the message's id.

    Raises
    ------
    RefusedError
        ``subscription_inactive`` (a conflict) for a deactivated subscription.
    """
    if not row.active:
        raise RefusedError(
            "subscription_inactive",
            f"Webhook subscription {row.id!r} is deactivated; create a new one.",
            conflict=True,
        )
    return enqueue_to(db, row.id, PING, {"subscription_id": row.id}).id
