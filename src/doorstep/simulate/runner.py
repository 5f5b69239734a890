"""Many simulated days of a plan, measured by the KPI code of real days, and two plans compared.

Run ``r`` of seed ``s`` draws its random numbers from ``(s, r)`` only
(:mod:`doorstep.simulate.draws`), so the same seed gives the same runs, and
two plans simulated with the same seed share their draws: an order's presence,
a leg's noise where both plans drive it, a vehicle's breakdown clock (common
random numbers). Their difference run by run is then mostly the plans'
difference, not luck, and its confidence interval is narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from doorstep.analytics.kpis import compute_kpis
from doorstep.learn.risk import ConstantRisk, FailureRisk
from doorstep.simulate.day import DayResult, simulate_day
from doorstep.simulate.dispatching import AutoDispatch
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import SimulationParameters
from doorstep.simulate.plan_input import SimPlan
from doorstep.simulate.record import run_label, runs_facts
from doorstep.simulate.stats import Summary, summarise

REPORTED: tuple[str, ...] = (
    "on_time_rate",
    "first_attempt_success_rate",
    "km",
    "overtime_h",
    "duty_h",
    "failed_attempts",
    "breakdowns",
    "exceptions",
    "accepted",
    "retried",
    "delivered_on_retry",
)
"""The KPIs summarised over runs (``breakdowns``, ``exceptions`` (what the dispatcher's
monitor found), ``accepted``, ``retried`` (second visits the same day) and
``delivered_on_retry`` (parcels handed over at one) are the simulator's own counts;
``first_attempt_success_rate`` counts first attempts only)."""

MAX_RUNS = 10_000
"""The most runs one call makes."""


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """The runs of one plan.

    Attributes
    ----------
    source
        The plan's file.
    seed, day
        What the runs were drawn from, and the date simulated.
    runs
        One dict per run: ``run`` and every KPI of
        :data:`doorstep.analytics.kpis.FIELDS`, plus ``breakdowns``.
    summary
        KPI of :data:`REPORTED` -> its :class:`~doorstep.simulate.stats.Summary`.
    """

    source: str
    seed: int
    day: date
    runs: tuple[dict[str, Any], ...]
    summary: dict[str, Summary]


def kpis_of_runs(results: Sequence[DayResult], timezone: str) -> list[dict[str, Any]]:
    """Every KPI of each run, computed by :func:`doorstep.analytics.kpis.compute_kpis`.

    Parameters
    ----------
    results
        Simulated days.
    timezone
        The service's zone.

    Returns
    -------
    list of dict
        In the order of ``results``: ``run``, the KPIs, ``breakdowns``, ``exceptions``
        and ``exceptions_<kind>`` per kind seen, ``accepted`` and ``accepted_<kind>``
        per proposal kind accepted, ``retried`` (second visits of an order the
        same day) and ``delivered_on_retry`` (parcels delivered or collected at one).
    """
    rows = {r["key"]: r for r in compute_kpis(runs_facts(results, timezone), "driver")}
    out = []
    for result in results:
        row = dict(rows[run_label(result.run)])
        row.pop("key")
        row["breakdowns"] = sum(r.breakdowns for r in result.routes)
        row["exceptions"] = len(result.exceptions)
        row["accepted"] = len(result.decisions)
        row["retried"] = result.retried
        row["delivered_on_retry"] = result.delivered_on_retry
        for decision in result.decisions:
            key = f"accepted_{decision.kind}"
            row[key] = row.get(key, 0) + 1
        for seen in result.exceptions:
            key = f"exceptions_{seen.kind}"
            row[key] = row.get(key, 0) + 1
        out.append({"run": result.run} | row)
    return out


def simulate(
    plan: SimPlan,
    runs: int,
    *,
    seed: int = 0,
    day: date,
    params: SimulationParameters | None = None,
    risk: FailureRisk | None = None,
    timezone: str = "Europe/Helsinki",
    dispatcher: AutoDispatch | None = None,
) -> SimulationResult:
    """Simulate ``runs`` days of ``plan`` and summarise their KPIs.

    Parameters
    ----------
    plan
        The routes (:func:`doorstep.simulate.plan_input.read_plan`).
    runs
        How many days, 1 to :data:`MAX_RUNS`.
    seed
        The random seed; the same seed gives the same result.
    day
        The date the plan is for (weekday and clock of the risk model).
    params
        The stochastic model (default :class:`SimulationParameters`).
    risk
        Presence (default :class:`~doorstep.learn.risk.ConstantRisk`).
    timezone
        The zone of the plan's clock.
    dispatcher
        Accepts proposals for what the monitor finds (see
        :mod:`doorstep.simulate.dispatching`); ``None``: exceptions only recorded.

    Returns
    -------
    SimulationResult
        The runs and their summaries.

    Raises
    ------
    ValueError
        ``runs`` out of range.
    """
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be from 1 to {MAX_RUNS}, not {runs}")
    params = params or SimulationParameters()
    risk = risk or ConstantRisk()
    results = [
        simulate_day(plan, day, Draws(seed, r), params, risk, timezone, dispatcher)
        for r in range(1, runs + 1)
    ]
    rows = kpis_of_runs(results, timezone)
    summary = {name: summarise([row[name] for row in rows]) for name in REPORTED}
    return SimulationResult(plan.source, seed, day, tuple(rows), summary)


def paired_difference(a: SimulationResult, b: SimulationResult) -> dict[str, Summary]:
    """Run-by-run difference ``b - a`` of each reported KPI (same seeds: common random numbers).

    Parameters
    ----------
    a, b
        Two plans simulated with the same seed and number of runs.

    Returns
    -------
    dict
        KPI -> summary of the differences (runs where either value is None left out).

    Raises
    ------
    ValueError
        The two were not simulated with the same seed and runs.
    """
    if a.seed != b.seed or len(a.runs) != len(b.runs):
        raise ValueError("compare plans simulated with the same seed and number of runs")
    out = {}
    for name in REPORTED:
        diffs = [
            None if x[name] is None or y[name] is None else y[name] - x[name]
            for x, y in zip(a.runs, b.runs, strict=True)
        ]
        out[name] = summarise(diffs)
    return out
