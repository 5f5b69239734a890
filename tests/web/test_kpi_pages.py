"""The KPI dashboard through FastAPI's TestClient: roles, filters, figures, the package's Plotly."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doorstep.analytics.facts import load_facts
from doorstep.store.database import transaction
from doorstep.web.kpi_pages import PLOTLY_URL, narrowed

from .conftest import add_account, make_day, sign_in
from .test_dispatch_board import DAY, dispatch_day, moment


def scan_the_day(client: TestClient, key: str, day: str = DAY) -> None:
    """van2 leaves at 08:00: E reached 10:20, delivered 10:25; F reached 10:55, not home."""
    events: list[dict[str, Any]] = []
    for ident in "EF":
        parcel = f"order-{ident}-1"
        for kind, hour in (("scanned_at_depot", 6), ("loaded", 7), ("out_for_delivery", 8)):
            events.append({"parcel_id": parcel, "kind": kind, "at": moment(day, hour).isoformat()})
    for ident, minute in (("E", 20), ("F", 55)):
        arrived = moment(day, 10, minute).isoformat()
        events.append({"parcel_id": f"order-{ident}-1", "kind": "arrived_at_stop", "at": arrived})
    events.append(
        {"parcel_id": "order-E-1", "kind": "delivered", "at": moment(day, 10, 25).isoformat()}
    )
    events.append(
        {
            "parcel_id": "order-F-1",
            "kind": "failed_attempt",
            "at": moment(day, 11).isoformat(),
            "failure_reason": "not_home",
        }
    )
    body = {"events": [e | {"event_id": f"kpi-{k}"} for k, e in enumerate(events)]}
    r = client.post("/v1/events", json=body, headers={"Authorization": key})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


@pytest.fixture
def kpis(web: TestClient, sessions_of: sessionmaker[Session]) -> TestClient:
    """Two vans on the day, van2's scans (G not reached yet), a signed-in planner."""
    web.app.state.clock = lambda: moment(DAY, 18)  # type: ignore[attr-defined]
    key = dispatch_day(sessions_of)
    scan_the_day(web, key)
    add_account(sessions_of, "pia", "planner")
    assert sign_in(web, "pia").status_code == 200
    return web


def _headline(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-kpi="([a-z_]+)">([^<]*)</dd>', html))


def _figures(html: str) -> list[dict[str, Any]]:
    blocks = re.findall(r'<script type="application/json" id="kpi-figure-\d+">(.*?)</script>', html)
    return [json.loads(b) for b in blocks]


@pytest.mark.parametrize(
    ("role", "status"), [("planner", 200), ("dispatcher", 200), ("admin", 200), ("driver", 403)]
)
def test_planners_dispatchers_and_admins_see_the_kpis(
    web: TestClient, sessions_of: sessionmaker[Session], role: str, status: int
) -> None:
    """A driver gets the 403 page; the other roles the dashboard; signed out: /login."""
    assert web.get("/kpis", follow_redirects=False).headers["location"] == "/login"
    make_day(sessions_of)
    add_account(sessions_of, "someone", role, driver_id="drv1" if role == "driver" else None)
    sign_in(web, "someone")
    assert web.get("/kpis").status_code == status


def test_the_dashboard_shows_the_report_figures_as_json(kpis: TestClient) -> None:
    """The day's headline numbers, the report's charts as JSON blocks, Plotly from the package."""
    r = kpis.get(f"/kpis?from={DAY}&to={DAY}")
    assert r.status_code == 200
    headline = _headline(r.text)
    assert headline["stops"] == "7"  # B, A, C, D on van1; E, F, G on van2
    assert headline["parcels_delivered"] == "1"
    headings = re.findall(r'<h2 id="chart-\d+-heading">([^<]+)</h2>', r.text)
    assert headings == [
        "On-time rate by hour",
        "Failed attempts by reason",
        "First-attempt success by area",
        "ETA error",
    ]
    reasons = _figures(r.text)[1]
    assert reasons["data"][0]["x"] == ["not home"] and reasons["data"][0]["y"] == [1]
    assert f'<script src="{PLOTLY_URL}" defer></script>' in r.text
    assert "<script>" not in r.text  # no inline script: the CSP forbids it
    lib = kpis.get(PLOTLY_URL)
    assert lib.status_code == 200 and lib.headers["content-type"].startswith("text/javascript")
    assert b"plotly.js" in lib.content[:200]


def test_filters_change_the_numbers(kpis: TestClient) -> None:
    """Driver drv2 or area 00200: van2's three stops; area 00100: van1's four; depot: all."""
    base = f"/kpis?from={DAY}&to={DAY}"
    assert _headline(kpis.get(f"{base}&driver=drv2").text)["stops"] == "3"
    assert _headline(kpis.get(f"{base}&driver=drv1").text)["stops"] == "4"
    assert _headline(kpis.get(f"{base}&area=00200").text)["stops"] == "3"
    page = kpis.get(f"{base}&area=00100").text
    assert _headline(page)["stops"] == "4"
    assert "Failed attempts by reason" not in page  # F failed in 00200
    assert _headline(kpis.get(f"{base}&depot=hki").text)["stops"] == "7"
    assert _headline(kpis.get(f"{base}&depot=elsewhere").text)["stops"] == "0"
    assert '<option value="00200">00200</option>' in kpis.get(base).text


def test_an_empty_range_and_a_bad_range(kpis: TestClient) -> None:
    """Another week: no chart, a sentence; a backwards range or a non-date: 422 with the message."""
    empty = kpis.get("/kpis?from=2026-11-01&to=2026-11-07")
    assert empty.status_code == 200 and "there is nothing to chart" in empty.text
    backwards = kpis.get(f"/kpis?from={DAY}&to=2026-12-01")
    assert backwards.status_code == 422 and "swap from and to" in backwards.text
    assert kpis.get("/kpis?from=monday").status_code == 422


def test_the_default_range_is_the_last_week(kpis: TestClient) -> None:
    """Without a range: the seven days ending today (by the service's clock)."""
    page = kpis.get("/kpis").text
    assert 'name="from" value="2026-12-01"' in page and 'name="to" value="2026-12-07"' in page


def test_narrowed_keeps_only_the_rows_of_the_depot_and_area(
    kpis: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """narrowed(): rows of the zip asked in every KPI table; nothing asked: the same facts."""
    with transaction(sessions_of) as db:
        facts = load_facts(db, DAY, DAY, "Europe/Helsinki", events=False)
    assert narrowed(facts) is facts
    only = narrowed(facts, area="00200")
    assert set(only["stops"].column("zip").to_pylist()) == {"00200"}
    assert only["parcels"].num_rows == 3
    assert narrowed(facts, depot="hki", area="00100")["stops"].num_rows == 4
