"""API keys and roles: who may call what.

A key is sent as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``).
Only its SHA-256 is stored. Roles:

========== =======================================================================
admin      everything, including keys and webhooks
planner    depots, vehicles, drivers, orders, plans (create, publish)
dispatcher read everything of the day, post events
driver     its own routes and stops; post events for its own stops
integration orders (a shop's order system), webhooks, reading orders and events
========== =======================================================================
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.problems import ProblemError
from doorstep.store.tables import ApiKey, utcnow

KEY_PREFIX = "ds_"


class Role(StrEnum):
    """What a key may do: the module's table says what each role may call."""

    ADMIN = "admin"
    PLANNER = "planner"
    DISPATCHER = "dispatcher"
    DRIVER = "driver"
    INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its key says."""

    key_id: str
    role: Role
    driver_id: str | None = None


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, role: Role, name: str = "", driver_id: str | None = None
) -> tuple[str, ApiKey]:
    """Make a key: returns the secret (shown once) and its stored row.

    Raises
    ------
    ProblemError
        422 ``driver_key_needs_driver`` when a driver key names no driver.
    """
    if (role is Role.DRIVER) != (driver_id is not None):
        raise ProblemError(
            422,
            "driver_key_needs_driver",
            "A driver key needs a driver_id, and only driver keys have one.",
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id="key_" + secrets.token_hex(6),
        key_hash=hash_key(secret),
        role=role.value,
        name=name,
        driver_id=driver_id,
    )
    session.add(row)
    session.flush()
    return secret, row


def _secret(authorization: str | None, x_api_key: str | None) -> str:
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    raise ProblemError(
        401,
        "unauthenticated",
        "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
    )


def authenticate(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller of this request (401 without a valid key)."""
    secret = _secret(authorization, x_api_key)
    configured: str | None = request.app.state.settings.admin_key
    if configured is not None and hmac.compare_digest(secret.encode(), configured.encode()):
        return Principal("settings", Role.ADMIN)
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    if row is None or (row.revoked_at is not None and row.revoked_at <= utcnow()):
        raise ProblemError(401, "unauthenticated", "The API key is unknown or revoked.")
    return Principal(row.id, Role(row.role), row.driver_id)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting the given roles (admin always); 403 for the others."""
    allowed = {Role.ADMIN, *roles}

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ProblemError(
                403,
                "forbidden",
                f"A {principal.role.value} key cannot do this; it needs one of: {names}.",
            )
        return principal

    return check
