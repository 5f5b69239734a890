"""Ingesting a batch of scan events: the day's source of truth.

For each event in a batch the answer is ``accepted``, ``duplicate`` (its
``event_id`` was seen before with the same content: ingesting twice is a no-op)
or ``rejected`` with a code (``invalid_event``, ``event_id_reused``,
``unknown_parcel``, ``not_your_parcel``, ``invalid_transition``,
``failure_reason``). Events are folded by event time, not arrival order: an
event that arrives late is accepted when the parcel's whole history, sorted by
time, stays possible with it; otherwise it alone is rejected and the rest of
the batch is kept.

Accepted events update, in the same transaction: the parcels' states, their
orders' statuses, the stops (arrived, done, failed, with actual times), the
routes (in progress, completed), the ETAs of the remaining stops of every
route touched, and the webhook outbox (``parcel.<kind>``,
``order.status_changed``, and ``eta.changed`` when asked with ``notice_s``).

ETAs (:mod:`doorstep.dispatch.eta`): a route leaves at its first
``out_for_delivery`` scan of the day; until one is scanned it is still at the
depot (at its planned start, or now when later). :func:`refresh_etas` moves
every active route of a day with the clock (the dispatch monitor's tick).

Attempts: an order's ``attempts`` grows by one when its status becomes
``failed_attempt`` (several parcels failing in one visit, or a failed attempt
then ``returned_to_depot``, are one attempt; a parcel brought back without a
failed attempt at the door is not counted). The failed attempt that reaches
``max_attempts`` makes a delivery ``return_to_sender``
(:func:`~doorstep.dispatch.state.after_attempt`).

Which stops an event moves: only the stops of the order on active routes
(published, in progress) whose ``day`` is the event's local date in
``timezone``. A failed parcel lives over several days; a late scan of an
earlier attempt (``returned_to_depot`` at 18:00 of day 1, sent after the order
is on day 2's route) still moves the parcel and the order's status, but leaves
day 2's stop alone. (A route that runs past midnight takes no scans after
midnight on its stops.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.orm import Session

from doorstep.dispatch.eta import StopTimes, estimate
from doorstep.dispatch.state import after_attempt, order_status, stop_state
from doorstep.domain.events import FailureReason, ParcelState, ScanEvent, ScanKind, fold
from doorstep.domain.order import OrderKind
from doorstep.errors import InvalidTransitionError
from doorstep.notify.outbox import Outbox, Subscribers
from doorstep.settings import Settings
from doorstep.store import tables as t

ACTIVE_ROUTE_STATES = ("published", "in_progress")

FINISHING = frozenset(
    {
        ScanKind.DELIVERED,
        ScanKind.FAILED_ATTEMPT,
        ScanKind.RETURN_PICKED_UP,
        ScanKind.RETURNED_TO_DEPOT,
    }
)
"""Scans that end a visit: their time is the stop's finish time."""

MAX_ATTEMPTS: int = Settings.model_fields["max_attempts"].default
"""Delivery attempts allowed when the caller does not say (the setting's default)."""


@dataclass(frozen=True, slots=True)
class EventIn:
    """One scan as a client sends it (already checked for types).

    Unlike a :class:`~doorstep.domain.events.ScanEvent`, it may break the
    domain's rules (a failure reason on a delivery): :func:`ingest` rejects
    such an event alone instead of failing the batch.
    """

    event_id: str
    """The client's id; an id seen before makes the event a duplicate."""
    parcel_id: str
    kind: ScanKind
    at: datetime
    """When it happened (timezone-aware); events are folded in this order."""
    vehicle_id: str | None = None
    lat: float | None = None
    """Where the scan happened, if the device said (stored, not checked)."""
    lon: float | None = None
    failure_reason: FailureReason | None = None
    proof: dict[str, str] | None = None
    """Proof of delivery as sent (stored and passed on to webhooks as it is)."""


