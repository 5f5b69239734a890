"""The web pages under test: the service on a fresh database, accounts and a small day."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    sync_playwright,
)
from sqlalchemy.orm import Session, sessionmaker

from doorstep.service.accounts import ScryptCost, create_account
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction

CHEAP = ScryptCost(n=2**10, r=8, p=1)
"""A quick hash for tests that are not about hashing (the default takes ~0.3 s)."""
PASSWORD = "correct horse battery"
SECRET = "s" * 48


def web_settings(database_url: str, **more: Any) -> Settings:
    """Settings for a test service: straight-line travel, nothing running in the background."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "router": "straight",
        "dispatch_webhooks": False,
        "monitor_interval_s": 0,
        "session_secret": SECRET,
    }
    values.update(more)
    return Settings(**values)


def add_account(
    sessions: sessionmaker[Session], username: str, role: str, driver_id: str | None = None
) -> str:
    """An account with :data:`PASSWORD`; returns its id."""
    with transaction(sessions) as db:
        row = create_account(db, username, role, PASSWORD, driver_id=driver_id, cost=CHEAP)
        return row.id


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no csrf_token field in the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Open the sign-in form and post it; the response after redirects."""
    form = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_of(form.text)}
    return client.post("/login", data=data)


@dataclass(frozen=True)
class Day:
    """Tracking tokens of a small published route: B first, then A, then C."""

    token_a: str
    token_b: str
    token_c: str
    delivered: str


SECRET_OF_B = {"name": "Bertta Berg", "street": "Salaisentie 9", "phone": "+358401112233"}
"""Order B's personal data, which no other recipient's page may show."""


def make_day(sessions: sessionmaker[Session], day: str = "2026-12-07") -> Day:
    """A published route of van1 on ``day`` (B, A, C pending) and a delivered order D."""
    with transaction(sessions) as db:
        db.add(t.Depot(id="hki", name="Helsinki depot", lat=60.1699, lon=24.9384))
        db.add(t.Driver(id="drv1", name="Ville"))
        db.flush()
        db.add(t.Vehicle(id="van1", depot_id="hki"))
        orders = {
            "A": {"name": "Aino Aalto", "street": "Testikatu 1", "phone": "+358405556677"},
            "B": SECRET_OF_B,
            "C": {"name": "Cecilia", "street": "Testikatu 3", "phone": ""},
            "D": {"name": "Daniel", "street": "Testikatu 4", "phone": ""},
        }
        for k, (ident, fields) in enumerate(orders.items()):
            db.add(
                t.Order(
                    id=f"order-{ident}",
                    lat=60.1699 + 0.0009 * k,
                    lon=24.9384 + 0.0018 * k,
                    zip="00100",
                    city="Helsinki",
                    windows=[[9 * 3600, 12 * 3600]],
                    tracking_token=f"tok{ident}" + "0" * 29,
                    status="out_for_delivery" if ident != "D" else "delivered",
                    **fields,
                )
            )
            db.add(t.Parcel(id=f"order-{ident}-1", order_id=f"order-{ident}"))
        db.add(t.Plan(id="plan1", day=day, status="published"))
        db.flush()
        db.add(
            t.Route(
                id="r1",
                plan_id="plan1",
                vehicle_id="van1",
                driver_id="drv1",
                day=day,
                state="in_progress",
                start_s=8 * 3600,
                end_s=13 * 3600,
                distance_m=10_000,
            )
        )
        db.flush()
        for seq, ident in enumerate("BACD", start=1):
            eta = 9 * 3600 + seq * 1800
            db.add(
                t.Stop(
                    route_id="r1",
                    seq=seq,
                    order_id=f"order-{ident}",
                    leg_s=600,
                    service_s=180,
                    window_start_s=9 * 3600,
                    window_end_s=12 * 3600,
                    planned_arrival_s=eta,
                    planned_start_s=eta,
                    eta_s=eta,
                    state="done" if ident == "D" else "pending",
                )
            )
    return Day("tokA" + "0" * 29, "tokB" + "0" * 29, "tokC" + "0" * 29, "tokD" + "0" * 29)


@pytest.fixture
def web(database_url: str) -> Iterator[TestClient]:
    """The service (web pages included) on a migrated database (SQLite, then PostgreSQL)."""
    from doorstep.api.app import create_app

    with TestClient(create_app(web_settings(database_url)), follow_redirects=True) as client:
        yield client


@pytest.fixture
def sessions_of(web: TestClient) -> sessionmaker[Session]:
    """The web fixture's session factory."""
    factory: sessionmaker[Session] = web.app.state.sessions  # type: ignore[attr-defined]
    return factory


# The browser kit: Debian's Chromium through Playwright, against uvicorn.

CHROMIUM = os.environ.get("DOORSTEP_TEST_CHROMIUM") or shutil.which("chromium")

BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM and not os.environ.get("CI"),
        reason="environment: chromium is not installed (scripts/test-chromium.sh installs it)",
    ),
]
"""The marks of every browser test module: ``pytestmark = BROWSER``."""

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


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """The service on a temporary SQLite file, served by uvicorn in a thread.

    A browser test module defines a ``server`` fixture returning one (its own day
    and accounts); :func:`watched` opens pages against it.
    """

    base: str
    url: str
    tokens: Any


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
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


def watch(browser: Browser, base: str) -> tuple[BrowserContext, Watched]:
    """A fresh browser context (its own cookies) whose page records every error.

    Console errors, page errors, 5xx answers and any request to another host than
    ``base`` (blocked: no CDN) are recorded in :attr:`Watched.errors`. Close the
    context when done.
    """
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    out = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            out.errors.append(f"console: {message.text}")

    def only_local(route: Route) -> None:
        if route.request.url.startswith(base):
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
    return context, out


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[Watched]:
    """One watched page (:func:`watch`) against the module's ``server``."""
    context, out = watch(browser, server.base)
    yield out
    context.close()


def check_page(watched: Watched, shots: Path, name: str) -> None:
    """Screenshot the page, run the accessibility check, and fail on any error so far."""
    watched.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    problems = watched.page.evaluate(A11Y_CHECK)
    assert problems == [], f"{name}: {problems}"
    assert watched.errors == [], f"{name}: {watched.errors}"
