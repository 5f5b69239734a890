"""The FastAPI application: ``create_app(settings)`` wires storage, routers and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from doorstep.api import problems
from doorstep.api.deps import refuse_nul
from doorstep.api.guard import Guard, needs_key
from doorstep.api.routers import (
    audit,
    dispatch,
    events,
    fleet,
    keys,
    kpis,
    orders,
    plans,
    reconciliation,
    slots,
    track,
    webhooks,
)
from doorstep.errors import InputError
from doorstep.learn.risk import FailureRisk
from doorstep.notify.sender import WebhookSender
from doorstep.service.monitor import Monitor, utc_now
from doorstep.settings import Settings
from doorstep.store.database import make_engine, session_factory
from doorstep.web import install as install_web

DESCRIPTION = """Doorstep's service: orders in, plans out, scan events as the truth of the day.

Every endpoint but tracking needs an API key (`Authorization: Bearer <key>` or
`X-API-Key: <key>`); errors are `application/problem+json` with a stable `code`.
"""

DOCS_ASSETS = "/docs-assets"
"""Where Swagger UI's and ReDoc's files are served from (shipped with the package, no CDN)."""

_ERRORS = {
    400: "The body cannot be decoded (`bad_request`): not UTF-8, a broken form.",
    401: "No API key, or an unknown or revoked one (`unauthenticated`).",
    403: "The key's role may not do this (`forbidden`).",
    404: "No such resource (`not_found`).",
    409: "The request clashes with the current state (`conflict`, `orders_closed`...).",
    413: "The body is over this endpoint's limit (`too_large`).",
    415: "The file is not a CSV, Excel or JSON manifest (`unsupported_format`).",
    422: "A field is invalid (`validation` and the rule's own codes, naming the field).",
    500: "The service failed; the error was logged (`internal`).",
    503: "No database connection became free in time (`database_busy`); retry.",
}


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {problems.MEDIA_TYPE: {"schema": schema}}}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, for its OpenAPI ``responses``.

    Parameters
    ----------
    path, method
        The operation's path (``/v1/orders/{order_id}``) and method (lower case).
    operation
        Its OpenAPI operation object (whether it takes a body).
    """
    out = [422, 500, 503]
    if needs_key(path):
        out += [401, 403]
    if "{" in path:
        out.append(404)
    if method in ("post", "put", "patch", "delete"):
        out.append(409)
    if "requestBody" in operation:
        out += [400, 413]
    if path.endswith("/upload"):
        out.append(415)
    return sorted(set(out))


def _plain_tuples(node: Any) -> None:
    """Write fixed-length tuples of one type (``(start, end)``) as plain arrays of that type.

    ``prefixItems`` is valid OpenAPI 3.1, but several clients and testers read it
    badly; ``{"items": {...}, "minItems": 2, "maxItems": 2}`` says the same here.
    """
    if isinstance(node, list):
        for item in node:
            _plain_tuples(item)
        return
    if not isinstance(node, dict):
        return
    prefix = node.get("prefixItems")
    if (
        isinstance(prefix, list)
        and prefix
        and all(p == prefix[0] for p in prefix)
        and node.get("minItems") == node.get("maxItems") == len(prefix)
    ):
        node["items"] = node.pop("prefixItems")[0]
    for value in node.values():
        _plain_tuples(value)


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every operation's error responses as problem+json, and the Problem model."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in error_statuses(path, method, operation):
                responses[str(status)] = _problem(_ERRORS[status])
    defs = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    found = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        found.pop(unused, None)
    found.update(defs.pop("$defs", {}))
    found["Problem"] = defs
    _plain_tuples(schema)
    return schema


def _document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` document each operation's errors (see :func:`error_statuses`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _risk_model(settings: Settings) -> FailureRisk | None:
    """The failure-risk model the settings name (None: none named).

    Raises
    ------
    InputError
        The file does not exist or is not a Doorstep risk model.
    """
    if not settings.risk_model:
        return None
    from doorstep.learn.model import TrainedRisk

    path = Path(settings.risk_model)
    if not path.is_file():
        raise InputError(
            f"risk_model {path} does not exist", hint="Train one with `doorstep risk train`."
        )
    return TrainedRisk.load(path)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (defaults: environment and ``doorstep.toml``).

    The database must be migrated first (``doorstep db upgrade``).
    """
    settings = settings or Settings()
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plans.start_planning(app)
        sender = WebhookSender(app.state.sessions, settings)
        if settings.dispatch_webhooks:
            sender.start()
        app.state.monitor.start()
        yield
        await asyncio.to_thread(app.state.monitor.stop)
        await asyncio.to_thread(sender.stop)
        await plans.stop_planning(app)
        engine.dispose()

    app = FastAPIOffline(
        title="Doorstep",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = utc_now
    app.state.risk = _risk_model(settings)
    app.state.monitor = Monitor(app.state.sessions, settings, lambda: app.state.clock())
    problems.install(app)
    for module in (
        keys,
        fleet,
        orders,
        plans,
        events,
        track,
        webhooks,
        dispatch,
        kpis,
        audit,
        reconciliation,
        slots,
    ):
        app.include_router(module.router)
    install_web(app)
    _document_errors(app)
    app.add_middleware(Guard, state=app.state)
    return app
