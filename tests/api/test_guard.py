"""The guard middleware: a key is checked and a body capped before the body is read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from doorstep.api.app import create_app
from doorstep.api.security import Role, create_key
from doorstep.settings import Settings
from doorstep.store.database import transaction

CHUNK = 1024 * 1024


class Sent:
    """What an ASGI app answered, and how much of the request body it pulled."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.read = 0

    def json(self) -> Any:
        """The answer's body as JSON."""
        return json.loads(self.body)


def _call(
    app: FastAPI, path: str, headers: dict[str, str], chunks: int, length: int | None = None
) -> Sent:
    """POST ``chunks`` MB to ``path`` straight through ASGI, counting the bytes pulled."""
    sent = Sent()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if length is not None:
        raw.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *raw],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    left = chunks

    async def receive() -> dict[str, Any]:
        nonlocal left
        if left == 0:
            return {"type": "http.request", "body": b"", "more_body": False}
        left -= 1
        sent.read += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": left > 0}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return sent


@pytest.fixture
def app(database_url: str) -> Iterator[FastAPI]:
    """The app on a migrated database (its lifespan is not needed for these requests)."""
    made = create_app(Settings(database_url=database_url, dispatch_webhooks=False))
    yield made
    made.state.engine.dispose()


def _key(app: FastAPI, role: Role = Role.DISPATCHER) -> dict[str, str]:
    with transaction(app.state.sessions) as db:
        secret, _ = create_key(db, role)
    return {"Authorization": f"Bearer {secret}"}


def test_an_anonymous_huge_post_is_401_with_its_body_unread(app: FastAPI) -> None:
    """200 MB posted without a key (chunked, no length) is answered 401 before any is read."""
    sent = _call(app, "/v1/events", {}, chunks=200)
    assert sent.status == 401 and sent.json()["code"] == "unauthenticated"
    assert sent.headers["content-type"] == "application/problem+json"
    assert sent.read == 0


def test_an_unknown_key_is_401_with_the_body_unread(app: FastAPI) -> None:
    """A made-up key is looked up, refused 401, and the 200 MB body left unread."""
    sent = _call(app, "/v1/events", {"X-API-Key": "ds_made_up"}, chunks=200, length=200 * CHUNK)
    assert sent.status == 401 and sent.json()["detail"] == "The API key is unknown or revoked."
    assert sent.read == 0


def test_a_declared_oversize_body_is_413_unread(app: FastAPI) -> None:
    """With a valid key, a Content-Length over the events cap (5 MB) is 413 at once."""
    sent = _call(app, "/v1/events", _key(app), chunks=6, length=6 * CHUNK)
    assert sent.status == 413 and sent.json()["code"] == "too_large"
    assert "5,242,880 bytes" in sent.json()["detail"]
    assert sent.read == 0


def test_a_chunked_body_is_cut_off_past_the_cap(app: FastAPI) -> None:
    """A body with no Content-Length stops being read as soon as it passes the cap (413)."""
    sent = _call(app, "/v1/events", _key(app), chunks=200)
    assert sent.status == 413 and sent.json()["code"] == "too_large"
    assert sent.read == 6 * CHUNK


def test_caps_come_from_the_settings(database_url: str) -> None:
    """The default cap (max_body_bytes) applies to the other endpoints, as configured."""
    settings = Settings(database_url=database_url, dispatch_webhooks=False, max_body_bytes=4096)
    app = create_app(settings)
    try:
        planner = _key(app, Role.PLANNER)
        sent = _call(app, "/v1/depots", planner, chunks=1, length=CHUNK)
        assert sent.status == 413 and "4,096 bytes" in sent.json()["detail"]
        sent = _call(app, "/v1/orders/bulk", planner, chunks=2, length=2 * CHUNK)
        assert sent.status == 422  # under the bulk cap (20 MB): read, then refused as JSON
        assert sent.read == 2 * CHUNK
    finally:
        app.state.engine.dispose()


def test_tracking_needs_no_key(app: FastAPI) -> None:
    """The public tracking path is not guarded by a key."""
    sent = _call(app, "/v1/track/nope", {}, chunks=0)
    assert sent.status in (404, 405)
    assert sent.json()["code"] != "unauthenticated"