@dataclass(frozen=True, slots=True)
class InvalidEvent:
    """An event of the batch that could not be read (a field of the wrong type or value).

    It is rejected alone, with code ``invalid_event``; the rest of the batch is kept.
    """

    event_id: str | None
    """Its ``event_id``, if it had a usable one."""
    field: str
    """The first field at fault, as the API names it (``body.events[3].failure_reason``)."""
    detail: str
    """What is wrong with it, and what to send instead."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event (the API answers with these as they are)."""

    event_id: str | None
    """The event's id; ``None`` only for an unreadable event without one."""
    status: str
    """accepted, duplicate or rejected."""
    code: str | None = None
    """For a rejected event, why, for programs: ``invalid_event``, ``event_id_reused``,
    ``unknown_parcel``, ``not_your_parcel``, ``invalid_transition`` or ``failure_reason``."""
    detail: str | None = None
    """For a rejected event, why, in a sentence for people."""
    field: str | None = None
    """For an ``invalid_event``, the first field at fault (``body.events[3].kind``)."""


def _rejected(event: EventIn, code: str, detail: str) -> Outcome:
    return Outcome(event.event_id, "rejected", code, detail)


def _content(event: EventIn) -> tuple[Any, ...]:
    """What an event says, to tell a resent event from a reused ``event_id``."""
    return (
        event.parcel_id,
        event.kind.value,
        event.at.astimezone(UTC),
        event.vehicle_id,
        event.lat,
        event.lon,
        None if event.failure_reason is None else event.failure_reason.value,
        event.proof or None,
    )


def _reused(event: EventIn) -> Outcome:
    return _rejected(
        event,
        "event_id_reused",
        f"event_id {event.event_id!r} was already used for a different event; "
        "give each event its own id (resending the very same event is a harmless duplicate).",
    )


def ingest(
    session: Session,
    events: Sequence[EventIn | InvalidEvent],
    *,
    timezone: ZoneInfo,
    now: datetime,
    key_id: str | None = None,
    driver_id: str | None = None,
    notice_s: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Outcome]:
    """Ingest ``events`` in the caller's transaction; one outcome per event, in order.

    Parameters
    ----------
    session
        The open transaction everything is written in. Locks are taken in one
        order (parcels by id, then routes by id) so concurrent batches queue
        instead of deadlocking. Where the database has no row locks (SQLite), a
        copy of an event being ingested by another transaction at that very
        moment fails the batch at the insert (``IntegrityError``): the caller
        should answer "retry".
    events
        The batch; an :class:`InvalidEvent` is rejected alone (``invalid_event``).
    timezone
        The zone of the plans' clock times (for stop times and ETAs).
    now
        The current moment (for ETAs).
    key_id
        The API key that sent the batch (stored with each event).
    driver_id
        For a driver's key: events are only accepted for parcels on that
        driver's published routes.
    notice_s
        An ``eta.changed`` webhook goes out for a customer whose ETA moved more
        than this many seconds (:func:`refresh_route`); ``None``: none.
    max_attempts
        Delivery attempts allowed: the failed attempt that reaches it makes
        the order ``return_to_sender`` (the setting ``max_attempts``).

    Returns
    -------
    list[Outcome]
        One per event, in order. An ``event_id`` stored before (or earlier in
        the batch) is a ``duplicate`` when the event says the same (parcel,
        kind, time, vehicle, position, failure reason, proof), else
        ``rejected`` with ``event_id_reused``.
    """
    outcomes: dict[int, Outcome] = {}
    candidates: list[tuple[int, EventIn]] = []
    for i, event in enumerate(events):
        if isinstance(event, InvalidEvent):
            outcomes[i] = Outcome(
                event.event_id, "rejected", "invalid_event", event.detail, event.field
            )
        elif (event.kind is ScanKind.FAILED_ATTEMPT) != (event.failure_reason is not None):
            outcomes[i] = _rejected(
                event,
                "failure_reason",
                "A failed_attempt needs a failure_reason, and only failed attempts have one.",
            )
        else:
            candidates.append((i, event))

    # Lock the parcels first, then look for duplicates: a batch sent twice at once
    # (a client retrying) waits here for the first copy and then sees its events.
    parcel_ids = sorted({e.parcel_id for _, e in candidates})
    parcels = {
        row.id: _ParcelRow(row.id, row.order_id, row.state)
        for row in session.execute(
            select(t.Parcel.id, t.Parcel.order_id, t.Parcel.state)
            .where(t.Parcel.id.in_(parcel_ids))
            .order_by(t.Parcel.id)
            .with_for_update()
        )
    }
    seen = _known_events(session, [e.event_id for _, e in candidates])
    fresh: list[tuple[int, EventIn]] = []
    for i, event in candidates:
        content = _content(event)
        if event.event_id not in seen:
            seen[event.event_id] = content
            fresh.append((i, event))
        elif seen[event.event_id] == content:
            outcomes[i] = Outcome(event.event_id, "duplicate")
        else:
            outcomes[i] = _reused(event)
    orders = {
        row.id: _OrderRow(row.id, OrderKind(row.kind), row.status, row.tenant)
        for row in session.execute(
            select(t.Order.id, t.Order.kind, t.Order.status, t.Order.tenant).where(
                t.Order.id.in_({p.order_id for p in parcels.values()})
            )
        )
    }
    allowed = _driver_orders(session, driver_id, set(orders)) if driver_id is not None else None
    history = _histories(session, list(parcels))

    accepted: list[EventIn] = []
    moved: dict[str, _ParcelRow] = {}
    for i, event in sorted(fresh, key=lambda pair: (pair[1].at, pair[1].event_id)):
        parcel = parcels.get(event.parcel_id)
        if parcel is None:
            outcomes[i] = _rejected(
                event, "unknown_parcel", f"No parcel {event.parcel_id!r}; import its order first."
            )
            continue
        if allowed is not None and parcel.order_id not in allowed:
            outcomes[i] = _rejected(
                event,
                "not_your_parcel",
                f"Parcel {event.parcel_id!r} is not on one of your published routes.",
            )
            continue
        trial = [*history[parcel.id], _scan(event)]
        try:
            state = fold(trial, orders[parcel.order_id].kind)
        except InvalidTransitionError as exc:
            outcomes[i] = _rejected(event, exc.code, str(exc))
            continue
        history[parcel.id] = trial
        parcel.state = state.value
        parcel.state_at = max(s.at for s in trial)
        moved[parcel.id] = parcel
        outcomes[i] = Outcome(event.event_id, "accepted")
        accepted.append(event)

    if accepted:
        outbox = Outbox(Subscribers.load(session))
        session.execute(
            update(t.Parcel),
            [{"id": p.id, "state": p.state, "state_at": p.state_at} for p in moved.values()],
        )
        _store(session, accepted, parcels, orders, key_id, outbox)
        _follow_up(
            session,
            accepted,
            parcels,
            orders,
            outbox,
            timezone,
            now,
            notice_s=notice_s,
            max_attempts=max_attempts,
        )
        outbox.write(session)
    return [outcomes[i] for i in range(len(events))]


