"""Plan for success: visit when fewer first attempts fail, inside every hard constraint.

The method (measured in ``bench/bench_success.py``, BENCHMARKS.md)::

    distance-only plan -> risk per two-hour band of each order
        -> narrow the windows of orders visited in a bad band -> plan again
        -> not acceptable? give half the narrowing back (least saving per km first)
        -> acceptable? narrow the orders now visited in a bad band too -> ... (a few rounds)
        -> the cheapest acceptable plan: vehicle cost + penalties + expected failures x re-delivery

1. The normal pipeline plans the day (the *distance-only* plan, under the
   caller's objective) with half the time limit.
2. For every order, the risk model gives P(fail) in each two-hour band its hard
   windows touch (:mod:`doorstep.plan.bands`). An order the plan visits in a
   band worse than its best by more than ``margin``, where the expected saving
   ``(p_visit - p_best) x redelivery_cents`` is at least ``min_saving_cents``,
   gets its windows narrowed to its good bands (always inside its own windows).
3. The day is planned again with those windows, starting from the last
   acceptable plan. A plan that serves fewer orders, uses more vehicles, has
   more violations or drives more than ``km_budget`` more km than the
   distance-only plan is not acceptable: the narrowing is given back for the
   orders it left out and for half of the others, those whose P(fail) fell
   least per km their detour grew first, and the day is planned again. After
   an acceptable plan, the orders it now visits in a bad band are narrowed too.
4. Of the acceptable plans (the distance-only one always is), the one with the
   lowest total, vehicle cost + penalties + expected failed attempts x
   ``redelivery_cents``, is returned: never worse than the distance-only plan
   on that total.

The plan returned carries the narrowed windows in its problem: the schedule
waits for them, and they lie inside the customer's own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from doorstep.domain.fleet import Fleet
from doorstep.domain.order import Order
from doorstep.errors import InputError
from doorstep.learn.risk import FailureRisk
from doorstep.network.provider import TravelTimeProvider
from doorstep.plan.bands import (
    BandRisk,
    HourlyRisk,
    band_risk,
    duty_span,
    narrow,
)
from doorstep.plan.expected import expected_failures
from doorstep.plan.geometry import route_geometry
from doorstep.plan.pipeline import PlanOptions, build_problem, canonical, plan_problem
from doorstep.plan.problem import Problem
from doorstep.plan.relocate import relocate
from doorstep.plan.result import DayPlan
from doorstep.plan.retime import retime

RETIME_BASE_SHARE = 0.95
"""Share of the time limit the distance-only plan gets when no narrowing rounds run
(the rest: relocating, retiming and drawing; relocation stops at the limit)."""


@dataclass(frozen=True, slots=True)
class SuccessSettings:
    """How hard the planner works for success.

    Attributes
    ----------
    margin
        A band is good when its P(fail) is at most the order's best band's plus this.
    min_saving_cents
        Narrow an order only when moving it to a good band saves at least this
        much re-delivery cost, in expectation.
    km_budget
        Largest share of extra km over the distance-only plan (0.03: 3%);
        ``None``: no budget, the total cost alone decides.
    max_rounds
        Re-plans with narrowed windows after the distance-only plan, at most
        (default 0: none, see BENCHMARKS.md). With rounds the time limit is
        shared: the distance-only plan gets half, each re-plan
        ``1 / (2 max_rounds)``, starting from the last acceptable plan; without,
        the distance-only plan gets :data:`RETIME_BASE_SHARE` of it.
    retime
        Then retime the chosen plan's routes (:func:`doorstep.plan.retime.retime`:
        visits held until their customers are home, reversed sequences),
        keeping every stop on its van.
    relocate
        With ``retime``, also try moving visits to positions timed for their
        customers (:func:`doorstep.plan.relocate.relocate`, within what is left
        of the km budget) before retiming; kept only when the total is lower.
    """

    margin: float = 0.02
    min_saving_cents: float = 20.0
    km_budget: float | None = 0.03
    max_rounds: int = 0
    retime: bool = True
    relocate: bool = True

    def __post_init__(self) -> None:
        if self.margin < 0 or self.min_saving_cents < 0:
            raise InputError("the success margin and minimum saving cannot be negative")
        if self.km_budget is not None and self.km_budget < 0:
            raise InputError("the km budget cannot be negative")
        if self.max_rounds < 0:
            raise InputError("the number of rounds cannot be negative")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One plan the search made, with its expected failures and total cost.

    Attributes
    ----------
    plan
        The evaluated plan.
    narrowed
        Ids of the orders whose windows were narrowed for it.
    expected_failures
        Sum over visits of P(fail) at the planned start.
    total_cents
        Vehicle cost + penalties + expected failures x re-delivery cost, in cents.
    acceptable
        Serves as many orders as the distance-only plan, with no more vehicles,
        no new violation, within the km budget.
    """

    plan: DayPlan
    narrowed: frozenset[str]
    expected_failures: float
    total_cents: float
    acceptable: bool

    @property
    def km(self) -> float:
        """Kilometres driven."""
        return self.plan.evaluation.kpis.distance_km


