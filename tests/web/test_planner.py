"""The planner's pages through TestClient: manifest, fleet, planning, publishing, roles."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.store import tables as t
from doorstep.store.database import transaction

from .conftest import add_account, csrf_of, sign_in

SAMPLE = Path(__file__).parents[2] / "examples" / "helsinki" / "orders.csv"
HEADER = "order_id,address,zip,city,lat,lon,window_start,window_end,service_min,parcels,weight_kg"
GOOD = [
    "P-1,Mannerheimintie 1,00100,Helsinki,60.1699,24.9384,09:00,12:00,3,1,2.0",
    "P-2,Aleksanterinkatu 7,00100,Helsinki,60.1691,24.9490,09:00,14:00,3,1,1.5",
    "P-3,Simonkatu 6,00100,Helsinki,60.1690,24.9372,10:00,16:00,3,2,4.0",
    "P-4,Eteläranta 18,00130,Helsinki,60.1668,24.9521,,,3,1,3.1",
]
BAD = "P-5,Bulevardi 5,00120,Helsinki,60.1651,24.9391,09:00,15:00,3,1,heavy"
"""Row 6 of :data:`MANIFEST`: a weight that is not a number (``quantity_not_numeric``)."""
MANIFEST = "\n".join([HEADER, *GOOD, BAD]) + "\n"


def add_fleet(sessions: sessionmaker[Session]) -> None:
    """A depot, two vans and their regular drivers."""
    with transaction(sessions) as db:
        db.add(t.Depot(id="hki", name="Helsinki depot", lat=60.1662, lon=24.9528))
        db.flush()
        for n in (1, 2):
            db.add(
                t.Vehicle(
                    id=f"van{n}",
                    depot_id="hki",
                    capacity_parcels=50,
                    shift_start_s=8 * 3600,
                    shift_end_s=17 * 3600,
                )
            )
        db.flush()
        for n in (1, 2):
            db.add(t.Driver(id=f"drv{n}", name=f"Driver {n}", vehicle_id=f"van{n}"))


@pytest.fixture
def planner(web: TestClient, sessions_of: sessionmaker[Session]) -> TestClient:
    """The service with a small fleet and a planner (pia) signed in."""
    add_fleet(sessions_of)
    add_account(sessions_of, "pia", "planner")
    assert sign_in(web, "pia").status_code == 200
    return web


def draft_of(html: str) -> str:
    """The manifest draft a page holds."""
    found = re.search(r'name="draft" value="([^"]+)"', html)
    assert found is not None, "no draft in the page"
    return unescape(found.group(1))


def upload(client: TestClient, text: str, name: str = "orders.csv") -> Any:
    """Post a manifest to the planner's page."""
    token = csrf_of(client.get("/planner").text)
    files = {"file": (name, text.encode(), "text/csv")}
    return client.post("/planner/manifest", data={"csrf_token": token}, files=files)


def post(client: TestClient, url: str, page: str, **data: Any) -> Any:
    """Post a form of ``page`` (its CSRF token and draft) with more fields."""
    values: dict[str, Any] = {"csrf_token": csrf_of(page), **data}
    if 'name="draft"' in page:
        values["draft"] = draft_of(page)
    return client.post(url, data=values)


def finding_rows(html: str) -> list[int]:
    """The manifest rows the findings table lists."""
    return [int(n) for n in re.findall(r'<tbody id="row-(\d+)"', html)]


def test_a_stranger_is_sent_to_sign_in(web: TestClient) -> None:
    """Without a session the planner's page redirects to /login."""
    r = web.get("/planner")
    assert r.status_code == 200 and r.url.path == "/login"


