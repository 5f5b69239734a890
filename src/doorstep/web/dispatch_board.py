"""The dispatch board, ``/dispatch``: the day's routes live, exceptions, proposals, decisions.

For dispatchers and admins. The page is made from the services behind the
dispatch API, never a copy of them:

- the map: the current route versions of the day
  (:func:`doorstep.store.queries.dispatch.day_state`), each stop's state and
  ETA, and each route's latest scan;
- the exceptions queue: :func:`~doorstep.store.queries.dispatch.exceptions_of`
  (``GET /v1/exceptions``), by severity;
- an exception's proposals: :func:`doorstep.service.proposals.proposals_for`
  (``GET /v1/exceptions/{id}/proposals``); accept and reject are
  :func:`~doorstep.service.proposals.accept` and
  :func:`~doorstep.service.proposals.reject`, acknowledge is
  :func:`doorstep.service.exceptions.acknowledge`, each in its own transaction
  (a refused accept, such as a stale proposal, leaves nothing written);
- the decision log: :func:`~doorstep.store.queries.dispatch.decisions_of`
  (``GET /v1/decisions``).

Live updates: ``/dispatch/stream?day=`` is a stream of server-sent events. It
reads the board's marks (:func:`~doorstep.store.queries.dispatch.board_marks`)
every :attr:`StreamTiming.poll_s` and sends a ``board`` event, one short hash
per part, when one changed; the page's script then asks htmx to fetch again
only the parts whose hash changed. A stream ends when the client goes, or after
:attr:`StreamTiming.lifetime_s` (the browser reconnects by itself), so an open
page never holds the server for long.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from doorstep.api.deps import Db
from doorstep.api.security import Role
from doorstep.service import exceptions as rules
from doorstep.service import proposals as playbooks
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries import accounts as account_queries
from doorstep.store.queries import dispatch as q
from doorstep.store.queries.plans import orders_by_ids
from doorstep.units import format_clock
from doorstep.web.pages import Account, check_csrf
from doorstep.web.render import SECURITY_HEADERS, PageError, page, secure_headers
from doorstep.web.sessions import read_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

BOARD_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
"""Who may use the board (the API's ``Dispatcher``)."""
SEVERITIES = ("high", "medium", "low")
"""The queue's order: high first."""
COLOURS = (
    "#0b5cad",
    "#c0392b",
    "#16803c",
    "#8e44ad",
    "#d35400",
    "#00838f",
    "#6d4c41",
    "#ad1457",
    "#546e7a",
    "#827717",
)
"""One colour per vehicle, in vehicle id order (a route keeps its colour across versions)."""
DELTA_ROWS = (
    ("km", "Distance", "{:+.1f} km"),
    ("duty_min", "Duty time", "{:+.0f} min"),
    ("late_stops", "Late stops", "{:+d}"),
    ("late_min", "Lateness", "{:+.0f} min"),
    ("stops_moved", "Stops moved", "{:d}"),
    ("orders_put_off", "Orders left for another day", "{:d}"),
    ("parcels_put_off", "Parcels left for another day", "{:d}"),
    ("customers_notified", "Customers told a new ETA", "{:d}"),
    ("cost", "Cost", "{:+.2f}"),
)
"""The numbers of a proposal's cost delta (``ProposalOut.delta``): key, heading, format."""
STALE = (
    "This proposal can no longer be accepted: the routes or the exception changed since it "
    "was made. The list below is fresh: choose again."
)
NOT_A_DAY = "The day must be a date such as 2026-12-07."


@dataclass
class StreamTiming:
    """How the live stream polls (tests make it quick)."""

    poll_s: float = 2.0
    """Seconds between two reads of the board's marks."""
    lifetime_s: float = 120.0
    """A stream ends after this long; the browser's ``EventSource`` reconnects by itself."""
    keepalive_s: float = 15.0
    """A comment line this often when nothing changes (proxies close silent connections)."""
    retry_ms: int = 2000
    """How long the browser waits before reconnecting."""


TIMING = StreamTiming()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def today(request: Request) -> str:
    """Today's date in the service's time zone (by the service's clock), ISO."""
    return _now(request).astimezone(ZoneInfo(_settings(request).timezone)).date().isoformat()


def day_of(request: Request, day: str) -> str:
    """``day`` checked (ISO date), or today when empty.

    Raises
    ------
    PageError
        422 for anything but a date.
    """
    if not day:
        return today(request)
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        raise PageError(422, "Not a day", NOT_A_DAY, back="/dispatch") from None


def allowed(
    request: Request, account: t.Account | None, roles: frozenset[Role]
) -> t.Account | Response:
    """The account if its role is one of ``roles``; else where to go.

    Not signed in: a redirect to the sign-in page (``HX-Redirect`` for htmx).

    Raises
    ------
    PageError
        403 for a signed-in account of another role.
    """
    if account is None:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": "/login", **SECURITY_HEADERS})
        return secure_headers(RedirectResponse("/login", status_code=303))
    if Role(account.role) not in roles:
        raise PageError(
            403,
            "Not for your role",
            f"This page is for the roles {', '.join(sorted(r.value for r in roles))}; "
            f"you are signed in as {account.role}.",
        )
    return account


def _csrf(request: Request) -> str | None:
    session = read_session(request)
    return None if session is None else session.csrf


# What the board shows, from the services and queries of the dispatch API.


def _clock(seconds: int | None) -> str:
    return "" if seconds is None else format_clock(seconds)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite gives naive UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).strftime("%H:%M")


