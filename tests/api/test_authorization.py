"""The authorization matrix: every operation of the OpenAPI x every role, no key and a wrong key.

The operations come from the service's own OpenAPI document, so a new endpoint
fails this test until its row below says who may call it. For each operation:
no key and a key that does not exist get 401; a role outside the row gets 403;
a role in the row (and admin, always) gets past authorization (any answer but
401 and 403: the empty request may well be a 404 or a 422).
"""

from __future__ import annotations

from typing import Any

import pytest

from doorstep.api.security import Role

from .conftest import Service

A, P, D, DR, IN = Role.ADMIN, Role.PLANNER, Role.DISPATCHER, Role.DRIVER, Role.INTEGRATION

PUBLIC = frozenset({("GET", "/v1/track/{token}"), ("POST", "/v1/track/{token}/requests")})
"""Operations anyone may call: the unguessable token is the credential."""

ALLOWED: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/v1/keys"): frozenset(),
    ("DELETE", "/v1/keys/{key_id}"): frozenset(),
    ("POST", "/v1/depots"): frozenset({P}),
    ("GET", "/v1/depots"): frozenset({P, D}),
    ("GET", "/v1/depots/{depot_id}"): frozenset({P, D}),
    ("POST", "/v1/vehicles"): frozenset({P}),
    ("GET", "/v1/vehicles"): frozenset({P, D}),
    ("GET", "/v1/vehicles/{vehicle_id}"): frozenset({P, D}),
    ("POST", "/v1/drivers"): frozenset({P}),
    ("GET", "/v1/drivers"): frozenset({P, D}),
    ("GET", "/v1/drivers/{driver_id}"): frozenset({P, D}),
    ("POST", "/v1/orders"): frozenset({P, IN}),
    ("POST", "/v1/orders/bulk"): frozenset({P, IN}),
    ("POST", "/v1/orders/upload"): frozenset({P, IN}),
    ("GET", "/v1/orders"): frozenset({P, D, IN}),
    ("GET", "/v1/orders/{order_id}"): frozenset({P, D, IN}),
    ("POST", "/v1/plans"): frozenset({P}),
    ("GET", "/v1/plans"): frozenset({P, D}),
    ("GET", "/v1/plans/{plan_id}"): frozenset({P, D}),
    ("POST", "/v1/plans/{plan_id}/publish"): frozenset({P}),
    ("GET", "/v1/routes"): frozenset({P, D, DR}),
    ("GET", "/v1/routes/{route_id}"): frozenset({P, D, DR}),
    ("POST", "/v1/events"): frozenset({D, DR}),
    ("GET", "/v1/parcels/{parcel_id}/events"): frozenset({P, D, IN}),
    ("POST", "/v1/webhooks"): frozenset({IN}),
    ("GET", "/v1/webhooks"): frozenset({IN}),
    ("GET", "/v1/webhooks/{subscription_id}"): frozenset({IN}),
    ("DELETE", "/v1/webhooks/{subscription_id}"): frozenset({IN}),
    ("GET", "/v1/webhooks/{subscription_id}/deliveries"): frozenset({IN}),
    ("POST", "/v1/webhooks/{subscription_id}/test"): frozenset({IN}),
    ("GET", "/v1/orders/{order_id}/attempts"): frozenset({P, D, IN}),
    ("POST", "/v1/orders/{order_id}/requests"): frozenset({P, IN}),
    ("POST", "/v1/routes/{route_id}/incidents"): frozenset({D, DR}),
    ("GET", "/v1/exceptions"): frozenset({D}),
    ("GET", "/v1/exceptions/{exception_id}"): frozenset({D}),
    ("POST", "/v1/exceptions/{exception_id}/acknowledge"): frozenset({D}),
    ("GET", "/v1/exceptions/{exception_id}/proposals"): frozenset({D}),
    ("POST", "/v1/proposals/{proposal_id}/accept"): frozenset({D}),
    ("POST", "/v1/proposals/{proposal_id}/reject"): frozenset({D}),
    ("GET", "/v1/decisions"): frozenset({D}),
    ("POST", "/v1/slots"): frozenset({P, D, IN}),
    ("GET", "/v1/routes/{route_id}/audit"): frozenset({P, D, DR}),
    ("GET", "/v1/kpis"): frozenset({P, D, DR}),
    ("GET", "/v1/reconciliation"): frozenset({P, D}),
}
"""Who may call each operation besides admin (who may call every one)."""


