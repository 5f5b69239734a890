"""The planner's day in a real browser: upload, fix a row, plan, see the map, publish.

Debian's Chromium through Playwright against uvicorn (``-m browser``); every page is
screenshotted, checked for labels and one h1, and any console error fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from doorstep.api.app import create_app
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

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
from .test_planner import MANIFEST, add_fleet

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Uvicorn on a temporary SQLite file with two vans, their drivers and a planner (pia)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('planner') / 'doorstep.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    add_fleet(sessions)
    add_account(sessions, "pia", "planner")
    engine.dispose()
    with served(create_app(web_settings(url))) as base:
        yield Server(base, url, None)


def test_upload_fix_plan_and_publish(watched: Watched, server: Server, tmp_path: Path) -> None:
    """A planner fixes the bad row in the page, plans (progress, then map and routes), publishes."""
    page = watched.page
    page.goto("/planner")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("link", name="Planner").click()
    page.get_by_role("heading", level=1, name="Planner").wait_for()
    check_page(watched, tmp_path, "planner")
    page.get_by_label("Orders file").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": MANIFEST.encode()}
    )
    page.get_by_role("button", name="Check the file").click()
    page.locator("#row-6").wait_for()
    assert "is not a weight in kg" in page.locator("#row-6").inner_text()
    check_page(watched, tmp_path, "planner-findings")
    page.get_by_label("Row 6, weight_kg").fill("2.5")
    page.get_by_role("button", name="Check again").click()  # htmx swaps the section
    page.get_by_text("No finding left").wait_for()
    assert page.locator("#row-6").count() == 0
    check_page(watched, tmp_path, "planner-fixed")
    page.get_by_role("button", name="Import 5 orders").click()
    page.get_by_text("Imported 5 orders.").wait_for()
    page.get_by_label("Search time (seconds)").fill("2")
    page.get_by_role("button", name="Plan", exact=True).click()
    page.locator("#plan-progress progress").wait_for()
    check_page(watched, tmp_path, "planner-progress")
    page.locator("#route-table").wait_for(timeout=30_000)  # htmx reloads the page when done
    page.locator("#plan-map .stop-marker").first.wait_for()
    assert page.locator("#plan-map .stop-marker").count() == 5
    page.locator("#plan-map .stop-marker").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "ETA " in popup.inner_text() and "Window " in popup.inner_text()
    check_page(watched, tmp_path, "planner-plan")
    page.get_by_role("button", name="Publish to drivers").click()
    page.get_by_text("Published: the drivers see their routes.").wait_for()
    check_page(watched, tmp_path, "planner-published")
    engine = make_engine(server.url)
    try:
        with transaction(session_factory(engine)) as db:
            statuses = list(db.scalars(select(t.Plan.status)))
    finally:
        engine.dispose()
    assert statuses == ["published"]
