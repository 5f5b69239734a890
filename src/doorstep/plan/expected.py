"""Expected failed first attempts of a plan: each stop's chance of failing, summed and priced.

A failed first attempt (nobody at home when the van came) costs a second trip;
:func:`expected_failures` asks a :class:`~doorstep.learn.risk.FailureRisk`
(the trained model, :class:`~doorstep.learn.model.TrainedRisk`, or
:class:`~doorstep.learn.risk.ConstantRisk`) for every planned visit, at the time
its service starts, for the order's customer (``Order.customer_id``) in its
area (the zip code). The sum is the plan's expected number of failed first
attempts, and each one is priced at a re-delivery cost.

:class:`AssessedDayPlan` is a planned day that carries these figures, so the
outputs (``plan.json``, the CLI's summary) report them beside the km.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, tzinfo
from zoneinfo import ZoneInfo

from doorstep.learn.risk import FailureRisk
from doorstep.plan.bands import visit_risks
from doorstep.plan.evaluator import Evaluation
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan

DEFAULT_REDELIVERY_CENTS = 800
"""What one failed first attempt costs by default (a second trip), in cents."""


@dataclass(frozen=True, slots=True)
class StopRisk:
    """One planned visit and its chance that the first attempt fails.

    Attributes
    ----------
    order_id, vehicle_id
        The order visited and the route's vehicle.
    start_s
        When service starts, seconds after midnight of the day.
    p_fail
        The risk source's answer for that moment, between 0 and 1.
    """

    order_id: str
    vehicle_id: str
    start_s: int
    p_fail: float


@dataclass(frozen=True, slots=True)
class ExpectedFailures:
    """The expected failed first attempts of a plan, per stop and in total.

    Attributes
    ----------
    stops
        Every planned visit, in plan order (route by route).
    redelivery_cents
        What one failed first attempt costs, in cents.
    """

    stops: tuple[StopRisk, ...]
    redelivery_cents: int = DEFAULT_REDELIVERY_CENTS

    @property
    def total(self) -> float:
        """Expected failed first attempts: the sum of the stops' chances."""
        return math.fsum(s.p_fail for s in self.stops)

    @property
    def cost_cents(self) -> int:
        """Their expected cost, in cents (rounded)."""
        return round(self.total * self.redelivery_cents)

    @property
    def by_order(self) -> Mapping[str, float]:
        """Order id -> chance that its first attempt fails."""
        return {s.order_id: s.p_fail for s in self.stops}


@dataclass(frozen=True, slots=True, eq=False)
class AssessedDayPlan(DayPlan):
    """A planned day with its expected failed first attempts (see :func:`assess`).

    Attributes
    ----------
    expected
        The plan's expected failures; ``None`` when no risk source was given.
    """

    expected: ExpectedFailures | None = None


def _zone(zone: tzinfo | str | None) -> tzinfo | None:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def expected_failures(
    plan: DayPlan | Evaluation,
    risk: FailureRisk,
    day: date,
    zone: tzinfo | str | None = None,
    *,
    problem: Problem | None = None,
    redelivery_cents: int = DEFAULT_REDELIVERY_CENTS,
) -> ExpectedFailures:
    """Each planned visit's chance of a failed first attempt, their sum and its cost.

    Parameters
    ----------
    plan
        A planned day, or an evaluation (then ``problem`` gives its orders).
    risk
        The failure-risk source, asked in one batch, per visit with the order's
        ``customer_id``, its zip code as the area (``None`` when blank), the
        visit's service start on ``day`` and the parcel's weight (g) and volume (ml).
    day
        The date the plan is for (the risk depends on the weekday).
    zone
        The time zone of the plan's clock times (a ``tzinfo`` or a name such
        as ``"Europe/Helsinki"``); ``None``: naive local times.
    problem
        The day's problem; needed when ``plan`` is an :class:`Evaluation`.
    redelivery_cents
        What one failed first attempt costs, in cents.

    Returns
    -------
    ExpectedFailures
        One entry per planned visit, in plan order; orders left out are not counted.

    Raises
    ------
    ValueError
        No ``problem`` for an evaluation, a negative re-delivery cost, a visit
        of an order the problem does not hold, or a risk answer outside [0, 1].
    """
    if isinstance(plan, DayPlan):
        problem, evaluation = plan.problem, plan.evaluation
    elif problem is None:
        raise ValueError("expected_failures needs the problem of an evaluation")
    else:
        evaluation = plan
    if redelivery_cents < 0:
        raise ValueError(f"the re-delivery cost cannot be negative ({redelivery_cents} cents)")
    orders = {o.id: o for o in problem.orders}
    visits = [(route.vehicle_id, v) for route in evaluation.plan.routes for v in route.visits]
    for _, visit in visits:
        if visit.order_id not in orders:
            raise ValueError(f"the plan visits order {visit.order_id}, not in the problem")
    p_fail = visit_risks(
        risk,
        [orders[v.order_id] for _, v in visits],
        [v.start_s for _, v in visits],
        day,
        _zone(zone),
    )
    stops = [
        StopRisk(v.order_id, vehicle_id, v.start_s, p)
        for (vehicle_id, v), p in zip(visits, p_fail, strict=True)
    ]
    return ExpectedFailures(tuple(stops), redelivery_cents)


def assess(
    plan: DayPlan,
    risk: FailureRisk,
    day: date,
    zone: tzinfo | str | None = None,
    *,
    redelivery_cents: int = DEFAULT_REDELIVERY_CENTS,
) -> AssessedDayPlan:
    """``plan`` with its expected failures attached (see :func:`expected_failures`).

    Parameters
    ----------
    plan
        The planned day.
    risk, day, zone, redelivery_cents
        As in :func:`expected_failures`.

    Returns
    -------
    AssessedDayPlan
        The same day, with ``expected`` set.
    """
    expected = expected_failures(plan, risk, day, zone, redelivery_cents=redelivery_cents)
    values = {f.name: getattr(plan, f.name) for f in fields(DayPlan)}
    return AssessedDayPlan(**values, expected=expected)


def expected_of(plan: DayPlan) -> ExpectedFailures | None:
    """The expected failures a planned day carries, or ``None`` (planned without a risk source)."""
    return plan.expected if isinstance(plan, AssessedDayPlan) else None
