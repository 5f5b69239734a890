"""The whole day of issue 18 in Debian's Chromium, on one uvicorn: every role, one after another.

A planner uploads a small manifest with one bad row, fixes it in the page, plans
(the progress bar, then the map) and publishes; a driver starts the route,
delivers three stops, fails one while offline and reconnects (the scans arrive
once); the dispatch monitor ticks and the dispatcher accepts a proposal for the
failed attempt; the customer of another order asks, on the tracking page, for a
safe place, which is stored as a customer request. Each role has its own browser
context; every page is screenshotted and checked, and any console error fails.
Select with ``-m browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from doorstep.api.app import create_app
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction, upgrade
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
    watch,
    web_settings,
)
from .test_driver_browser import deliver, eventually
from .test_planner import add_fleet

pytestmark = BROWSER

HEADER = (
    "order_id,address,unit,zip,city,lat,lon,window_start,window_end,parcels,weight_kg,"
    "phone,email,notes"
)
PLACES = [
    ("Mannerheimintie 1", "A 1", "00100", "60.1699,24.9384"),
    ("Aleksanterinkatu 7", "", "00100", "60.1691,24.9490"),
    ("Simonkatu 6", "B 12", "00100", "60.1690,24.9372"),
    ("Eteläranta 18", "", "00130", "60.1668,24.9521"),
    ("Bulevardi 5", "", "00120", "60.1651,24.9391"),
    ("Fredrikinkatu 40", "C 3", "00100", "60.1670,24.9330"),
    ("Kalevankatu 20", "", "00100", "60.1665,24.9360"),
    ("Lönnrotinkatu 11", "", "00120", "60.1640,24.9380"),
]
ROWS = [
    f"W-{n},{street},{unit},{zip_code},Helsinki,{position},08:00,17:00,"
    f"{2 if n == 2 else 1},{'heavy' if n == 5 else '1.5'},"
    f"+35840100000{n},w{n}@example.fi,Door code 11{n}0"
    for n, (street, unit, zip_code, position) in enumerate(PLACES, start=1)
]
"""Eight orders of one parcel each (W-2: two), every window 08:00-17:00."""
BAD_ROW = 6
"""W-5's line in the file (the header is line 1): its weight is not a number."""
MANIFEST = "\n".join([HEADER, *ROWS]) + "\n"
DRIVERS = {"drv1": "ville", "drv2": "wilma"}
"""The fleet's drivers (:func:`add_fleet`) and their accounts."""
SAFE_PLACE = "behind the blue gate"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Uvicorn on a fresh SQLite file: two vans and their drivers, one account per role.

    ``tokens`` is the app itself (the test ticks its dispatch monitor, as ``doorstep
    serve`` does after scans); the board's live stream polls quickly.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('whole-day') / 'doorstep.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    add_fleet(sessions)
    add_account(sessions, "pia", "planner")
    add_account(sessions, "dora", "dispatcher")
    for driver, name in DRIVERS.items():
        add_account(sessions, name, "driver", driver_id=driver)
    engine.dispose()
    app = create_app(web_settings(url, plan_time_limit_s=2))
    timing = dispatch_board.TIMING
    dispatch_board.TIMING = StreamTiming(poll_s=0.2, lifetime_s=30, retry_ms=500)
    try:
        with served(app) as base:
            yield Server(base, url, app)
    finally:
        dispatch_board.TIMING = timing


def _open(browser: Browser, server: Server, stack: ExitStack) -> Watched:
    """A watched page of its own (the conftest's :func:`watch`): one per person of the day."""
    context, out = watch(browser, server.base)
    stack.callback(context.close)
    return out


def _sign_in(watched: Watched, username: str) -> None:
    page = watched.page
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name=f"Hello, {username}").wait_for()


def _read(server: Server, query: Any) -> list[Any]:
    """Rows of ``query`` from the service's database, in a short transaction of the test's own."""
    engine = make_engine(server.url)
    try:
        with transaction(session_factory(engine)) as db:
            return list(db.execute(query))
    finally:
        engine.dispose()


def _count(server: Server, kind: str) -> int:
    return int(_read(server, select(func.count()).where(t.Event.kind == kind))[0][0])


