"""A dispatcher who accepts proposals on a simulated day: the service's own playbooks.

With the day's orders and fleet (what ``doorstep plan`` read) and a router, the
simulator can do what a dispatcher does with an exception: ask the playbooks
(:func:`doorstep.dispatch.playbooks.proposals`, the code behind
``GET /v1/exceptions/{id}/proposals``) and accept one. :class:`AutoDispatch`
accepts the first proposal that is feasible and changes only routes on the road
(a standby vehicle's new route and a second attempt the same day are not
simulated: those proposals are skipped); :func:`apply` carries its
change out on the simulated vans: their pending stops in the proposal's order,
with the proposal's driving times, and orders put off taken out of the day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from doorstep.dispatch.day import DayState
from doorstep.dispatch.exceptions import DayException
from doorstep.dispatch.playbooks import DispatchContext, ProposalDraft, proposals
from doorstep.simulate.plan_input import SimStop

ACCEPTED_KINDS = frozenset({"vehicle_unavailable", "running_late", "failed_attempt"})
"""The exceptions the automatic dispatcher answers (the others are only recorded)."""
NOT_SIMULATED = frozenset({"retry_today", "retry_as_asked"})
"""Proposals the simulator cannot carry out (a second attempt the same day): skipped."""


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
    """

    ctx: DispatchContext
    kinds: frozenset[str] = ACCEPTED_KINDS

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
            The first proposal that changes only routes on the road and adds no
            violation the day did not have.
        """
        if str(exception.kind) not in self.kinds:
            return None
        for draft in proposals(state, exception, self.ctx, now_s):
            if draft.kind in NOT_SIMULATED or draft.change.get("standby"):
                continue
            if draft.delta.get("feasible") is False:
                continue
            routes = draft.change.get("routes", {})
            if any(rid not in {r.id for r in state.routes} for rid in routes):
                continue
            return draft
        return None


class Van(Protocol):
    """What :func:`apply` changes on a simulated van."""

    @property
    def vehicle_id(self) -> str:
        """The van's vehicle (the route's id on a simulated day)."""
        ...

    pending: list[SimStop]
    target: SimStop | None
    released: set[str]
    """Orders this van was on its way to that another van now serves (it skips them)."""

    @property
    def at_door(self) -> bool:
        """Whether the van has reached its current stop (it finishes it, whatever happens)."""
        ...


def apply(
    draft: ProposalDraft,
    vans: Sequence[Van],
    stops: Mapping[str, SimStop],
    served: set[str],
) -> tuple[int, int]:
    """Carry out ``draft``'s change on the vans; returns (stops moved, orders put off).

    Parameters
    ----------
    draft
        The accepted proposal.
    vans
        The simulated vans (route id = vehicle id).
    stops
        Every planned stop of the day, by order id.
    served
        Orders already served (or failed) on the day: never planned again.

    Returns
    -------
    tuple of int
        Stops whose van or position changed, orders put off.
    """
    change: dict[str, Any] = draft.change
    visits: Mapping[str, Mapping[str, int]] = change.get("visits", {})
    by_id = {v.vehicle_id: v for v in vans}
    routes: Mapping[str, list[str]] = change.get("routes", {})
    given = {i for rid, ids in routes.items() if rid in by_id for i in ids}
    flying: set[str] = set()
    for van in vans:
        if van.target is None:
            continue
        oid = van.target.order_id
        own = routes.get(van.vehicle_id)
        if own is not None and oid not in own and oid in given and not van.at_door:
            van.released.add(oid)  # handed to another van (this one is stuck)
        else:
            flying.add(oid)
    moved = 0
    for route_id, order_ids in routes.items():
        taker = by_id.get(route_id)
        if taker is None:
            continue
        before = [s.order_id for s in taker.pending]
        keep = [i for i in order_ids if i in stops and i not in served and i not in flying]
        previous = taker.target.order_id if taker.target is not None else None
        pending = []
        for order_id in keep:
            stop = stops[order_id]
            leg = visits.get(order_id, {}).get("leg_s", stop.leg_s)
            key = previous if previous is not None else stop.prev_key
            pending.append(replace(stop, leg_s=int(leg), prev_key=key))
            previous = order_id
        taker.pending = pending
        moved += sum(1 for k, i in enumerate(keep) if k >= len(before) or before[k] != i)
    changed = set(routes)
    taken = {s.order_id for rid in changed if rid in by_id for s in by_id[rid].pending}
    put_off = set(change.get("put_off", []))
    for van in vans:
        gone = put_off if van.vehicle_id in changed else put_off | taken
        van.pending = [s for s in van.pending if s.order_id not in gone]
    return moved, len(put_off)
