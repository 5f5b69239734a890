"""Webhook subscriptions over HTTP: create, read, deactivate, ping, delivery log, roles, 422s."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from docs_blocks import DOCS, examples, unmarked_blocks
from doorstep.api.routers.webhooks import DeliveryOut
from doorstep.api.security import Role
from doorstep.notify.outbox import enqueue
from doorstep.notify.sender import DEAD, PENDING, USER_AGENT, WebhookSender
from doorstep.notify.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
    verify,
)
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.tables import utcnow
from service_data import order

from .conftest import Service

HOOK = {"url": "https://shop.example/hooks/doorstep", "event_types": ["parcel.delivered"]}


def test_integration_key_creates_and_reads_a_subscription(service: Service) -> None:
    """201 with a generated secret shown once; list and get show the subscription without it."""
    c = service.client
    key = service.key(Role.INTEGRATION)
    body = {**HOOK, "event_types": ["parcel.delivered", "plan.published", "parcel.delivered"]}
    r = c.post("/v1/webhooks", json=body, headers=key)
    assert r.status_code == 201
    created = r.json()
    assert created["id"].startswith("wh_")
    assert created["url"] == HOOK["url"]
    assert created["event_types"] == ["parcel.delivered", "plan.published"]
    assert created["active"] is True
    assert len(created["secret"]) >= 32
    public = {k: v for k, v in created.items() if k != "secret"}
    assert c.get("/v1/webhooks", headers=key).json() == [public]
    assert c.get(f"/v1/webhooks/{created['id']}", headers=key).json() == public
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        assert db.get_one(t.WebhookSubscription, created["id"]).secret == created["secret"]


def test_a_given_secret_is_kept_and_star_means_every_event(service: Service) -> None:
    """A secret in the request is the one stored; "*" subscribes to all event types."""
    secret = "my-own-secret-0123456789"
    r = service.client.post(
        "/v1/webhooks",
        json={**HOOK, "event_types": ["*"], "secret": secret},
        headers=service.key(Role.INTEGRATION),
    )
    assert r.status_code == 201
    assert r.json()["secret"] == secret and r.json()["event_types"] == ["*"]


def test_only_admin_and_integration_keys_manage_webhooks(
    service: Service, admin: dict[str, str]
) -> None:
    """No key 401; planner, dispatcher and driver keys 403; admin and integration allowed."""
    c = service.client
    assert c.post("/v1/webhooks", json=HOOK).status_code == 401
    assert c.get("/v1/webhooks").status_code == 401
    for role in (Role.PLANNER, Role.DISPATCHER):
        key = service.key(role)
        r = c.post("/v1/webhooks", json=HOOK, headers=key)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert c.get("/v1/webhooks", headers=key).status_code == 403
    created = c.post("/v1/webhooks", json=HOOK, headers=admin)
    assert created.status_code == 201
    sub_id = created.json()["id"]
    integration = service.key(Role.INTEGRATION)
    own = c.post("/v1/webhooks", json=HOOK, headers=integration)
    assert own.status_code == 201
    assert c.get(f"/v1/webhooks/{own.json()['id']}", headers=integration).status_code == 200
    # An admin's subscription is not an integration key's to see.
    assert c.get(f"/v1/webhooks/{sub_id}", headers=integration).status_code == 404
    assert c.post(f"/v1/webhooks/{sub_id}/test", headers=admin).status_code == 202
    planner = service.key(Role.PLANNER)
    assert c.get(f"/v1/webhooks/{sub_id}/deliveries", headers=planner).status_code == 403
    assert c.delete(f"/v1/webhooks/{sub_id}", headers=planner).status_code == 403


def test_bad_urls_are_refused_naming_the_field(service: Service) -> None:
    """Non-http(s) schemes, missing hosts, bad ports and spaces give 422 invalid_url on body.url."""
    c = service.client
    key = service.key(Role.INTEGRATION)
    for url in [
        "ftp://shop.example/hook",
        "shop.example/hook",
        "javascript:alert(1)",
        "http://",
        "https://shop.example:99999/hook",
        "https://shop example/hook",
    ]:
        r = c.post("/v1/webhooks", json={**HOOK, "url": url}, headers=key)
        assert r.status_code == 422, url
        assert r.json()["code"] == "invalid_url", url
        assert r.json()["errors"][0]["field"] == "body.url", url
    assert c.get("/v1/webhooks", headers=key).json() == []


def test_bad_event_types_and_secrets_are_refused_naming_the_field(service: Service) -> None:
    """An unknown type is 422 unknown_event_type at its index; empty lists, bad secrets 422."""
    c = service.client
    key = service.key(Role.INTEGRATION)
    body = {**HOOK, "event_types": ["parcel.delivered", "parcel.teleported"]}
    r = c.post("/v1/webhooks", json=body, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "unknown_event_type"
    assert r.json()["errors"] == [
        {"field": "body.event_types[1]", "message": "unknown event type 'parcel.teleported'"}
    ]
    assert "parcel.delivered" in r.json()["detail"]
    r = c.post("/v1/webhooks", json={**HOOK, "event_types": []}, headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.event_types"
    for secret in ["short", "with a space 0123456789", "nul\x00byte-0123456789"]:
        r = c.post("/v1/webhooks", json={**HOOK, "secret": secret}, headers=key)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.secret", secret
    r = c.post("/v1/webhooks", json={**HOOK, "active": False}, headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.active"


def test_deactivating_stops_messages_and_gives_up_waiting_ones(service: Service) -> None:
    """DELETE deactivates: waiting messages are dead, new events skip it, ping is 409."""
    c = service.client
    key = service.key(Role.INTEGRATION)
    sub_id = c.post("/v1/webhooks", json=HOOK, headers=key).json()["id"]
    assert c.post("/v1/orders", json=order("O1"), headers=key).status_code == 201
    sessions = service.app.state.sessions  # type: ignore[attr-defined]
    with transaction(sessions) as db:  # messages about the key's own tenant's order
        assert enqueue(db, "parcel.delivered", {"parcel_id": "O1-1", "order_id": "O1"}) == 1

    r = c.delete(f"/v1/webhooks/{sub_id}", headers=key)
    assert r.status_code == 200 and r.json()["active"] is False

    assert c.get(f"/v1/webhooks/{sub_id}", headers=key).json()["active"] is False
    with transaction(sessions) as db:
        assert enqueue(db, "parcel.delivered", {"parcel_id": "O1-1", "order_id": "O1"}) == 0
        assert set(db.scalars(select(t.OutboxMessage.status))) == {DEAD}
    r = c.post(f"/v1/webhooks/{sub_id}/test", headers=key)
    assert r.status_code == 409 and r.json()["code"] == "subscription_inactive"
    for method, path in [
        ("DELETE", "/v1/webhooks/wh_nope"),
        ("GET", "/v1/webhooks/wh_nope"),
        ("GET", "/v1/webhooks/wh_nope/deliveries"),
        ("POST", "/v1/webhooks/wh_nope/test"),
    ]:
        r = c.request(method, path, headers=key)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    r = c.get("/v1/webhooks/wh%00nope", headers=key)  # a NUL: refused at the door on any database
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.subscription_id"


def test_ping_is_queued_for_one_subscription_and_its_attempts_are_logged(
    service: Service,
) -> None:
    """The test endpoint queues a ping for that subscription alone; the log is newest first."""
    c = service.client
    key = service.key(Role.INTEGRATION)
    created = c.post("/v1/webhooks", json=HOOK, headers=key).json()
    c.post("/v1/webhooks", json={**HOOK, "event_types": ["*"]}, headers=key)

    r = c.post(f"/v1/webhooks/{created['id']}/test", headers=key)

    assert r.status_code == 202
    message_id = r.json()["message_id"]
    assert r.json()["event_type"] == "ping"
    sessions = service.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as db:
        [queued] = db.scalars(select(t.OutboxMessage)).all()
    assert (queued.id, queued.subscription_id) == (message_id, created["id"])
    assert queued.status == PENDING
    assert queued.payload == {"type": "ping", "data": {"subscription_id": created["id"]}}

    requests: list[httpx.Request] = []

    def shop(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500 if len(requests) == 1 else 204)

    settings = service.app.state.settings  # type: ignore[attr-defined]
    with httpx.Client(transport=httpx.MockTransport(shop)) as client:
        sender = WebhookSender(sessions, settings, client)
        t0 = utcnow()
        assert sender.run_once(now=t0) == 1
        assert sender.run_once(now=t0 + timedelta(hours=1)) == 1

    assert str(requests[0].url) == HOOK["url"]
    assert verify(created["secret"], requests[1].content, requests[1].headers["doorstep-signature"])
    log = c.get(f"/v1/webhooks/{created['id']}/deliveries", headers=key).json()
    assert [(d["attempt"], d["status_code"]) for d in log] == [(2, 204), (1, 500)]
    assert [d["error"] for d in log] == [None, "HTTP 500"]
    assert {(d["message_id"], d["event_type"], d["message_status"]) for d in log} == {
        (message_id, "ping", "sent")
    }
    assert all(d["duration_ms"] >= 0 and d["at"] for d in log)
    limited = c.get(f"/v1/webhooks/{created['id']}/deliveries?limit=1", headers=key).json()
    assert limited == log[:1]


def test_private_urls_are_refused_unless_allowed(database_url: str) -> None:
    """With the default settings a subscription to 127.0.0.1 or localhost is a 422."""
    from fastapi.testclient import TestClient

    from doorstep.api.app import create_app
    from doorstep.api.security import Role, create_key
    from doorstep.settings import Settings
    from doorstep.store.database import transaction

    settings = Settings(database_url=database_url, router="straight", dispatch_webhooks=False)
    with TestClient(create_app(settings)) as client:
        with transaction(client.app.state.sessions) as db:  # type: ignore[attr-defined]
            secret, _ = create_key(db, Role.INTEGRATION)
        headers = {"Authorization": f"Bearer {secret}"}
        for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/h"):
            body = {"url": url, "event_types": ["*"]}
            r = client.post("/v1/webhooks", json=body, headers=headers)
            assert r.status_code == 422 and r.json()["code"] == "invalid_url", url
            assert "private address" in r.json()["errors"][0]["message"]
        public = {"url": "https://shop.example.com/hook", "event_types": ["*"]}
        assert client.post("/v1/webhooks", json=public, headers=headers).status_code == 201


def test_each_integration_key_sees_only_its_own_subscriptions(service: Service) -> None:
    """Shop B cannot list, read, test or deactivate shop A's subscription; an admin can."""
    c = service.client
    shop_a, shop_b = service.key(Role.INTEGRATION), service.key(Role.INTEGRATION)
    body = {"url": "https://a.example/hook", "event_types": ["*"]}
    sub = c.post("/v1/webhooks", json=body, headers=shop_a).json()["id"]
    assert [s["id"] for s in c.get("/v1/webhooks", headers=shop_a).json()] == [sub]
    assert c.get("/v1/webhooks", headers=shop_b).json() == []
    for method, path in (
        ("GET", f"/v1/webhooks/{sub}"),
        ("GET", f"/v1/webhooks/{sub}/deliveries"),
        ("POST", f"/v1/webhooks/{sub}/test"),
        ("DELETE", f"/v1/webhooks/{sub}"),
    ):
        assert c.request(method, path, headers=shop_b).status_code == 404, path
    admin = service.key(Role.ADMIN)
    assert [s["id"] for s in c.get("/v1/webhooks", headers=admin).json()] == [sub]
    assert c.get(f"/v1/webhooks/{sub}", headers=shop_a).json()["active"] is True


