"""``doorstep kpi`` and ``doorstep export``: the KPIs of a range of days, and the facts behind them.

Both read the store directly (``--database-url``, else the settings, as
``doorstep db`` does); ``doorstep kpi --facts DIR`` reads a Parquet export
instead. The definitions: docs/kpis.md. Exit codes: 0 done, 2 a mistake in
the options or the database cannot be read.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from doorstep.cli.output import fail, stdout
from doorstep.cli.serve import UrlOption, load_settings
from doorstep.errors import DoorstepError, InputError

FORMATS = ("table", "csv", "json")
EXPORTS = ("events", "stops", "parcels", "exceptions", "decisions")

FromOption = Annotated[
    str, typer.Option("--from", help="First day, YYYY-MM-DD.", show_default=False)
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Last day, included, YYYY-MM-DD (default: --from).")
]

_SHOWN = (
    ("stops", "stops", "{:d}"),
    ("parcels_attempted", "tried", "{:d}"),
    ("parcels_delivered", "deliv.", "{:d}"),
    ("on_time_rate", "on time", "{:.0%}"),
    ("first_attempt_success_rate", "1st try ok", "{:.0%}"),
    ("km_per_stop", "km/stop", "{:.2f}"),
    ("cost_per_parcel", "cost/ parcel", "{:.2f}"),
    ("eta_mae_min", "ETA error min", "{:.1f}"),
)
"""The columns of the grouped table: field, heading, format."""


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(InputError(f"{option} {text!r} is not a day", hint="Write it as YYYY-MM-DD."))


def _cell(value: Any, pattern: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    if isinstance(value, float) and not pattern:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return pattern.format(value) if pattern else str(value)


def _print_table(answer: dict[str, Any]) -> None:
    from doorstep.analytics.kpis import FIELDS

    span = f"{answer['from']} to {answer['to']}"
    if not answer["group_by"]:
        table = Table(title=f"KPIs, {span}")
        table.add_column("KPI")
        table.add_column("value", justify="right")
        for name in FIELDS:
            table.add_row(name, _cell(answer["total"][name]))
        stdout.print(table)
        return
    table = Table(
        title=f"KPIs by {answer['group_by']}, {span}", box=box.SIMPLE_HEAD, pad_edge=False
    )
    widest = max((len(_cell(g["key"])) for g in answer["groups"]), default=5)
    table.add_column(answer["group_by"], overflow="fold", min_width=min(max(widest, 5), 24))
    for _, heading, _pattern in _SHOWN:
        table.add_column(heading, justify="right")
    rows = [(_cell(g["key"]), g) for g in answer["groups"]]
    for index, (key, row) in enumerate([*rows, ("total", answer["total"])]):
        table.add_row(
            key,
            *(_cell(row[name], pattern) for name, _, pattern in _SHOWN),
            end_section=index == len(rows) - 1,
        )
    stdout.print(table)
    reasons = _cell(answer["total"]["failures_by_reason"])
    stdout.print(f"Failed attempts by reason: {reasons}.")
    stdout.print("Every KPI: --format csv or json; definitions: docs/kpis.md.")


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with every text cell defused against spreadsheet formulas."""
    from doorstep.plan.outputs.manifests import spreadsheet_text

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict):
            value = "; ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        return spreadsheet_text(str(value)) if isinstance(value, str) else str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def _answer(
    first: date,
    last: date,
    by: str | None,
    driver: str | None,
    facts: Path | None,
    database_url: str | None,
) -> dict[str, Any]:
    """The KPI answer from the database, or from a Parquet export directory."""
    from doorstep.analytics import kpis

    kpis.check_range(first, last, kpis.MAX_DAYS)
    kpis.check_group_by(by)
    if facts is not None:
        if not facts.is_dir():
            raise InputError(f"--facts {facts} is not a directory", hint="Give the export's.")
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "group_by": by,
            "total": kpis.total(facts, (first, last)),
            "groups": [] if by is None else kpis.compute_kpis(facts, by, (first, last)),
        }
    settings = load_settings(database_url)
    from doorstep.store.database import make_engine, session_factory

    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as db:
            return kpis.kpi_answer(db, first, last, by, settings.timezone, driver)
    finally:
        engine.dispose()


