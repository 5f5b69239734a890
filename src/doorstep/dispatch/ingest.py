"""Ingesting a batch of scan events: the day's source of truth.

For each event in a batch the answer is ``accepted``, ``duplicate`` (its
``event_id`` was seen before: ingesting twice is a no-op) or ``rejected`` with
a code (``unknown_parcel``, ``not_your_parcel``, ``invalid_transition``,
``failure_reason``). Events are folded by event time, not arrival order: an
event that arrives late is accepted when the parcel's whole history, sorted by
time, stays possible with it; otherwise it alone is rejected and the rest of
the batch is kept.

Accepted events update, in the same transaction: the parcels' states, their
orders' statuses, the stops (arrived, done, failed, with actual times), the
routes (in progress, completed), the ETAs of the remaining stops of every
route touched, and the webhook outbox (``parcel.<kind>``,
``order.status_changed``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.dispatch.eta import StopTimes, estimate
from doorstep.dispatch.state import order_status, stop_state
from doorstep.domain.events import FailureReason, ParcelState, ScanEvent, ScanKind, fold
from doorstep.domain.order import OrderKind
from doorstep.errors import InvalidTransitionError
from doorstep.notify.outbox import Subscribers
from doorstep.store import tables as t

ACTIVE_ROUTE_STATES = ("published", "in_progress")


@dataclass(frozen=True, slots=True)
class EventIn:
    """One scan as a client sends it (already checked for types)."""

    event_id: str
    parcel_id: str
    kind: ScanKind
    at: datetime
    vehicle_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    failure_reason: FailureReason | None = None
    proof: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event."""

    event_id: str
    status: str
    """accepted, duplicate or rejected."""
    code: str | None = None
    detail: str | None = None


def _rejected(event: EventIn, code: str, detail: str) -> Outcome:
    return Outcome(event.event_id, "rejected", code, detail)


def ingest(
    session: Session,
    events: Sequence[EventIn],
    *,
    timezone: ZoneInfo,
    now: datetime,
    key_id: str | None = None,
    driver_id: str | None = None,
) -> list[Outcome]:
    """Ingest ``events`` in the caller's transaction; one outcome per event, in order.

    Parameters
    ----------
    session
        The open transaction everything is written in.
    events
        The batch.
    timezone
        The zone of the plans' clock times (for stop times and ETAs).
    now
        The current moment (for ETAs).
    key_id
        The API key that sent the batch (stored with each event).
    driver_id
        For a driver's key: events are only accepted for parcels on that
        driver's published routes.
    """
    outcomes: dict[int, Outcome] = {}
    seen = _known_event_ids(session, [e.event_id for e in events])
    fresh: list[tuple[int, EventIn]] = []
    for i, event in enumerate(events):
        if event.event_id in seen:
            outcomes[i] = Outcome(event.event_id, "duplicate")
            continue
        seen.add(event.event_id)
        if (event.kind is ScanKind.FAILED_ATTEMPT) != (event.failure_reason is not None):
            outcomes[i] = _rejected(
                event,
                "failure_reason",
                "A failed_attempt needs a failure_reason, and only failed attempts have one.",
            )
            continue
        fresh.append((i, event))

    parcel_ids = sorted({e.parcel_id for _, e in fresh})
    parcels = {
        p.id: p
        for p in session.scalars(
            select(t.Parcel).where(t.Parcel.id.in_(parcel_ids)).with_for_update()
        )
    }
    orders = {
        o.id: o
        for o in session.scalars(
            select(t.Order).where(t.Order.id.in_({p.order_id for p in parcels.values()}))
        )
    }
    allowed = _driver_orders(session, driver_id, set(orders)) if driver_id is not None else None
    history = _histories(session, list(parcels))

    accepted: list[tuple[int, EventIn]] = []
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
        kind = OrderKind(orders[parcel.order_id].kind)
        trial = [*history[parcel.id], _scan(event)]
        try:
            state = fold(trial, kind)
        except InvalidTransitionError as exc:
            outcomes[i] = _rejected(event, exc.code, str(exc))
            continue
        history[parcel.id] = trial
        parcel.state = state.value
        parcel.state_at = max(s.at for s in trial)
        outcomes[i] = Outcome(event.event_id, "accepted")
        accepted.append((i, event))

    if accepted:
        subscribers = Subscribers.load(session)
        _store(session, [e for _, e in accepted], parcels, key_id, subscribers)
        _follow_up(session, [e for _, e in accepted], parcels, orders, subscribers, timezone, now)
    return [outcomes[i] for i in range(len(events))]


