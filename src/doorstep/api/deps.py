"""Dependencies every router shares: a database session per request, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

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