@dataclass(slots=True)
class _ParcelRow:
    """A parcel as a batch sees it: loaded once, then moved by each accepted event.

    ``state`` is the fold of the parcel's whole history (stored events and the
    batch's accepted ones, in event time), ``state_at`` the time of its latest event.
    """

    id: str
    order_id: str
    state: str
    state_at: datetime | None = None


@dataclass(slots=True)
class _OrderRow:
    id: str
    kind: OrderKind
    status: str
    tenant: str | None = None
    """Whose webhook subscriptions hear of it (:class:`~doorstep.notify.outbox.Outbox`)."""


def _known_events(session: Session, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """The stored events among ``ids``: their content, by event id."""
    e = t.Event
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(
                e.event_id,
                e.parcel_id,
                e.kind,
                e.at,
                e.vehicle_id,
                e.lat,
                e.lon,
                e.failure_reason,
                e.proof,
            ).where(e.event_id.in_(chunk))
        )
        for event_id, parcel_id, kind, at, vehicle_id, lat, lon, reason, proof in rows:
            found[event_id] = (
                parcel_id,
                kind,
                at.astimezone(UTC),
                vehicle_id,
                lat,
                lon,
                reason,
                proof or None,
            )
    return found


def _driver_orders(session: Session, driver_id: str, order_ids: set[str]) -> set[str]:
    rows = session.scalars(
        select(t.Stop.order_id)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(
            t.Route.driver_id == driver_id,
            t.Route.state.in_((*ACTIVE_ROUTE_STATES, "completed")),
            t.Stop.order_id.in_(order_ids),
        )
    )
    return set(rows)


