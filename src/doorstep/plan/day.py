"""Plan a day from its files: the gate, then the one planning pipeline.

``plan_day("orders.csv", "fleet.csv")`` is the library's one call; the CLI's
``doorstep plan`` wraps it and writes the outputs. Everything after the gate is
:func:`~doorstep.plan.pipeline.plan_orders`, the same pipeline the service's
planning jobs run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, tzinfo
from pathlib import Path

from doorstep.domain.finding import Severity
from doorstep.errors import InputError
from doorstep.gate import GateSettings, validate_files
from doorstep.learn.risk import FailureRisk
from doorstep.network.provider import TravelTimeProvider
from doorstep.plan.expected import DEFAULT_REDELIVERY_CENTS, assess
from doorstep.plan.pipeline import PlanOptions, StepCallback, plan_orders
from doorstep.plan.problem import Lock, Objective
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Progress
from doorstep.plan.success import plan_for_success


def plan_day(
    orders: str | Path,
    fleet: str | Path,
    provider: TravelTimeProvider | None = None,
    *,
    objective: Objective = Objective.COST,
    time_limit_s: float = 10.0,
    seed: int = 0,
    max_iterations: int | None = None,
    backend: str | None = None,
    locks: Sequence[Lock] = (),
    warm_start: Mapping[str, tuple[str, ...]] | None = None,
    gate_settings: GateSettings | None = None,
    on_step: StepCallback | None = None,
    progress: Callable[[Progress], None] | None = None,
    with_geometry: bool = True,
    risk: FailureRisk | None = None,
    day: date | None = None,
    zone: tzinfo | str | None = None,
    redelivery_cents: int = DEFAULT_REDELIVERY_CENTS,
) -> DayPlan:
    """Plan a day from an orders file and a fleet file.

    The gate runs first: rows with errors are left out of the plan and listed
    in ``DayPlan.rejected``. Travel times come from ``provider`` (default: the
    bundled OpenStreetMap roads). Every plan returned has been evaluated.

    Parameters
    ----------
    orders, fleet
        The manifest and the fleet file (any format the gate reads).
    provider
        Travel times; default: the bundled OpenStreetMap roads.
    objective, time_limit_s, seed, max_iterations, backend, locks, warm_start, with_geometry
        As in :class:`~doorstep.plan.pipeline.PlanOptions`.
    gate_settings
        The gate's settings (country, thresholds).
    on_step, progress
        Told each step's name, and the search's progress.
    risk
        A failure-risk source (a trained model: ``TrainedRisk.load(path)``).
        Given, the plan is made by :func:`doorstep.plan.success.plan_for_success`
        (visits timed for when people are home), and is assessed: the result is an
        :class:`~doorstep.plan.expected.AssessedDayPlan` with each stop's
        chance of a failed first attempt, their sum and its cost. ``None``:
        planning and the result are as without this feature.
    day
        The date planned; required with ``risk`` (the risk depends on the weekday).
    zone
        Time zone of the plan's clock times, for the risk source; ``None``: local.
    redelivery_cents
        What one failed first attempt costs, in cents.

    Returns
    -------
    DayPlan
        The evaluated plan, with the gate's rejected rows (an
        :class:`~doorstep.plan.expected.AssessedDayPlan` when ``risk`` is given).

    Raises
    ------
    InputError
        A file cannot be read, the fleet has no usable vehicle, ``risk`` is
        given without ``day``, or ``redelivery_cents`` is negative.
    """
    if risk is not None and day is None:
        raise InputError(
            "planning with a failure-risk model needs the date planned",
            hint="Give the day, e.g. --date 2026-12-07 (the risk depends on the weekday).",
        )
    if redelivery_cents < 0:
        raise InputError(f"the re-delivery cost cannot be negative ({redelivery_cents} cents)")
    started = time.perf_counter()
    if on_step:
        on_step("checking the manifest")
    report = validate_files(orders, fleet, gate_settings)
    if report.fleet is None or not report.fleet.vehicles:
        raise InputError(
            f"{fleet}: no usable vehicle",
            hint="Fix the fleet rows listed by `doorstep validate ORDERS --fleet FLEET`.",
        )
    if provider is None:
        from doorstep.network.osm_provider import OsmProvider

        provider = OsmProvider()
    options = PlanOptions(
        objective=objective,
        time_limit_s=time_limit_s,
        seed=seed,
        max_iterations=max_iterations,
        backend=backend,
        locks=tuple(locks),
        warm_start=warm_start,
        with_geometry=with_geometry,
    )
    rejected = [f for f in report.findings if f.severity is Severity.ERROR]
    if risk is None or day is None:
        return plan_orders(
            report.orders,
            report.fleet,
            provider,
            options,
            rejected=rejected,
            on_step=on_step,
            progress=progress,
            started=started,
        )
    if on_step:
        on_step("planning for success")
    planned = plan_for_success(
        report.orders, report.fleet, provider, risk, day, options, redelivery_cents
    )
    if rejected and not planned.rejected:
        planned = dataclasses.replace(planned, rejected=tuple(rejected))
    if on_step:
        on_step("expected failed attempts")
    return assess(planned, risk, day, zone, redelivery_cents=redelivery_cents)
