"""What every router shares: a session per request, the settings, callers and ids.

Each combination of roles a router admits is one alias here, named for what it
allows (:data:`OrderWriter`...); each resolves to the caller's
:class:`~doorstep.api.security.Principal`. :data:`Id` is the id rule of
:mod:`doorstep.domain.ids` as a pydantic type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.security import Principal, Role, require
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
