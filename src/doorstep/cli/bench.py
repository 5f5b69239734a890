"""``doorstep solve`` and ``doorstep bench``: the engine on academic benchmark instances."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from doorstep.cli.output import fail, stderr, stdout
from doorstep.errors import DoorstepError, InputError
from doorstep.plan.benchmark import BenchmarkResult, solve_instance, summarise
from doorstep.plan.problem import Objective

_SUFFIXES = {".txt", ".vrp", ".json"}


def _solve(
    path: Path, objective: Objective, time_limit: float, seed: int, solver: str
) -> BenchmarkResult:
    from doorstep.plan.registry import backend_named

    return solve_instance(path, backend_named(solver), objective, time_limit, seed)


def solve_command(
    instance: Annotated[
        Path, typer.Argument(help="Solomon / Li & Lim .txt, VRPLIB .vrp or VROOM .json file.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write solution.json.")],
    objective: Annotated[
        Objective,
        typer.Option(help="distance: shortest total; vehicles: fewest vehicles, then distance."),
    ] = Objective.DISTANCE,
    time_limit: Annotated[float, typer.Option("--time-limit", "-t", min=0.1)] = 10.0,
    seed: Annotated[int, typer.Option()] = 0,
    solver: Annotated[str, typer.Option(help="pyvrp, ortools or vroom.")] = "pyvrp",
) -> None:
    """Solve one benchmark instance; routes use the instance's own customer numbers.

    The distance and vehicle count are the evaluator's; with a BKS.json beside
    the file, the gap to the best known solution is printed too.

    Example: doorstep solve ../shared/benchmarks/solomon/R101.txt -t 10 --out r101.json
    """
    try:
        with stderr.status(f"Solving {instance.name} for {time_limit:g} s ..."):
            result = _solve(instance, objective, time_limit, seed, solver)
    except DoorstepError as error:
        fail(error)
    out.write_text(json.dumps(result.as_dict(), indent=1) + "\n", encoding="utf-8")
    gap = "" if result.gap is None else f", gap {100 * result.gap:+.2f}% to {result.best_known}"
    state = "feasible" if result.feasible else f"INFEASIBLE ({', '.join(result.violations)})"
    stdout.print(
        f"{result.instance}: {result.vehicles} vehicles, distance {result.distance:.2f}{gap}; "
        f"{state}; written to {out}"
    )
    if not result.feasible:
        raise typer.Exit(1)


def bench_command(
    folder: Annotated[Path, typer.Argument(help="Folder of instances (with a BKS.json).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Per-instance results (.csv).")],
    objective: Annotated[Objective, typer.Option()] = Objective.DISTANCE,
    time_limit: Annotated[float, typer.Option("--time-limit", "-t", min=0.1)] = 10.0,
    seed: Annotated[int, typer.Option()] = 0,
    solver: Annotated[str, typer.Option(help="pyvrp, ortools or vroom.")] = "pyvrp",
    jobs: Annotated[int, typer.Option(min=1, help="Instances solved at once.")] = 1,
    limit: Annotated[int | None, typer.Option(help="Only the first N instances.")] = None,
) -> None:
    """Solve every instance of a folder and report gaps to the best known solutions.

    Writes one CSV row per instance (vehicles, distance, best known, gap,
    feasibility by the evaluator, time) and prints the mean, median and worst
    gap. A JSON summary is written next to the CSV.

    Example: doorstep bench ../shared/benchmarks/solomon -t 10 --jobs 2 --out solomon.csv
    """
    files = sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.name != "BKS.json")[
        :limit
    ]
    if not files:
        fail(InputError(f"{folder}: no instance files (.txt, .vrp, .json)"))
    results: list[BenchmarkResult] = []
    try:
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
                disable=not stderr.is_terminal,
            ) as bar,
            ProcessPoolExecutor(max_workers=jobs) as pool,
        ):
            task = bar.add_task(
                f"{folder.name} ({objective.value}, {time_limit:g} s)", total=len(files)
            )
            futures = [pool.submit(_solve, f, objective, time_limit, seed, solver) for f in files]
            for future in futures:
                results.append(future.result())
                bar.advance(task)
    except DoorstepError as error:
        fail(error)
    fields = [
        "instance",
        "vehicles",
        "distance",
        "best_known",
        "best_known_vehicles",
        "gap",
        "feasible",
        "runtime_s",
        "time_limit_s",
        "seed",
        "backend",
        "objective",
    ]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for r in results:
            writer.writerow(r.as_dict())
    summary = summarise(results)
    out.with_suffix(".summary.json").write_text(
        json.dumps(
            {
                "folder": str(folder),
                "solver": solver,
                "objective": objective.value,
                "time_limit_s": time_limit,
                "seed": seed,
                **summary,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    table = Table(
        title=f"{folder.name}: {solver}, {objective.value}, {time_limit:g} s", show_header=False
    )
    for key, value in summary.items():
        table.add_row(key, str(value))
    stdout.print(table)