def _busiest_route(server: Server) -> str:
    """The published route with the most stops."""
    rows = _read(
        server,
        select(t.Route.id)
        .join(t.Stop, t.Stop.route_id == t.Route.id)
        .where(t.Route.state == "published")
        .group_by(t.Route.id)
        .order_by(func.count(t.Stop.seq).desc(), t.Route.id),
    )
    return str(rows[0][0])


def _stop_orders(server: Server, route_id: str) -> list[str]:
    rows = _read(
        server, select(t.Stop.order_id).where(t.Stop.route_id == route_id).order_by(t.Stop.seq)
    )
    return [r[0] for r in rows]


def _plan(watched: Watched, shots: Path, today: str) -> None:
    """The planner: upload, fix row 6 in the page, import, plan today, see the map, publish."""
    page = watched.page
    _sign_in(watched, "pia")
    page.get_by_role("link", name="Planner").click()
    page.get_by_role("heading", level=1, name="Planner").wait_for()
    check_page(watched, shots, "01-planner")
    page.get_by_label("Orders file").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": MANIFEST.encode()}
    )
    page.get_by_role("button", name="Check the file").click()
    row = page.locator(f"#row-{BAD_ROW}")
    expect(row).to_contain_text("is not a weight in kg")
    check_page(watched, shots, "02-planner-findings")
    page.get_by_label(f"Row {BAD_ROW}, weight_kg").fill("2.5")
    page.get_by_role("button", name="Check again").click()
    page.get_by_text("No finding left").wait_for()
    check_page(watched, shots, "03-planner-fixed")
    page.get_by_role("button", name=f"Import {len(ROWS)} orders").click()
    page.get_by_text(f"Imported {len(ROWS)} orders.").wait_for()
    page.get_by_label("Day", exact=True).fill(today)
    page.get_by_label("Search time (seconds)").fill("1")
    page.get_by_role("button", name="Plan", exact=True).click()
    page.locator("#plan-progress progress").wait_for()
    check_page(watched, shots, "04-planner-progress")
    page.locator("#route-table").wait_for(timeout=30_000)
    markers = page.locator("#plan-map .stop-marker")
    markers.first.wait_for()
    assert markers.count() == len(ROWS)
    check_page(watched, shots, "05-planner-plan")
    page.get_by_role("button", name="Publish to drivers").click()
    page.get_by_text("Published: the drivers see their routes.").wait_for()
    check_page(watched, shots, "06-planner-published")


def _drive(watched: Watched, shots: Path, server: Server, route_id: str, failed: str) -> None:
    """The driver: start the route, deliver stops 1-3 online, fail stop 4 offline, reconnect."""
    (driver,) = _read(server, select(t.Route.driver_id).where(t.Route.id == route_id))[0]
    username = DRIVERS[driver]
    parcels = _read(
        server,
        select(func.count())
        .select_from(t.Parcel)
        .where(t.Parcel.order_id.in_(_stop_orders(server, route_id))),
    )[0][0]
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(watched, username)
    page.get_by_role("link", name="Driver page").click()
    page.locator("#driver").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    check_page(watched, shots, "07-driver-route")
    page.get_by_role("button", name="Start route").click()
    expect(page.locator("#start-card")).to_be_hidden()
    eventually(page, lambda: _count(server, "out_for_delivery") == parcels, 15)
    check_page(watched, shots, "08-driver-started")

    for seq, name in enumerate(("Aino", "Bertta", "Cecilia"), start=1):
        deliver(page, seq, name)
    eventually(page, lambda: _count(server, "delivered") >= 3)
    expect(page.locator("#waiting")).to_have_text("All scans sent.")
    check_page(watched, shots, "09-driver-delivered")

    page.context.set_offline(True)
    expect(page.locator("#connection")).to_contain_text("Offline")
    page.locator("#stop-4").get_by_role("button", name="Not delivered…").click()
    page.get_by_label("Reason").select_option("not_home")
    page.get_by_role("button", name="Confirm: not delivered").click()
    expect(page.locator("#waiting")).to_contain_text("scan waiting to be sent")
    check_page(watched, shots, "10-driver-offline")
    assert _count(server, "failed_attempt") == 0

    page.context.set_offline(False)
    expect(page.locator("#waiting")).to_have_text("All scans sent.")
    check_page(watched, shots, "11-driver-online")
    rows = _read(
        server, select(t.Event.kind, t.Parcel.order_id).join(t.Parcel).order_by(t.Event.seq)
    )
    finished = [(kind, order) for kind, order in rows if kind in ("delivered", "failed_attempt")]
    assert finished.count(("failed_attempt", failed)) == 1
    assert [kind for kind, _ in finished] == ["delivered"] * (len(finished) - 1) + [
        "failed_attempt"
    ]
    assert len({order for _, order in finished}) == 4  # three delivered, one failed, each once
    assert page.locator("#refused li").count() == 0


