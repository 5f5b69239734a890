"""The FastAPI application: ``create_app(settings)`` wires storage, routers and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from doorstep.api import problems
from doorstep.api.routers import events, fleet, keys, orders, plans, track, webhooks
from doorstep.notify.sender import WebhookSender
from doorstep.settings import Settings
from doorstep.store.database import make_engine, session_factory

DESCRIPTION = """Doorstep's service: orders in, plans out, scan events as the truth of the day.

Every endpoint but tracking needs an API key (`Authorization: Bearer <key>`); errors are
`application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (defaults: environment and ``doorstep.toml``).

    The database must be migrated first (``doorstep db upgrade``).
    """
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plans.start_planning(app)
        sender = WebhookSender(app.state.sessions, settings)
        if settings.dispatch_webhooks:
            sender.start()
        yield
        await asyncio.to_thread(sender.stop)
        await plans.stop_planning(app)
        engine.dispose()

    app = FastAPI(
        title="Doorstep",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    problems.install(app)
    for module in (keys, fleet, orders, plans, events, track, webhooks):
        app.include_router(module.router)
    return app
