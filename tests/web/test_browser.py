"""The web pages in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Select them with ``-m browser``. Each page is screenshotted under ``tmp_path``, any
console error fails the test, every request to another host is blocked (and
fails it: no CDN), and each page passes a basic accessibility check.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright
from sqlalchemy import select

from doorstep.api.app import create_app
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

from .conftest import PASSWORD, SECRET_OF_B, add_account, make_day, web_settings

CHROMIUM = os.environ.get("DOORSTEP_TEST_CHROMIUM") or shutil.which("chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM and not os.environ.get("CI"),
        reason="environment: chromium is not installed (scripts/test-chromium.sh installs it)",
    ),
]

A11Y_CHECK = """() => {
  const problems = [];
  const labelled = (el) =>
    el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.closest("label") ||
    (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`));
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    if (!labelled(el)) problems.push(`no label: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt") && img.getAttribute("role") !== "presentation"
        && !img.closest("[aria-hidden=true], .leaflet-container")) {
      problems.push(`no alt: ${img.outerHTML.slice(0, 80)}`);
    }
  }
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (!document.title) problems.push("no <title>");
  for (const b of document.querySelectorAll("button, a[href]")) {
    if (!(b.textContent.trim() || b.getAttribute("aria-label"))) {
      problems.push(`no accessible name: ${b.outerHTML.slice(0, 80)}`);
    }
  }
  return problems;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """The service on a temporary SQLite file, served by uvicorn in a thread."""

    base: str
    url: str
    tokens: Any


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
    port = _free_port()
    config = uvicorn.Config(
        create_app(web_settings(url)), host="127.0.0.1", port=port, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", url, tokens)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a browser downloaded by Playwright)."""
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page and what went wrong on it: console errors, page errors, foreign or failed requests."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[Watched]:
    """A fresh browser context (no cookies) whose page records every error."""
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    out = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            out.errors.append(f"console: {message.text}")

    def only_local(route: Route) -> None:
        if route.request.url.startswith(server.base):
            route.continue_()
        else:
            out.errors.append(f"request to another host: {route.request.url}")
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: out.errors.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: out.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    context.route("**/*", only_local)
    yield out
    context.close()


def _check(watched: Watched, shots: Path, name: str) -> None:
    """Screenshot the page, run the accessibility check, and fail on any error so far."""
    watched.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    problems = watched.page.evaluate(A11Y_CHECK)
    assert problems == [], f"{name}: {problems}"
    assert watched.errors == [], f"{name}: {watched.errors}"


def test_sign_in_and_see_the_home_page(watched: Watched, tmp_path: Path) -> None:
    """A planner signs in with the keyboard, sees name, role and pages, then signs out."""
    page = watched.page
    page.goto("/")
    assert page.url.endswith("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    _check(watched, tmp_path, "login")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name="Hello, pia").wait_for()
    assert "(planner)" in page.locator("header").inner_text()
    assert page.get_by_text("not built yet").count() >= 1
    _check(watched, tmp_path, "home")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    _check(watched, tmp_path, "signed-out")


def test_track_and_ask_for_a_safe_place(watched: Watched, server: Server, tmp_path: Path) -> None:
    """A customer's page draws its area map, shows no one else's data, and sends a request."""
    page = watched.page
    page.goto(f"/t/{server.tokens.token_a}")
    page.locator("#map.leaflet-container svg path").first.wait_for()  # the area's circle
    assert "The driver has 1 stop before yours." in page.locator("main").inner_text()
    text = page.content()
    for value in (*SECRET_OF_B.values(), server.tokens.token_b):
        assert value not in text
    _check(watched, tmp_path, "tracking")
    page.get_by_label("Leave it with a neighbour").check()
    page.get_by_role("button", name="Send my request").click()  # no neighbour named
    page.get_by_text("Give the neighbour's name and door.").wait_for()
    _check(watched, tmp_path, "tracking-refused")
    page.get_by_label("Leave it in a safe place").check()
    page.get_by_label("Where, or which neighbour").fill("behind the blue gate")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("your request has reached the dispatcher").wait_for()
    _check(watched, tmp_path, "tracking-sent")
    engine = make_engine(server.url)
    try:
        with transaction(session_factory(engine)) as db:
            rows = db.scalars(select(t.CustomerRequest)).all()
            got = [(r.order_id, r.kind, r.source, r.details) for r in rows]
    finally:
        engine.dispose()
    assert got == [("order-A", "safe_place", "customer", {"note": "behind the blue gate"})]
