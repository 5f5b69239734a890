"""Orders over HTTP: one, in bulk (all or nothing), and manifest uploads through the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from doorstep.api.security import Role
from doorstep.domain import TimeWindow
from doorstep.errors import DomainError
from service_data import order

from .conftest import Service

SAMPLE = Path(__file__).parents[2] / "examples" / "helsinki" / "orders.csv"


def test_one_order_gets_parcels_and_a_tracking_link(service: Service) -> None:
    """Three parcels get ids <order>-1..3 unless named; the tracking link is unguessable."""
    key = service.key(Role.INTEGRATION)
    c = service.client
    r = c.post("/v1/orders", json=order("A1", parcels=3), headers=key)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["parcel_ids"] == ["A1-1", "A1-2", "A1-3"]
    assert body["status"] == "created"
    token = body["tracking_url"].rsplit("/", 1)[1]
    assert len(token) >= 22 and token == body["tracking_token"]
    r = c.post("/v1/orders", json=order("A2", parcels=2, parcel_ids=["X9", "X8"]), headers=key)
    assert r.json()["parcel_ids"] == ["X9", "X8"]
    got = c.get("/v1/orders/A2", headers=key).json()
    assert {p["id"]: p["state"] for p in got["parcels"]} == {"X9": "created", "X8": "created"}


def test_bad_orders_are_refused_with_the_field_named(service: Service) -> None:
    """Impossible windows, wrong parcel ids and duplicate ids: 4xx, nothing written."""
    key = service.key(Role.PLANNER)
    c = service.client
    r = c.post("/v1/orders", json=order("B1", windows=[[3600, 1800]]), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "order_invalid"
    r = c.post("/v1/orders", json=order("B1", parcels=2, parcel_ids=["only-one"]), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "validation"
    r = c.post("/v1/orders", json=order("B1", lat=95), headers=key)
    assert r.json()["errors"][0]["field"] == "body.lat"
    assert c.post("/v1/orders", json=order("B1"), headers=key).status_code == 201
    r = c.post("/v1/orders", json=order("B1"), headers=key)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert c.get("/v1/orders", headers=key).json()[0]["id"] == "B1"


def test_bulk_is_all_or_nothing(service: Service) -> None:
    """One bad order in a bulk request writes none of them; a clean batch writes all."""
    key = service.key(Role.INTEGRATION)
    c = service.client
    batch = [order(f"C{k}", k) for k in range(5)]
    bad = [*batch, order("C9", windows=[[7200, 3600]])]
    r = c.post("/v1/orders/bulk", json={"orders": bad}, headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.orders[5].windows[0]"
    assert c.get("/v1/orders", headers=key).json() == []
    duplicate = [*batch, order("C0")]
    assert c.post("/v1/orders/bulk", json={"orders": duplicate}, headers=key).status_code == 409
    r = c.post("/v1/orders/bulk", json={"orders": batch}, headers=key)
    assert r.status_code == 201 and r.json()["created"] == 5
    assert len(c.get("/v1/orders", headers=key).json()) == 5


def test_upload_goes_through_the_gate(service: Service) -> None:
    """The Helsinki sample: clean rows are imported, rows with errors listed and not imported."""
    key = service.key(Role.PLANNER)
    c = service.client
    with SAMPLE.open("rb") as handle:
        r = c.post("/v1/orders/upload", files={"file": ("orders.csv", handle)}, headers=key)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["rejected"] > 0 and report["accepted"] == len(report["imported"])
    assert report["accepted"] + report["rejected"] == report["rows"]
    errors = {f["row"] for f in report["findings"] if f["severity"] == "error"}
    assert len(errors) == report["rejected"]
    stored = c.get("/v1/orders?limit=1000", headers=key).json()
    assert len(stored) == report["accepted"]
    with SAMPLE.open("rb") as handle:
        again = c.post("/v1/orders/upload", files={"file": ("orders.csv", handle)}, headers=key)
    assert again.json()["accepted"] == 0
    assert {f["code"] for f in again.json()["findings"]} >= {"order_id_taken"}
    r = c.post("/v1/orders/upload", files={"file": ("orders.pdf", b"%PDF")}, headers=key)
    assert r.status_code == 415 and r.json()["code"] == "unsupported_format"
    r = c.post("/v1/orders/upload", files={"file": ("orders.csv", b"")}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "empty_input"


def test_an_order_id_with_a_slash_is_refused(service: Service) -> None:
    """Ids go in URL paths, so 'A/1' is a 422 naming body.id (it could never be planned)."""
    key = service.key(Role.INTEGRATION)
    r = service.client.post("/v1/orders", json=order("A/1"), headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.id"


def test_windows_get_the_domains_answer(service: Service) -> None:
    """A window ending as it starts is accepted, as the domain does; inverted or overlapping not."""
    key = service.key(Role.PLANNER)
    c = service.client
    assert TimeWindow(3600, 3600).duration == 0
    r = c.post("/v1/orders", json=order("W1", windows=[[3600, 3600]]), headers=key)
    assert r.status_code == 201, r.text
    with pytest.raises(DomainError):
        TimeWindow(3600, 1800)
    r = c.post("/v1/orders", json=order("W2", windows=[[0, 60], [3600, 1800]]), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "order_invalid"
    assert r.json()["errors"][0]["field"] == "body.windows[1]"
    r = c.post("/v1/orders", json=order("W3", windows=[[7200, 9000], [3600, 7200]]), headers=key)
    assert r.json()["errors"][0]["field"] == "body.windows"


def test_parcel_ids_of_a_long_order_id_fit_the_parcel_rule(service: Service) -> None:
    """A 100-character order id with many parcels gets parcel ids events can name."""
    key = service.key(Role.PLANNER)
    long_id = "L" * 100
    r = service.client.post("/v1/orders", json=order(long_id, parcels=12), headers=key)
    assert r.status_code == 201 and r.json()["parcel_ids"][-1] == f"{long_id}-12"
    r = service.client.post(
        "/v1/orders", json=order("P1", parcels=1, parcel_ids=["box/1"]), headers=key
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.parcel_ids[0]"


def _post_fleet_file(service: Service, path: Path, headers: dict[str, str]) -> None:
    """Create the depots and vehicles of a fleet file through the API."""
    from doorstep.gate import validate_files

    fleet = validate_files(SAMPLE, path).fleet
    assert fleet is not None
    c = service.client
    for d in fleet.depots:
        body = {"id": d.id, "lat": d.location.lat, "lon": d.location.lon}
        assert c.post("/v1/depots", json=body, headers=headers).status_code == 201
    for v in fleet.vehicles:
        body = {
            "id": v.id,
            "depot_id": v.depot_id,
            "profile": v.profile.value,
            "capacity_parcels": v.capacity.parcels,
            "capacity_g": v.capacity.weight_g,
            "capacity_ml": v.capacity.volume_ml,
            "shift_start_s": v.shift.start,
            "shift_end_s": v.shift.end,
            "max_duration_s": v.max_duration_s,
            "cost_fixed": v.costs.fixed,
            "cost_per_km": v.costs.per_km,
            "cost_per_hour": v.costs.per_hour,
            "skills": sorted(v.skills),
        }
        if v.break_ is not None:
            body |= {
                "break_start_s": v.break_.window.start,
                "break_end_s": v.break_.window.end,
                "break_s": v.break_.duration_s,
            }
        r = c.post("/v1/vehicles", json=body, headers=headers)
        assert r.status_code == 201, r.text


def test_upload_checks_the_stored_fleet_as_the_cli_does(service: Service) -> None:
    """With the sample fleet stored, an upload finds what `doorstep validate --fleet` finds."""
    from typer.testing import CliRunner

    from doorstep.cli import app as cli_app

    fleet_file = SAMPLE.with_name("fleet.csv")
    key = service.key(Role.PLANNER)
    _post_fleet_file(service, fleet_file, key)
    with SAMPLE.open("rb") as handle:
        r = service.client.post(
            "/v1/orders/upload", files={"file": ("orders.csv", handle)}, headers=key
        )
    assert r.status_code == 200, r.text
    served = r.json()
    result = CliRunner().invoke(
        cli_app, ["validate", str(SAMPLE), "--fleet", str(fleet_file), "--format", "json"]
    )
    cli = json.loads(result.stdout)
    assert served["fleet"] is not None
    assert (served["accepted"], served["rejected"]) == (cli["accepted"], cli["rejected"])

    def codes(report: dict[str, Any]) -> list[tuple[int | None, str]]:
        return sorted(
            (f["row"] or 0, f["code"]) for f in report["findings"] if f["source"] == "orders"
        )

    assert codes(served) == codes(cli)


def test_a_paired_pickup_must_name_a_pickup(service: Service) -> None:
    """A paired_pickup naming no order, or not a pickup: 422 naming the field, nothing written."""
    key = service.key(Role.PLANNER)
    c = service.client
    r = c.post("/v1/orders", json=order("D1", paired_pickup="NOPE"), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "unknown_reference"
    assert r.json()["errors"][0]["field"] == "body.paired_pickup"
    pair = [order("P1", kind="pickup"), order("D1", 1, paired_pickup="P1")]
    bad = [*pair, order("D2", 2, paired_pickup="D1"), order("D3", 3, paired_pickup="MISSING")]
    r = c.post("/v1/orders/bulk", json={"orders": bad}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "unknown_reference"
    assert [e["field"] for e in r.json()["errors"]] == ["body.orders[3].paired_pickup"]
    r = c.post("/v1/orders/bulk", json={"orders": bad[:3]}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert [e["field"] for e in r.json()["errors"]] == ["body.orders[2].paired_pickup"]
    assert c.get("/v1/orders", headers=key).json() == []
    r = c.post("/v1/orders/bulk", json={"orders": pair}, headers=key)
    assert r.status_code == 201, r.text
    r = c.post("/v1/orders", json=order("D4", 4, paired_pickup="P1"), headers=key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = c.post("/v1/orders", json=order("P2", 5, kind="pickup", paired_pickup="P1"), headers=key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.paired_pickup"


def test_a_new_order_has_no_attempts_and_another_tenant_cannot_read_them(
    service: Service,
) -> None:
    """An order starts with 0 attempts and an empty history; another tenant gets a 404."""
    shop, other = service.key(Role.INTEGRATION), service.key(Role.INTEGRATION)
    c = service.client
    created = c.post("/v1/orders", json=order("T1"), headers=shop)
    assert created.status_code == 201 and created.json()["attempts"] == 0
    assert c.get("/v1/orders/T1", headers=shop).json()["attempts"] == 0
    assert c.get("/v1/orders/T1/attempts", headers=shop).json() == []
    hidden = c.get("/v1/orders/T1/attempts", headers=other)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"


def test_an_uploaded_order_keeps_the_warnings_it_was_accepted_with(service: Service) -> None:
    """The gate's warnings on a manifest row stay with its order (the route audit shows them)."""
    from doorstep.store import tables as t

    planner = service.key(Role.PLANNER)
    manifest = (
        b"order_id,address,zip,city,lat,lon,email\n"
        b"W-1,Simonkatu 6,00100,Helsinki,60.1690,24.9372,not-an-address\n"
        b"W-2,Simonkatu 8,00100,Helsinki,60.1691,24.9373,ok@example.com\n"
    )
    upload = service.client.post(
        "/v1/orders/upload", files={"file": ("day.csv", manifest)}, headers=planner
    )
    assert upload.status_code == 200, upload.text
    with service.app.state.sessions() as db:  # type: ignore[attr-defined]
        kept = {o.id: o.findings for o in db.query(t.Order).filter(t.Order.id.like("W-%"))}
    assert [f["code"] for f in kept["W-1"]] == ["email_invalid"]
    assert kept["W-1"][0]["field"] == "email" and kept["W-1"][0]["severity"] == "warning"
    assert kept["W-2"] == []
