"""The customer's tracking page: its content, its privacy, and its request form."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.web import tracking
from doorstep.web.sessions import tracking_csrf

from .conftest import SECRET, SECRET_OF_B, csrf_of, make_day


def _requests(sessions: sessionmaker[Session]) -> list[t.CustomerRequest]:
    with transaction(sessions) as db:
        rows = list(db.scalars(select(t.CustomerRequest)))
        db.expunge_all()
    return rows


def test_the_page_shows_status_window_and_stops_ahead(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """A's page: on its way, the window the JSON API gives, one stop before it, a map, a form."""
    day = make_day(sessions_of)
    r = web.get(f"/t/{day.token_a}")
    assert r.status_code == 200
    assert "Your parcel is on its way." in r.text
    api = web.get(f"/v1/track/{day.token_a}").json()["eta_window"]
    start, end = api["start"][11:16], api["end"][11:16]
    assert f"Expected between <strong>{start}</strong> and" in r.text
    assert f"<strong>{end}</strong>" in r.text
    assert "The driver has <strong>1</strong> stop before yours." in r.text
    assert 'id="map"' in r.text and 'src="/static/vendor/leaflet/leaflet.js"' in r.text
    assert 'action="/t/' + day.token_a + '/requests"' in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


def test_the_page_shows_no_other_order(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A's page holds nothing of B (the stop before it): no name, street, phone, id or token."""
    day = make_day(sessions_of)
    text = web.get(f"/t/{day.token_a}").text
    for value in (*SECRET_OF_B.values(), "order-B", day.token_b, "order-C", day.token_c):
        assert value not in text
    # nor the recipient's own contact details or the driver's: only the order's state.
    for value in ("Aino", "Testikatu 1", "+358405556677", "Ville", "drv1", "van1"):
        assert value not in text


def test_the_map_shows_the_area_not_the_door(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """The map's centre is the delivery point rounded to the area grid, not its coordinates."""
    day = make_day(sessions_of)
    text = web.get(f"/t/{day.token_c}").text
    lat = float(re.search(r'data-lat="([^"]+)"', text).group(1))  # type: ignore[union-attr]
    lon = float(re.search(r'data-lon="([^"]+)"', text).group(1))  # type: ignore[union-attr]
    step = tracking.AREA_STEP_DEG
    assert abs(lat / step - round(lat / step)) < 1e-6 and abs(lon / step - round(lon / step)) < 1e-6
    assert "60.1717" not in text and "24.942" not in text  # C's own coordinates


def test_the_van_shows_only_when_close_and_only_roughly(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """No scan yet: no van. B done: A (next) and C (one stop before) see it near B, rounded.

    D, delivered earlier without a scan time on this route, does not count as a scan.
    """
    day = make_day(sessions_of)
    assert "data-van-lat" not in web.get(f"/t/{day.token_a}").text
    with transaction(sessions_of) as db:
        stop = db.scalars(select(t.Stop).where(t.Stop.order_id == "order-B")).one()
        stop.state = "done"
        stop.finished_at = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)
        b = db.get(t.Order, "order-B")
        assert b is not None
        b_lat, b_lon = b.lat, b.lon
    for token in (day.token_a, day.token_c):
        text = web.get(f"/t/{token}").text
        lat = float(re.search(r'data-van-lat="([^"]+)"', text).group(1))  # type: ignore[union-attr]
        lon = float(re.search(r'data-van-lon="([^"]+)"', text).group(1))  # type: ignore[union-attr]
        assert (
            abs(lat - b_lat) <= tracking.VAN_STEP_DEG and abs(lon - b_lon) <= tracking.VAN_STEP_DEG
        )
        assert f"{b_lat}" not in text and f"{b_lon}" not in text  # never B's door itself
    with transaction(sessions_of) as db:  # A is now two stops before D: D sees no van
        stop = db.scalars(select(t.Stop).where(t.Stop.order_id == "order-D")).one()
        stop.state = "pending"
        order = db.get(t.Order, "order-D")
        assert order is not None
        order.status = "out_for_delivery"
    assert "data-van-lat" not in web.get(f"/t/{day.delivered}").text


def test_unknown_or_too_long_links_are_a_404_page(web: TestClient) -> None:
    """An unknown token (or one longer than any token) answers an HTML 404 page."""
    for token in ("0" * 32, "x" * 100):
        r = web.get(f"/t/{token}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "No parcel is tracked with this link" in r.text


def test_a_delivered_order_shows_no_form(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Once delivered, the page says so and offers no change."""
    day = make_day(sessions_of)
    text = web.get(f"/t/{day.delivered}").text
    assert "Your parcel has been delivered." in text
    assert "Not at home?" not in text and "Expected between" not in text


def test_the_form_stores_a_customer_request(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Asking for a safe place stores a customer request for A (source customer)."""
    day = make_day(sessions_of)
    token = csrf_of(web.get(f"/t/{day.token_a}").text)
    data = {"csrf_token": token, "kind": "safe_place", "note": "behind the blue gate"}
    r = web.post(f"/t/{day.token_a}/requests", data=data)
    assert r.status_code == 200 and r.url.path == f"/t/{day.token_a}"
    assert "your request has reached the dispatcher" in r.text
    (row,) = _requests(sessions_of)
    assert (row.order_id, row.kind, row.source, row.status) == (
        "order-A",
        "safe_place",
        "customer",
        "open",
    )
    assert row.details == {"note": "behind the blue gate"}


def test_htmx_gets_the_form_part_back(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """An htmx post gets the form's fragment back: with what to fix, then the confirmation."""
    day = make_day(sessions_of)
    token = csrf_of(web.get(f"/t/{day.token_a}").text)
    htmx = {"HX-Request": "true"}
    bad = {"csrf_token": token, "kind": "neighbour", "note": " "}
    r = web.post(f"/t/{day.token_a}/requests", data=bad, headers=htmx)
    assert r.status_code == 200 and r.text.startswith('<section id="request"')
    assert "Give the neighbour" in r.text and 'value="neighbour"' in r.text
    good = {"csrf_token": token, "kind": "time_window", "window": "16-20"}
    r = web.post(f"/t/{day.token_a}/requests", data=good, headers=htmx)
    assert r.status_code == 200 and "reached the dispatcher" in r.text
    (row,) = _requests(sessions_of)
    assert row.kind == "time_window" and row.details == {"window": [16 * 3600, 20 * 3600]}


def test_the_form_needs_its_token_bound_to_the_link(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """No token, B's token or a day-old token: 403 page and no request stored."""
    day = make_day(sessions_of)
    token_b = csrf_of(web.get(f"/t/{day.token_b}").text)
    stale = tracking_csrf(SECRET.encode(), day.token_a, time.time() - 2 * 86_400)
    for sent in ("", token_b, stale):
        data = {"csrf_token": sent, "kind": "safe_place", "note": "porch"}
        r = web.post(f"/t/{day.token_a}/requests", data=data)
        assert r.status_code == 403 and "Security check failed" in r.text
    assert _requests(sessions_of) == []


def test_a_delivered_order_cannot_be_changed(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Posting to a delivered order's link (the API's rule) answers a 404 page, stores nothing."""
    day = make_day(sessions_of)
    token = tracking_csrf(SECRET.encode(), day.delivered)
    data = {"csrf_token": token, "kind": "another_day"}
    r = web.post(f"/t/{day.delivered}/requests", data=data)
    assert r.status_code == 404 and "No change possible" in r.text
    assert _requests(sessions_of) == []
    with transaction(sessions_of) as db:
        assert db.get(t.Order, "order-D") is not None


def test_a_refused_plain_post_links_back_to_the_page(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Without htmx, a request the rules refuse is a 422 page linking back to the tracking page."""
    day = make_day(sessions_of)
    token = csrf_of(web.get(f"/t/{day.token_a}").text)
    r = web.post(f"/t/{day.token_a}/requests", data={"csrf_token": token, "kind": "safe_place"})
    assert r.status_code == 422 and "Say where the driver may leave the parcel." in r.text
    assert f'<a href="/t/{day.token_a}">Back to your delivery</a>' in r.text
    assert 'href="/login"' not in r.text
    assert _requests(sessions_of) == []


def test_htmx_errors_come_back_as_fragments(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Under htmx a stale form is a 403 fragment, a delivered order a fragment without form."""
    day = make_day(sessions_of)
    htmx = {"HX-Request": "true"}
    data = {"csrf_token": "1.abc", "kind": "another_day"}
    r = web.post(f"/t/{day.token_a}/requests", data=data, headers=htmx)
    assert r.status_code == 403 and r.text.startswith('<section id="request"')
    assert "valid security token" in r.text and csrf_of(r.text) != "1.abc"
    data["csrf_token"] = tracking_csrf(SECRET.encode(), day.delivered)
    r = web.post(f"/t/{day.delivered}/requests", data=data, headers=htmx)
    assert r.status_code == 200 and "no parcel to change" in r.text and "<form" not in r.text
    assert _requests(sessions_of) == []
