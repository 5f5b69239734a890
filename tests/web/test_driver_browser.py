"""The driver's page in Chromium: deliver with proof, lose the connection, and catch up.

Select with ``-m browser``. Each step is screenshotted under ``tmp_path``; a console
error, a request to another host or a failed accessibility check fails the test.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
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
from .test_driver import PIXEL, driver_day

pytestmark = BROWSER

FINISHING = ("delivered", "failed_attempt")
STATES = ["Delivered", "Delivered", "Delivered", "Not delivered", "To do"]
"""The stops of r1 as the page words them once four are finished."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn on a fresh SQLite file: driver ville (drv1), today's routes at the depot."""
    url = f"sqlite:///{tmp_path_factory.mktemp('driver') / 'doorstep.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    day = driver_day(sessions, out=False)
    add_account(sessions, "ville", "driver", driver_id="drv1")
    engine.dispose()
    with served(create_app(web_settings(url))) as base:
        yield Server(base, url, day)


def _finishing_scans(url: str) -> list[tuple[str, str, str | None, dict[str, str] | None]]:
    """(parcel, kind, failure reason, proof) of every delivered or failed scan, in order."""
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as db:
            rows = db.execute(
                select(t.Event.parcel_id, t.Event.kind, t.Event.failure_reason, t.Event.proof)
                .where(t.Event.kind.in_(FINISHING))
                .order_by(t.Event.parcel_id)
            )
            return [(r.parcel_id, r.kind, r.failure_reason, r.proof) for r in rows]
    finally:
        engine.dispose()


def _parcel_states(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as db:
            return {r.id: r.state for r in db.execute(select(t.Parcel.id, t.Parcel.state))}
    finally:
        engine.dispose()


def _stop_states(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as db:
            query = select(t.Stop.state).where(t.Stop.route_id == "r1").order_by(t.Stop.seq)
            return list(db.scalars(query))
    finally:
        engine.dispose()


def eventually(page: Page, check: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait for ``check`` while Playwright keeps serving the page (its routes need this thread)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def deliver(
    page: Page, seq: int, name: str, photo: bytes = b"", shot: tuple[Watched, Path] | None = None
) -> None:
    """Deliver stop ``seq`` (the next one): a name, a drawn signature, maybe a photo (PNG)."""
    stop = page.locator(f"#stop-{seq}")
    expect(stop).to_have_class("stop next")
    stop.get_by_role("button", name="Delivered…", exact=True).click()
    page.get_by_label("Recipient's name").fill(name)
    if photo:
        file = {"name": "door.png", "mimeType": "image/png", "buffer": photo}
        page.get_by_label("Photo (optional)").set_input_files(files=[file])
        expect(page.get_by_alt_text("The photo taken for this delivery")).to_be_visible()
    box = page.locator("#signature").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for k in range(1, 12):
        page.mouse.move(box["x"] + 30 + 20 * k, box["y"] + box["height"] * (0.7 - 0.04 * (k % 4)))
    page.mouse.up()
    if shot is not None:
        check_page(*shot, f"deliver-stop-{seq}")
    page.get_by_role("button", name="Confirm delivery").click()
    expect(stop.locator("[data-state-text]")).to_have_text("Delivered")


def test_deliver_offline_and_catch_up(watched: Watched, server: Server, tmp_path: Path) -> None:
    """Start the route; deliver one online, three offline (kept, survive a reload), sent once."""
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto("/login")
    page.get_by_label("Username").fill("ville")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("link", name="Driver page").click()
    page.get_by_role("heading", level=1, name="Route van1").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    expect(page.locator("#stop-1 .unit")).to_have_text("A 12")
    check_page(watched, tmp_path, "1-route")

    expect(page.locator("#start-summary")).to_contain_text("5 parcels are not out for delivery")
    page.get_by_role("button", name="Start route").click()
    expect(page.locator("#start-card")).to_be_hidden()
    out = {f"O{k}-1": "out_for_delivery" for k in range(1, 6)} | {"O6-1": "at_depot"}
    eventually(page, lambda: _parcel_states(server.url) == out)
    expect(page.locator("#waiting")).to_have_text("All scans sent.")
    check_page(watched, tmp_path, "1-started")

    deliver(page, 1, "Aino Aalto", photo=base64.b64decode(PIXEL.split(",")[1]))
    eventually(page, lambda: len(_finishing_scans(server.url)) == 1)
    expect(page.locator("#waiting")).to_have_text("All scans sent.")
    check_page(watched, tmp_path, "2-delivered-online")

    page.context.set_offline(True)
    expect(page.locator("#connection")).to_contain_text("Offline")
    deliver(page, 2, "Bertta", shot=(watched, tmp_path))
    deliver(page, 3, "Cecilia")
    page.locator("#stop-4").get_by_role("button", name="Not delivered…").click()
    page.get_by_label("Reason").select_option("not_home")
    page.get_by_role("button", name="Confirm: not delivered").click()
    waiting = "3 scans waiting to be sent: they will go when the connection returns."
    expect(page.locator("#waiting")).to_have_text(waiting)
    expect(page.locator("#stop-5")).to_have_class("stop next")
    check_page(watched, tmp_path, "3-offline-waiting")

    page.reload()  # offline: the service worker's copy, the scans still waiting
    expect(page.locator("#waiting")).to_have_text(waiting)
    expect(page.locator("#stops [data-state-text]")).to_have_text(STATES)
    expect(page.locator("#start-card")).to_be_hidden()  # started on this phone
    check_page(watched, tmp_path, "4-offline-reloaded")
    assert len(_finishing_scans(server.url)) == 1

    page.context.set_offline(False)
    expect(page.locator("#waiting")).to_have_text("All scans sent.")
    expect(page.locator("#connection")).to_have_text("Online.")
    check_page(watched, tmp_path, "5-back-online")

    scans = _finishing_scans(server.url)
    assert [(parcel, kind, reason) for parcel, kind, reason, _ in scans] == [
        ("O1-1", "delivered", None),
        ("O2-1", "delivered", None),
        ("O3-1", "delivered", None),
        ("O4-1", "failed_attempt", "not_home"),
    ]
    proofs = {parcel: proof for parcel, _, _, proof in scans if proof}
    assert proofs["O1-1"]["recipient_name"] == "Aino Aalto"
    assert proofs["O1-1"]["photo_ref"].startswith("data:image/jpeg;base64,")
    assert proofs["O1-1"]["signature_ref"].startswith("data:image/png;base64,")
    assert proofs["O2-1"]["signature_ref"].startswith("data:image/png;base64,")
    assert _stop_states(server.url) == ["done", "done", "done", "failed", "pending"]
    page.reload()  # online: the service's states
    expect(page.locator("#stops [data-state-text]")).to_have_text(STATES)
    assert page.locator("#stops .stop[data-queued='1']").count() == 0
    assert page.locator("#refused li").count() == 0
    assert page.locator("#start-card").count() == 0
    check_page(watched, tmp_path, "6-reloaded-online")
