"""The door before the routes: a key is checked, and a body's size capped, before it is read.

FastAPI reads (and for a form, spools to disk) a request's whole body before
any dependency runs, so a key checked by a dependency is checked too late: an
anonymous 200 MB upload would be read in full to be answered 401. This pure
ASGI middleware runs first:

* every path under ``/v1/`` but tracking (``/v1/track/...``) needs a key: one
  missing, unknown or revoked is answered 401 at once, the body unread. The
  principal found is kept in the request's state, and the route's security
  dependency reuses it (one key lookup a request);
* a ``Content-Length`` above the endpoint's cap is answered 413 ``too_large``
  at once; a body sent without one (chunked) is cut off, with the same 413, as
  soon as it passes the cap.

The caps are settings (``max_events_body_bytes``, ``max_bulk_body_bytes``,
``max_upload_body_bytes``, ``max_body_bytes`` for the rest).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import HTTPException
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doorstep.api.problems import RETRY_AFTER_S, problem_response
from doorstep.api.security import UNAUTHENTICATED, UNKNOWN_KEY, lookup, secret_of
from doorstep.settings import Settings

PUBLIC_PREFIXES = ("/v1/track/",)
"""Paths under ``/v1/`` that need no key: the token in the path is the credential."""


def body_cap(settings: Settings, method: str, path: str) -> int:
    """The largest body, in bytes, a request to ``method path`` may send.

    Parameters
    ----------
    settings
        The service's settings (the caps).
    method, path
        The request's method and path.
    """
    if method == "POST":
        if path == "/v1/events":
            return settings.max_events_body_bytes
        if path == "/v1/orders/bulk":
            return settings.max_bulk_body_bytes
        if path == "/v1/orders/upload":
            return settings.max_upload_body_bytes
    return settings.max_body_bytes


def needs_key(path: str) -> bool:
    """Whether a request to ``path`` must carry an API key."""
    return path.startswith("/v1/") and not path.startswith(PUBLIC_PREFIXES)


class BodyTooLarge(HTTPException):
    """A body past its cap, found while reading it (answered 413 ``too_large``)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, _too_large(cap))


def _too_large(cap: int) -> str:
    return f"The request body is over {cap:,} bytes, this endpoint's limit; send less at a time."


class Guard:
    """The ASGI middleware described in this module.

    Parameters
    ----------
    app
        The application it guards.
    state
        The application's state (``settings``, ``sessions``), for the key lookup.
    """

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key and the declared size, then pass the request on with a capped body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings: Settings = self.state.settings
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if needs_key(path):
            secret = secret_of(headers.get("authorization"), headers.get("x-api-key"))
            if secret is None:
                await problem_response(401, "unauthenticated", UNAUTHENTICATED)(
                    scope, receive, send
                )
                return
            try:
                principal = await anyio.to_thread.run_sync(lookup, self.state, secret)
            except PoolTimeoutError:
                busy = problem_response(
                    503,
                    "database_busy",
                    "The database is busy: no connection became free in time. Try again shortly.",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
                await busy(scope, receive, send)
                return
            if principal is None:
                await problem_response(401, "unauthenticated", UNKNOWN_KEY)(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        cap = body_cap(settings, scope["method"], path)
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            await problem_response(413, "too_large", _too_large(cap))(scope, receive, send)
            return
        await self.app(scope, _capped(receive, cap), send)


def _capped(receive: Receive, cap: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once the body passes ``cap`` bytes."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise BodyTooLarge(cap)
        return message

    return capped