def test_numeric_forms_of_private_addresses_are_refused_at_creation(database_url: str) -> None:
    """Decimal, hex, short and octal forms of 127.0.0.1 are a 422 invalid_url, not a 201."""
    from fastapi.testclient import TestClient

    from doorstep.api.app import create_app
    from doorstep.api.security import create_key
    from doorstep.settings import Settings

    settings = Settings(database_url=database_url, router="straight", dispatch_webhooks=False)
    with TestClient(create_app(settings)) as client:
        with transaction(client.app.state.sessions) as db:  # type: ignore[attr-defined]
            secret, _ = create_key(db, Role.INTEGRATION)
        headers = {"Authorization": f"Bearer {secret}"}
        for host in ("2130706433", "0x7f000001", "127.1", "0177.0.0.1"):
            body = {"url": f"http://{host}:8080/hook", "event_types": ["*"]}
            r = client.post("/v1/webhooks", json=body, headers=headers)
            assert r.status_code == 422 and r.json()["code"] == "invalid_url", host
            assert r.json()["errors"][0]["field"] == "body.url"
            assert "127.0.0.1" in r.json()["errors"][0]["message"], host
        assert client.get("/v1/webhooks", headers=headers).json() == []


def test_the_examples_of_the_webhooks_documentation_run(service: Service) -> None:
    """docs/webhooks.md: the subscription, the parcel data and the log are what the API gives."""
    docs = examples("webhooks.md")
    assert unmarked_blocks("webhooks.md", langs=("json", "python", "http")) == 0
    c = service.client

    # Subscribing: the request as printed, and an answer of the printed shape.
    request = docs["create-request"]
    assert request.startswith("POST /v1/webhooks\n")
    shop = service.key(Role.INTEGRATION)
    r = c.post("/v1/webhooks", json=json.loads(request.split("\n\n", 1)[1]), headers=shop)
    assert r.status_code == 201, r.text
    created, printed = r.json(), json.loads(docs["create-answer"])
    assert set(created) == set(printed)
    assert {k: created[k] for k in ("url", "event_types", "active")} == {
        k: printed[k] for k in ("url", "event_types", "active")
    }
    assert re.fullmatch(r"wh_[0-9a-f]{16}", printed["id"]) and re.fullmatch(
        r"wh_[0-9a-f]{16}", created["id"]
    )

    # A parcel event's data: post the printed scan, read the message it queued.
    data = json.loads(docs["parcel-data"])
    assert c.post("/v1/orders/bulk", json={"orders": [order("A1001")]}, headers=shop).is_success
    dispatcher = service.key(Role.DISPATCHER)
    before = [
        {"event_id": f"s{h}", "parcel_id": "A1001-1", "kind": kind, "at": f"2026-11-24T0{h}:00Z"}
        for h, kind in ((7, "scanned_at_depot"), (8, "loaded"), (9, "out_for_delivery"))
    ]
    scan = {k: data[k] for k in ("event_id", "parcel_id", "kind", "at", "failure_reason", "proof")}
    answer = c.post("/v1/events", json={"events": [*before, scan]}, headers=dispatcher).json()
    assert answer["accepted"] == 4, answer
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        [message] = db.scalars(
            select(t.OutboxMessage).where(t.OutboxMessage.event_type == "parcel.delivered")
        )
    assert message.payload == {"type": "parcel.delivered", "data": data}

    # The request a receiver gets: the headers printed are the ones sent.
    head, body = docs["request"].split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    assert set(headers) == {
        "Content-Type",
        "User-Agent",
        EVENT_HEADER,
        DELIVERY_HEADER,
        SIGNATURE_HEADER,
    }
    assert headers["User-Agent"] == USER_AGENT
    assert body.startswith('{"type":"parcel.delivered","data":{"event_id":"scan-81723"')

    # The delivery log's entries have the printed fields.
    log = json.loads(docs["delivery-log"])
    assert all(set(entry) == set(DeliveryOut.model_fields) for entry in log)
    assert {entry["message_status"] for entry in log} <= {"pending", "sending", "sent", "dead"}


