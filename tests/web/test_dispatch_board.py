"""The dispatch board through FastAPI's TestClient: roles, the queue, decisions, the live stream."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.security import Role, create_key
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.web import dispatch_board
from doorstep.web.dispatch_board import StreamTiming, board_events, delta_words

from .conftest import add_account, csrf_of, make_day, sign_in

ZONE = ZoneInfo("Europe/Helsinki")
DAY = "2026-12-07"


def moment(day: str, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` of ``day`` in the service's zone."""
    return datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=ZONE)


def dispatch_day(sessions: sessionmaker[Session], day: str = DAY) -> str:
    """:func:`make_day` (van1: B, A, C pending, D done) plus van2 with E, F, G; a dispatcher key.

    Returns the dispatcher's ``Authorization`` header value.
    """
    make_day(sessions, day)
    with transaction(sessions) as db:
        db.add(t.Vehicle(id="van2", depot_id="hki"))
        db.flush()
        db.add(t.Driver(id="drv2", name="Veera", vehicle_id="van2"))
        for k, ident in enumerate("EFG"):
            db.add(
                t.Order(
                    id=f"order-{ident}",
                    lat=60.175 + 0.002 * k,
                    lon=24.93,
                    zip="00200",
                    city="Helsinki",
                    windows=[[9 * 3600, 16 * 3600]],
                    tracking_token=f"tok{ident}" + "0" * 29,
                    status="out_for_delivery",
                    name=f"Customer {ident}",
                )
            )
            db.add(t.Parcel(id=f"order-{ident}-1", order_id=f"order-{ident}"))
        db.flush()
        db.add(
            t.Route(
                id="r2",
                plan_id="plan1",
                vehicle_id="van2",
                driver_id="drv2",
                day=day,
                state="in_progress",
                start_s=8 * 3600,
                end_s=15 * 3600,
                distance_m=8000,
            )
        )
        db.flush()
        for seq, ident in enumerate("EFG", start=1):
            eta = 10 * 3600 + seq * 1200
            db.add(
                t.Stop(
                    route_id="r2",
                    seq=seq,
                    order_id=f"order-{ident}",
                    leg_s=600,
                    service_s=180,
                    window_start_s=9 * 3600,
                    window_end_s=16 * 3600,
                    planned_arrival_s=eta,
                    planned_start_s=eta,
                    eta_s=eta,
                    state="pending",
                )
            )
        secret, _ = create_key(db, Role.DISPATCHER, "board test", None)
    return f"Bearer {secret}"


def breakdown(client: TestClient, key: str, day: str = DAY) -> str:
    """van1 breaks down at 09:55 (``POST /v1/routes/r1/incidents``); the exception's id."""
    body = {"kind": "breakdown", "at": moment(day, 9, 55).isoformat(), "note": "clutch"}
    r = client.post("/v1/routes/r1/incidents", json=body, headers={"Authorization": key})
    assert r.status_code == 201, r.text
    exception_id: str = r.json()["exception_id"]
    return exception_id


@pytest.fixture
def board(web: TestClient, sessions_of: sessionmaker[Session]) -> tuple[TestClient, str]:
    """The service at 10:00 on the day, its dispatch day, a signed-in dispatcher; the API key."""
    web.app.state.clock = lambda: moment(DAY, 10)  # type: ignore[attr-defined]
    key = dispatch_day(sessions_of)
    add_account(sessions_of, "dora", "dispatcher")
    assert sign_in(web, "dora").status_code == 200
    return web, key


