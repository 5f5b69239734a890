"""The dispatch board and the KPI dashboard in Debian's Chromium, against a real uvicorn.

A dispatcher opens the board; a breakdown posted through the service while the
page is open appears in the queue without a reload (server-sent events); the
dispatcher opens its proposals, accepts one and sees it in the decision log.
The KPI dashboard draws its charts with the package's Plotly. Every page is
screenshotted, checked for accessibility basics, and fails on any console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from doorstep.api.app import create_app
from doorstep.store.database import make_engine, session_factory, upgrade
from doorstep.web import dispatch_board
from doorstep.web.dispatch_board import StreamTiming

from .conftest import (
    BROWSER,
    PASSWORD,
    Server,
    Watched,
    add_account,
    check_page,
    served,
    web_settings,
)
from .test_dispatch_board import dispatch_day, moment
from .test_kpi_pages import scan_the_day

pytestmark = BROWSER

TODAY = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()
"""The board's default day (the service's clock is set to 10:00 of it)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Uvicorn with two vans on today, van2's scans, a dispatcher (dora); a quick live stream."""
    url = f"sqlite:///{tmp_path_factory.mktemp('board') / 'doorstep.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    key = dispatch_day(sessions, TODAY)
    add_account(sessions, "dora", "dispatcher")
    engine.dispose()
    app = create_app(web_settings(url))
    app.state.clock = lambda: moment(TODAY, 10)
    timing = dispatch_board.TIMING
    dispatch_board.TIMING = StreamTiming(poll_s=0.2, lifetime_s=30, retry_ms=500)
    try:
        with served(app) as base:
            with httpx.Client(base_url=base) as client:
                scan_the_day(client, key, TODAY)  # type: ignore[arg-type]
            yield Server(base, url, key)
    finally:
        dispatch_board.TIMING = timing


def _sign_in(watched: Watched) -> None:
    page = watched.page
    page.goto("/login")
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name="Hello, dora").wait_for()


def test_a_breakdown_appears_live_and_a_proposal_is_accepted(
    watched: Watched, server: Server, tmp_path: Path
) -> None:
    """Board open; breakdown posted; it appears without reload; hand over accepted and logged."""
    page = watched.page
    _sign_in(watched)
    page.get_by_role("link", name="Dispatch board").click()
    page.get_by_role("heading", level=1, name="Dispatch board").wait_for()
    page.locator("#board[data-map-loaded]").wait_for()
    assert page.locator("#board-map path.leaflet-interactive").count() >= 2 + 7  # lines, stops
    assert "r1: van1 (drv1) · 1 of 4 stops done" in page.locator("#route-list").inner_text()
    page.get_by_text("Live: up to date").wait_for()
    check_page(watched, tmp_path, "board")

    page.evaluate("window.sameDocument = true")
    body = {"kind": "breakdown", "at": moment(TODAY, 9, 55).isoformat(), "note": "clutch"}
    reported = httpx.post(
        f"{server.base}/v1/routes/r1/incidents", json=body, headers={"Authorization": server.tokens}
    )
    assert reported.status_code == 201, reported.text
    exception_id = reported.json()["exception_id"]
    item = page.locator(f'#queue li[data-exception-id="{exception_id}"]')
    item.wait_for()
    assert "van1 reported a breakdown at 09:55" in item.inner_text()
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded"
    check_page(watched, tmp_path, "board-exception")

    item.get_by_role("link", name="Proposals").click()
    card = page.locator("article.proposal", has=page.locator("h4", has_text="Hand over"))
    card.wait_for()
    card.locator(".preview-map.leaflet-container path").first.wait_for()
    assert "Accepting costs" in card.inner_text()
    check_page(watched, tmp_path, "board-proposals")

    card.get_by_label("Note (optional)").fill("van2 has room")
    card.get_by_role("button", name="Accept").click()
    page.get_by_text("Accepted. New route versions: r2.v2").wait_for()
    page.locator("#decisions tr.decision-accepted", has_text="van2 has room").wait_for()
    page.locator("#route-list li[data-route-id='r2.v2']").wait_for()
    assert page.evaluate("window.sameDocument") is True
    check_page(watched, tmp_path, "board-accepted")


def test_the_kpi_dashboard_draws_its_charts(
    watched: Watched, server: Server, tmp_path: Path
) -> None:
    """The dashboard of today: four Plotly charts drawn, filters by keyboard, no console error."""
    page = watched.page
    _sign_in(watched)
    page.goto(f"/kpis?from={TODAY}&to={TODAY}")
    page.get_by_role("heading", level=1, name="KPI dashboard").wait_for()
    page.locator(".kpi-chart .main-svg").first.wait_for()
    page.wait_for_function("document.querySelectorAll('.kpi-chart.js-plotly-plot').length === 4")
    assert page.locator(".kpi-chart").count() == 4
    check_page(watched, tmp_path, "kpis")
    everyone = int(page.locator('dd[data-kpi="stops"]').inner_text())
    page.get_by_label("Driver", exact=True).select_option("drv2")
    page.get_by_role("button", name="Apply").press("Enter")
    page.wait_for_url("**driver=drv2**")
    assert 0 < int(page.locator('dd[data-kpi="stops"]').inner_text()) < everyone
    page.wait_for_function("document.querySelectorAll('.kpi-chart.js-plotly-plot').length >= 1")
    check_page(watched, tmp_path, "kpis-driver")