def test_the_flask_example_of_the_webhooks_documentation_runs() -> None:
    """The Flask view in docs/webhooks.md accepts a signed request once and refuses a forged one."""
    docs = examples("webhooks.md")
    verifier = (DOCS / "webhooks.md").read_text(encoding="utf-8")
    snippet = verifier.split("<!-- verify-snippet:", 1)[1].split("```python\n", 1)[1]
    snippet = snippet.split("```", 1)[0]

    class AbortedError(Exception):
        pass

    class Request:
        def __init__(self, body: bytes, headers: dict[str, str]) -> None:
            self.body, self.headers = body, headers

        def get_data(self) -> bytes:
            return self.body

        def get_json(self) -> Any:
            return json.loads(self.body)

    class App:
        def post(self, path: str) -> Any:
            return lambda view: view

    queued: list[str] = []

    def abort(status: int) -> None:
        raise AbortedError(status)

    namespace: dict[str, Any] = {
        "app": App(),
        "abort": abort,
        "SECRET": "shop-secret-0123456789",
        "already_seen": queued.__contains__,
        "queue_for_processing": lambda delivery, _data: queued.append(delivery),
    }
    exec(compile(snippet, "docs/webhooks.md", "exec"), namespace)
    exec(compile(docs["flask-view"], "docs/webhooks.md", "exec"), namespace)
    body = b'{"type":"ping","data":{"subscription_id":"wh_1"}}'
    signed = {
        "Doorstep-Signature": sign(namespace["SECRET"], body, int(time.time())),
        "Doorstep-Delivery": "7",
    }
    namespace["request"] = Request(body, signed)
    assert namespace["doorstep_hook"]() == ("", 202)
    assert namespace["doorstep_hook"]() == ("", 200)  # the same delivery again
    assert queued == ["7"]
    forged = {**signed, "Doorstep-Signature": sign("another-secret-000000", body, int(time.time()))}
    namespace["request"] = Request(body, forged)
    with pytest.raises(AbortedError):
        namespace["doorstep_hook"]()