def _depots(db: Session) -> dict[str, tuple[float, float]]:
    """Vehicle id -> its depot's location."""
    depots = {d.id: (d.lat, d.lon) for d in db.scalars(select(t.Depot))}
    vehicles = db.scalars(select(t.Vehicle))
    return {v.id: depots[v.depot_id] for v in vehicles if v.depot_id in depots}


def colours(vehicle_ids: Sequence[str]) -> dict[str, str]:
    """A colour for each vehicle, by its rank among ``vehicle_ids`` (sorted)."""
    return {v: COLOURS[k % len(COLOURS)] for k, v in enumerate(sorted(set(vehicle_ids)))}


def map_of_day(db: Session, day: str, settings: Settings) -> dict[str, Any]:
    """The map's data: each current route with its stops, progress, last scan and next ETA.

    Parameters
    ----------
    db
        A session.
    day
        ISO date.
    settings
        The service's settings (its time zone).

    Returns
    -------
    dict
        ``{"day", "routes": [{"id", "vehicle_id", "driver_id", "state", "version",
        "colour", "depot", "stops": [{"seq", "order_id", "lat", "lon", "state",
        "eta", "window"}], "done", "total", "next_eta", "last_scan"}]}``.
    """
    zone = ZoneInfo(settings.timezone)
    state = q.day_state(db, day, settings.timezone)
    start, end = q.day_bounds(day, zone)
    scans = q.last_scans(db, [r.id for r in state.routes], start, end)
    depots = _depots(db)
    palette = colours([r.vehicle_id for r in state.routes])
    routes = []
    for route in state.routes:
        stops = [
            {
                "seq": s.seq,
                "order_id": s.order_id,
                "lat": s.location[0],
                "lon": s.location[1],
                "state": s.state,
                "eta": _clock(s.eta_s),
                "window": ""
                if s.window_start_s is None or s.window_end_s is None
                else f"{_clock(s.window_start_s)}-{_clock(s.window_end_s)}",
            }
            for s in route.stops
            if s.location is not None  # from the store's orders: always known
        ]
        pending = [s for s in route.stops if s.state in ("pending", "arrived")]
        scan = scans.get(route.id)
        routes.append(
            {
                "id": route.id,
                "vehicle_id": route.vehicle_id,
                "driver_id": route.driver_id,
                "state": route.state,
                "version": route.version,
                "colour": palette[route.vehicle_id],
                "depot": depots.get(route.vehicle_id),
                "stops": stops,
                "done": len(route.stops) - len(pending),
                "total": len(route.stops),
                "next_eta": _clock(pending[0].eta_s) if pending else "",
                "next_stop": pending[0].order_id if pending else "",
                "incident": route.incident is not None,
                "last_scan": None
                if scan is None
                else {
                    "kind": scan[0].replace("_", " "),
                    "at": _local(scan[1], zone),
                    "order_id": scan[2],
                },
            }
        )
    return {"day": day, "routes": routes}


