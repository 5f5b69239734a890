"""``doorstep simulate``: replay a plan many times before the day runs, and compare two plans.

The model, its parameters and the outputs: docs/simulate.md. Exit codes: 0
done, 2 a mistake in the options or a plan that cannot be read.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from doorstep.cli.output import fail, stderr, stdout
from doorstep.errors import DoorstepError, InputError

FORMATS = ("table", "json")

_SHOWN = (
    ("on_time_rate", "on-time rate", "{:.1%}"),
    ("first_attempt_success_rate", "first-attempt success", "{:.1%}"),
    ("km", "km", "{:.1f}"),
    ("overtime_h", "overtime h", "{:.2f}"),
    ("duty_h", "duty h", "{:.2f}"),
    ("failed_attempts", "failed attempts", "{:.1f}"),
    ("breakdowns", "breakdowns", "{:.2f}"),
    ("exceptions", "exceptions seen", "{:.1f}"),
    ("accepted", "proposals accepted", "{:.1f}"),
    ("retried", "second visits the same day", "{:.1f}"),
    ("delivered_on_retry", "delivered at a second visit", "{:.1f}"),
)
"""The rows of the table: KPI, heading, format."""

_DIFF = {"on_time_rate": "{:+.1%}", "first_attempt_success_rate": "{:+.1%}"}


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _summary_table(title: str, summary: dict[str, Any], diff: bool = False) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for heading in ("KPI", "mean", "p5", "p95", "95% CI of the mean"):
        table.add_column(heading, justify="left" if heading == "KPI" else "right")
    for name, heading, pattern in _SHOWN:
        s = summary[name]
        if diff:
            pattern = _DIFF.get(name, pattern.replace("{:", "{:+"))
        ci = "-" if s.ci_low is None else f"{_fmt(s.ci_low, pattern)} .. {_fmt(s.ci_high, pattern)}"
        table.add_row(heading, _fmt(s.mean, pattern), _fmt(s.p5, pattern), _fmt(s.p95, pattern), ci)
    return table


def _document(result: Any) -> dict[str, Any]:
    return {
        "plan": result.source,
        "seed": result.seed,
        "day": result.day.isoformat(),
        "runs": len(result.runs),
        "summary": {k: v.as_dict() for k, v in result.summary.items()},
        "per_run": [
            {k: row[k] for k in ("run", *(name for name, _, _ in _SHOWN))} for row in result.runs
        ],
    }


def _dispatcher(orders: Path | None, fleet: Path | None, straight: bool) -> Any:
    """The automatic dispatcher for --orders/--fleet, or None without them."""
    if orders is None and fleet is None:
        return None
    if orders is None or fleet is None:
        raise InputError(
            "--orders and --fleet go together",
            hint="Give both files the plan was made from, or neither.",
        )
    from doorstep.cli.network import make_provider
    from doorstep.dispatch.playbooks import DispatchContext
    from doorstep.gate.validate import validate_files
    from doorstep.simulate.dispatching import AutoDispatch

    report = validate_files(orders, fleet)
    if report.fleet is None:
        raise InputError(
            f"{fleet}: the fleet file cannot be used",
            hint="Run doorstep validate on it and fix what it reports.",
        )
    rejected = sorted(report.rejected_rows)
    if rejected:
        shown = ", ".join(str(r) for r in rejected[:10]) + (" ..." if len(rejected) > 10 else "")
        stderr.print(
            f"warning: {orders}: {len(rejected)} rows the gate rejects (rows {shown}) are "
            "left out of the dispatcher's re-plans; run doorstep validate on the file to see why."
        )
    provider = make_provider(None, None, None, straight, None, None)
    ctx = DispatchContext({o.id: o for o in report.orders}, report.fleet, provider, 0.5)
    return AutoDispatch(ctx)


def _day(text: str | None) -> date:
    if text is None:
        return date.today() + timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(InputError(f"--date {text!r} is not a day", hint="Write it as YYYY-MM-DD."))


def simulate_command(
    plan: Annotated[Path, typer.Argument(help="A plan.json written by `doorstep plan --out DIR`.")],
    runs: Annotated[int, typer.Option("--runs", help="Simulated days (1-10000).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same result.")] = 0,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="Another plan.json, simulated on the same random numbers."),
    ] = None,
    breakdown_rate: Annotated[
        float, typer.Option("--breakdown-rate", help="Breakdowns per route and hour on the road.")
    ] = 0.0,
    monitor_every: Annotated[
        int,
        typer.Option(
            "--monitor-every",
            help="Minutes between two looks of the dispatcher's monitor (0: no monitor; "
            "faster, no exceptions or proposals).",
        ),
    ] = 10,
    risk_model: Annotated[
        Path | None,
        typer.Option(
            "--risk", help="A model from `doorstep risk train` (default: a constant rate)."
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="The plan's day, YYYY-MM-DD (default: tomorrow)."),
    ] = None,
    orders: Annotated[
        Path | None,
        typer.Option(
            "--orders",
            help="The day's orders (as given to `doorstep plan`): with --fleet, a dispatcher "
            "accepts the first feasible proposal for breakdowns, late routes and failed attempts.",
        ),
    ] = None,
    fleet: Annotated[
        Path | None, typer.Option("--fleet", help="The day's fleet (with --orders).")
    ] = None,
    straight: Annotated[
        bool,
        typer.Option("--straight", help="Re-plan on straight-line travel times (not the roads)."),
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="table or json.", case_sensitive=False)
    ] = "table",
) -> None:
    """Replay PLAN many times with noisy travel and service times, absent customers and breakdowns.

    Reports the distribution of on-time rate, first-attempt success, km and
    overtime over the runs (mean, 5th/95th percentiles, 95% confidence interval
    of the mean), measured by the same KPI code as real days. With --compare,
    both plans run on common random numbers and the paired difference is shown.
    The dispatcher's monitor looks every 10 minutes with the service's own
    exception detection; with --orders and --fleet it also accepts the first
    feasible proposal of the service's playbooks (hand a broken van's stops over,
    resequence a late route, retry a failed stop) and the vans follow it.

    Example: doorstep simulate plan/plan.json --runs 200 --orders orders.csv
    --fleet fleet.csv --breakdown-rate 0.05
    """
    from doorstep.simulate.params import SimulationParameters
    from doorstep.simulate.plan_input import read_plan
    from doorstep.simulate.runner import MAX_RUNS, paired_difference, simulate

    output_format = output_format.lower()
    try:
        if output_format not in FORMATS:
            raise InputError(f"--format {output_format!r} is not known", hint="Use table or json.")
        if not 1 <= runs <= MAX_RUNS:
            raise InputError(f"--runs {runs} is out of range", hint=f"Give 1 to {MAX_RUNS}.")
        if not 0 <= breakdown_rate <= 10:
            raise InputError(
                f"--breakdown-rate {breakdown_rate} is out of range",
                hint="Give breakdowns per route-hour from 0 to 10 (0.01: one in 100 hours).",
            )
        when = _day(day)
        if not 0 <= monitor_every <= 24 * 60:
            raise InputError(
                f"--monitor-every {monitor_every} is out of range",
                hint="Give minutes from 0 (no monitor) to 1440.",
            )
        if monitor_every == 0 and orders is not None:
            raise InputError(
                "--monitor-every 0 leaves the dispatcher nothing to answer",
                hint="Drop --orders/--fleet, or let the monitor look (e.g. every 10 minutes).",
            )
        params = SimulationParameters(
            breakdown_rate=breakdown_rate, monitor_every_s=monitor_every * 60
        )
        plans = [read_plan(plan)] + ([read_plan(compare)] if compare is not None else [])
        risk = None
        if risk_model is not None:
            from doorstep.learn.model import TrainedRisk

            risk = TrainedRisk.load(risk_model)
        dispatcher = _dispatcher(orders, fleet, straight)
        results = [
            simulate(p, runs, seed=seed, day=when, params=params, risk=risk, dispatcher=dispatcher)
            for p in plans
        ]
    except DoorstepError as error:
        fail(error)
    difference = paired_difference(results[0], results[1]) if len(results) == 2 else None
    if output_format == "json":
        body: dict[str, Any] = _document(results[0])
        if difference is not None:
            body["compare"] = _document(results[1])
            body["difference"] = {k: v.as_dict() for k, v in difference.items()}
        typer.echo(json.dumps(body, indent=2, allow_nan=False))
        return
    head = f"{runs} runs, seed {seed}, {when.isoformat()}"
    for result in results:
        stdout.print(_summary_table(f"{result.source} ({head})", result.summary))
    if difference is not None:
        title = f"{results[1].source} minus {results[0].source} (paired, same random numbers)"
        stdout.print(_summary_table(title, difference, diff=True))
    stdout.print("km is the plans' distance (as for real days); the model: docs/simulate.md.")
