"""``doorstep validate``: check a manifest (and its fleet) before planning."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from doorstep.cli.output import fail, stderr, stdout
from doorstep.domain.finding import Finding, Severity
from doorstep.errors import DoorstepError
from doorstep.gate import GateSettings, Report, validate_files

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}
_FIRST_ROWS = 6


class OutputFormat(StrEnum):
    """How the report is printed."""

    TABLE = "table"
    JSON = "json"


def validate_command(
    orders: Annotated[
        Path, typer.Argument(help="Orders file: CSV/TSV, Excel (.xlsx/.xls/.ods), JSON or GeoJSON.")
    ],
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            "-f",
            help="Fleet file (CSV, Excel, JSON, YAML). Enables the checks against vehicles: "
            "shifts, capacities, skills.",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table: grouped for people; json: every finding."),
    ] = OutputFormat.TABLE,
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="In the table view, list every finding.")
    ] = False,
    phone_region: Annotated[
        str | None,
        typer.Option(
            "--phone-region",
            help="Country (ISO code, e.g. FI, US) for phone numbers written without +country.",
        ),
    ] = None,
) -> None:
    """Check a delivery manifest before planning: every row is accepted or named.

    Finds bad or swapped coordinates, stops far outside the service area, zip
    codes that do not match the location, missing apartment numbers, duplicate
    orders, impossible time windows, orders no vehicle can carry, unknown skills
    and malformed phone numbers or emails.

    Exit code: 0 clean, 1 warnings only, 2 errors (or a file that cannot be read).

    Example: doorstep validate examples/helsinki/orders.csv --fleet examples/helsinki/fleet.csv
    """
    settings = GateSettings(phone_region=phone_region.upper() if phone_region else None)
    show_status = output_format is OutputFormat.TABLE and stderr.is_terminal
    try:
        with stderr.status(f"Checking {orders} ...") if show_status else nullcontext():
            report = validate_files(orders, fleet, settings)
    except DoorstepError as error:
        fail(error)
    if output_format is OutputFormat.JSON:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        render_report(report, fleet, show_all)
    raise typer.Exit(report.exit_code)


def render_report(report: Report, fleet_path: Path | None, show_all: bool) -> None:
    """Print the report for people: a summary, findings grouped by code, next steps."""
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    rejected = report.rows - report.accepted
    summary = Text.assemble(
        (f"{report.source}", "bold"),
        f": {report.rows:,} rows, ",
        (f"{report.accepted:,} accepted", "green"),
        ", ",
        (f"{rejected:,} rejected", "bold red" if rejected else "green"),
        f" · {errors:,} errors, {warnings:,} warnings",
    )
    stdout.print(summary)
    if report.fleet is not None:
        stdout.print(
            f"fleet {fleet_path}: {report.fleet_rows} rows, {len(report.fleet.vehicles)} "
            f"usable vehicles at {len(report.fleet.depots)} depot(s)"
        )
    if report.ignored_columns:
        stdout.print(f"[dim]ignored columns: {', '.join(report.ignored_columns)}[/]")
    if not report.findings:
        stdout.print("[green]No problems found: the manifest is ready to plan.[/]")
        return
    stdout.print(_grouped_table(report.findings))
    if show_all:
        stdout.print(_full_table(report.findings))
    else:
        stdout.print(
            "[dim]Rows with errors are left out of planning. "
            "See every finding with --all, or --format json.[/]"
        )


def _grouped_table(findings: tuple[Finding, ...]) -> Table:
    groups: dict[tuple[str, str, Severity], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.source, finding.code, finding.severity)].append(finding)
    table = Table(title="Findings by code", title_justify="left", show_lines=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("rows", max_width=24)
    table.add_column("first message", overflow="fold", ratio=1)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][2] != Severity.ERROR, kv[0][:2]))
    for (source, code, severity), items in ordered:
        rows = [str(f.row) for f in items if f.row is not None][:_FIRST_ROWS]
        more = len(items) - len(rows)
        shown = ", ".join(rows) + (f" +{more}" if more > 0 and rows else "")
        label = code if source == "orders" else f"{code} [dim](fleet)[/]"
        table.add_row(
            Text(severity.value, style=_STYLE[severity]),
            label,
            str(len(items)),
            shown,
            items[0].message,
        )
    return table


def _full_table(findings: tuple[Finding, ...]) -> Table:
    table = Table(title="Every finding", title_justify="left")
    for name in ("file", "row", "field", "severity", "code"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    for f in findings:
        table.add_row(
            f.source,
            "" if f.row is None else str(f.row),
            f.field or "",
            Text(f.severity.value, style=_STYLE[f.severity]),
            f.code,
            f.message,
        )
    return table
