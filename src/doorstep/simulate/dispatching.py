"""A dispatcher who accepts proposals on a simulated day: the service's own playbooks.

With the day's orders and fleet (what ``doorstep plan`` read) and a router, the
simulator can do what a dispatcher does with an exception: ask the playbooks
(:func:`doorstep.dispatch.playbooks.proposals`, the code behind
``GET /v1/exceptions/{id}/proposals``) and accept one. :class:`AutoDispatch`
accepts the first proposal that is feasible and changes only routes on the road
or starts a standby vehicle; :func:`apply` carries its change out on the
simulated vans: their pending stops in the proposal's order, with the
proposal's driving times, orders put off taken out of the day, a failed order
retried the same day (``retry_today``, or ``retry_as_asked``: if nobody answers
the second time, the parcel is left as the customer asked) as a second visit
on the van the proposal names, and a standby vehicle's route
(:class:`Applied`, started by the day as a new van). A van whose next leg no
longer starts where the plan or the proposal said (it lost its next stop, or
comes home from elsewhere) drives the router's time instead
(:meth:`AutoDispatch.travel`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from doorstep.dispatch.day import DayState
from doorstep.dispatch.exceptions import DayException
from doorstep.dispatch.playbooks import DispatchContext, ProposalDraft, proposals
from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.network.provider import UNREACHABLE
from doorstep.simulate.plan_input import SimRoute, SimStop

ACCEPTED_KINDS = frozenset({"vehicle_unavailable", "running_late", "failed_attempt"})
"""The exceptions the automatic dispatcher answers (the others are only recorded)."""
RETRIES = frozenset({"retry_today", "retry_as_asked"})
"""Proposals of a second attempt the same day (a new visit of a failed order)."""
MAX_ATTEMPTS = 2
"""Visits of an order on one simulated day: a failed retry is not retried again."""

Point = tuple[float, float]
"""``(lat, lon)``."""


@dataclass(frozen=True, slots=True)
class Decided:
    """A proposal the automatic dispatcher accepted on a simulated day."""

    cause: str
    """The exception's cause."""
    kind: str
    """The proposal's kind (``hand_over``, ``resequence``, ``retry_today``...)."""
    at_s: int
    moved: int
    """Stops whose van or position changed."""
    put_off: int
    """Orders left for another day."""


