"""The web pages in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Select them with ``-m browser``. Each page is screenshotted under ``tmp_path``, any
console error fails the test, every request to another host is blocked (and
fails it: no CDN), and each page passes a basic accessibility check.
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
    SECRET_OF_B,
    Server,
    Watched,
    add_account,
    check_page,
    make_day,
    served,
    web_settings,
)

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn on a free port, with an account (pia) and a small published day."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'doorstep.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    add_account(sessions, "pia", "planner")
    tokens = make_day(sessions)
    engine.dispose()
    with served(create_app(web_settings(url))) as base:
        yield Server(base, url, tokens)


def test_sign_in_and_see_the_home_page(watched: Watched, tmp_path: Path) -> None:
    """A planner signs in with the keyboard, sees name, role and pages, then signs out."""
    page = watched.page
    page.goto("/")
    assert page.url.endswith("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    check_page(watched, tmp_path, "login")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name="Hello, pia").wait_for()
    assert "(planner)" in page.locator("header").inner_text()
    assert page.get_by_role("link", name="Planner").count() == 1
    check_page(watched, tmp_path, "home")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    check_page(watched, tmp_path, "signed-out")


def test_track_and_ask_for_a_safe_place(watched: Watched, server: Server, tmp_path: Path) -> None:
    """A customer's page draws its area map, shows no one else's data, and sends a request."""
    page = watched.page
    page.goto(f"/t/{server.tokens.token_a}")
    page.locator("#map.leaflet-container svg path").first.wait_for()  # the area's circle
    assert "The driver has 1 stop before yours." in page.locator("main").inner_text()
    text = page.content()
    for value in (*SECRET_OF_B.values(), server.tokens.token_b):
        assert value not in text
    check_page(watched, tmp_path, "tracking")
    page.get_by_label("Leave it with a neighbour").check()
    page.get_by_role("button", name="Send my request").click()  # no neighbour named
    page.get_by_text("Give the neighbour's name and door.").wait_for()
    check_page(watched, tmp_path, "tracking-refused")
    page.get_by_label("Leave it in a safe place").check()
    page.get_by_label("Where, or which neighbour").fill("behind the blue gate")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("your request has reached the dispatcher").wait_for()
    check_page(watched, tmp_path, "tracking-sent")
    engine = make_engine(server.url)
    try:
        with transaction(session_factory(engine)) as db:
            rows = db.scalars(select(t.CustomerRequest)).all()
            got = [(r.order_id, r.kind, r.source, r.details) for r in rows]
    finally:
        engine.dispose()
    assert got == [("order-A", "safe_place", "customer", {"note": "behind the blue gate"})]
