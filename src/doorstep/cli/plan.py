"""``doorstep plan``: from a manifest and a fleet to checked, explained routes and a map."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from doorstep.cli.network import (
    MaxSnapOption,
    OsrmEmbeddedOption,
    OsrmOption,
    PbfOption,
    StraightOption,
    ValhallaOption,
    make_provider,
)
from doorstep.cli.output import fail, stderr, stdout
from doorstep.errors import DoorstepError, InputError
from doorstep.learn.risk import FailureRisk
from doorstep.plan.expected import DEFAULT_REDELIVERY_CENTS, expected_of
from doorstep.plan.problem import Lock, Objective
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Progress as SolveProgress
from doorstep.units import CENTS_PER_UNIT, format_clock


def plan_command(
    orders: Annotated[Path, typer.Argument(help="Orders file: CSV/TSV, Excel, JSON or GeoJSON.")],
    fleet: Annotated[
        Path, typer.Option("--fleet", "-f", help="Fleet file (CSV, Excel, JSON, YAML).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for plan.json, plan.geojson, map.html and one CSV per route.",
        ),
    ],
    pbf: PbfOption = None,
    osrm: OsrmOption = None,
    valhalla: ValhallaOption = None,
    straight: StraightOption = False,
    osrm_embedded: OsrmEmbeddedOption = False,
    max_snap: MaxSnapOption = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", "-t", min=0.1, help="Seconds of search.")
    ] = 10.0,
    objective: Annotated[
        Objective,
        typer.Option(help="cost: vehicle costs; distance: km; vehicles: fewest vehicles first."),
    ] = Objective.COST,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    iterations: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Stop after this many search iterations (PyVRP): with a seed, the same "
            "plan on every machine. The time limit still applies.",
        ),
    ] = None,
    solver: Annotated[
        str | None,
        typer.Option(
            help="pyvrp, ortools or vroom; decompose (a big day in parts) or depots (split by "
            "depot). Default: chosen from the day's size and what it needs."
        ),
    ] = None,
    lock: Annotated[
        list[str] | None,
        typer.Option(
            "--lock",
            metavar="ORDER=VEHICLE",
            help="Keep ORDER on VEHICLE's route, whatever the search finds cheaper. "
            "Repeat for more orders: --lock HEL-000101=VAN-01 --lock HEL-000102=BIKE-02.",
        ),
    ] = None,
    warm_start: Annotated[
        Path | None,
        typer.Option(
            "--warm-start",
            metavar="PLAN.json",
            help="Start the search from a plan.json written earlier (yesterday's plan, "
            "or this one before a few orders changed): vehicles keep their stops where "
            "they still fit.",
        ),
    ] = None,
    risk: Annotated[
        Path | None,
        typer.Option(
            "--risk",
            metavar="MODEL",
            help="A failure-risk model (doorstep risk train --out MODEL): plan for success "
            "and report each stop's chance of a failed first attempt, their expected "
            "number and cost. Needs --date.",
        ),
    ] = None,
    plan_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="The day planned (with --risk: the risk depends on the weekday).",
        ),
    ] = None,
    redelivery_cost: Annotated[
        float,
        typer.Option(
            "--redelivery-cost",
            min=0,
            help="What one failed first attempt costs (a second trip), in currency units.",
        ),
    ] = DEFAULT_REDELIVERY_CENTS / CENTS_PER_UNIT,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            metavar="HOST:PORT",
            help="Solve the sub-problems of a big or multi-depot day on this Ray cluster "
            "(its token in RAY_AUTH_TOKEN or ~/.ray/auth_token; see docs/scale.md). "
            "Default: DOORSTEP_RAY_ADDRESS, else a local Ray on this machine's cores.",
        ),
    ] = None,
) -> None:
    """Plan a day: check the manifest, plan routes on real roads, explain what is left out.

    The gate runs first; rows with errors are left out of the plan and listed.
    Every plan is checked by the evaluator before it is written. Ctrl-C stops
    the search early and keeps the best plan found so far.

    Exit code: 0 every order planned, 1 plan written but some orders left out
    (or rows rejected by the gate), 2 bad input.

    Example (the demo): doorstep plan examples/helsinki/orders.csv
    --fleet examples/helsinki/fleet.csv --out plan
    """
    from doorstep.plan.day import plan_day
    from doorstep.plan.geometry import road_background
    from doorstep.plan.outputs import write_outputs
    from doorstep.plan.outputs.plan_json import read_warm_start

    if ray_address:  # read by the runner through the settings, as DOORSTEP_RAY_ADDRESS
        os.environ["DOORSTEP_RAY_ADDRESS"] = ray_address
    try:
        locks = parse_locks(lock or [])
        warm = read_warm_start(warm_start) if warm_start is not None else None
        planned_on = parse_day(plan_date)
        failure_risk = _load_risk(risk, planned_on)
        provider = make_provider(
            pbf, osrm, valhalla, straight, None, None, max_snap, osrm_embedded=osrm_embedded
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=stderr,
            transient=True,
            disable=not stderr.is_terminal,
        ) as bar:
            step = bar.add_task("checking the manifest", total=None, best="")

            def on_step(name: str) -> None:
                total = time_limit if name.startswith("solving") else None
                bar.update(step, description=name, total=total, completed=0)

            def on_progress(p: SolveProgress) -> None:
                best = (
                    f"search objective {p.best_cost:,.0f}"
                    if p.best_cost is not None
                    else "searching"
                )
                bar.update(step, completed=min(p.elapsed_s, time_limit), best=best)

            day = plan_day(
                orders,
                fleet,
                provider,
                objective=objective,
                time_limit_s=time_limit,
                seed=seed,
                max_iterations=iterations,
                backend=solver,
                locks=locks,
                warm_start=warm,
                on_step=on_step,
                progress=on_progress,
                risk=failure_risk,
                day=planned_on,
                redelivery_cents=round(redelivery_cost * CENTS_PER_UNIT),
            )
        written = write_outputs(day, out, background=road_background(day, provider))
    except DoorstepError as error:
        fail(error)
    _summary(day, written)
    problems = day.evaluation.plan.unassigned or day.rejected or day.evaluation.violations
    if problems:
        raise typer.Exit(1)


def parse_day(value: str | None) -> date | None:
    """The ``--date`` option as a date.

    Parameters
    ----------
    value
        Its text, or ``None`` when not given.

    Returns
    -------
    date or None
        The day, or ``None``.

    Raises
    ------
    InputError
        The text is not a date ``YYYY-MM-DD``.
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise InputError(
            f"--date {value!r} is not a date", hint="Write it as YYYY-MM-DD, e.g. 2026-12-07."
        ) from error