def queue_of(db: Session, day: str) -> dict[str, Any]:
    """The exceptions of ``day``: unresolved ones by severity, then the resolved ones."""
    rows = q.exceptions_of(db, day, None)
    open_rows = [r for r in rows if r.status != "resolved"]
    by_severity = {s: [r for r in open_rows if r.severity == s] for s in SEVERITIES}
    others = [r for r in open_rows if r.severity not in SEVERITIES]
    if others:
        by_severity["low"] = [*by_severity["low"], *others]
    return {
        "by_severity": by_severity,
        "open_count": len(open_rows),
        "resolved": [r for r in rows if r.status == "resolved"],
    }


def delta_words(delta: Mapping[str, Any]) -> str:
    """A proposal's cost delta in one sentence (the numbers are shown beside it)."""
    cost = float(delta.get("cost") or 0.0)
    if cost > 0.005:
        money = f"costs {cost:.2f} more than the day as it stands"
    elif cost < -0.005:
        money = f"saves {-cost:.2f} on the day as it stands"
    else:
        money = "costs the same as the day as it stands"
    parts = [money]
    late = int(delta.get("late_stops") or 0)
    if late > 0:
        parts.append(f"makes {late} more stop{'s' if late != 1 else ''} late")
    elif late < 0:
        parts.append(f"makes {-late} fewer stop{'s' if late != -1 else ''} late")
    put_off = int(delta.get("orders_put_off") or 0)
    if put_off:
        parts.append(f"leaves {put_off} order{'s' if put_off != 1 else ''} for another day")
    told = int(delta.get("customers_notified") or 0)
    if told:
        parts.append(f"tells {told} customer{'s' if told != 1 else ''} a new ETA")
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    sentence = "Accepting " + body
    if delta.get("feasible") is False:
        sentence += "; it breaks a rule the day does not break now"
    return sentence + "."