def _scan(event: EventIn) -> ScanEvent:
    return ScanEvent(
        event.event_id,
        event.parcel_id,
        event.kind,
        event.at,
        failure_reason=event.failure_reason,
    )


def _histories(session: Session, parcel_ids: list[str]) -> dict[str, list[ScanEvent]]:
    out: dict[str, list[ScanEvent]] = {p: [] for p in parcel_ids}
    if not parcel_ids:
        return out
    rows = session.execute(
        select(
            t.Event.event_id, t.Event.parcel_id, t.Event.kind, t.Event.at, t.Event.failure_reason
        ).where(t.Event.parcel_id.in_(parcel_ids))
    )
    for event_id, parcel_id, kind, at, reason in rows:
        out[parcel_id].append(
            ScanEvent(
                event_id,
                parcel_id,
                ScanKind(kind),
                at,
                failure_reason=None if reason is None else FailureReason(reason),
            )
        )
    return out


def _store(
    session: Session,
    events: list[EventIn],
    parcels: dict[str, _ParcelRow],
    orders: dict[str, _OrderRow],
    key_id: str | None,
    outbox: Outbox,
) -> None:
    received = t.utcnow()
    session.execute(
        insert(t.Event),
        [
            {
                "event_id": e.event_id,
                "parcel_id": e.parcel_id,
                "kind": e.kind.value,
                "at": e.at,
                "received_at": received,
                "vehicle_id": e.vehicle_id,
                "lat": e.lat,
                "lon": e.lon,
                "failure_reason": None if e.failure_reason is None else e.failure_reason.value,
                "proof": e.proof,
                "key_id": key_id,
            }
            for e in events
        ],
    )
    for e in events:
        order_id = parcels[e.parcel_id].order_id
        outbox.add(
            f"parcel.{e.kind.value}",
            {
                "event_id": e.event_id,
                "parcel_id": e.parcel_id,
                "order_id": order_id,
                "kind": e.kind.value,
                "at": e.at.isoformat(),
                "failure_reason": None if e.failure_reason is None else e.failure_reason.value,
                "proof": e.proof,
            },
            orders[order_id].tenant,
        )


def clock_seconds(moment: datetime, day: str, timezone: ZoneInfo) -> int:
    """Seconds after midnight of ``day`` (ISO date) in ``timezone``; may exceed 86,400."""
    midnight = datetime.combine(date.fromisoformat(day), time(0), tzinfo=timezone)
    return int((moment - midnight).total_seconds())


