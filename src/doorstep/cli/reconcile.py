"""``doorstep reconcile``: every parcel of a day accounted for, read from the store.

Reads the service's database (``--database-url``, ``DOORSTEP_DATABASE_URL`` or
doorstep.toml, as ``doorstep db`` does) and prints the day's parcels in the
buckets of the scan chain at a moment, with the anomalies. Exit codes: 0
done (anomalies or not), 2 a wrong option or a database that cannot be read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from doorstep.analytics.reconcile import (
    FIRST_DAY,
    LAST_DAY,
    STAGES,
    Anomaly,
    Outcome,
    Reconciliation,
    as_dict,
    reconcile,
)
from doorstep.cli.output import fail, stdout
from doorstep.cli.serve import UrlOption, load_settings
from doorstep.errors import InputError


class Format(StrEnum):
    """How ``doorstep reconcile`` prints."""

    TABLE = "table"
    JSON = "json"


SHOWN_IDS = 5
"""Parcel ids shown per line of the table (``--format json`` lists them all)."""


def _day(text: str) -> str:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        fail(InputError(f"--day {text!r} is not a date", hint="Give it as YYYY-MM-DD."))
    if not FIRST_DAY <= day <= LAST_DAY:
        fail(InputError(f"--day {text}: give a day between {FIRST_DAY} and {LAST_DAY}"))
    return day.isoformat()


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(InputError(f"--at {text!r} is not a date and time", hint="Give it as ISO 8601."))
    if moment.tzinfo is None:
        fail(
            InputError(
                f"--at {text!r} has no time zone",
                hint="Add its UTC offset, as in 2026-05-04T18:00:00+03:00.",
            )
        )
    return moment


def _read(database_url: str | None, day: str, at: datetime) -> Reconciliation:
    from doorstep.store.database import current_revision, make_engine, session_factory
    from doorstep.store.queries.reconcile import day_scans

    settings = load_settings(database_url)
    try:
        engine = make_engine(settings.database_url)
    except InputError as exc:
        fail(exc)
    try:
        if current_revision(engine) is None:
            fail(InputError("the database is empty", hint="Run: doorstep db upgrade"))
        with session_factory(engine)() as db:
            scans = day_scans(db, day, settings.timezone, at)
    except typer.Exit:
        raise
    except Exception as exc:  # the server is down, the file is not a database...
        fail(InputError(f"cannot read the database: {exc}", hint="Check --database-url."))
    finally:
        engine.dispose()
    return reconcile(scans, at)


def _ids(parcels: list[str]) -> str:
    more = len(parcels) - SHOWN_IDS
    return ", ".join(parcels[:SHOWN_IDS]) + (f" (+{more})" if more > 0 else "")


def _print_table(report: Reconciliation) -> None:
    state = "end of day" if report.end_of_day else "during the day"
    stdout.print(
        f"Reconciliation of {report.day} at {report.at:%Y-%m-%d %H:%M} ({state}): "
        f"{len(report.lines)} parcels"
    )
    buckets = Table("bucket", "parcels", "ids", title="Furthest scan reached")
    for stage in STAGES:
        parcels = report.bucket(stage)
        buckets.add_row(stage.value, str(len(parcels)), _ids(parcels))
    for outcome in Outcome:
        parcels = report.outcome(outcome)
        buckets.add_row(f"  {outcome.value}", str(len(parcels)), _ids(parcels))
    stdout.print(buckets)
    anomalies = Table("anomaly", "parcels", "first", title="Anomalies")
    for anomaly in Anomaly:
        found = [f for f in report.findings if f.anomaly is anomaly]
        first = f"{found[0].parcel_id}: {found[0].note}" if found else ""
        anomalies.add_row(anomaly.value, str(len(found)), first)
    stdout.print(anomalies)


def reconcile_command(
    day: Annotated[str, typer.Option("--day", help="The day, YYYY-MM-DD.", show_default=False)],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The moment, ISO 8601 with its UTC offset (default: now; past the day, its end).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Format, typer.Option("--format", help="table, or json (every parcel id).")
    ] = Format.TABLE,
    database_url: UrlOption = None,
) -> None:
    """Account for every parcel of a day: its furthest scan, and what is missing or wrong.

    Each parcel on the day's current routes, or scanned that day, is in one bucket
    (manifest, at_depot, loaded, out_for_delivery, terminal); anomalies such as a
    parcel never scanned at the depot or delivered without a load scan are listed.
    """
    report = _read(database_url, _day(day), _moment(at))
    if output is Format.JSON:
        typer.echo(json.dumps(as_dict(report), indent=2))
    else:
        _print_table(report)