def kpi_command(
    first: FromOption,
    last: ToOption = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Group by depot, route, driver, vehicle, weekday, hour, area (zip code) or "
            "customer. Left out: the range's totals.",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table (for people), csv or json (every KPI).")
    ] = "table",
    driver: Annotated[
        str | None, typer.Option("--driver", help="Only this driver's routes.")
    ] = None,
    facts: Annotated[
        Path | None,
        typer.Option(
            "--facts",
            help="Read a Parquet export (a directory holding stops.parquet and "
            "parcels.parquet, from `doorstep export`) instead of the database.",
        ),
    ] = None,
    database_url: UrlOption = None,
) -> None:
    """KPIs of a range of days, computed from the scans.

    On-time rate, first-attempt success, failures by reason, km and cost per
    stop and parcel, ETA accuracy and more; each KPI's formula, numerator and
    denominator is in docs/kpis.md.

    For example:

      doorstep kpi --from 2030-06-03 --to 2030-06-09 --by driver

      doorstep kpi --from 2030-06-03 --to 2030-06-09 --by area --format csv > week.csv

      doorstep kpi --from 2030-06-01 --to 2030-06-30 --format json
    """
    if output_format not in FORMATS:
        fail(InputError(f"unknown --format {output_format!r}", hint="Use table, csv or json."))
    start = _day(first, "--from")
    end = start if last is None else _day(last, "--to")
    try:
        answer = _answer(start, end, by, driver, facts, database_url)
    except DoorstepError as exc:
        fail(exc)
    except Exception as exc:  # the server is down, the file is not a database...
        fail(InputError(f"cannot read the KPIs: {exc}", hint="Check --database-url."))
    if output_format == "json":
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    elif output_format == "csv":
        from doorstep.analytics.kpis import FIELDS

        label = by or "key"
        rows = [{label: g["key"], **g} for g in answer["groups"]]
        rows.append({label: "total", **answer["total"]})
        sys.stdout.write(_csv_text(rows, [label, *FIELDS]))
    else:
        _print_table(answer)


def export_command(
    what: Annotated[
        str,
        typer.Argument(
            help="events, stops or parcels (also exceptions, decisions): which facts.",
            show_default=False,
        ),
    ],
    first: FromOption,
    out: Annotated[Path, typer.Option("--out", help="The file to write.", show_default=False)],
    last: ToOption = None,
    output_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    driver: Annotated[
        str | None, typer.Option("--driver", help="Only this driver's routes.")
    ] = None,
    database_url: UrlOption = None,
) -> None:
    """Write the facts behind the KPIs: one row per stop, parcel or scan.

    For DuckDB, pandas or a spreadsheet; the columns are described in
    docs/kpis.md. Parquet files named stops.parquet, parcels.parquet... in one
    directory can be read back with `doorstep kpi --facts DIR`. CSV cells that
    a spreadsheet could run as a formula are prefixed with an apostrophe.

    For example:

      doorstep export stops --from 2030-06-01 --to 2030-06-30 --out facts/stops.parquet
    """
    if what not in EXPORTS:
        fail(InputError(f"cannot export {what!r}", hint=f"Use one of: {', '.join(EXPORTS)}."))
    if output_format not in ("parquet", "csv"):
        fail(InputError(f"unknown --format {output_format!r}", hint="Use parquet or csv."))
    start = _day(first, "--from")
    end = start if last is None else _day(last, "--to")
    from doorstep.analytics import kpis

    try:
        kpis.check_range(start, end, kpis.MAX_DAYS)
        table = _facts_table(what, start, end, driver, database_url)
    except DoorstepError as exc:
        fail(exc)
    except Exception as exc:
        fail(InputError(f"cannot read the facts: {exc}", hint="Check --database-url."))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if output_format == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, out)
        else:
            out.write_text(_csv_text(table.to_pylist(), table.column_names), encoding="utf-8")
    except OSError as exc:
        fail(InputError(f"cannot write {out}: {exc.strerror or exc}"))
    stdout.print(f"{table.num_rows} {what} rows of {start} to {end} written to {out}")


def _facts_table(
    what: str, first: date, last: date, driver: str | None, database_url: str | None
) -> Any:
    from doorstep.analytics.facts import load_facts
    from doorstep.store.database import make_engine, session_factory

    settings = load_settings(database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as db:
            facts = load_facts(db, first.isoformat(), last.isoformat(), settings.timezone, driver)
    finally:
        engine.dispose()
    return facts[what]