def _follow_up(
    session: Session,
    events: Iterable[EventIn],
    parcels: dict[str, _ParcelRow],
    orders: dict[str, _OrderRow],
    outbox: Outbox,
    timezone: ZoneInfo,
    now: datetime,
    *,
    notice_s: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Orders (status, attempts), stops, routes and ETAs after the parcels moved.

    An event updates only the stops of active routes whose day is the event's
    local date in ``timezone`` (see the module's docstring).
    """
    events = list(events)
    touched = {parcels[e.parcel_id].order_id for e in events}
    states: dict[str, list[ParcelState]] = defaultdict(list)
    for order_id, state in session.execute(
        select(t.Parcel.order_id, t.Parcel.state).where(t.Parcel.order_id.in_(touched))
    ):
        states[order_id].append(ParcelState(state))
    days: dict[str, set[str]] = defaultdict(set)
    arrived: dict[tuple[str, str], datetime] = {}
    finished: dict[tuple[str, str], datetime] = {}
    for e in events:
        order_id = parcels[e.parcel_id].order_id
        day = e.at.astimezone(timezone).date().isoformat()
        days[order_id].add(day)
        key = (order_id, day)
        if e.kind is ScanKind.ARRIVED_AT_STOP:
            arrived[key] = min(arrived.get(key, e.at), e.at)
        elif e.kind in FINISHING:
            finished[key] = max(finished.get(key, e.at), e.at)
    attempts = dict(
        session.execute(select(t.Order.id, t.Order.attempts).where(t.Order.id.in_(touched))).all()
    )
    changed = []
    for order_id in touched:
        order = orders[order_id]
        computed = order_status(order.kind, states[order_id], order.status)
        status, count = after_attempt(
            order.kind, order.status, computed, attempts[order_id], max_attempts
        )
        if status == order.status and count == attempts[order_id]:
            continue
        if status != order.status:
            outbox.add(
                "order.status_changed",
                {"order_id": order_id, "from": order.status, "to": status},
                order.tenant,
            )
            order.status = status
        changed.append({"id": order_id, "status": status, "attempts": count})
    if changed:
        session.execute(update(t.Order), changed)
    on_days = set().union(*days.values())
    # Two batches on one route would update its stops in different orders and
    # deadlock (PostgreSQL): lock the routes first, always in id order.
    session.execute(
        select(t.Route.id)
        .where(
            t.Route.id.in_(select(t.Stop.route_id).where(t.Stop.order_id.in_(touched))),
            t.Route.state.in_(ACTIVE_ROUTE_STATES),
            t.Route.day.in_(on_days),
        )
        .order_by(t.Route.id)
        .with_for_update()
    ).all()
    rows = session.execute(
        select(
            t.Stop.id,
            t.Stop.route_id,
            t.Stop.order_id,
            t.Stop.arrived_at,
            t.Stop.finished_at,
            t.Route.day,
        )
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(
            t.Stop.order_id.in_(touched),
            t.Route.state.in_(ACTIVE_ROUTE_STATES),
            t.Route.day.in_(on_days),
        )
    ).all()
    # A late scan of an earlier day's attempt leaves a later day's stop alone.
    stops = [s for s in rows if s.day in days[s.order_id]]
    if not stops:
        return
    updates = []
    for stop_id, _route, order_id, arrived_at, finished_at, day in stops:
        order = orders[order_id]
        key = (order_id, day)
        row: dict[str, Any] = {"id": stop_id, "state": stop_state(order.status, order.kind)}
        if key in arrived:
            first = arrived[key]
            arrived_at = first if arrived_at is None else min(arrived_at, first)
        row["arrived_at"] = arrived_at
        if row["state"] in ("done", "failed"):
            candidates = [m for m in (finished_at, finished.get(key)) if m is not None]
            row["finished_at"] = max(candidates) if candidates else None
        else:
            row["finished_at"] = None
        updates.append(row)
    session.execute(update(t.Stop), updates)
    for route_id in sorted({stop.route_id for stop in stops}):
        refresh_route(session, route_id, timezone, now, notice_s=notice_s, outbox=outbox)


def refresh_route(
    session: Session,
    route_id: str,
    timezone: ZoneInfo,
    now: datetime,
    *,
    notice_s: int | None = None,
    outbox: Outbox | None = None,
) -> None:
    """Recompute a route's state and the ETAs of its stops (only changed rows are written).

    Parameters
    ----------
    session
        The open transaction.
    route_id
        The route.
    timezone
        The zone of the plans' clock times.
    now
        The current moment: no stop not reached yet is expected before it.
    notice_s
        Queue an ``eta.changed`` message for a pending stop whose ETA moved more
        than this many seconds from the one its customer was last told (the
        planned arrival at first), and remember the new one as told. ``None``
        (or no ``outbox``): no notices.
    outbox
        Where the messages are queued; the caller writes it.
    """
    found = session.execute(
        select(t.Route.id, t.Route.day, t.Route.start_s, t.Route.state).where(
            t.Route.id == route_id
        )
    ).first()
    if found is None:
        return
    route = _RouteRow(*found)
    stops = session.execute(_STOP_ROWS.where(t.Stop.route_id == route_id)).all()
    if not stops:
        return
    notices = None if notice_s is None or outbox is None else _Notices(notice_s, outbox)
    state = _route_state(route, {s.state for s in stops})
    departed = _departures(session, [route_id], route.day, timezone).get(route_id)
    _write(
        session,
        [] if state == route.state else [{"id": route_id, "state": state}],
        _refreshed(route, stops, departed, timezone, now, notices),
    )


def refresh_etas(
    session: Session, day: str, timezone: ZoneInfo, now: datetime, *, notice_s: int | None
) -> int:
    """Move the ETAs of every active route of ``day`` with the clock (the monitor's tick).

    Every published or in-progress route of ``day`` is refreshed as by
    :func:`refresh_route` at ``now``, with four queries in all (the routes, their
    stops, their departures, the webhook subscriptions) and one write per table,
    whatever the number of routes (2,000 stops take a few tens of milliseconds
    on SQLite). The routes are locked in id order first, as the ingest does, so a
    tick and a batch of scans queue instead of deadlocking.

    Parameters
    ----------
    session
        The open transaction everything is written in.
    day
        ISO date of the routes.
    timezone
        The zone of the plans' clock times.
    now
        The current moment.
    notice_s
        As for :func:`refresh_route`: ``eta.changed`` for an ETA that moved more
        than this many seconds from the one told; ``None``: no notices.

    Returns
    -------
    int
        Stops whose ETA moved.
    """
    routes = [
        _RouteRow(*row)
        for row in session.execute(
            select(t.Route.id, t.Route.day, t.Route.start_s, t.Route.state)
            .where(t.Route.day == day, t.Route.state.in_(ACTIVE_ROUTE_STATES))
            .order_by(t.Route.id)
            .with_for_update()
        )
    ]
    if not routes:
        return 0
    by_route: dict[str, list[_StopRow]] = defaultdict(list)
    for stop in session.execute(
        _STOP_ROWS.join(t.Route, t.Route.id == t.Stop.route_id).where(
            t.Route.day == day, t.Route.state.in_(ACTIVE_ROUTE_STATES)
        )
    ):
        by_route[stop.route_id].append(stop)
    departures = _departures(session, [r.id for r in routes if by_route[r.id]], day, timezone)
    notices = None if notice_s is None else _Notices(notice_s, Outbox(Subscribers.load(session)))
    route_states: list[dict[str, Any]] = []
    stop_rows: list[dict[str, Any]] = []
    for route in routes:
        stops = by_route[route.id]
        if not stops:
            continue
        state = _route_state(route, {s.state for s in stops})
        if state != route.state:
            route_states.append({"id": route.id, "state": state})
        stop_rows.extend(_refreshed(route, stops, departures.get(route.id), timezone, now, notices))
    _write(session, route_states, stop_rows)
    if notices is not None:
        notices.outbox.write(session)
    old = {s.id: s.eta_s for stops in by_route.values() for s in stops}
    return sum(row["eta_s"] != old[row["id"]] for row in stop_rows)


def describe(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The response body: counts and one result per event, in request order."""
    return {
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "results": list(outcomes),
    }


# Refreshing routes: the helpers of refresh_route and refresh_etas.

_NOTIFIED_KINDS = frozenset({OrderKind.DELIVERY.value, OrderKind.PICKUP.value})
"""Orders whose customers hear of a moved ETA (``eta.changed``)."""


@dataclass(frozen=True, slots=True)
class _RouteRow:
    """What refreshing a route reads of it."""

    id: str
    day: str
    start_s: int
    state: str


@dataclass(frozen=True, slots=True)
class _Notices:
    """Where ``eta.changed`` messages go, and how far an ETA moves before one does."""

    notice_s: int
    outbox: Outbox


_STOP_ROWS = (
    select(
        t.Stop.id,
        t.Stop.route_id,
        t.Stop.order_id,
        t.Stop.leg_s,
        t.Stop.service_s,
        t.Stop.window_start_s,
        t.Stop.window_end_s,
        t.Stop.planned_arrival_s,
        t.Stop.eta_s,
        t.Stop.notified_eta_s,
        t.Stop.state,
        t.Stop.arrived_at,
        t.Stop.finished_at,
        t.Order.kind,
        t.Order.tenant,
    )
    .join(t.Order, t.Order.id == t.Stop.order_id)
    .order_by(t.Stop.route_id, t.Stop.seq)
)
"""The stop columns a refresh reads, with the order's kind and tenant, in route order."""

_StopRow = Row[*tuple[Any, ...]]
"""A row of :data:`_STOP_ROWS` (its columns by name: ``stop.eta_s``, ``stop.kind``)."""


def _departures(
    session: Session, route_ids: Sequence[str], day: str, timezone: ZoneInfo
) -> dict[str, datetime]:
    """Each route's actual departure: the first ``out_for_delivery`` scan of its parcels.

    Only scans on or after the start of ``day`` count (a parcel of a second
    attempt went out on an earlier day too). One query for all the routes.
    """
    if not route_ids:
        return {}
    midnight = datetime.combine(date.fromisoformat(day), time(0), tzinfo=timezone)
    rows = session.execute(
        select(t.Stop.route_id, func.min(t.Event.at))
        .join(t.Parcel, t.Parcel.order_id == t.Stop.order_id)
        .join(t.Event, t.Event.parcel_id == t.Parcel.id)
        .where(
            t.Stop.route_id.in_(route_ids),
            t.Event.kind == ScanKind.OUT_FOR_DELIVERY.value,
            t.Event.at >= midnight,
        )
        .group_by(t.Stop.route_id)
    )
    return {route_id: _aware(at) for route_id, at in rows if at is not None}


def _aware(moment: datetime | str) -> datetime:
    """An aggregate's datetime as UTC-aware (``min()`` may lose the column's type)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _route_state(route: _RouteRow, stop_states: set[str]) -> str:
    """The route's state from its stops': completed, in progress, or as it was."""
    if stop_states <= {"done", "failed"}:
        return "completed"
    if stop_states != {"pending"} and route.state == "published":
        return "in_progress"
    return route.state


def _refreshed(
    route: _RouteRow,
    stops: Sequence[_StopRow],
    departed: datetime | None,
    timezone: ZoneInfo,
    now: datetime,
    notices: _Notices | None,
) -> list[dict[str, Any]]:
    """The stop rows of ``route`` whose ETA (or ETA told) moved; queues ``eta.changed``.

    The vehicle leaves at its actual departure when one was scanned; until then
    it is still at the depot, so at its planned start or now, whichever is later.
    """

    def seconds(moment: datetime | None) -> int | None:
        return None if moment is None else clock_seconds(moment, route.day, timezone)

    now_s = clock_seconds(now, route.day, timezone)
    departure_s = seconds(departed)
    if departure_s is None:
        departure_s = max(route.start_s, now_s)
    times = [
        StopTimes(
            leg_s=s.leg_s,
            service_s=s.service_s,
            window_start_s=s.window_start_s,
            arrived_s=seconds(s.arrived_at),
            finished_s=seconds(s.finished_at),
        )
        for s in stops
    ]
    rows = []
    for stop, eta in zip(stops, estimate(times, departure_s, now_s), strict=True):
        told = stop.notified_eta_s
        if notices is not None and _should_notify(stop, eta, notices.notice_s):
            notices.outbox.add("eta.changed", _eta_changed(route, stop, eta, timezone), stop.tenant)
            told = eta
        if eta != stop.eta_s or told != stop.notified_eta_s:
            rows.append({"id": stop.id, "eta_s": eta, "notified_eta_s": told})
    return rows


def _should_notify(stop: _StopRow, eta: int, notice_s: int) -> bool:
    """Whether a pending stop's ETA moved more than ``notice_s`` from what its customer knows."""
    if stop.state != "pending" or stop.kind not in _NOTIFIED_KINDS:
        return False
    told = stop.planned_arrival_s if stop.notified_eta_s is None else stop.notified_eta_s
    return bool(abs(eta - told) > notice_s)


def _eta_changed(route: _RouteRow, stop: _StopRow, eta: int, timezone: ZoneInfo) -> dict[str, Any]:
    """The ``eta.changed`` payload of a stop whose ETA moved to ``eta``."""
    midnight = datetime.combine(date.fromisoformat(route.day), time(0), tzinfo=timezone)
    start, end = stop.window_start_s, stop.window_end_s
    return {
        "order_id": stop.order_id,
        "route_id": route.id,
        "eta": (midnight + timedelta(seconds=eta)).isoformat(),
        "eta_s": eta,
        "previous_eta_s": (
            stop.planned_arrival_s if stop.notified_eta_s is None else stop.notified_eta_s
        ),
        "window": None if start is None or end is None else [start, end],
    }


def _write(
    session: Session, route_states: list[dict[str, Any]], stop_rows: list[dict[str, Any]]
) -> None:
    """Write the changed routes and stops (one statement each, none when nothing changed)."""
    if route_states:
        session.execute(update(t.Route), route_states)
    if stop_rows:
        session.execute(update(t.Stop), stop_rows)
