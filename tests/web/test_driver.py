"""The driver's page through the TestClient: own route only, scans, breakdowns, roles, CSRF."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.dispatch.ingest import EventIn, ingest
from doorstep.domain.events import FailureReason, ParcelState, ScanKind
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.web.driver import FAILURE_LABELS, MAX_IMAGE_CHARS, start_scans

from .conftest import add_account, sign_in

ZONE = ZoneInfo("Europe/Helsinki")
"""The settings' default time zone (the day a scan moves a stop is its local date)."""
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class DriverDay:
    """Today's routes: ``r1`` of drv1 (stops 1-5, orders O1-O5) and ``r2`` of drv2 (O6)."""

    day: str
    route: str = "r1"
    other_route: str = "r2"


STOP_DETAILS = {
    "O1": ("Mannerheimintie 1", "A 12", "Door code 1234", "+358 40 111 2222"),
    "O2": ("Bulevardi 2", "B 3", "", "+358401113333"),
    "O3": ("Erottaja 3", "", "Leave at the reception", ""),
    "O4": ("Kalevankatu 4", "C 44", "", ""),
    "O5": ("Annankatu 5", "", "", ""),
    "O6": ("Salaisentie 9", "D 9", "Wilma's secret stop", "+358409998877"),
}


def driver_day(sessions: sessionmaker[Session], out: bool = True) -> DriverDay:
    """Two published routes of today, their parcels out for delivery (else only at the depot)."""
    now = datetime.now(UTC)
    day = now.astimezone(ZONE).date().isoformat()
    with transaction(sessions) as db:
        db.add(t.Depot(id="hki", name="Helsinki depot", lat=60.1699, lon=24.9384))
        db.add_all([t.Driver(id="drv1", name="Ville"), t.Driver(id="drv2", name="Wilma")])
        db.flush()
        db.add_all([t.Vehicle(id="van1", depot_id="hki"), t.Vehicle(id="van2", depot_id="hki")])
        for k, (ident, (street, unit, notes, phone)) in enumerate(STOP_DETAILS.items()):
            db.add(
                t.Order(
                    id=ident,
                    street=street,
                    unit=unit,
                    zip="00100",
                    city="Helsinki",
                    lat=60.1699 + 0.001 * k,
                    lon=24.9384 + 0.002 * k,
                    windows=[[9 * 3600, 17 * 3600]],
                    name=f"Recipient {ident}",
                    phone=phone,
                    notes=notes,
                    tracking_token=f"tok{ident}" + "0" * 29,
                    status="planned",
                )
            )
            db.add(t.Parcel(id=f"{ident}-1", order_id=ident))
        db.add(t.Plan(id="plan1", day=day, status="published"))
        db.flush()
        for route, vehicle, driver, orders in (
            ("r1", "van1", "drv1", ["O1", "O2", "O3", "O4", "O5"]),
            ("r2", "van2", "drv2", ["O6"]),
        ):
            db.add(
                t.Route(
                    id=route,
                    plan_id="plan1",
                    vehicle_id=vehicle,
                    driver_id=driver,
                    day=day,
                    state="published",
                    start_s=8 * 3600,
                    end_s=18 * 3600,
                    distance_m=10_000,
                )
            )
            db.flush()
            for seq, order in enumerate(orders, start=1):
                eta = 9 * 3600 + seq * 1200
                db.add(
                    t.Stop(
                        route_id=route,
                        seq=seq,
                        order_id=order,
                        leg_s=600,
                        service_s=180,
                        window_start_s=9 * 3600,
                        window_end_s=17 * 3600,
                        planned_arrival_s=eta,
                        planned_start_s=eta,
                        eta_s=eta,
                    )
                )
        db.flush()
        kinds = (ScanKind.SCANNED_AT_DEPOT, ScanKind.LOADED, ScanKind.OUT_FOR_DELIVERY)
        loading = [
            EventIn(f"depot-{kind}-{ident}", f"{ident}-1", kind, now - timedelta(minutes=10 - i))
            for ident in STOP_DETAILS
            for i, kind in enumerate(kinds if out else kinds[:1])
        ]
        outcomes = ingest(db, loading, timezone=ZONE, now=now)
        assert {o.status for o in outcomes} == {"accepted"}
    return DriverDay(day)


