"""Proposals for an exception: computed by the playbooks, accepted or rejected by a person.

Accepting applies the change in the caller's transaction, all or nothing:
every route it changes gets a new version (a new route row; the old one is
``superseded`` and names its successor), orders put off go back to be planned,
customers whose ETA moves beyond the notice get ``eta.changed``, drivers get
``route.updated``, the exception is resolved, and the decision is logged. A
proposal computed on route versions that have changed since is stale: 409
``stale_proposal``. Of two conflicting accepts exactly one wins: the first
statement is a compare-and-set on the proposal, and the routes are then locked
in id order and checked against the proposal's basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doorstep.dispatch.exceptions import DayException, ExceptionKind, Severity
from doorstep.dispatch.playbooks import DispatchContext, ProposalDraft, propose
from doorstep.domain.location import Location
from doorstep.network.provider import TravelTimeProvider
from doorstep.network.subset import DayMatrices
from doorstep.notify.outbox import Outbox, Subscribers
from doorstep.service.exceptions import new_id, payload, resolve, trail
from doorstep.service.planning import provider_for
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.convert import to_fleet, to_order
from doorstep.store.queries import dispatch as q
from doorstep.store.queries.plans import regular_drivers

_PROVIDERS: dict[tuple[str, str, float | None], TravelTimeProvider] = {}
_PROVIDERS_LOCK = Lock()


def provider_of(settings: Settings) -> TravelTimeProvider:
    """The service's travel-time provider, opened once per process and router setting.

    :func:`~doorstep.service.planning.provider_for` opens it, as for planning jobs.
    """
    key = (settings.router, settings.router_source, settings.router_max_snap_m)
    with _PROVIDERS_LOCK:
        if key not in _PROVIDERS:
            _PROVIDERS[key] = provider_for(settings)
        return _PROVIDERS[key]


_DAYS: dict[tuple[str, str, str, float | None], DayMatrices] = {}
_DAYS_LOCK = Lock()
MAX_DAYS = 8
"""Days whose matrices are kept in memory (the oldest asked goes first)."""


def day_matrices(settings: Settings, day: str, locations: Sequence[Location]) -> DayMatrices:
    """The day's travel times in memory, built once for ``locations``, grown when new ones come.

    Every re-plan of the day then slices them instead of asking the router; a
    new location costs its own rows and columns only (:meth:`DayMatrices.grown`).
    """
    key = (day, settings.router, settings.router_source, settings.router_max_snap_m)
    with _DAYS_LOCK:
        known = _DAYS.pop(key, None)
        if known is None:
            known = DayMatrices(provider_of(settings), locations)
        elif not known.knows(locations):
            known = known.grown(locations)  # only the new locations' travel is asked
        _DAYS[key] = known
        while len(_DAYS) > MAX_DAYS:
            _DAYS.pop(next(iter(_DAYS)))
        return known


def context_for(
    db: Session, day: str, order_ids: Sequence[str], settings: Settings
) -> DispatchContext:
    """What the playbooks need: the orders named, the whole fleet, the day's travel times."""
    orders = {
        row.id: to_order(row)
        for row in db.scalars(select(t.Order).where(t.Order.id.in_(list(order_ids))))
    }
    fleet = to_fleet(
        list(db.scalars(select(t.Depot).order_by(t.Depot.id))),
        list(db.scalars(select(t.Vehicle).order_by(t.Vehicle.id))),
    )
    locations = [d.location for d in fleet.depots] + [o.location for o in orders.values()]
    return DispatchContext(
        orders,
        fleet,
        day_matrices(settings, day, locations),
        time_limit_s=settings.replan_time_limit_s,
        notice_s=int(settings.eta_notice_min * 60),
    )


def as_detected(row: t.DispatchException) -> DayException:
    """A stored exception as the playbooks read it."""
    return DayException(
        ExceptionKind(row.kind),
        row.cause,
        Severity(row.severity),
        row.sentence,
        row.route_id,
        tuple(row.order_ids),
        tuple(row.parcel_ids),
        dict(row.details),
    )


def is_stale(db: Session, proposal: t.Proposal) -> bool:
    """Whether a route the proposal was computed on has another version now."""
    routes = q.routes_by_ids(db, list(proposal.basis))
    return any(
        rid not in routes or routes[rid].replaced_by is not None or routes[rid].version != version
        for rid, version in proposal.basis.items()
    )


