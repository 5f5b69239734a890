"""What every router shares: a session per request, the settings, callers and ids.

Each combination of roles a router admits is one alias here, named for what it
allows (:data:`OrderWriter`...); each resolves to the caller's
:class:`~doorstep.api.security.Principal`. :data:`Id` is the id rule of
:mod:`doorstep.domain.ids` as a pydantic type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.security import Principal, Role, require
from doorstep.domain.events import ParcelState
from doorstep.domain.ids import (
    EVENT_ID_MAX_LENGTH,
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RULE,
    PARCEL_ID_MAX_LENGTH,
)
from doorstep.settings import Settings


def session(request: Request) -> Iterator[Session]:
    """A session in a transaction: committed when the endpoint returns, rolled back on error.

    A request that fails therefore leaves nothing half-written, and the commit
    happens before the response leaves (see :data:`Db`).
    """
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as db, db.begin():
        yield db


async def settings(request: Request) -> Settings:
    """The service's settings (async: no thread hop for a dictionary lookup)."""
    value: Settings = request.app.state.settings
    return value


Db = Annotated[Session, Depends(session, scope="function")]
"""A request's session. ``scope="function"``: the transaction commits when the
endpoint returns, before the response is sent, so a client never sees success
for a write that is not yet durable (or that fails to commit)."""
Config = Annotated[Settings, Depends(settings)]

Id = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, description=ID_RULE),
]
"""An order, depot, vehicle or driver id (the rule: :mod:`doorstep.domain.ids`)."""
ParcelId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=PARCEL_ID_MAX_LENGTH,
        pattern=ID_PATTERN,
        description=f"A parcel id: the characters of an id, up to {PARCEL_ID_MAX_LENGTH}.",
    ),
]
"""A parcel id: the id characters, a little longer (``<order id>-<k>`` fits)."""
EventId = Annotated[str, Field(min_length=1, max_length=EVENT_ID_MAX_LENGTH)]
"""A scan event's id: the client's idempotency key, free text."""
Limit = Annotated[int, Query(ge=1, le=1000, description="How many at most (1 to 1000).")]
"""A page size: the ``limit`` query parameter of the listing endpoints."""
MAX_OFFSET = 10**9
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"How many to skip (0 to {MAX_OFFSET:,}).")
]
"""A page's start: the ``offset`` query parameter (bounded: every integer is)."""


class OrderStatus(StrEnum):
    """An order's status: ``created``, ``planned``, then as its parcels' scans say."""

    CREATED = "created"
    """Imported, on no published route."""
    PLANNED = "planned"
    """On a published route."""
    AT_DEPOT = ParcelState.AT_DEPOT.value
    LOADED = ParcelState.LOADED.value
    OUT_FOR_DELIVERY = ParcelState.OUT_FOR_DELIVERY.value
    AT_STOP = ParcelState.AT_STOP.value
    DELIVERED = ParcelState.DELIVERED.value
    FAILED_ATTEMPT = ParcelState.FAILED_ATTEMPT.value
    PICKED_UP = ParcelState.PICKED_UP.value
    RETURNED_TO_DEPOT = ParcelState.RETURNED_TO_DEPOT.value
    RETURN_TO_SENDER = "return_to_sender"
    """A delivery whose last allowed attempt failed (``max_attempts``): sent back, not out."""


_NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"
_NUL_MESSAGE = "NUL characters (\\u0000) are not allowed in text; remove them."


def _nul_fields(value: Any, where: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        if _NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if _NUL in str(key):
                yield (*where, key)
            yield from _nul_fields(item, (*where, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _nul_fields(item, (*where, k))


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL character anywhere in a request's path, query or JSON body (422).

    PostgreSQL cannot store one in text and SQLite would; refusing them at the
    door keeps one rule on both databases. The error names every such field
    (``body.orders[3].name``, ``query.day``). Async and cheap: the body was
    read already, and is parsed again only when it holds an escaped NUL.

    Raises
    ------
    RequestValidationError
        Naming each field that holds a NUL.
    """
    found: list[tuple[Any, ...]] = [
        ("path", name) for name, v in request.path_params.items() if _NUL in str(v)
    ]
    found += [("query", name) for name, v in request.query_params.multi_items() if _NUL in v]
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        body = await request.body()
        if _ESCAPED_NUL in body:
            with suppress(ValueError):  # not JSON: the route's own parsing says so
                found += _nul_fields(json.loads(body), ("body",))
    if found:
        raise RequestValidationError(
            [{"type": "nul_character", "loc": loc, "msg": _NUL_MESSAGE} for loc in found[:100]]
        )


Admin = Annotated[Principal, Depends(require())]
"""Admin keys only: API keys."""
Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
"""May change the fleet and create and publish plans (planner)."""
PlanReader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER))]
"""May read the fleet and plans (planner, dispatcher)."""
RouteReader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER, Role.DRIVER))]
"""May read routes; a driver only its own (planner, dispatcher, driver)."""
OrderWriter = Annotated[Principal, Depends(require(Role.PLANNER, Role.INTEGRATION))]
"""May add orders (planner, integration)."""
OrderReader = Annotated[
    Principal, Depends(require(Role.PLANNER, Role.DISPATCHER, Role.INTEGRATION))
]
"""May read orders and their parcels' events (planner, dispatcher, integration)."""
EventPoster = Annotated[Principal, Depends(require(Role.DISPATCHER, Role.DRIVER))]
"""May post scan events; a driver only for its own stops (dispatcher, driver)."""
WebhookOwner = Annotated[Principal, Depends(require(Role.INTEGRATION))]
"""May manage its own webhook subscriptions (integration; admin sees them all)."""
Dispatcher = Annotated[Principal, Depends(require(Role.DISPATCHER))]
"""May read exceptions, proposals and decisions and accept or reject proposals (dispatcher)."""
IncidentReporter = Annotated[Principal, Depends(require(Role.DISPATCHER, Role.DRIVER))]
"""May report a breakdown or accident; a driver only on its own route (dispatcher, driver)."""
KpiReader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER, Role.DRIVER))]
"""May read KPIs; a driver only its own figures, over at most 31 days (planner, dispatcher,
driver)."""