def scan(parcel: str, kind: str, **more: Any) -> dict[str, Any]:
    """A scan as the page makes it: a fresh UUID, now, van1."""
    event = {
        "event_id": str(uuid.uuid4()),
        "parcel_id": parcel,
        "kind": kind,
        "at": datetime.now(UTC).isoformat(),
        "vehicle_id": "van1",
    }
    return event | more


def csrf_header(client: TestClient) -> dict[str, str]:
    """The X-CSRF-Token header of the signed-in session (from the driver page's meta tag)."""
    text = client.get("/driver").text
    marker = '<meta name="csrf-token" content="'
    start = text.index(marker) + len(marker)
    return {"X-CSRF-Token": text[start : text.index('"', start)]}


def stop_states(sessions: sessionmaker[Session], route: str) -> list[str]:
    """A route's stop states in order."""
    with transaction(sessions) as db:
        rows = db.scalars(select(t.Stop.state).where(t.Stop.route_id == route).order_by(t.Stop.seq))
        return list(rows)


def test_a_driver_sees_its_own_route_in_order(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """/driver shows today's route, stops in order with unit, notes, tel, geo and OSM links."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    r = web.get("/driver")
    assert r.status_code == 200
    text = r.text
    places = [text.index(STOP_DETAILS[o][0]) for o in ("O1", "O2", "O3", "O4", "O5")]
    assert places == sorted(places)
    assert 'class="stop next" id="stop-1"' in text
    assert ">A 12<" in text and "Door code 1234" in text
    assert 'href="tel:+358401112222"' in text
    assert 'href="geo:60.169900,24.938400?q=60.169900,24.938400(' in text
    assert "https://www.openstreetmap.org/?mlat=60.169900&amp;mlon=24.938400" in text
    assert 'data-parcels="O1-1"' in text and "<dt>ETA</dt><dd>" in text
    assert "<dt>Window</dt><dd>09:00-17:00</dd>" in text
    assert '<link rel="manifest" href="/driver/manifest.webmanifest">' in text
    assert "Salaisentie" not in text and "Wilma" not in text


def test_a_driver_cannot_open_another_drivers_route(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Another driver's route, or an unknown one, is a 404 page without its data."""
    day = driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    assert web.get(f"/driver/routes/{day.route}").status_code == 200
    for route in (day.other_route, "nope"):
        r = web.get(f"/driver/routes/{route}")
        assert r.status_code == 404 and "Route not found" in r.text
        assert "Salaisentie" not in r.text


def test_an_admin_picks_any_route(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """An admin's /driver lists the day's routes and opens any of them."""
    day = driver_day(sessions_of)
    add_account(sessions_of, "ada", "admin")
    sign_in(web, "ada")
    listing = web.get("/driver").text
    assert '<a href="/driver/routes/r1">van1</a>' in listing
    assert '<a href="/driver/routes/r2">van2</a>' in listing
    r = web.get(f"/driver/routes/{day.other_route}")
    assert r.status_code == 200 and "Salaisentie 9 D 9" in r.text


def test_wrong_role_and_strangers_are_refused(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Not signed in: to /login; a planner: 403 on the page and on the scan endpoint."""
    driver_day(sessions_of)
    assert web.get("/driver").url.path == "/login"
    add_account(sessions_of, "pia", "planner")
    sign_in(web, "pia")
    assert web.get("/driver").status_code == 403
    assert web.get("/driver/routes/r1").status_code == 403
    token = web.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = web.post(
        "/driver/scans",
        json={"events": [scan("O1-1", "delivered")]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403
    assert stop_states(sessions_of, "r1")[0] == "pending"


def test_scans_need_the_csrf_token(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A batch without the session's X-CSRF-Token (or with another) is refused, nothing stored."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    body = {"events": [scan("O1-1", "delivered")]}
    assert web.post("/driver/scans", json=body).status_code == 403
    assert web.post("/driver/scans", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403
    with transaction(sessions_of) as db:
        assert db.scalar(select(func.count()).where(t.Event.kind == "delivered")) == 0


def test_a_batch_of_scans_is_ingested_once(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Deliver with proof and fail with a reason; the same batch again only answers duplicates."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    headers = csrf_header(web)
    proof = {"recipient_name": "Aino", "signature_ref": PIXEL, "photo_ref": ""}
    batch = {
        "events": [
            scan("O1-1", "delivered", proof=proof),
            scan("O2-1", "failed_attempt", failure_reason="not_home"),
            scan("O6-1", "delivered"),  # drv2's parcel
        ]
    }
    first = web.post("/driver/scans", json=batch, headers=headers)
    assert first.status_code == 200, first.text
    assert [o["status"] for o in first.json()["results"]] == ["accepted", "accepted", "rejected"]
    assert first.json()["results"][2]["code"] == "not_your_parcel"
    again = web.post("/driver/scans", json=batch, headers=headers)
    assert [o["status"] for o in again.json()["results"]] == ["duplicate", "duplicate", "rejected"]
    with transaction(sessions_of) as db:
        rows = db.execute(select(t.Event.parcel_id, t.Event.kind, t.Event.proof, t.Event.key_id))
        finishing = [r for r in rows if r.kind in ("delivered", "failed_attempt")]
        account = db.scalar(select(t.Account.id).where(t.Account.username == "ville"))
    assert [(r.parcel_id, r.kind) for r in finishing] == [
        ("O1-1", "delivered"),
        ("O2-1", "failed_attempt"),
    ]
    assert finishing[0].proof["signature_ref"] == PIXEL and finishing[0].key_id == account
    assert stop_states(sessions_of, "r1") == ["done", "failed", "pending", "pending", "pending"]
    assert stop_states(sessions_of, "r2") == ["pending"]


def _start_of(html: str) -> dict[int, str]:
    """Stop seq -> its data-start (what "Start route" scans there), from the page."""
    found = re.findall(r'id="stop-(\d+)"[^>]*?data-start="([^"]*)"', html, re.S)
    return {int(seq): start for seq, start in found}


def _parcel_states(sessions: sessionmaker[Session]) -> dict[str, str]:
    with transaction(sessions) as db:
        return {r.id: r.state for r in db.execute(select(t.Parcel.id, t.Parcel.state))}


def test_start_scans_follow_the_state_machine() -> None:
    """From each state, the depot scans that take a delivery out (none, or impossible)."""
    out = (ScanKind.OUT_FOR_DELIVERY,)
    assert start_scans(ParcelState.CREATED) == (
        ScanKind.SCANNED_AT_DEPOT,
        ScanKind.LOADED,
        ScanKind.OUT_FOR_DELIVERY,
    )
    assert start_scans(ParcelState.AT_DEPOT) == (ScanKind.LOADED, ScanKind.OUT_FOR_DELIVERY)
    assert start_scans(ParcelState.LOADED) == out
    assert start_scans(ParcelState.FAILED_ATTEMPT) == out  # a new attempt
    assert start_scans(ParcelState.RETURNED_TO_DEPOT) == (
        ScanKind.LOADED,
        ScanKind.OUT_FOR_DELIVERY,
    )
    assert start_scans(ParcelState.OUT_FOR_DELIVERY) == ()
    assert start_scans(ParcelState.AT_STOP) is None
    assert start_scans(ParcelState.DELIVERED) is None


def test_start_route_takes_the_parcels_out(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Parcels at the depot: a Start route button; the page's scans are accepted, then it goes."""
    driver_day(sessions_of, out=False)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    page = web.get("/driver").text
    assert 'id="start-route"' in page and "5 parcels are not out for delivery yet" in page
    starts = _start_of(page)
    assert starts == {k: f"O{k}-1:loaded,out_for_delivery" for k in range(1, 6)}
    events = []
    at = datetime.now(UTC) - timedelta(seconds=1)
    for seq, start in starts.items():
        parcel, kinds = start.split(":")
        for k, kind in enumerate(kinds.split(",")):
            moment = at + timedelta(milliseconds=10 * seq + k)
            events.append(scan(parcel, kind, at=moment.isoformat()))
    r = web.post("/driver/scans", json={"events": events}, headers=csrf_header(web))
    assert r.status_code == 200, r.text
    assert {o["status"] for o in r.json()["results"]} == {"accepted"}
    states = _parcel_states(sessions_of)
    assert {p: states[p] for p in ("O1-1", "O5-1", "O6-1")} == {
        "O1-1": "out_for_delivery",
        "O5-1": "out_for_delivery",
        "O6-1": "at_depot",  # drv2's
    }
    again = web.get("/driver").text
    assert 'id="start-route"' not in again and set(_start_of(again).values()) == {""}
    delivered = web.post(
        "/driver/scans", json={"events": [scan("O1-1", "delivered")]}, headers=csrf_header(web)
    )
    assert delivered.json()["results"][0]["status"] == "accepted"


def test_no_start_route_when_the_parcels_are_out(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Parcels out for delivery already: no Start route button, nothing to scan."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    page = web.get("/driver").text
    assert 'id="start-route"' not in page
    assert set(_start_of(page).values()) == {""}


def test_proof_images_must_be_small_data_urls(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """A photo that is not an image data URL, or too big, makes the batch a 422."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    headers = csrf_header(web)
    for photo in ("https://example.com/x.jpg", "data:image/png;base64," + "A" * MAX_IMAGE_CHARS):
        proof = {"photo_ref": photo}
        body = {"events": [scan("O1-1", "delivered", proof=proof)]}
        assert web.post("/driver/scans", json=body, headers=headers).status_code == 422
    assert stop_states(sessions_of, "r1")[0] == "pending"


def test_every_failure_reason_is_offered(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """The failure form lists each of the domain's failure reasons, in words."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    text = web.get("/driver").text
    assert set(FAILURE_LABELS) == set(FailureReason)
    for reason, label in FAILURE_LABELS.items():
        assert f'<option value="{reason.value}">{label}</option>' in text


def test_a_breakdown_reaches_the_dispatcher(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """The breakdown form stores an incident with the API's function; not on another's route."""
    day = driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    token = csrf_header(web)["X-CSRF-Token"]
    form = {"csrf_token": token, "kind": "breakdown", "note": "flat tyre"}
    r = web.post(f"/driver/routes/{day.other_route}/incidents", data=form)
    assert r.status_code == 404
    r = web.post(f"/driver/routes/{day.route}/incidents", data={**form, "csrf_token": ""})
    assert r.status_code == 403
    r = web.post(f"/driver/routes/{day.route}/incidents", data=form)
    assert r.status_code == 200 and "breakdown report has reached the dispatcher" in r.text
    with transaction(sessions_of) as db:
        incidents = [(i.route_id, i.kind, i.note) for i in db.scalars(select(t.Incident))]
        exceptions = db.scalar(select(func.count()).select_from(t.DispatchException))
    assert incidents == [("r1", "breakdown", "flat tyre")]
    assert exceptions and exceptions >= 1


def test_the_app_files_are_served(web: TestClient) -> None:
    """The service worker may control /driver; the manifest names the page and its icon."""
    sw = web.get("/driver/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/driver"
    assert sw.headers["content-type"].startswith("text/javascript")
    manifest = web.get("/driver/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/driver"
    assert web.get(manifest.json()["icons"][0]["src"]).status_code == 200


def test_a_driver_without_a_route_is_told_so(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """On a day without its route, the driver reads that there is none (no other route shown)."""
    driver_day(sessions_of)
    add_account(sessions_of, "ville", "driver", driver_id="drv1")
    sign_in(web, "ville")
    r = web.get("/driver", params={"day": "2020-01-01"})
    assert r.status_code == 200 and "You have no route on this day." in r.text
    assert "/driver/routes/" not in r.text