def delta_numbers(delta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The delta's numbers as (heading, formatted value), for those it has."""
    out = []
    for key, heading, fmt in DELTA_ROWS:
        value = delta.get(key)
        if value is None:
            continue
        out.append((heading, fmt.format(int(value) if "d}" in fmt else float(value))))
    return out


def preview_of(
    db: Session, proposal: t.Proposal, day_map: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The routes a proposal changes, before and after, for its small map (None: no route change).

    Returns
    -------
    dict or None
        ``{"before": [{"colour", "points"}], "after": [{"label", "colour", "points"}]}``,
        points as ``[lat, lon]`` from the depot through the stops.
    """
    change = proposal.change or {}
    sequences: dict[str, list[str]] = {
        **change.get("routes", {}),
        **{f"standby {v}": ids for v, ids in change.get("standby", {}).items()},
    }
    if not sequences:
        return None
    current = {r["id"]: r for r in day_map["routes"]}
    wanted = {i for ids in sequences.values() for i in ids}
    places = {o.id: (o.lat, o.lon) for o in orders_by_ids(db, wanted)} if wanted else {}
    before: list[dict[str, Any]] = []
    for rid in [*change.get("routes", {}), *(proposal.basis or {})]:
        route = current.get(rid)
        if route is None or any(b.get("id") == rid for b in before):
            continue
        points = [[s["lat"], s["lon"]] for s in route["stops"]]
        if route["depot"]:
            points.insert(0, list(route["depot"]))
        before.append({"id": rid, "colour": route["colour"], "points": points})
    after = []
    for label, ids in sequences.items():
        route = current.get(label)
        points = [list(places[i]) for i in ids if i in places]
        if route is not None:
            done = [[s["lat"], s["lon"]] for s in route["stops"] if s["state"] != "pending"]
            points = done + points
            if route["depot"]:
                points.insert(0, list(route["depot"]))
        after.append(
            {
                "label": label,
                "colour": route["colour"] if route is not None else "#222222",
                "points": points,
            }
        )
    return {"before": before, "after": after}


def decision_log(db: Session, day: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The decision log of ``day``, oldest first, with who decided and what they decided on."""
    out = []
    for row in q.decisions_of(db, day):
        proposal = db.get(t.Proposal, row.proposal_id)
        exception = db.get(t.DispatchException, row.exception_id)
        account = account_queries.account_by_id(db, row.key_id) if row.key_id else None
        if account is not None:
            who = account.display_name or account.username
        elif row.key_id:
            who = f"API key {row.key_id}"
        else:
            who = "automatic"
        out.append(
            {
                "at": _local(row.at, zone),
                "decision": row.decision,
                "who": who,
                "reason": row.reason,
                "proposal": proposal.sentence if proposal is not None else row.proposal_id,
                "kind": proposal.kind.replace("_", " ") if proposal is not None else "",
                "exception": exception.sentence if exception is not None else row.exception_id,
                "cost": delta_words(row.delta) if row.delta else "",
            }
        )
    return out


def proposal_cards(
    db: Session, exception: t.DispatchException, proposals: Sequence[t.Proposal], settings: Settings
) -> list[dict[str, Any]]:
    """Each proposal with its delta in words and numbers and, if it moves routes, its preview."""
    day_map = map_of_day(db, exception.day, settings)
    return [
        {
            "row": p,
            "kind": p.kind.replace("_", " "),
            "words": delta_words(p.delta),
            "numbers": delta_numbers(p.delta),
            "preview": preview_of(db, p, day_map) if p.status == "open" else None,
        }
        for p in proposals
    ]


# The page and its parts.


def _board_context(
    request: Request,
    db: Session,
    who: t.Account,
    day: str,
    *,
    exception_id: str = "",
    message: str = "",
    error: str = "",
) -> dict[str, Any]:
    zone = ZoneInfo(_settings(request).timezone)
    context: dict[str, Any] = {
        "account": who,
        "csrf": _csrf(request),
        "title": "Dispatch board",
        "day": day,
        "today": today(request),
        "queue": queue_of(db, day),
        "decisions": decision_log(db, day, zone),
        "marks": marks_of(q.board_marks(db, day)),
        "selected": None,
        "cards": [],
        "message": message,
        "error": error,
    }
    if exception_id:
        context |= _proposals_context(request, db, exception_id)
    return context


def _proposals_context(request: Request, db: Session, exception_id: str) -> dict[str, Any]:
    """The exception and its proposal cards (computed by the playbook on first asking)."""
    settings = _settings(request)
    exception = db.get(t.DispatchException, exception_id)
    if exception is None:
        raise PageError(404, "No such exception", f"There is no exception {exception_id}.")
    rows = playbooks.proposals_for(db, exception_id, settings, _now(request))
    return {"selected": exception, "cards": proposal_cards(db, exception, rows, settings)}


@router.get("/dispatch")
def board(
    request: Request,
    db: Db,
    account: Account,
    day: str = "",
    exception: str = "",
) -> Response:
    """The board: map, exceptions queue, the chosen exception's proposals, decision log."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    chosen = day_of(request, day)
    context = _board_context(request, db, who, chosen, exception_id=exception[:40])
    return page(request, "board.html", context)


@router.get("/dispatch/map.json")
def board_map(request: Request, db: Db, account: Account, day: str = "") -> Response:
    """The map's data of the day (:func:`map_of_day`) as JSON."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    data = map_of_day(db, day_of(request, day), _settings(request))
    return JSONResponse(data, headers=SECURITY_HEADERS)


@router.get("/dispatch/queue")
def board_queue(request: Request, db: Db, account: Account, day: str = "") -> Response:
    """The exceptions queue (what htmx swaps in when it changed)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    chosen = day_of(request, day)
    context = {"day": chosen, "queue": queue_of(db, chosen), "csrf": _csrf(request)}
    return page(request, "board_queue.html", context)


@router.get("/dispatch/decisions")
def board_decisions(request: Request, db: Db, account: Account, day: str = "") -> Response:
    """The decision log (what htmx swaps in when it changed)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    chosen = day_of(request, day)
    zone = ZoneInfo(_settings(request).timezone)
    return page(request, "board_decisions.html", {"decisions": decision_log(db, chosen, zone)})


ExceptionId = Annotated[str, Path(min_length=1, max_length=40)]
ProposalId = Annotated[str, Path(min_length=1, max_length=40)]


@router.get("/dispatch/exceptions/{exception_id}/proposals")
def board_proposals(
    request: Request, db: Db, account: Account, exception_id: ExceptionId
) -> Response:
    """An exception's proposal cards (``GET /v1/exceptions/{id}/proposals``'s service)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    context = {"csrf": _csrf(request), "message": "", "error": ""}
    context |= _proposals_context(request, db, exception_id)
    return page(request, "board_proposals.html", context)


T = TypeVar("T")


def _decide(request: Request, work: Callable[[Session], T]) -> T | RefusedError:
    """Run ``work`` in its own transaction; a refusal rolls it back and is returned."""
    try:
        with transaction(request.app.state.sessions) as db:
            return work(db)
    except RefusedError as exc:
        return exc


def _after_decision(
    request: Request,
    db: Session,
    who: t.Account,
    exception_id: str,
    message: str,
    error: str,
) -> Response:
    """The proposals part again (htmx), or the whole board (a plain form post)."""
    exception = db.get(t.DispatchException, exception_id)
    if exception is None:
        raise PageError(404, "No such exception", f"There is no exception {exception_id}.")
    if request.headers.get("HX-Request") != "true":
        context = _board_context(
            request, db, who, exception.day, exception_id=exception_id, message=message, error=error
        )
        return page(request, "board.html", context, status=409 if error else 200)
    context = {"csrf": _csrf(request), "message": message, "error": error}
    context |= _proposals_context(request, db, exception_id)
    # 200 even when refused: htmx swaps only successes, and a browser logs every 4xx.
    return page(request, "board_proposals.html", context, headers={"HX-Trigger": "board-changed"})


def _proposal(db: Session, proposal_id: str) -> t.Proposal:
    row = db.get(t.Proposal, proposal_id)
    if row is None:
        raise PageError(404, "No such proposal", f"There is no proposal {proposal_id}.")
    return row


@router.post("/dispatch/proposals/{proposal_id}/accept")
def accept(
    request: Request,
    db: Db,
    account: Account,
    proposal_id: ProposalId,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Accept a proposal (``POST /v1/proposals/{id}/accept``'s service); stale: a clear message."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    exception_id = _proposal(db, proposal_id).exception_id
    settings, now = _settings(request), _now(request)
    done = _decide(
        request,
        lambda s: playbooks.accept(s, proposal_id, who.id, reason.strip(), settings, now),
    )
    db.expire_all()
    if isinstance(done, RefusedError):
        error = STALE if done.code in ("stale_proposal", "proposal_closed") else str(done)
        return _after_decision(request, db, who, exception_id, "", error)
    routes = ", ".join(done.new_routes) or "no route"
    message = f"Accepted. New route versions: {routes}; {done.notices} customers told a new ETA."
    return _after_decision(request, db, who, exception_id, message, "")


@router.post("/dispatch/proposals/{proposal_id}/reject")
def reject(
    request: Request,
    db: Db,
    account: Account,
    proposal_id: ProposalId,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Reject a proposal with a reason (``POST /v1/proposals/{id}/reject``'s service)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    exception_id = _proposal(db, proposal_id).exception_id
    if not reason.strip():
        return _after_decision(
            request, db, who, exception_id, "", "Say why you reject the proposal."
        )
    now = _now(request)
    done = _decide(request, lambda s: playbooks.reject(s, proposal_id, who.id, reason.strip(), now))
    db.expire_all()
    if isinstance(done, RefusedError):
        error = STALE if done.code == "proposal_closed" else str(done)
        return _after_decision(request, db, who, exception_id, "", error)
    return _after_decision(request, db, who, exception_id, "Rejected; the reason is logged.", "")


@router.post("/dispatch/exceptions/{exception_id}/acknowledge")
def acknowledge(request: Request, db: Db, account: Account, exception_id: ExceptionId) -> Response:
    """Mark an exception seen (``POST /v1/exceptions/{id}/acknowledge``'s service)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    now = _now(request)
    done = _decide(request, lambda s: rules.acknowledge(s, exception_id, now, who.id))
    db.expire_all()
    exception = db.get(t.DispatchException, exception_id)
    if exception is None:
        raise PageError(404, "No such exception", f"There is no exception {exception_id}.")
    error = str(done) if isinstance(done, RefusedError) else ""
    if request.headers.get("HX-Request") != "true":
        context = _board_context(request, db, who, exception.day, error=error)
        return page(request, "board.html", context)
    context = {"day": exception.day, "queue": queue_of(db, exception.day), "csrf": _csrf(request)}
    return page(request, "board_queue.html", context, headers={"HX-Trigger": "board-changed"})


# The live stream.


def marks_of(raw: Mapping[str, Sequence[tuple[Any, ...]]]) -> dict[str, str]:
    """A short hash per part of the board (changes exactly when the part's rows do)."""
    return {
        part: hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:16]
        for part, rows in raw.items()
    }


def read_marks(request: Request, day: str) -> Callable[[], dict[str, str]]:
    """A function reading ``day``'s marks in a short transaction of its own."""
    sessions = request.app.state.sessions

    def read() -> dict[str, str]:
        with transaction(sessions) as db:
            return marks_of(q.board_marks(db, day))

    return read


async def board_events(
    read: Callable[[], dict[str, str]],
    disconnected: Callable[[], Awaitable[bool]],
    timing: StreamTiming = TIMING,
) -> AsyncIterator[str]:
    """The text of the event stream: a ``board`` event with the marks at first and on change.

    Parameters
    ----------
    read
        Reads the marks (run in a worker thread: the event loop is never blocked).
    disconnected
        Whether the client has gone (the stream then ends).
    timing
        Poll interval, lifetime, keep-alive and the browser's retry delay.

    Yields
    ------
    str
        ``retry:`` first, then ``event: board`` with the marks as JSON, and
        ``: keep-alive`` comments.
    """
    yield f"retry: {timing.retry_ms}\n\n"
    started = time.monotonic()
    last: dict[str, str] | None = None
    quiet_since = started
    while True:
        marks = await anyio.to_thread.run_sync(read)
        now = time.monotonic()
        if marks != last:
            last = marks
            quiet_since = now
            yield f"event: board\ndata: {json.dumps(marks, sort_keys=True)}\n\n"
        elif now - quiet_since >= timing.keepalive_s:
            quiet_since = now
            yield ": keep-alive\n\n"
        if now - started >= timing.lifetime_s:
            return
        await anyio.sleep(timing.poll_s)
        if await disconnected():
            return


@router.get("/dispatch/stream")
def board_stream(request: Request, account: Account, day: str = "") -> Response:
    """Server-sent events: the board's marks when they change (see the module's docstring)."""
    who = allowed(request, account, BOARD_ROLES)
    if isinstance(who, Response):
        return who
    chosen = day_of(request, day)
    events = board_events(read_marks(request, chosen), request.is_disconnected, TIMING)
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
