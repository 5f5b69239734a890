"""Depots, vehicles, drivers and keys over HTTP: roles, conflicts, problem documents."""

from __future__ import annotations

from doorstep.api.security import Role
from service_data import DEPOT, VEHICLE

from .conftest import Service

H = 3600


def test_planner_creates_a_fleet_and_a_dispatcher_reads_it(service: Service) -> None:
    """A planner's key adds depot, vehicle and driver; a dispatcher lists them."""
    planner = service.key(Role.PLANNER)
    c = service.client
    assert c.post("/v1/depots", json=DEPOT, headers=planner).status_code == 201
    assert c.post("/v1/vehicles", json=VEHICLE, headers=planner).status_code == 201
    driver = {"id": "d1", "name": "Aino", "vehicle_id": VEHICLE["id"]}
    assert c.post("/v1/drivers", json=driver, headers=planner).status_code == 201
    reader = service.key(Role.DISPATCHER)
    vehicles = c.get("/v1/vehicles", headers=reader).json()
    assert [v["id"] for v in vehicles] == [VEHICLE["id"]]
    assert vehicles[0]["capacity_parcels"] == VEHICLE["capacity_parcels"]
    assert c.get("/v1/drivers/d1", headers=reader).json()["name"] == "Aino"


def test_errors_are_problem_documents_with_codes(service: Service) -> None:
    """Missing key 401, wrong role 403, duplicate 409, bad field 422 naming it, unknown 404."""
    c = service.client
    planner = service.key(Role.PLANNER)
    r = c.post("/v1/depots", json=DEPOT)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "unauthenticated"
    r = c.post("/v1/depots", json=DEPOT, headers={"Authorization": "Bearer ds_wrong"})
    assert r.status_code == 401
    r = c.post("/v1/depots", json=DEPOT, headers=service.key(Role.INTEGRATION))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert c.post("/v1/depots", json=DEPOT, headers=planner).status_code == 201
    r = c.post("/v1/depots", json=DEPOT, headers=planner)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = c.post("/v1/depots", json={**DEPOT, "id": "x", "lat": 123}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "validation"
    assert r.json()["errors"][0]["field"] == "body.lat"
    r = c.post("/v1/vehicles", json={**VEHICLE, "depot_id": "nowhere"}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "unknown_depot"
    r = c.get("/v1/vehicles/nope", headers=planner)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_admin_mints_and_revokes_keys(service: Service, admin: dict[str, str]) -> None:
    """A new key works at once; revoked, it is refused with 401."""
    c = service.client
    r = c.post("/v1/keys", json={"role": "planner", "name": "office"}, headers=admin)
    assert r.status_code == 201
    body = r.json()
    key = {"Authorization": f"Bearer {body['key']}"}
    assert c.get("/v1/depots", headers=key).status_code == 200
    assert c.delete(f"/v1/keys/{body['id']}", headers=admin).status_code == 200
    r = c.get("/v1/depots", headers=key)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = c.post("/v1/keys", json={"role": "driver"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "driver_key_needs_driver"
    r = c.post("/v1/keys", json={"role": "planner"}, headers=service.key(Role.PLANNER))
    assert r.status_code == 403


def test_a_value_the_database_cannot_store_is_a_422(service: Service) -> None:
    """A NUL character in an id (PostgreSQL refuses it in text) is the caller's error, not a 500."""
    r = service.client.get("/v1/depots/d%00x", headers=service.key(Role.PLANNER))
    assert r.status_code == 422
    assert r.json()["code"] == "validation"
    assert r.json()["errors"][0]["field"] == "path.depot_id"


def test_the_configured_admin_key_is_accepted(database_url: str) -> None:
    """A key from the settings (the deployment's secret) works before any key exists."""
    from fastapi.testclient import TestClient

    from doorstep.api.app import create_app
    from doorstep.settings import Settings

    secret = "k" * 40
    settings = Settings(
        database_url=database_url, router="straight", dispatch_webhooks=False, admin_key=secret
    )
    with TestClient(create_app(settings)) as client:
        ok = client.post("/v1/keys", json={"role": "planner"}, headers={"X-API-Key": secret})
        assert ok.status_code == 201
        wrong = client.get("/v1/depots", headers={"X-API-Key": "k" * 39 + "j"})
        assert wrong.status_code == 401


def _vehicle_problem(service: Service, **fields: object) -> tuple[int, str, str]:
    planner = service.key(Role.PLANNER)
    c = service.client
    c.post("/v1/depots", json=DEPOT, headers=planner)
    r = c.post("/v1/vehicles", json={**VEHICLE, **fields}, headers=planner)
    body = r.json()
    errors = body.get("errors") or [{"field": ""}]
    return r.status_code, body.get("code", ""), errors[0]["field"]


def test_a_break_the_domain_refuses_is_a_422_naming_its_field(service: Service) -> None:
    """Breaks outside the shift, longer than their window or inverted are refused, by field."""
    after_shift = {"break_start_s": 18 * H, "break_end_s": 19 * H, "break_s": 1800}
    assert _vehicle_problem(service, **after_shift) == (422, "break_invalid", "body.break_start_s")
    too_long = {"break_start_s": 12 * H, "break_end_s": 12 * H + 600, "break_s": 1800}
    assert _vehicle_problem(service, **too_long) == (422, "break_invalid", "body.break_s")
    inverted = {"break_start_s": 13 * H, "break_end_s": 12 * H, "break_s": 600}
    assert _vehicle_problem(service, **inverted) == (422, "break_invalid", "body.break_end_s")
    half = {"break_start_s": 12 * H}
    assert _vehicle_problem(service, **half) == (422, "break_incomplete", "body.break_s")
    empty_shift = {"shift_start_s": 9 * H, "shift_end_s": 9 * H}
    assert _vehicle_problem(service, **empty_shift) == (422, "shift_invalid", "body.shift_end_s")
    assert service.client.get("/v1/vehicles", headers=service.key(Role.PLANNER)).json() == []


def test_an_accepted_break_is_one_the_planner_can_use(service: Service) -> None:
    """A break window reaching past the shift end is stored when the break fits on duty."""
    fits = {"break_start_s": 16 * H, "break_end_s": 18 * H, "break_s": 1800}
    status, _, _ = _vehicle_problem(service, **fits)
    assert status == 201


def test_ids_follow_the_one_rule(service: Service) -> None:
    """A vehicle id with a slash is a 422 naming body.id, like every other id."""
    status, code, field = _vehicle_problem(service, id="van/1")
    assert (status, code, field) == (422, "validation", "body.id")
    driver = {"id": "d 1", "name": "Aino"}
    r = service.client.post("/v1/drivers", json=driver, headers=service.key(Role.PLANNER))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.id"