def _operations(service: Service) -> list[tuple[str, str]]:
    spec: dict[str, Any] = service.client.get("/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in methods
    )


def _call(service: Service, method: str, path: str, headers: dict[str, str]) -> int:
    url = path.replace("{", "x-").replace("}", "")  # every path parameter filled with a valid id
    response = service.client.request(method, url, headers=headers, json={})
    return response.status_code


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_operation_has_a_row_in_the_matrix(service: Service, database_url: str) -> None:
    """The OpenAPI lists exactly the operations the matrix (and the public list) names."""
    assert set(_operations(service)) == set(ALLOWED) | PUBLIC


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_key_and_a_wrong_key_get_401_everywhere_but_public(
    service: Service, database_url: str
) -> None:
    """Without a key, or with one that does not exist, every private operation answers 401."""
    wrong = {"Authorization": "Bearer dsk_not_a_key_at_all_0123456789"}
    for method, path in _operations(service):
        if (method, path) in PUBLIC:
            assert _call(service, method, path, {}) not in (401, 403), (method, path)
            continue
        assert _call(service, method, path, {}) == 401, (method, path, "no key")
        assert _call(service, method, path, wrong) == 401, (method, path, "wrong key")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_role_is_admitted_exactly_where_the_matrix_says(
    service: Service, database_url: str
) -> None:
    """Every role x every operation: 403 outside its row, past authorization inside it."""
    planner = service.key(Role.PLANNER)
    made = service.client.post("/v1/drivers", json={"id": "drv-1"}, headers=planner)
    assert made.status_code == 201, made.text
    keys = {role: service.key(role, "drv-1" if role is DR else None) for role in Role}
    wrong: list[tuple[str, str, str, int]] = []
    for method, path in _operations(service):
        if (method, path) in PUBLIC:
            continue
        for role, headers in keys.items():
            status = _call(service, method, path, headers)
            admitted = role is A or role in ALLOWED[(method, path)]
            if admitted == (status in (401, 403)):
                wrong.append((method, path, role.value, status))
    assert not wrong, wrong


TENANT_SCOPED = {
    "order_id": "SHOPA-1",
    "parcel_id": "SHOPA-1-1",
    "subscription_id": None,  # filled with shop A's subscription
}
"""Path parameters naming a tenant's resource, and shop A's resource of each kind."""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_another_tenants_key_gets_404_on_every_resource_of_a_tenant(
    service: Service, database_url: str
) -> None:
    """Every operation an integration key may call on A's order, parcel or webhook: 404 for B."""
    c = service.client
    shop_a, shop_b = service.key(IN), service.key(IN)
    assert c.post("/v1/orders", json=_order("SHOPA-1"), headers=shop_a).status_code == 201
    hook = {"url": "https://shop.example/hook", "event_types": ["*"]}
    sub_id = c.post("/v1/webhooks", json=hook, headers=shop_a).json()["id"]
    values = {**TENANT_SCOPED, "subscription_id": sub_id}
    checked = []
    for method, path in _operations(service):
        if IN not in ALLOWED.get((method, path), frozenset()) or "{" not in path:
            continue
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        assert set(names) <= set(values), f"{method} {path}: add its parameter to TENANT_SCOPED"
        url = path.format(**values)
        for key, expected in ((shop_b, 404), (shop_a, None)):
            status = c.request(method, url, headers=key).status_code
            if expected is None:
                assert status != 404, (method, path, "own resource")
            else:
                assert status == expected, (method, path, "another tenant's")
        checked.append((method, path))
    assert ("GET", "/v1/orders/{order_id}") in checked
    assert ("GET", "/v1/parcels/{parcel_id}/events") in checked
    assert ("DELETE", "/v1/webhooks/{subscription_id}") in checked
    # B's listings hold nothing of A's.
    assert c.get("/v1/orders", headers=shop_b).json() == []
    assert c.get("/v1/webhooks", headers=shop_b).json() == []


def _order(order_id: str) -> dict[str, Any]:
    """A small valid order near Helsinki."""
    return {"id": order_id, "lat": 60.17, "lon": 24.94}
