"""Signing webhook requests, and checking a signature the way a shop would.

Every webhook request carries::

    Doorstep-Signature: t=1767225600,v1=5f1c...e9

where ``t`` is when it was sent (Unix seconds) and ``v1`` is the hex HMAC-SHA256
of ``f"{t}.{body}"`` (the timestamp, a dot, then the raw request body bytes)
keyed with the subscription's secret. Signing the timestamp with the body lets a
receiver refuse replays of old requests. :func:`verify` is self-contained (only
the standard library) so a shop can copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Doorstep-Signature"
"""The signature: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
EVENT_HEADER = "Doorstep-Event"
"""The message's event type, such as ``parcel.delivered``."""
DELIVERY_HEADER = "Doorstep-Delivery"
"""The message id: the same on every retry of one message, so receivers can deduplicate."""

SCHEME = "v1"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Doorstep-Signature`` header value for ``body`` sent at ``timestamp``.

    Parameters
    ----------
    secret
        The subscription's secret.
    body
        The exact bytes of the request body.
    timestamp
        When the request is sent, in Unix seconds.

    Returns
    -------
    str
        ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``.
    """
    return f"t={timestamp},{SCHEME}={_mac(secret, body, timestamp)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid, recent signature of ``body`` with ``secret``.

    Several ``v1=`` entries are accepted (any one matching is enough), so a
    signature made with either of two secrets can pass during a rotation.

    Parameters
    ----------
    secret
        The subscription's secret.
    body
        The raw request body, exactly as received (not re-serialised JSON).
    header
        The ``Doorstep-Signature`` header value.
    tolerance_s
        How far the signed timestamp may be from ``now``, either way, in seconds.
    now
        The current time in Unix seconds (default: the clock).

    Returns
    -------
    bool
        True if the timestamp is within ``tolerance_s`` of ``now`` and a ``v1``
        signature matches (compared in constant time); False for anything else,
        including a malformed header.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if not value.isascii() or not value.isdigit():
                return False
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, body, timestamp)
    matches = [hmac.compare_digest(expected.encode(), c.encode()) for c in candidates]
    return any(matches)
