"""API keys and roles: who may call what.

A key is sent as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``).
Only its SHA-256 is stored. Roles:

========== =======================================================================
admin      everything, including keys and webhooks
planner    depots, vehicles, drivers, orders, plans (create, publish)
dispatcher read everything of the day, post events
driver     its own routes and stops; post events for its own stops
integration orders (a shop's order system), webhooks, reading orders and events,
           all of its own tenant only
========== =======================================================================

Tenants: an integration key belongs to one tenant (a shop). It sees and makes
only that tenant's orders, parcels, events and webhook messages; another
tenant's are a 404, as unknown ones are. The depot's own roles (admin,
planner, dispatcher, driver) have no tenant and see every tenant's orders.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
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
    """The caller, as its key says.

    Attributes
    ----------
    key_id
        The key's id (never its secret): what webhooks and audit records name.
    role
        What the key may do.
    driver_id
        The driver a driver key belongs to (its routes are the only ones it sees).
    tenant
        The tenant an integration key works for; ``None`` for the depot's roles,
        which see every tenant.
    """

    key_id: str
    role: Role
    driver_id: str | None = None
    tenant: str | None = None


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    role: Role,
    name: str = "",
    driver_id: str | None = None,
    tenant: str | None = None,
) -> tuple[str, ApiKey]:
    """Make a key: returns the secret (shown once) and its stored row.

    Parameters
    ----------
    session
        A session; the row is flushed.
    role
        What the key may do.
    name
        What the key is for.
    driver_id
        The driver a driver key belongs to (driver keys only).
    tenant
        The tenant (shop) an integration key works for (integration keys only);
        ``None``: the new key's own id, so the key is a tenant of its own.

    Raises
    ------
    ProblemError
        422 ``driver_key_needs_driver`` when a driver key names no driver (or
        another key names one); 422 ``tenant_needs_integration`` when a key of
        another role names a tenant.
    """
    if (role is Role.DRIVER) != (driver_id is not None):
        raise ProblemError(
            422,
            "driver_key_needs_driver",
            "A driver key needs a driver_id, and only driver keys have one.",
        )
    if tenant is not None and role is not Role.INTEGRATION:
        raise ProblemError(
            422,
            "tenant_needs_integration",
            f"Only integration keys belong to a tenant; a {role.value} key sees every "
            "tenant. Leave tenant out.",
            [{"field": "body.tenant", "message": "only for role 'integration'"}],
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(6)
    row = ApiKey(
        id=key_id,
        key_hash=hash_key(secret),
        role=role.value,
        name=name,
        driver_id=driver_id,
        tenant=(tenant or key_id) if role is Role.INTEGRATION else None,
    )
    session.add(row)
    session.flush()
    return secret, row


bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key: `Authorization: Bearer <key>`.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="The same API key in its own header: `X-API-Key: <key>`.",
)

UNAUTHENTICATED = "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
UNKNOWN_KEY = "The API key is unknown or revoked."


def secret_of(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request carries (``X-API-Key`` first, then a Bearer token), or ``None``.

    Parameters
    ----------
    authorization, x_api_key
        The raw header values, if sent.
    """
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def lookup(state: Any, secret: str) -> Principal | None:
    """The principal of key ``secret``, or ``None`` for an unknown or revoked key.

    Blocking (one query): call it from a thread, never on the event loop.

    Parameters
    ----------
    state
        The app's state (``settings`` and ``sessions``).
    secret
        The key as sent.
    """
    configured: str | None = state.settings.admin_key
    if configured is not None and hmac.compare_digest(secret.encode(), configured.encode()):
        return Principal("settings", Role.ADMIN)
    sessions: sessionmaker[Session] = state.sessions
    with sessions() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    if row is None or (row.revoked_at is not None and row.revoked_at <= utcnow()):
        return None
    role = Role(row.role)
    # An integration key always has a tenant (a row without one is its own tenant).
    tenant = (row.tenant or row.id) if role is Role.INTEGRATION else None
    return Principal(row.id, role, row.driver_id, tenant)


def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    x_api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Principal:
    """The caller of this request (401 without a valid key).

    The guard middleware (:mod:`doorstep.api.guard`) has usually looked the key
    up already, before the body was read; its answer is reused.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    authorization = None if bearer is None else f"{bearer.scheme} {bearer.credentials}"
    secret = secret_of(authorization, x_api_key)
    if secret is None:
        raise ProblemError(401, "unauthenticated", UNAUTHENTICATED)
    principal = lookup(request.app.state, secret)
    if principal is None:
        raise ProblemError(401, "unauthenticated", UNKNOWN_KEY)
    return principal


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