@dataclass(frozen=True, slots=True)
class SuccessSearch:
    """What :func:`search_for_success` tried, and what it chose."""

    base: Candidate
    """The distance-only plan (under the caller's objective)."""
    tried: tuple[Candidate, ...]
    """The risk-aware plans, in the order made."""
    best: Candidate
    """The acceptable plan with the lowest total cost (possibly ``base``)."""


def plan_expected_failures(plan: DayPlan, risk: FailureRisk, day: date) -> float:
    """Expected failed first attempts of a plan: the sum over visits of P(fail) at their start.

    Parameters
    ----------
    plan
        An evaluated plan.
    risk
        The failure-risk model.
    day
        The planning day.

    Returns
    -------
    float
        The expected number of failed attempts.
    """
    return expected_failures(plan, risk, day).total


def _starts(plan: DayPlan) -> dict[str, int]:
    return {v.order_id: v.start_s for r in plan.evaluation.plan.routes for v in r.visits}


def _detours_m(plan: DayPlan) -> dict[str, int]:
    """Per visited order, metres its visit adds to its route (in, out, minus the direct leg)."""
    problem = plan.problem
    index = problem.order_index()
    vehicles = {v.id: v for v in problem.fleet.vehicles}
    detours: dict[str, int] = {}
    for route in plan.evaluation.plan.routes:
        vehicle = vehicles[route.vehicle_id]
        d = problem.distances[vehicle.profile]
        path = problem.path(vehicle, (index[v.order_id] for v in route.visits))
        for k, visit in enumerate(route.visits, start=1):
            a, b, c = path[k - 1], path[k], path[k + 1]
            detours[visit.order_id] = int(d[a, b] + d[b, c] - d[a, c])
    return detours


def _p_at(bands: BandRisk, start: int | None) -> float:
    """P(fail) of a visit at ``start``; the worst band's when not visited (or outside the bands)."""
    p = None if start is None else bands.at(start)
    return bands.worst if p is None else p


def _saving(bands: BandRisk, start: int | None, margin: float) -> float:
    """What P(fail) a visit at ``start`` loses against the order's best band (0: good already)."""
    p = _p_at(bands, start)
    return 0.0 if p <= bands.best + margin else p - bands.best