def _dispatch(watched: Watched, shots: Path, server: Server, failed: str) -> None:
    """The monitor ticks; the dispatcher finds the failed attempt and accepts a proposal."""
    server.tokens.state.monitor.run_once()
    found = _read(
        server,
        select(t.DispatchException.id, t.DispatchException.order_ids).where(
            t.DispatchException.kind == "failed_attempt"
        ),
    )
    assert [orders for _, orders in found] == [[failed]]
    exception_id = found[0][0]
    page = watched.page
    _sign_in(watched, "dora")
    page.get_by_role("link", name="Dispatch board").click()
    page.get_by_role("heading", level=1, name="Dispatch board").wait_for()
    page.locator("#board[data-map-loaded]").wait_for()
    item = page.locator(f'#queue li[data-exception-id="{exception_id}"]')
    expect(item).to_contain_text(failed)
    check_page(watched, shots, "12-board")
    item.get_by_role("link", name="Proposals").click()
    page.locator("article.proposal").first.wait_for()
    (proposal_id,) = _read(
        server,
        select(t.Proposal.id).where(
            t.Proposal.exception_id == exception_id, t.Proposal.kind == "next_day"
        ),
    )[0]
    check_page(watched, shots, "13-board-proposals")
    card = page.locator(f'article.proposal[data-proposal-id="{proposal_id}"]')
    card.get_by_label("Note (optional)").fill("the customer is away today")
    card.get_by_role("button", name="Accept").click()
    page.get_by_text("Accepted.").wait_for()
    page.locator("#decisions tr.decision-accepted", has_text="away today").wait_for()
    check_page(watched, shots, "14-board-accepted")
    status = _read(server, select(t.Proposal.status).where(t.Proposal.id == proposal_id))
    assert status[0][0] == "accepted"


def _track(watched: Watched, shots: Path, server: Server, order_id: str) -> None:
    """The customer of ``order_id`` asks for a safe place; the page shows nobody else's data."""
    columns = (t.Order.tracking_token, t.Order.street, t.Order.phone, t.Order.email, t.Order.notes)
    orders = {row[0]: row for row in _read(server, select(t.Order.id, *columns))}
    page = watched.page
    page.goto(f"/t/{orders[order_id][1]}")
    page.get_by_role("heading", level=1, name="Your delivery").wait_for()
    check_page(watched, shots, "15-tracking")
    text = page.content()
    for other, token, street, phone, email, notes in orders.values():
        if other != order_id:
            for secret in (other, token, street, phone, email, notes):
                assert secret not in text, f"{order_id}'s page shows {other}'s {secret!r}"
    page.get_by_label("Leave it in a safe place").check()
    page.get_by_label("Where, or which neighbour").fill(SAFE_PLACE)
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("Thank you: your request has reached the dispatcher.").wait_for()
    check_page(watched, shots, "16-tracking-requested")
    stored = _read(
        server,
        select(t.CustomerRequest.order_id, t.CustomerRequest.kind, t.CustomerRequest.details),
    )
    assert [(o, k, d.get("note")) for o, k, d in stored] == [(order_id, "safe_place", SAFE_PLACE)]


def test_the_whole_day(browser: Browser, server: Server, tmp_path: Path) -> None:
    """Plan, publish; start, deliver 3, fail 1 offline; accept a proposal; ask for a safe place."""
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()
    with ExitStack() as stack:
        _plan(_open(browser, server, stack), tmp_path, today)
        route_id = _busiest_route(server)
        orders = _stop_orders(server, route_id)
        assert len(orders) >= 4
        failed = orders[3]
        _drive(_open(browser, server, stack), tmp_path, server, route_id, failed)
        _dispatch(_open(browser, server, stack), tmp_path, server, failed)
        others = _read(server, select(t.Order.id).where(t.Order.status != "delivered"))
        customer = next(o for (o,) in others if o != failed)
        _track(_open(browser, server, stack), tmp_path, server, customer)
