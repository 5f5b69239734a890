"""customer_id over HTTP: written with an order, read back, uploaded, and in the plan's visits."""

from __future__ import annotations

from doorstep.api.security import Role
from service_data import order

from .conftest import Service
from .test_plans import add_fleet, plan_now


def test_an_orders_customer_id_is_stored_read_and_planned(service: Service) -> None:
    """POST keeps it, GET returns it, none gives null, and the plan's visits carry it."""
    planner = service.key(Role.PLANNER)
    c = service.client
    made = c.post("/v1/orders", json=order("K1", 1, customer_id="cust-42"), headers=planner)
    assert made.status_code == 201, made.text
    assert made.json()["customer_id"] == "cust-42"
    assert c.post("/v1/orders", json=order("K2", 2), headers=planner).json()["customer_id"] is None
    assert c.get("/v1/orders/K1", headers=planner).json()["customer_id"] == "cust-42"
    add_fleet(service, planner)
    plan = plan_now(service, planner)
    (route,) = plan["routes"]
    visits = {v["order_id"]: v["customer_id"] for v in route["visits"]}
    assert visits == {"K1": "cust-42", "K2": None}


def test_a_bad_customer_id_is_refused_with_the_field_named(service: Service) -> None:
    """Empty or over 100 characters: 422 naming body.customer_id."""
    key = service.key(Role.INTEGRATION)
    for bad in ("", "x" * 101):
        r = service.client.post("/v1/orders", json=order("K3", customer_id=bad), headers=key)
        assert r.status_code == 422, r.text
        assert "customer_id" in r.text


def test_an_uploaded_manifest_keeps_its_customer_column(service: Service) -> None:
    """The upload goes through the gate, which reads the client_id synonym."""
    planner = service.key(Role.PLANNER)
    manifest = (
        b"order_id,address,zip,city,lat,lon,client_id\n"
        b"U-1,Simonkatu 6,00100,Helsinki,60.1690,24.9372,C-77\n"
        b"U-2,Simonkatu 8,00100,Helsinki,60.1691,24.9373,\n"
    )
    upload = service.client.post(
        "/v1/orders/upload", files={"file": ("day.csv", manifest)}, headers=planner
    )
    assert upload.status_code == 200, upload.text
    got = {k: service.client.get(f"/v1/orders/{k}", headers=planner).json() for k in ("U-1", "U-2")}
    assert got["U-1"]["customer_id"] == "C-77" and got["U-2"]["customer_id"] is None