@dataclass(frozen=True, slots=True)
class AutoDispatch:
    """Accept the first feasible proposal for the exceptions of ``kinds``.

    Attributes
    ----------
    ctx
        The day's orders, fleet and router, and the re-plan's search settings.
    kinds
        The exception kinds answered.
    max_attempts
        Visits of an order on one day: a retry is accepted only for an earlier attempt.
    """

    ctx: DispatchContext
    kinds: frozenset[str] = ACCEPTED_KINDS
    max_attempts: int = MAX_ATTEMPTS
    _times: dict[tuple[Point, Point, str], int | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def choose(self, state: DayState, exception: DayException, now_s: int) -> ProposalDraft | None:
        """The proposal to accept for ``exception``, or ``None`` (none applies).

        Parameters
        ----------
        state
            The simulated day as the service would see it.
        exception
            What the monitor found.
        now_s
            The simulated clock.

        Returns
        -------
        ProposalDraft or None
            The first proposal that changes only routes on the road (or starts a
            vehicle of the fleet with no route today) and adds no violation the
            day did not have; a retry only while the order has visits left.
        """
        if str(exception.kind) not in self.kinds:
            return None
        attempt = int(exception.details.get("attempt") or 1)
        on_road = {r.id for r in state.routes}
        fleet = {v.id for v in self.ctx.fleet.vehicles}
        for draft in proposals(state, exception, self.ctx, now_s):
            if draft.kind in RETRIES and attempt >= self.max_attempts:
                continue
            if draft.delta.get("feasible") is False:
                continue
            if any(rid not in on_road for rid in draft.change.get("routes", {})):
                continue
            if any(vid not in fleet for vid in draft.change.get("standby", {})):
                continue
            return draft
        return None

    def travel(self, origin: Point, destination: Point, vehicle_id: str) -> int | None:
        """The router's driving time (s) from ``origin`` to ``destination`` for a vehicle.

        Parameters
        ----------
        origin, destination
            ``(lat, lon)``.
        vehicle_id
            Whose profile (a van when the fleet does not know it).

        Returns
        -------
        int or None
            Seconds; None when the router finds no path.
        """
        vehicle = next((v for v in self.ctx.fleet.vehicles if v.id == vehicle_id), None)
        profile = vehicle.profile if vehicle is not None else Profile.VAN
        key = (origin, destination, str(profile))
        if key not in self._times:
            pair = [Location(*origin), Location(*destination)]
            seconds = int(self.ctx.provider.matrices(pair, profile).durations[0, 1])
            self._times[key] = None if seconds >= UNREACHABLE else seconds
        return self._times[key]

    def depot(self, depot_id: str) -> Point | None:
        """Where depot ``depot_id`` is (None: not in the fleet)."""
        found = next((d for d in self.ctx.fleet.depots if d.id == depot_id), None)
        return None if found is None else (found.location.lat, found.location.lon)

    def standby_route(self, vehicle_id: str, stops: Sequence[SimStop]) -> SimRoute:
        """The route of a standby vehicle a proposal sends out (``stops`` from :func:`apply`).

        It leaves its depot in time for the first stop's planned arrival and
        comes back by the router's time; its distance is the router's, depot
        to depot.

        Parameters
        ----------
        vehicle_id
            A vehicle of the fleet.
        stops
            Its visits in order, with the proposal's legs and planned times.

        Returns
        -------
        SimRoute
            ``standby=True``; the first leg starts at the depot.
        """
        vehicle = next(v for v in self.ctx.fleet.vehicles if v.id == vehicle_id)
        depot_id = vehicle.depot_id
        home = self.depot(depot_id)
        first = stops[0] if stops else None
        start = first.planned_arrival_s - first.leg_s if first is not None else 0
        visits = [replace(first, prev_key=f"depot:{depot_id}")] if first is not None else []
        visits += stops[1:]
        points = [(s.lat, s.lon) for s in visits]
        back = 0
        distance = 0
        if home is not None and points:
            tour = [home, *points, home]
            located = [Location(*p) for p in tour]
            matrices = self.ctx.provider.matrices(located, vehicle.profile)
            last = len(tour) - 1
            back = int(matrices.durations[last - 1, last])
            distance = sum(int(matrices.distances[k, k + 1]) for k in range(last))
            back = back if back < UNREACHABLE else 0
        end = visits[-1].planned_start_s + visits[-1].service_s + back if visits else start
        return SimRoute(
            vehicle_id=vehicle_id,
            depot_id=depot_id,
            start_s=start,
            end_s=end,
            distance_m=distance if distance < UNREACHABLE else 0,
            stops=tuple(visits),
            return_leg_s=back,
            standby=True,
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply` did."""

    moved: int
    """Stops whose van or position changed (a retry and a standby's stops included)."""
    put_off: int
    """Orders left for another day."""
    retried: tuple[str, ...] = ()
    """Orders given a second visit today."""
    standby: dict[str, list[SimStop]] = field(default_factory=dict)
    """Standby vehicle id -> the stops of the route it starts (the day starts the van)."""


class Van(Protocol):
    """What :func:`apply` changes on a simulated van."""

    @property
    def vehicle_id(self) -> str:
        """The van's vehicle (the route's id on a simulated day)."""
        ...

    pending: list[SimStop]
    target: SimStop | None
    released: set[str]
    """Visits (:attr:`SimStop.visit_key`) this van was on its way to that another van now
    serves (it skips them)."""

    @property
    def at_door(self) -> bool:
        """Whether the van has reached its current stop (it finishes it, whatever happens)."""
        ...

    @property
    def position_key(self) -> str:
        """The visit the re-plan starts the van from (its last stop reached, or its depot)."""
        ...


def apply(
    draft: ProposalDraft,
    vans: Sequence[Van],
    stops: Mapping[str, SimStop],
    served: set[str],
    attempts: Mapping[str, int] | None = None,
) -> Applied:
    """Carry out ``draft``'s change on the vans.

    Parameters
    ----------
    draft
        The accepted proposal.
    vans
        The simulated vans (route id = vehicle id).
    stops
        Every planned stop of the day, by order id.
    served
        Orders already visited on the day: planned again only as the retry of
        a retry proposal (a second visit, ``attempt`` 2, at the proposal's time).
    attempts
        Visits made so far per order (default one for each of ``served``).

    Returns
    -------
    Applied
        Stops moved, orders put off, orders retried, standby routes to start.
    """
    change: dict[str, Any] = draft.change
    visits: Mapping[str, Mapping[str, int]] = change.get("visits", {})
    notes: Mapping[str, str] = change.get("notes", {})
    again = set(change.get("retry", [])) if draft.kind in RETRIES else set()
    made = Counter(attempts or dict.fromkeys(served, 1))
    by_id = {v.vehicle_id: v for v in vans}
    routes: Mapping[str, list[str]] = change.get("routes", {})
    standby: Mapping[str, list[str]] = change.get("standby", {})
    given = {i for rid, ids in routes.items() if rid in by_id for i in ids}
    given |= {i for ids in standby.values() for i in ids}
    put_off = set(change.get("put_off", []))
    waiting = {s.order_id: s for v in vans for s in v.pending}
    keys = {s.order_id: s.visit_key for s in waiting.values()}
    flying: set[str] = set()
    for van in vans:
        if van.target is None:
            continue
        oid = van.target.order_id
        keys[oid] = van.target.visit_key
        own = routes.get(van.vehicle_id)
        if own is not None and oid not in own and oid in given | put_off and not van.at_door:
            # Handed to another van, or put off: this van does not go on to it (a
            # broken van that is repaired later must not deliver what was put off).
            van.released.add(van.target.visit_key)
        else:
            flying.add(oid)

    def visit(order_id: str) -> SimStop | None:
        """The visit to plan for ``order_id`` (None: not to be visited again)."""
        if order_id in flying or order_id not in stops:
            return None
        if order_id in waiting:
            return waiting[order_id]
        if order_id in again and order_id in served:
            return replace(
                stops[order_id],
                attempt=made[order_id] + 1,
                ask=notes.get(order_id) if draft.kind == "retry_as_asked" else None,
            )
        return None if order_id in served else stops[order_id]

    def sequence(order_ids: Sequence[str], start: str) -> list[SimStop]:
        """The visits in the proposal's order, with its legs and times.

        As the service's new route version; each leg keyed by where the proposal starts it.
        """
        out = []
        previous = start
        for order_id in order_ids:
            stop = visit(order_id)
            if stop is not None:
                times = visits.get(order_id, {})
                stop = replace(
                    stop,
                    leg_s=int(times.get("leg_s", stop.leg_s)),
                    planned_arrival_s=int(times.get("arrival_s", stop.planned_arrival_s)),
                    planned_start_s=int(times.get("start_s", stop.planned_start_s)),
                    prev_key=previous,
                )
                keys[order_id] = stop.visit_key
                out.append(stop)
            previous = keys.get(order_id, order_id)
        return out

    moved = 0
    retried: list[str] = []
    for route_id, order_ids in routes.items():
        taker = by_id.get(route_id)
        if taker is None:
            continue
        before = [s.visit_key for s in taker.pending]
        pending = sequence(order_ids, taker.position_key)
        taker.pending = pending
        after = [s.visit_key for s in pending]
        moved += sum(1 for k, i in enumerate(after) if k >= len(before) or before[k] != i)
        retried += [s.order_id for s in pending if s.order_id in again and s.attempt > 1]
    started = {vid: sequence(ids, "") for vid, ids in standby.items() if vid not in by_id}
    moved += sum(len(v) for v in started.values())
    changed = set(routes)
    taken = {s.order_id for rid in changed if rid in by_id for s in by_id[rid].pending}
    taken |= {s.order_id for v in started.values() for s in v}
    for van in vans:
        gone = put_off if van.vehicle_id in changed else put_off | taken
        van.pending = [s for s in van.pending if s.order_id not in gone]
    return Applied(moved, len(put_off), tuple(retried), {k: v for k, v in started.items() if v})