def proposals_for(
    db: Session, exception_id: str, settings: Settings, now: datetime
) -> list[t.Proposal]:
    """The exception's proposals, computed by its playbook when none is open and current.

    Open proposals whose routes changed since are marked ``stale`` and new
    ones computed; a resolved exception keeps its proposals as they are.

    Raises
    ------
    LookupError
        No such exception.
    """
    row = db.get(t.DispatchException, exception_id)
    if row is None:
        raise LookupError(exception_id)
    stored = q.proposals_of(db, exception_id)
    if row.status == "resolved":
        for proposal in stored:
            if proposal.status == "open":
                proposal.status = "stale"
        return stored
    fresh = []
    for proposal in stored:
        if proposal.status == "open" and is_stale(db, proposal):
            proposal.status = "stale"
        elif proposal.status == "open":
            fresh.append(proposal)
    if fresh:
        return stored
    state = q.day_state(db, row.day, settings.timezone)
    order_ids = {s.order_id for r in state.routes for s in r.stops} | set(row.order_ids)
    drafts = propose(
        state, as_detected(row), context_for(db, row.day, sorted(order_ids), settings), now
    )
    for draft in drafts:
        db.add(_stored(row.id, draft))
    db.flush()
    return q.proposals_of(db, exception_id)


def _stored(exception_id: str, draft: ProposalDraft) -> t.Proposal:
    return t.Proposal(
        id=new_id("prop"),
        exception_id=exception_id,
        kind=draft.kind,
        sentence=draft.sentence,
        change=_jsonable(draft.change),
        delta=draft.delta,
        basis=draft.basis,
        status="open",
        created_at=t.utcnow(),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Applied:
    """What accepting a proposal did."""

    decision: t.Decision
    new_routes: tuple[str, ...]
    notices: int


def _claim(db: Session, proposal_id: str) -> t.Proposal:
    """Compare-and-set the proposal from open to accepted (the first write: one winner)."""
    done = db.execute(
        update(t.Proposal)
        .where(t.Proposal.id == proposal_id, t.Proposal.status == "open")
        .values(status="accepted")
    )
    proposal = db.get(t.Proposal, proposal_id)
    if proposal is None:
        raise LookupError(proposal_id)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise RefusedError(
            "proposal_closed",
            f"Proposal {proposal_id} is {proposal.status}; only an open proposal can be accepted.",
            conflict=True,
        )
    return proposal


def accept(
    db: Session,
    proposal_id: str,
    key_id: str | None,
    reason: str,
    settings: Settings,
    now: datetime,
) -> Applied:
    """Apply a proposal, resolve its exception and log the decision (see the module docstring).

    Raises
    ------
    LookupError
        No such proposal.
    RefusedError
        ``proposal_closed`` or ``stale_proposal`` (409).
    """
    proposal = _claim(db, proposal_id)
    routes = q.routes_by_ids(db, list(proposal.basis), lock=True)
    for rid, version in proposal.basis.items():
        route = routes.get(rid)
        if route is None or route.replaced_by is not None or route.version != version:
            raise RefusedError(
                "stale_proposal",
                f"Route {rid} has changed since proposal {proposal_id} was made; "
                "ask for the exception's proposals again.",
                conflict=True,
            )
    # The other proposals are not touched here (another accept holds their rows:
    # a deadlock); they read as stale once their exception is resolved.
    exception = db.get(t.DispatchException, proposal.exception_id, with_for_update=True)
    assert exception is not None
    if exception.status == "resolved":
        raise RefusedError(
            "stale_proposal",
            f"Exception {exception.id} was resolved since proposal {proposal_id} was made.",
            conflict=True,
        )
    outbox = Outbox(Subscribers.load(db))
    new_routes, notices = _apply(db, proposal, routes, exception, settings, outbox)
    by = key_id or "admin"
    if exception.status != "resolved":
        resolve(exception, now, f"proposal {proposal.id} ({proposal.kind}) accepted", by)
        outbox.add("exception.resolved", payload(exception), None)
    exception.details = {**exception.details, "decided": proposal.id}
    decision = _log(db, exception, proposal, "accepted", key_id, reason, now)
    outbox.write(db)
    return Applied(decision, tuple(new_routes), notices)


def reject(
    db: Session, proposal_id: str, key_id: str | None, reason: str, now: datetime
) -> t.Decision:
    """Reject an open proposal with a reason; the exception stays (acknowledged).

    Raises
    ------
    LookupError
        No such proposal.
    RefusedError
        ``proposal_closed`` (409) for a proposal no longer open.
    """
    done = db.execute(
        update(t.Proposal)
        .where(t.Proposal.id == proposal_id, t.Proposal.status == "open")
        .values(status="rejected")
    )
    proposal = db.get(t.Proposal, proposal_id)
    if proposal is None:
        raise LookupError(proposal_id)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise RefusedError(
            "proposal_closed", f"Proposal {proposal_id} is {proposal.status}.", conflict=True
        )
    exception = db.get(t.DispatchException, proposal.exception_id)
    assert exception is not None
    by = key_id or "admin"
    trail(exception, now, f"proposal {proposal.id} ({proposal.kind}) rejected: {reason}", by)
    if exception.status == "open":
        exception.status = "acknowledged"
    return _log(db, exception, proposal, "rejected", key_id, reason, now)


def _log(
    db: Session,
    exception: t.DispatchException,
    proposal: t.Proposal,
    decision: str,
    key_id: str | None,
    reason: str,
    now: datetime,
) -> t.Decision:
    """Write one entry of the decision log."""
    row = t.Decision(
        day=exception.day,
        exception_id=exception.id,
        proposal_id=proposal.id,
        decision=decision,
        key_id=key_id,
        reason=reason,
        delta=proposal.delta,
        at=now,
    )
    db.add(row)
    db.flush()
    return row


def _apply(
    db: Session,
    proposal: t.Proposal,
    locked: dict[str, t.Route],
    exception: t.DispatchException,
    settings: Settings,
    outbox: Outbox,
) -> tuple[list[str], int]:
    change = proposal.change
    notice_s = int(settings.eta_notice_min * 60)
    new_ids: list[str] = []
    moved_stops: dict[str, t.Stop] = {}
    current: dict[str, t.Route] = dict(locked)
    sequences: dict[str, list[str]] = change.get("routes", {})
    for rid in sequences:
        if rid not in current:
            route = db.get(t.Route, rid, with_for_update=True)
            if route is None or route.replaced_by is not None:
                raise RefusedError(
                    "stale_proposal", f"Route {rid} has changed since.", conflict=True
                )
            current[rid] = route
    for rid in sequences:
        for stop in q.stops_of_route(db, rid):
            if stop.state == "pending":
                moved_stops[stop.order_id] = stop
    for order_id, text in change.get("notes", {}).items():
        order = db.get(t.Order, order_id)
        if order is not None:
            order.notes = f"{order.notes}\n{text}".strip()
    for order_id, address in change.get("addresses", {}).items():
        order = db.get(t.Order, order_id)
        if order is not None:
            order.street, order.zip, order.city = address["street"], address["zip"], address["city"]
            order.lat, order.lon = address["lat"], address["lon"]
    for order_id, windows in change.get("windows", {}).items():
        order = db.get(t.Order, order_id)
        if order is not None:
            order.windows = windows
    visits: dict[str, dict[str, int]] = change.get("visits", {})
    for rid, sequence in sequences.items():
        new_ids.append(_new_version(db, current[rid], sequence, visits, moved_stops, change))
    for vehicle_id, sequence in change.get("standby", {}).items():
        broken = current.get(exception.route_id or "")
        plan_id = broken.plan_id if broken is not None else exception.day
        driver = regular_drivers(db, [vehicle_id]).get(vehicle_id)
        route = t.Route(
            id=f"{plan_id}-{vehicle_id}",
            plan_id=plan_id,
            vehicle_id=vehicle_id,
            driver_id=driver,
            day=exception.day,
            state="published",
            start_s=min((visits[i]["arrival_s"] - visits[i]["leg_s"] for i in sequence), default=0),
            end_s=max((visits[i]["start_s"] for i in sequence), default=0),
            distance_m=0,
        )
        db.add(route)
        db.flush()
        _add_stops(db, route.id, 1, sequence, visits, moved_stops)
        new_ids.append(route.id)
    put_off = list(change.get("put_off", []))
    if put_off and "retry" not in change:
        for order in db.scalars(select(t.Order).where(t.Order.id.in_(put_off))):
            if order.status != "created":
                outbox.add(
                    "order.status_changed",
                    {"order_id": order.id, "from": order.status, "to": "created"},
                    order.tenant,
                )
                order.status = "created"
    notices = _notify(db, change.get("etas", {}), exception.day, settings, outbox, notice_s)
    for rid in new_ids:
        route = db.get(t.Route, rid)
        assert route is not None
        outbox.add(
            "route.updated",
            {
                "route_id": rid,
                "replaces": route.replaces,
                "vehicle_id": route.vehicle_id,
                "driver_id": route.driver_id,
                "version": route.version,
            },
            None,
        )
    for request_id in [exception.details.get("request_id")]:
        if request_id:
            request = db.get(t.CustomerRequest, request_id)
            if request is not None:
                request.status = "refused" if proposal.kind == "refuse" else "done"
    return new_ids, notices


def _base_id(route: t.Route) -> str:
    return route.id.rsplit(".v", 1)[0] if route.version > 1 else route.id


def _new_version(
    db: Session,
    old: t.Route,
    sequence: list[str],
    visits: dict[str, dict[str, int]],
    moved_stops: dict[str, t.Stop],
    change: dict[str, Any],
) -> str:
    kept = [s for s in q.stops_of_route(db, old.id) if s.state != "pending"]
    version = old.version + 1
    new = t.Route(
        id=f"{_base_id(old)}.v{version}",
        plan_id=old.plan_id,
        vehicle_id=old.vehicle_id,
        driver_id=old.driver_id,
        day=old.day,
        state=old.state if sequence or old.state == "published" else "completed",
        start_s=old.start_s,
        end_s=max([old.end_s, *(visits[i]["start_s"] for i in sequence if i in visits)]),
        distance_m=old.distance_m,
        version=version,
        replaces=old.id,
    )
    old.state = "superseded"
    old.replaced_by = new.id
    db.add(new)
    db.flush()
    for k, stop in enumerate(kept, start=1):
        db.add(_copy(stop, new.id, k))
    keep_times = bool(change.get("keep_times"))
    plan = {i: visits[i] for i in sequence if i in visits and not keep_times}
    _add_stops(db, new.id, len(kept) + 1, sequence, plan, moved_stops)
    db.flush()
    return new.id


def _copy(stop: t.Stop, route_id: str, seq: int, **changes: Any) -> t.Stop:
    fields = {
        c: getattr(stop, c)
        for c in (
            "order_id",
            "leg_s",
            "service_s",
            "window_start_s",
            "window_end_s",
            "planned_arrival_s",
            "planned_start_s",
            "eta_s",
            "notified_eta_s",
            "state",
            "arrived_at",
            "finished_at",
        )
    }
    return t.Stop(route_id=route_id, seq=seq, **(fields | changes))


def _add_stops(
    db: Session,
    route_id: str,
    first: int,
    sequence: Sequence[str],
    visits: dict[str, dict[str, int]],
    moved: dict[str, t.Stop],
) -> None:
    orders = {o.id: o for o in db.scalars(select(t.Order).where(t.Order.id.in_(list(sequence))))}
    for k, order_id in enumerate(sequence, start=first):
        visit = visits.get(order_id)
        old = moved.get(order_id)
        if old is not None and visit is None:
            db.add(_copy(old, route_id, k))
            continue
        assert visit is not None, f"no planned time for {order_id}"
        window = _window(orders[order_id].windows, visit["arrival_s"])
        fields: dict[str, Any] = {
            "leg_s": visit["leg_s"],
            "planned_arrival_s": visit["arrival_s"],
            "planned_start_s": visit["start_s"],
            "eta_s": visit["arrival_s"],
            "window_start_s": None if window is None else window[0],
            "window_end_s": None if window is None else window[1],
        }
        if old is not None:
            db.add(_copy(old, route_id, k, **fields))
        else:
            order = orders[order_id]
            db.add(
                t.Stop(
                    route_id=route_id,
                    seq=k,
                    order_id=order_id,
                    service_s=order.service_s,
                    state="pending",
                    **fields,
                )
            )


def _window(windows: Sequence[Sequence[int]], arrival_s: int) -> tuple[int, int] | None:
    """The window a visit arriving at ``arrival_s`` uses: the first it can still make."""
    if not windows:
        return None
    for start, end in windows:
        if arrival_s <= end:
            return int(start), int(end)
    start, end = windows[-1]
    return int(start), int(end)


def _notify(
    db: Session,
    etas: dict[str, int],
    day: str,
    settings: Settings,
    outbox: Outbox,
    notice_s: int,
) -> int:
    """``eta.changed`` for each order whose ETA moves beyond the notice; returns how many."""
    if not etas:
        return 0
    midnight, _ = q.day_bounds(day, ZoneInfo(settings.timezone))
    stops = db.execute(
        select(t.Stop, t.Route.id, t.Order.tenant)
        .join(t.Route, t.Route.id == t.Stop.route_id)
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .where(
            t.Stop.order_id.in_(list(etas)),
            t.Route.day == day,
            t.Route.state.in_(q.CURRENT_STATES),
            t.Stop.state == "pending",
        )
    ).all()
    sent = 0
    for stop, route_id, tenant in stops:
        eta = int(etas[stop.order_id])
        told = stop.notified_eta_s if stop.notified_eta_s is not None else stop.planned_arrival_s
        stop.eta_s = eta
        if abs(eta - told) <= notice_s:
            continue
        outbox.add(
            "eta.changed",
            {
                "order_id": stop.order_id,
                "route_id": route_id,
                "eta": (midnight + timedelta(seconds=eta)).isoformat(),
                "eta_s": eta,
                "previous_eta_s": told,
                "window": None
                if stop.window_start_s is None
                else [stop.window_start_s, stop.window_end_s],
            },
            tenant,
        )
        stop.notified_eta_s = eta
        sent += 1
    return sent