@pytest.mark.parametrize("role", ["dispatcher", "driver"])
def test_other_roles_are_refused(
    web: TestClient, sessions_of: sessionmaker[Session], role: str
) -> None:
    """A dispatcher or a driver gets a 403 page, for reading and for posting."""
    add_fleet(sessions_of)
    add_account(sessions_of, "someone", role, driver_id="drv1" if role == "driver" else None)
    sign_in(web, "someone")
    r = web.get("/planner")
    assert r.status_code == 403 and "for planners and administrators" in r.text
    token = csrf_of(web.get("/").text)
    r = web.post("/planner/plans", data={"csrf_token": token, "day": "2026-12-07"})
    assert r.status_code == 403


def test_an_admin_may_plan(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """An admin sees the planner's page, and the home page links to it."""
    add_account(sessions_of, "ada", "admin")
    sign_in(web, "ada")
    assert '<a href="/planner">Planner</a>' in web.get("/").text
    r = web.get("/planner")
    assert r.status_code == 200 and "<h1>Planner</h1>" in r.text


def test_a_post_without_the_csrf_token_is_refused(planner: TestClient) -> None:
    """Planning without the session's token: 403 and no plan."""
    r = planner.post("/planner/plans", data={"day": "2026-12-07"})
    assert r.status_code == 403 and "Security check failed" in r.text
    assert "No plan yet." in planner.get("/planner").text


def test_upload_shows_the_gate_findings(planner: TestClient) -> None:
    """The bad row is listed with its field, the problem, what to do, and a cell to fix."""
    r = upload(planner, MANIFEST)
    assert r.status_code == 200
    assert finding_rows(r.text) == [6]
    assert "5 rows: <strong>4</strong> accepted" in r.text
    assert 'data-code="quantity_not_numeric"' in r.text
    assert "weight_kg &#39;heavy&#39; is not a weight in kg." in r.text
    assert "Correct the value, or drop the row." in r.text
    assert re.search(r'name="cell:6:weight_kg"\s+value="heavy"', r.text)


def test_the_sample_day_shows_each_planted_defect(planner: TestClient) -> None:
    """The Helsinki sample's planted defects come out as the gate names them, with advice."""
    r = upload(planner, SAMPLE.read_text(encoding="utf-8"))
    rows = finding_rows(r.text)
    assert {16, 35, 43, 54, 121, 216} <= set(rows)
    assert "Swap the two values." in r.text  # the advice after the message's last ";"


def test_fixing_a_cell_removes_its_finding(planner: TestClient) -> None:
    """A corrected weight: the row's finding is gone and the row is accepted."""
    page = upload(planner, MANIFEST).text
    r = post(planner, "/planner/manifest/check", page, **{"cell:6:weight_kg": "2.5"})
    assert r.status_code == 200
    assert finding_rows(r.text) == []
    assert "5 rows: <strong>5</strong> accepted" in r.text
    assert "No finding left" in r.text


def test_an_htmx_check_answers_the_section_only(planner: TestClient) -> None:
    """Sent by htmx, a check answers the manifest section, not the whole page."""
    page = upload(planner, MANIFEST).text
    data = {"csrf_token": csrf_of(page), "draft": draft_of(page), "cell:6:weight_kg": "x"}
    r = planner.post("/planner/manifest/check", data=data, headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<section id="manifest"')
    assert finding_rows(r.text) == [6]


def test_dropping_a_row_keeps_the_other_row_numbers(planner: TestClient) -> None:
    """Row 2 dropped: row 6 is still called row 6, and the summary counts the drop."""
    page = upload(planner, MANIFEST).text
    r = post(planner, "/planner/manifest/check", page, drop="2")
    assert finding_rows(r.text) == [6]
    assert "4 rows: <strong>3</strong> accepted" in r.text and "1 dropped" in r.text


def test_download_returns_the_corrected_csv(planner: TestClient) -> None:
    """The download has the fixed cell and not the dropped row."""
    page = upload(planner, MANIFEST).text
    page = post(planner, "/planner/manifest/check", page, drop="3").text
    r = post(planner, "/planner/manifest/download", page, **{"cell:6:weight_kg": "2.5"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="orders-corrected.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["order_id"] for row in rows] == ["P-1", "P-3", "P-4", "P-5"]
    assert rows[-1]["weight_kg"] == "2.5"


def test_a_damaged_draft_is_refused(planner: TestClient) -> None:
    """A draft that cannot be read: a 422 page asking for the file again, nothing imported."""
    page = upload(planner, MANIFEST).text
    data = {"csrf_token": csrf_of(page), "draft": "not-a-draft"}
    r = planner.post("/planner/manifest/import", data=data)
    assert r.status_code == 422 and "Upload the file again" in r.text


def _order_ids(sessions: sessionmaker[Session]) -> list[str]:
    with transaction(sessions) as db:
        return list(db.scalars(select(t.Order.id).order_by(t.Order.id)))


def test_import_stores_the_orders_the_gate_accepts(
    planner: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Imported as the orders API does: the clean rows; the row with an error is left out."""
    page = upload(planner, MANIFEST).text
    r = post(planner, "/planner/manifest/import", page)
    assert r.status_code == 200
    assert "Imported 4 orders." in r.text and "1 rows with errors were left out." in r.text
    assert "4 orders wait for a plan" in r.text
    assert _order_ids(sessions_of) == ["P-1", "P-2", "P-3", "P-4"]


def test_the_recipients_name_survives_the_page(
    planner: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """A ``recipient`` column (a synonym of ``name``) reaches the stored orders and the download."""
    named = "\n".join(
        [HEADER + ",recipient", *(row + f",Person {k}" for k, row in enumerate(GOOD))]
    )
    page = upload(planner, named + "\n").text
    assert "Person 0" in post(planner, "/planner/manifest/download", page).text
    post(planner, "/planner/manifest/import", page)
    with transaction(sessions_of) as db:
        names = {oid: name for oid, name in db.execute(select(t.Order.id, t.Order.name))}
    assert names == {f"P-{k + 1}": f"Person {k}" for k in range(4)}


def _plan(client: TestClient, day: str = "2026-12-07") -> str:
    """Plan ``day`` from the planner's page and wait on the progress bar until it is done."""
    token = csrf_of(client.get("/planner").text)
    r = client.post("/planner/plans", data={"csrf_token": token, "day": day, "time_limit_s": "0.5"})
    assert r.status_code == 200, r.text
    plan_id = r.url.path.rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progress = client.get(f"/planner/plans/{plan_id}/progress")
        if "hx-redirect" in progress.headers:
            assert progress.headers["hx-redirect"] == f"/planner/plans/{plan_id}"
            return plan_id
        assert "The planning failed" not in progress.text, progress.text
        assert "<progress" in progress.text
        time.sleep(0.1)
    raise AssertionError("the plan did not finish")


def _imported(client: TestClient) -> None:
    page = upload(client, MANIFEST).text
    post(client, "/planner/manifest/import", page, **{"cell:6:weight_kg": "2.5"})


def test_plan_then_publish(planner: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A plan shows its map data and route table; publishing it changes the stored state."""
    _imported(planner)
    plan_id = _plan(planner)
    page = planner.get(f"/planner/plans/{plan_id}").text
    assert 'id="plan-map"' in page and 'id="route-table"' in page
    found = re.search(r"data-plan='([^']*)'", page)
    assert found is not None
    data = json.loads(unescape(found.group(1)))
    served = [s["order_id"] for r in data["routes"] for s in r["stops"]]
    assert sorted(served) == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert all(s["eta"] and s["window"] for r in data["routes"] for s in r["stops"])
    assert data["depots"] == [
        {"id": "hki", "lat": 60.1662, "lon": 24.9528, "name": "Helsinki depot"}
    ]
    assert 'name="driver:van1"' in page or 'name="driver:van2"' in page
    r = post(planner, f"/planner/plans/{plan_id}/publish", page)
    assert r.status_code == 200 and "Published: the drivers see their routes." in r.text
    with transaction(sessions_of) as db:
        plan = db.get(t.Plan, plan_id)
        assert plan is not None and plan.status == "published"
        routes = db.scalars(select(t.Route).where(t.Route.plan_id == plan_id)).all()
        assert routes and all(r.state == "published" and r.driver_id for r in routes)
        statuses = set(db.scalars(select(t.Order.status)))
    assert statuses == {"planned"}
    again = post(planner, f"/planner/plans/{plan_id}/publish", r.text)
    assert again.status_code == 409 and "only a done plan can be published" in again.text


def test_move_a_stop_and_compare(planner: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A stop moved to the other van is on it in the new plan, locked; both plans compare."""
    _imported(planner)
    first = _plan(planner)
    with transaction(sessions_of) as db:
        stop = db.scalars(
            select(t.Stop).join(t.Route).where(t.Route.plan_id == first).order_by(t.Stop.order_id)
        ).first()
        assert stop is not None
        route = db.get(t.Route, stop.route_id)
        assert route is not None
        order_id, other = stop.order_id, "van2" if route.vehicle_id == "van1" else "van1"
    page = planner.get(f"/planner/plans/{first}").text
    r = post(planner, f"/planner/plans/{first}/replan", page, order_id=order_id, vehicle_id=other)
    assert r.status_code == 200
    second = r.url.path.rsplit("/", 1)[-1]
    assert second != first
    deadline = time.monotonic() + 60
    while "hx-redirect" not in planner.get(f"/planner/plans/{second}/progress").headers:
        assert time.monotonic() < deadline, "the re-plan did not finish"
        time.sleep(0.1)
    with transaction(sessions_of) as db:
        plan = db.get(t.Plan, second)
        assert plan is not None and plan.status == "done"
        assert plan.request["locks"] == [
            {"order_id": order_id, "vehicle_id": other, "position": None}
        ]
        moved = db.scalars(
            select(t.Route.vehicle_id)
            .join(t.Stop)
            .where(t.Route.plan_id == second, t.Stop.order_id == order_id)
        ).one()
    assert moved == other
    page = planner.get(f"/planner/plans/{second}").text
    assert f"{order_id} on {other}" in page  # the lock, kept unless unticked
    r = planner.get("/planner/compare", params={"a": first, "b": second})
    assert r.status_code == 200
    assert 'id="compare-table"' in r.text and "Late stops" in r.text
    assert r.text.count(f'href="/planner/plans/{first}"') == 1


def test_edit_the_fleet(planner: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A vehicle's shift and break are saved; a break outside the shift is refused, unsaved."""
    page = planner.get("/planner/fleet").text
    assert 'aria-label="Shift start of van1"' in page
    fields = {
        "shift_start": "07:00",
        "shift_end": "15:30",
        "capacity_parcels": "80",
        "capacity_kg": "500",
        "break_start": "11:00",
        "break_end": "13:00",
        "break_min": "30",
    }
    r = post(planner, "/planner/fleet/van1", page, **fields)
    assert r.status_code == 200 and "van1 saved." in r.text
    bad = fields | {"break_start": "16:00", "break_end": "17:00"}
    r = post(planner, "/planner/fleet/van1", r.text, **bad)
    assert r.status_code == 422 and 'id="fleet-error"' in r.text
    r = post(planner, "/planner/fleet/van1", r.text, **(fields | {"shift_end": "soon"}))
    assert r.status_code == 422 and "write a time as HH:MM" in r.text
    with transaction(sessions_of) as db:
        van = db.get(t.Vehicle, "van1")
        assert van is not None
        saved = (van.shift_start_s, van.shift_end_s, van.capacity_parcels, van.capacity_g)
        brk = (van.break_start_s, van.break_end_s, van.break_s)
    assert saved == (7 * 3600, 15 * 3600 + 1800, 80, 500_000)
    assert brk == (11 * 3600, 13 * 3600, 1800)