class _Search:
    """The rounds of one :func:`search_for_success` call."""

    def __init__(
        self,
        problem: Problem,
        risk: FailureRisk,
        day: date,
        options: PlanOptions,
        redelivery_cents: int,
        settings: SuccessSettings,
    ) -> None:
        self.problem = problem
        self.risk = risk
        self.day = day
        self.redelivery = redelivery_cents
        self.settings = settings
        began = time.perf_counter()
        span = duty_span(problem)
        # Every question to the model first, in one batch: its time comes out of the limit.
        self.table = HourlyRisk.of(problem.orders, risk, day, span)
        # The bands are for narrowing rounds only (none by default).
        self.bands = {
            o.id: band_risk(o, risk, day, span)
            for o in problem.orders
            if settings.max_rounds and not o.soft_windows
        }
        limit = max(
            options.time_limit_s - (time.perf_counter() - began), 0.1 * options.time_limit_s
        )
        share = 0.5 / settings.max_rounds if settings.max_rounds else 0.5
        base_share = 0.5 if settings.max_rounds else RETIME_BASE_SHARE
        self.base_options = dataclasses.replace(
            options, time_limit_s=limit * base_share, with_geometry=False
        )
        self.solve_options = dataclasses.replace(
            options, time_limit_s=limit * share, with_geometry=False
        )
        self.base = self.candidate(plan_problem(problem, self.base_options), frozenset())
        self.start_from = self.base

    def candidate(self, plan: DayPlan, narrowed: frozenset[str]) -> Candidate:
        kpis = plan.evaluation.kpis
        failures = plan_expected_failures(plan, self.risk, self.day)
        total = (kpis.cost + kpis.penalty) * 100 + failures * self.redelivery
        base = getattr(self, "base", None)
        acceptable = base is None or (
            kpis.served >= base.plan.evaluation.kpis.served
            and kpis.vehicles_used <= base.plan.evaluation.kpis.vehicles_used
            and len(plan.evaluation.violations) <= len(base.plan.evaluation.violations)
            and not self.over_budget_km(kpis.distance_km)
        )
        return Candidate(plan, narrowed, failures, total, acceptable)

    def retimed(self, chosen: Candidate, deadline: float | None = None) -> Candidate:
        """The best of ``chosen``, it retimed, and it with visits relocated then retimed.

        Relocation tries no move after ``deadline`` (a ``time.perf_counter()`` value).
        """
        table = self.table  # the orders' risks do not change with their windows
        best = chosen
        plans = [chosen.plan]
        if self.settings.relocate:
            budget = self.settings.km_budget
            allowance = (
                float("inf") if budget is None else (self.base.km * (1 + budget) - chosen.km) * 1000
            )
            if allowance > 0:
                moved = relocate(chosen.plan, table, self.redelivery, allowance, deadline=deadline)
                if moved is not chosen.plan:
                    plans.append(moved)
        for plan in plans:
            tried = self.candidate(
                retime(plan, self.risk, self.day, self.redelivery, table), chosen.narrowed
            )
            if tried.acceptable and tried.total_cents < best.total_cents:
                best = tried
        return best

    def over_budget_km(self, km: float) -> float:
        """Kilometres over the budget (0 within it)."""
        if self.settings.km_budget is None:
            return 0.0
        return max(0.0, km - self.base.km * (1 + self.settings.km_budget))

    def worth_narrowing(self, plan: DayPlan | None) -> set[str]:
        """Orders ``plan`` visits (or leaves out) in a bad band, where a good band saves enough.

        Without a plan: every order whose worst band is bad enough against its best.
        """
        starts = _starts(plan) if plan is not None else {}
        least = max(self.settings.min_saving_cents, 1e-9)
        return {
            oid
            for oid, bands in self.bands.items()
            if _saving(bands, starts.get(oid), self.settings.margin) * self.redelivery >= least
        }

    def plan_with(self, narrowed: frozenset[str]) -> Candidate:
        margin = self.settings.margin
        orders = tuple(
            dataclasses.replace(o, windows=narrow(self.bands[o.id], margin))
            if o.id in narrowed
            else o
            for o in self.problem.orders
        )
        routes = self.start_from.plan.evaluation.plan.routes
        start = {r.vehicle_id: tuple(v.order_id for v in r.visits) for r in routes}
        problem = dataclasses.replace(self.problem, orders=orders, warm_start=start)
        tried = self.candidate(plan_problem(problem, self.solve_options), narrowed)
        if tried.acceptable:
            self.start_from = tried
        return tried

    def relax(self, tried: Candidate, released: set[str]) -> frozenset[str]:
        """Give back the narrowing of the orders left out, and of half the others.

        The half that saved the least P(fail) (against the distance-only plan's
        visit) per km its detour grew goes first.
        """
        starts, base_starts = _starts(tried.plan), _starts(self.base.plan)
        detours, base_detours = _detours_m(tried.plan), _detours_m(self.base.plan)
        rows = []
        for oid in tried.narrowed:
            bands = self.bands[oid]
            then, now = base_starts.get(oid), starts.get(oid)
            before, after = _p_at(bands, then), _p_at(bands, now)
            added_km = max(0, detours.get(oid, 0) - base_detours.get(oid, 0)) / 1000
            rows.append((now is not None, (before - after) / max(added_km, 0.05), oid, added_km))
        rows.sort()
        given = {oid for served, _, oid, _ in rows if not served}
        kept = [oid for served, _, oid, _ in rows if served]
        given.update(kept[: max(1, len(kept) // 2)])
        released |= given
        return tried.narrowed - given


def search_for_success(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    risk: FailureRisk,
    day: date,
    options: PlanOptions | None = None,
    redelivery_cents: int = 800,
    settings: SuccessSettings | None = None,
) -> SuccessSearch:
    """Plan the day for success and keep every plan tried (see the module docstring).

    Parameters
    ----------
    orders, fleet, provider
        What to plan, as for :func:`~doorstep.plan.pipeline.plan_orders`.
    risk
        The failure-risk model.
    day
        The planning day (its weekday matters to the model).
    options
        Objective, backend, search settings; the time limit is for the whole
        search, shared by its plans. Geometry is drawn for the plan chosen only.
    redelivery_cents
        What one failed first attempt costs (a second trip, handling), in cents.
    settings
        Margin, minimum saving, km budget, rounds; default :class:`SuccessSettings`.

    Returns
    -------
    SuccessSearch
        The distance-only plan, the risk-aware plans tried, and the best.

    Raises
    ------
    InputError
        A negative re-delivery cost or setting, an unknown backend, a lock or
        warm start naming unknown orders or vehicles.
    """
    if redelivery_cents < 0:
        raise InputError(
            f"the re-delivery cost cannot be negative ({redelivery_cents} cents)",
            hint="Give the cost of one failed first attempt in cents, 0 or more.",
        )
    options = options or PlanOptions()
    settings = settings or SuccessSettings()
    started = time.perf_counter()
    orders, fleet = canonical(orders, fleet)
    problem = build_problem(
        orders,
        fleet,
        provider,
        objective=options.objective,
        locks=options.locks,
        warm_start=options.warm_start,
    )
    search = _Search(problem, risk, day, options, redelivery_cents, settings)
    tried: list[Candidate] = []
    released: set[str] = set()
    narrowed = frozenset(search.worth_narrowing(search.base.plan))
    for _ in range(settings.max_rounds):
        if not narrowed or time.perf_counter() - started >= options.time_limit_s:
            break
        candidate = search.plan_with(narrowed)
        tried.append(candidate)
        if candidate.acceptable:
            more = search.worth_narrowing(candidate.plan) - released - narrowed
            if not more:
                break
            narrowed = narrowed | more
        else:
            narrowed = search.relax(candidate, released)
    best = min((search.base, *(c for c in tried if c.acceptable)), key=lambda c: c.total_cents)
    if settings.retime:
        best = search.retimed(best, started + options.time_limit_s)
    plan = best.plan
    geometry = (
        route_geometry(plan.problem, plan.evaluation, provider) if options.with_geometry else ()
    )
    final = dataclasses.replace(
        plan,
        time_limit_s=options.time_limit_s,
        runtime_s=time.perf_counter() - started,
        geometry=geometry,
    )
    best = dataclasses.replace(best, plan=final)
    return SuccessSearch(search.base, tuple(tried), best)


def plan_for_success(
    orders: Sequence[Order],
    fleet: Fleet,
    provider: TravelTimeProvider,
    risk: FailureRisk,
    day: date,
    options: PlanOptions | None = None,
    redelivery_cents: int = 800,
    settings: SuccessSettings | None = None,
) -> DayPlan:
    """Plan a day so that expected failed attempts trade off against km and duty time.

    Parameters
    ----------
    orders, fleet, provider
        What to plan, as for :func:`~doorstep.plan.pipeline.plan_orders`.
    risk
        The failure-risk model.
    day
        The planning day.
    options
        Objective, backend, search settings (the time limit covers every plan tried).
    redelivery_cents
        What one failed first attempt costs, in cents.
    settings
        Margin, minimum saving, km budget, rounds; default :class:`SuccessSettings`.

    Returns
    -------
    DayPlan
        The evaluated plan with the lowest vehicle cost + penalties + expected
        failures x ``redelivery_cents`` among those that serve as many orders as
        the distance-only plan with no more vehicles and within the km budget;
        its problem carries the narrowed windows its schedule keeps.

    Raises
    ------
    InputError
        As :func:`search_for_success`.
    """
    return search_for_success(
        orders, fleet, provider, risk, day, options, redelivery_cents, settings
    ).best.plan