def _load_risk(path: Path | None, day: date | None) -> FailureRisk | None:
    """The model given with ``--risk`` (checked before planning starts)."""
    if path is None:
        return None
    if day is None:
        raise InputError(
            "--risk needs --date: the chance of finding someone at home depends on the weekday",
            hint="Add --date YYYY-MM-DD, the day these orders are delivered.",
        )
    from doorstep.learn.model import TrainedRisk

    return TrainedRisk.load(path)


def parse_locks(values: list[str]) -> list[Lock]:
    """The ``--lock ORDER=VEHICLE`` options as locks.

    Parameters
    ----------
    values
        Each option's text.

    Returns
    -------
    list of Lock
        In the order given.

    Raises
    ------
    InputError
        A value is not ``ORDER=VEHICLE``.
    """
    locks = []
    for value in values:
        order_id, sep, vehicle_id = value.partition("=")
        if not sep or not order_id.strip() or not vehicle_id.strip():
            raise InputError(
                f"--lock {value!r}: expected ORDER=VEHICLE",
                hint="For example --lock HEL-000101=VAN-01.",
            )
        locks.append(Lock(order_id.strip(), vehicle_id.strip()))
    return locks


def _summary(day: DayPlan, written: list[Path]) -> None:
    e = day.evaluation
    k = e.kpis
    table = Table(title="Plan", show_header=False, box=None, title_justify="left")
    rejected = len({f.row for f in day.rejected if f.source == "orders" and f.row is not None})
    table.add_row("orders", f"{k.orders} accepted, {rejected} rejected by the gate")
    table.add_row("planned", f"{k.served} on {k.vehicles_used} routes, {k.unassigned} left out")
    table.add_row("distance", f"{k.distance_km:,.1f} km ({k.km_per_stop:.2f} km per stop)")
    table.add_row("time", f"{k.driving_h:.1f} h driving, {k.duty_h:.1f} h on duty")
    on_time = f"{100 * k.on_time_share:.1f}% of stops in their window"
    if k.late_min:
        on_time += f", {k.late_min:,.0f} min late in all ({k.lateness_cost:,.2f} lateness cost)"
    table.add_row("on time", on_time)
    table.add_row("cost", f"{k.cost:,.2f}")
    expected = expected_of(day)
    if expected is not None:
        table.add_row(
            "expected failures",
            f"{expected.total:,.1f} failed first attempts expected "
            f"({expected.cost_cents / CENTS_PER_UNIT:,.2f} at "
            f"{expected.redelivery_cents / CENTS_PER_UNIT:,.2f} each)",
        )
    table.add_row(
        "solver",
        f"{day.backend}, {day.runtime_s:.1f} s used (limit {day.time_limit_s:g} s), "
        f"seed {day.seed}",
    )
    table.add_row(
        "travel times", day.problem.source + (" (estimates)" if day.problem.estimated else "")
    )
    table.add_row(
        "check",
        "[green]feasible[/]" if e.feasible else f"[red]{len(e.violations)} violations[/]",
    )
    stdout.print(table)
    routes = Table(title="Routes", title_justify="left")
    for column in ("vehicle", "stops", "km", "start", "end", "cost"):
        routes.add_column(column, justify="right" if column != "vehicle" else "left")
    for route, cost in zip(e.plan.routes, e.route_costs, strict=True):
        routes.add_row(
            route.vehicle_id,
            str(len(route.visits)),
            f"{route.distance_m / 1000:.1f}",
            format_clock(route.start_s),
            format_clock(route.end_s),
            f"{cost / 100:,.2f}",
        )
    stdout.print(routes)
    if e.plan.unassigned:
        stdout.print("[bold]Left out[/]")
        for code, count in Counter(u.code for u in e.plan.unassigned).most_common():
            first = next(u for u in e.plan.unassigned if u.code == code)
            stdout.print(f"  {code} x{count}: {first.order_id}: {first.reason}")
    for violation in e.violations[:10]:
        stdout.print(f"[red]violation[/] {violation.message}")
    stdout.print(f"Wrote {', '.join(p.name for p in written[:4])}... to {written[0].parent}")