def _known_event_ids(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(session.scalars(select(t.Event.event_id).where(t.Event.event_id.in_(chunk))))
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
    parcels: dict[str, t.Parcel],
    key_id: str | None,
    subscribers: Subscribers,
) -> None:
    session.add_all(
        t.Event(
            event_id=e.event_id,
            parcel_id=e.parcel_id,
            kind=e.kind.value,
            at=e.at,
            vehicle_id=e.vehicle_id,
            lat=e.lat,
            lon=e.lon,
            failure_reason=None if e.failure_reason is None else e.failure_reason.value,
            proof=e.proof,
            key_id=key_id,
        )
        for e in events
    )
    for e in events:
        subscribers.enqueue(
            session,
            f"parcel.{e.kind.value}",
            {
                "event_id": e.event_id,
                "parcel_id": e.parcel_id,
                "order_id": parcels[e.parcel_id].order_id,
                "kind": e.kind.value,
                "at": e.at.isoformat(),
                "failure_reason": None if e.failure_reason is None else e.failure_reason.value,
                "proof": e.proof,
            },
        )


def clock_seconds(moment: datetime, day: str, timezone: ZoneInfo) -> int:
    """Seconds after midnight of ``day`` (ISO date) in ``timezone``; may exceed 86,400."""
    midnight = datetime.combine(date.fromisoformat(day), time(0), tzinfo=timezone)
    return int((moment - midnight).total_seconds())


def _follow_up(
    session: Session,
    events: Iterable[EventIn],
    parcels: dict[str, t.Parcel],
    orders: dict[str, t.Order],
    subscribers: Subscribers,
    timezone: ZoneInfo,
    now: datetime,
) -> None:
    """Orders, stops, routes and ETAs after the parcels moved."""
    touched = {parcels[e.parcel_id].order_id for e in events}
    states: dict[str, list[str]] = defaultdict(list)
    for parcel in session.scalars(select(t.Parcel).where(t.Parcel.order_id.in_(touched))):
        states[parcel.order_id].append(parcel.state)
    arrived: dict[str, datetime] = {}
    last_at: dict[str, datetime] = {}
    for e in events:
        order_id = parcels[e.parcel_id].order_id
        last_at[order_id] = max(last_at.get(order_id, e.at), e.at)
        if e.kind is ScanKind.ARRIVED_AT_STOP:
            arrived[order_id] = min(arrived.get(order_id, e.at), e.at)
    for order_id in touched:
        order = orders[order_id]
        status = order_status(
            OrderKind(order.kind), [ParcelState(s) for s in states[order_id]], order.status
        )
        if status != order.status:
            subscribers.enqueue(
                session,
                "order.status_changed",
                {"order_id": order_id, "from": order.status, "to": status},
            )
            order.status = status
    stops = session.scalars(
        select(t.Stop)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .where(t.Stop.order_id.in_(touched), t.Route.state.in_(ACTIVE_ROUTE_STATES))
    ).all()
    route_ids = set()
    for stop in stops:
        order = orders[stop.order_id]
        new_state = stop_state(order.status, OrderKind(order.kind))
        if stop.order_id in arrived:
            first = arrived[stop.order_id]
            stop.arrived_at = first if stop.arrived_at is None else min(stop.arrived_at, first)
        if new_state in ("done", "failed"):
            stop.finished_at = last_at[stop.order_id]
        stop.state = new_state
        route_ids.add(stop.route_id)
    for route_id in route_ids:
        refresh_route(session, route_id, timezone, now)


def refresh_route(session: Session, route_id: str, timezone: ZoneInfo, now: datetime) -> None:
    """Recompute a route's state and the ETAs of its stops."""
    route = session.get(t.Route, route_id)
    if route is None:
        return
    stops = session.scalars(
        select(t.Stop).where(t.Stop.route_id == route_id).order_by(t.Stop.seq)
    ).all()
    if not stops:
        return
    states = {s.state for s in stops}
    if states <= {"done", "failed"}:
        route.state = "completed"
    elif states != {"pending"} and route.state == "published":
        route.state = "in_progress"

    def seconds(moment: datetime | None) -> int | None:
        return None if moment is None else clock_seconds(moment, route.day, timezone)

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
    for stop, eta in zip(stops, estimate(times, route.start_s, seconds(now)), strict=True):
        stop.eta_s = eta


def describe(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The response body: counts and one result per event, in request order."""
    return {
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "results": [
            {"event_id": o.event_id, "status": o.status, "code": o.code, "detail": o.detail}
            for o in outcomes
        ],
    }