def _proposals(client: TestClient, exception_id: str) -> str:
    r = client.get(f"/dispatch/exceptions/{exception_id}/proposals", headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    return r.text


def _proposal_ids(html: str, kind: str) -> str:
    cards = re.findall(r'data-proposal-id="([^"]+)"[^>]*>\s*<h4[^>]*>([^<]+)<', html)
    found = [pid for pid, title in cards if title.strip().lower() == kind]
    assert found, f"no {kind} proposal in {cards}"
    return found[0]


def _stored(sessions: sessionmaker[Session], proposal_id: str) -> tuple[str, list[tuple[str, str]]]:
    with transaction(sessions) as db:
        proposal = db.get(t.Proposal, proposal_id)
        assert proposal is not None
        decisions = [
            (d.decision, d.reason)
            for d in db.scalars(select(t.Decision).where(t.Decision.proposal_id == proposal_id))
        ]
        return proposal.status, decisions


@pytest.mark.parametrize(
    ("role", "status"), [("planner", 403), ("driver", 403), ("dispatcher", 200), ("admin", 200)]
)
def test_only_dispatchers_and_admins_see_the_board(
    web: TestClient, sessions_of: sessionmaker[Session], role: str, status: int
) -> None:
    """A planner or driver gets the 403 page; a dispatcher or admin the board."""
    make_day(sessions_of)
    add_account(sessions_of, "someone", role, driver_id="drv1" if role == "driver" else None)
    sign_in(web, "someone")
    for url in ("/dispatch", f"/dispatch/map.json?day={DAY}", f"/dispatch/queue?day={DAY}"):
        r = web.get(url)
        assert r.status_code == status, (url, r.text)
    if status == 403:
        assert "Not for your role" in web.get("/dispatch").text


def test_signed_out_goes_to_the_sign_in_page(web: TestClient) -> None:
    """Without a session the board redirects to /login (htmx: an HX-Redirect header)."""
    r = web.get("/dispatch", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = web.get("/dispatch/queue", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.headers["hx-redirect"] == "/login"
    assert web.get("/dispatch/stream", follow_redirects=False).status_code == 303


def test_the_board_defaults_to_today_in_the_service_zone(board: tuple[TestClient, str]) -> None:
    """No day asked: the day is today by the service's clock, in its time zone."""
    client, _ = board
    client.app.state.clock = lambda: datetime(2026, 12, 6, 22, 30, tzinfo=ZoneInfo("UTC"))  # type: ignore[attr-defined]
    r = client.get("/dispatch")
    assert 'value="2026-12-07"' in r.text  # 00:30 in Helsinki
    assert client.get("/dispatch?day=yesterday").status_code == 422


def test_the_map_data_has_routes_progress_and_next_eta(board: tuple[TestClient, str]) -> None:
    """map.json: both current routes, their stops, the done count and the next ETA."""
    client, _ = board
    data = client.get(f"/dispatch/map.json?day={DAY}").json()
    routes = {r["id"]: r for r in data["routes"]}
    assert set(routes) == {"r1", "r2"}
    r1 = routes["r1"]
    assert [s["order_id"] for s in r1["stops"]] == ["order-B", "order-A", "order-C", "order-D"]
    assert (r1["done"], r1["total"], r1["next_eta"], r1["next_stop"]) == (1, 4, "09:30", "order-B")
    assert r1["depot"] == [60.1699, 24.9384]
    assert routes["r1"]["colour"] != routes["r2"]["colour"]


def test_the_board_lists_a_breakdown_and_its_proposals(board: tuple[TestClient, str]) -> None:
    """After a breakdown incident the queue shows its sentence under High; its cards a delta."""
    client, key = board
    assert "No open exception" in client.get(f"/dispatch/queue?day={DAY}").text
    exception_id = breakdown(client, key)
    page = client.get(f"/dispatch?day={DAY}").text
    high = page.split('class="severity severity-high"')[1].split("</ul>")[0]
    assert exception_id in high
    assert "van1 reported a breakdown at 09:55: 3 stops (3 parcels) are left to serve." in high
    cards = _proposals(client, exception_id)
    assert "Hand over" in cards and "Accepting costs" in cards
    assert "<dt>Stops moved</dt><dd>3</dd>" in cards
    assert 'class="preview-map"' in cards and 'type="application/json"' in cards
    opened = client.get(f"/dispatch?day={DAY}&exception={exception_id}").text
    assert "Hand over" in opened  # the same cards, without JavaScript


def test_accept_changes_the_proposal_and_logs_the_decision(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """Accept: the proposal is accepted, a new r2 version exists, the decision log shows it."""
    client, key = board
    exception_id = breakdown(client, key)
    hand_over = _proposal_ids(_proposals(client, exception_id), "hand over")
    csrf = csrf_of(client.get(f"/dispatch?day={DAY}").text)
    r = client.post(
        f"/dispatch/proposals/{hand_over}/accept",
        data={"csrf_token": csrf, "reason": "van2 has room"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    assert "Accepted. New route versions: r2.v2" in r.text
    assert r.headers["hx-trigger"] == "board-changed"
    assert _stored(sessions_of, hand_over) == ("accepted", [("accepted", "van2 has room")])
    log = client.get(f"/dispatch/decisions?day={DAY}").text
    assert "accepted" in log and "van2 has room" in log and "dora" in log
    routes = {r["id"] for r in client.get(f"/dispatch/map.json?day={DAY}").json()["routes"]}
    assert "r2.v2" in routes and "r2" not in routes


def test_reject_needs_a_reason_then_logs_it(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """Reject without a reason changes nothing; with one the proposal is rejected and logged."""
    client, key = board
    exception_id = breakdown(client, key)
    put_off = _proposal_ids(_proposals(client, exception_id), "put off")
    csrf = csrf_of(client.get(f"/dispatch?day={DAY}").text)
    url = f"/dispatch/proposals/{put_off}/reject"
    r = client.post(url, data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert "Say why you reject the proposal." in r.text
    assert _stored(sessions_of, put_off) == ("open", [])
    r = client.post(url, data={"csrf_token": csrf, "reason": "customers were promised today"})
    assert r.status_code == 200 and "Rejected; the reason is logged." in r.text
    assert _stored(sessions_of, put_off) == (
        "rejected",
        [("rejected", "customers were promised today")],
    )
    assert "customers were promised today" in client.get(f"/dispatch/decisions?day={DAY}").text


def test_a_stale_accept_shows_a_clear_message_and_changes_nothing(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """A second accept on the exception (its routes changed since): a message, nothing written."""
    client, key = board
    exception_id = breakdown(client, key)
    cards = _proposals(client, exception_id)
    hand_over, put_off = _proposal_ids(cards, "hand over"), _proposal_ids(cards, "put off")
    csrf = csrf_of(client.get(f"/dispatch?day={DAY}").text)
    hx = {"HX-Request": "true"}
    client.post(f"/dispatch/proposals/{hand_over}/accept", data={"csrf_token": csrf}, headers=hx)
    r = client.post(f"/dispatch/proposals/{put_off}/accept", data={"csrf_token": csrf}, headers=hx)
    assert r.status_code == 200
    assert dispatch_board.STALE in r.text and 'role="alert"' in r.text
    assert _stored(sessions_of, put_off)[1] == []  # no decision
    assert _stored(sessions_of, put_off)[0] != "accepted"  # the refused accept was rolled back
    plain = client.post(f"/dispatch/proposals/{put_off}/accept", data={"csrf_token": csrf})
    assert plain.status_code == 409 and dispatch_board.STALE in plain.text


def test_an_accept_on_changed_routes_is_refused_and_rolled_back(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """r2 re-versioned after the cards were made: accept says stale, and writes nothing."""
    client, key = board
    exception_id = breakdown(client, key)
    hand_over = _proposal_ids(_proposals(client, exception_id), "hand over")
    with transaction(sessions_of) as db:
        route = db.get(t.Route, "r2")
        assert route is not None
        route.version = 2  # as if another change had made a new version of van2's route
    csrf = csrf_of(client.get(f"/dispatch?day={DAY}").text)
    r = client.post(
        f"/dispatch/proposals/{hand_over}/accept",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert dispatch_board.STALE in r.text
    status, decisions = _stored(sessions_of, hand_over)
    assert status != "accepted" and decisions == []  # the claim was rolled back
    with transaction(sessions_of) as db:
        exception = db.get(t.DispatchException, exception_id)
        assert exception is not None and exception.status == "open"


def test_unsafe_requests_need_the_csrf_token(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """Accept and acknowledge without the session's token: 403, nothing changed."""
    client, key = board
    exception_id = breakdown(client, key)
    hand_over = _proposal_ids(_proposals(client, exception_id), "hand over")
    assert client.post(f"/dispatch/proposals/{hand_over}/accept").status_code == 403
    assert client.post(f"/dispatch/exceptions/{exception_id}/acknowledge").status_code == 403
    assert _stored(sessions_of, hand_over) == ("open", [])


def test_acknowledge_marks_the_exception_seen(
    board: tuple[TestClient, str], sessions_of: sessionmaker[Session]
) -> None:
    """Acknowledge: the exception is acknowledged, its button gone from the queue."""
    client, key = board
    exception_id = breakdown(client, key)
    csrf = csrf_of(client.get(f"/dispatch?day={DAY}").text)
    r = client.post(
        f"/dispatch/exceptions/{exception_id}/acknowledge",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    item = r.text.split(f'data-exception-id="{exception_id}"')[1].split("</li>")[0]
    assert "acknowledged" in item and "Acknowledge</button>" not in item
    with transaction(sessions_of) as db:
        row = db.get(t.DispatchException, exception_id)
        assert row is not None and row.status == "acknowledged"


def test_the_stream_sends_the_marks_then_stops_when_asked(
    board: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SSE stream: retry, then a board event with a hash per part; it ends at its lifetime."""
    client, _ = board
    monkeypatch.setattr(dispatch_board, "TIMING", StreamTiming(poll_s=0.01, lifetime_s=0))
    r = client.get(f"/dispatch/stream?day={DAY}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("retry: 2000\n\n")
    events = [block for block in r.text.split("\n\n") if block.startswith("event: board")]
    assert len(events) == 1
    marks = json.loads(events[0].split("data: ", 1)[1])
    assert set(marks) == {"exceptions", "proposals", "decisions", "routes", "scans"}


def test_the_stream_tells_a_change_and_ends_when_the_client_goes(
    board: tuple[TestClient, str],
) -> None:
    """board_events: one event per change (none when nothing changed), and stops on disconnect."""
    client, key = board
    read = dispatch_board.read_marks(_FakeRequest(client), DAY)
    polls = {"n": 0}

    async def disconnected() -> bool:
        polls["n"] += 1
        if polls["n"] == 2:
            await asyncio.to_thread(breakdown, client, key)
        return polls["n"] >= 4

    async def collect() -> list[str]:
        timing = StreamTiming(poll_s=0.001, lifetime_s=60, keepalive_s=60)
        return [chunk async for chunk in board_events(read, disconnected, timing)]

    chunks = asyncio.run(collect())
    events = [json.loads(c.split("data: ", 1)[1]) for c in chunks if c.startswith("event: board")]
    assert len(events) == 2, chunks  # the first marks, then the breakdown's change only
    assert events[0]["exceptions"] != events[1]["exceptions"]
    assert events[0]["routes"] == events[1]["routes"]
    assert polls["n"] == 4  # it stopped as soon as the client had gone


class _FakeRequest:
    """Just what :func:`read_marks` reads of a request: the app."""

    def __init__(self, client: TestClient) -> None:
        self.app = client.app


def test_delta_words_say_the_cost_in_a_sentence() -> None:
    """The words beside a proposal's numbers: cost, lateness, orders put off, customers told."""
    words = delta_words(
        {"cost": 4.5, "late_stops": 2, "orders_put_off": 1, "customers_notified": 0}
    )
    assert words == (
        "Accepting costs 4.50 more than the day as it stands, makes 2 more stops late "
        "and leaves 1 order for another day."
    )
    assert delta_words({"cost": -1, "feasible": False}) == (
        "Accepting saves 1.00 on the day as it stands; it breaks a rule the day does not break now."
    )


def test_the_home_page_links_the_board_and_the_kpis(board: tuple[TestClient, str]) -> None:
    """A dispatcher's home page links /dispatch and /kpis."""
    client, _ = board
    home = client.get("/").text
    assert 'href="/dispatch"' in home and 'href="/kpis"' in home


def test_a_day_without_routes_says_so(board: tuple[TestClient, str]) -> None:
    """Another day: no route, no exception, an empty decision log."""
    client, _ = board
    other = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    assert client.get(f"/dispatch/map.json?day={other}").json()["routes"] == []
    page = client.get(f"/dispatch?day={other}").text
    assert f"No open exception on {other}." in page and "No decision yet" in page
