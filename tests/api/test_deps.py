"""The shared request rules: enums for filters, bounded integers, no NUL characters."""

from __future__ import annotations

from doorstep.api.security import Role
from service_data import DEPOT

from .conftest import Service


def _order(ident: str, **extra: object) -> dict[str, object]:
    return {"id": ident, "lat": 60.17, "lon": 24.94, **extra}


def test_an_unknown_order_status_filter_is_a_422(service: Service) -> None:
    """GET /v1/orders?status=bogus names query.status; a real status filters."""
    key = service.key(Role.PLANNER)
    r = service.client.get("/v1/orders?status=bogus", headers=key)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "query.status"
    service.client.post("/v1/orders", json=_order("o1"), headers=key)
    assert [o["id"] for o in service.client.get("/v1/orders?status=created", headers=key).json()]
    assert service.client.get("/v1/orders?status=delivered", headers=key).json() == []


def test_a_huge_offset_is_a_422_and_the_next_request_works(service: Service) -> None:
    """offset=2**63 is refused naming query.offset, and the connection stays usable."""
    key = service.key(Role.PLANNER)
    r = service.client.get("/v1/orders?offset=9223372036854775808", headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.offset"
    assert service.client.get("/v1/orders", headers=key).status_code == 200


def test_a_nul_in_a_body_is_refused_naming_the_field(service: Service) -> None:
    """A NUL in any text of a JSON body is a 422 naming it, on every database; nothing written."""
    key = service.key(Role.PLANNER)
    r = service.client.post("/v1/depots", json=DEPOT | {"name": "a\x00b"}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "validation"
    assert r.json()["errors"][0]["field"] == "body.name"
    bulk = {"orders": [_order("o1"), _order("o2", notes="x\x00")]}
    r = service.client.post("/v1/orders/bulk", json=bulk, headers=key)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.orders[1].notes"]
    assert service.client.get("/v1/orders", headers=key).json() == []


def test_a_nul_in_a_query_or_path_is_refused_naming_it(service: Service) -> None:
    """A NUL in a query value or a path segment is a 422 naming it, not a database error."""
    key = service.key(Role.PLANNER)
    r = service.client.get("/v1/routes?day=2026-01-01%00", headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.day"
    r = service.client.get("/v1/orders/a%00b", headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.order_id"


def test_an_escaped_backslash_is_not_a_nul(service: Service) -> None:
    """An escaped backslash before u0000 is ordinary text, not a NUL, and is stored."""
    key = service.key(Role.PLANNER)
    r = service.client.post("/v1/depots", json=DEPOT | {"name": "\\u0000"}, headers=key)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "\\u0000"
