"""``doorstep audit``: each route of a day, stop by stop, plan against actual, and why.

Reads the service's database directly (``--database-url``, else the settings,
as ``doorstep db`` does). Exit codes: 0 done, 2 a bad option, an unknown
route or a database that cannot be read (the reason is printed).
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from doorstep.analytics.audit import BEHIND_PLAN_S, audit_route, route_dict
from doorstep.cli.output import fail, stdout
from doorstep.cli.serve import UrlOption, load_settings
from doorstep.errors import InputError


class Format(StrEnum):
    """How ``doorstep audit`` prints."""

    TABLE = "table"
    JSON = "json"


CAUSE_LABELS = {
    "late_departure": "late departure",
    "driving": "driving",
    "service": "service",
    "waiting": "waiting",
    "out_of_sequence": "out of sequence",
    "added_stops": "added stops",
    "removed_stops": "removed stops",
    "replanned": "re-planned",
    "remainder": "remainder",
}


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:+.1f}"


def _why(stop: dict[str, Any]) -> str:
    """A late stop's causes and a failed stop's failure, on one line."""
    parts = []
    for cause in stop["causes"]:
        text = f"{CAUSE_LABELS.get(cause['cause'], cause['cause'])} {_minutes(cause['seconds'])}"
        if cause["cause"] in ("driving", "out_of_sequence", "added_stops"):
            worst = sorted(cause["parts"], key=lambda p: -abs(p["seconds"]))[:3]
            text += " (" + ", ".join(f"{p['what']} {_minutes(p['seconds'])}" for p in worst) + ")"
        parts.append(text)
    failure = stop["failure"]
    if failure is not None:
        earlier = len(failure["earlier_attempts"])
        parts.append(
            f"failed: {failure['reason'] or 'no reason given'}, earlier attempts {earlier}"
        )
    return "; ".join(parts)


def _print(audit: dict[str, Any]) -> None:
    """One route: a title, a table of its stops, then why each late or failed stop was."""
    departure = audit["departure"] or "not scanned"
    stdout.print(
        f"[bold]{audit['route_id']}[/] ({audit['vehicle_id']}, driver "
        f"{audit['driver_id'] or '-'}, version {audit['version']}): left {departure}, "
        f"planned {audit['planned_departure']}; {audit['late_stops']} late, "
        f"{audit['failed_stops']} failed",
        soft_wrap=True,
    )
    table = Table(box=box.SIMPLE)
    for name in ("Seq", "Order", "State", "Window", "Plan", "Arr", "Fin", "Late min"):
        table.add_column(name, justify="right" if name in ("Seq", "Late min") else "left")
    for stop in audit["stops"]:
        actual = stop["actual"]
        arrived = actual["arrival"] or "-"
        if actual["arrival_inferred"]:
            arrived += "*"
        table.add_row(
            str(stop["seq"]),
            stop["order_id"],
            stop["state"] + (" LATE" if stop["late"] else ""),
            stop["window"] or "-",
            stop["planned"]["arrival"],
            arrived,
            actual["finish"] or "-",
            f"{stop['lateness_min']:+.1f}" if stop["lateness_min"] is not None else "-",
        )
    stdout.print(table)
    for stop in audit["stops"]:
        why = _why(stop)
        if why:
            stdout.print(f"  {stop['order_id']}: {why}", soft_wrap=True, markup=False)
    if audit["removed"]:
        stdout.print("  taken off this route: " + ", ".join(audit["removed"]), soft_wrap=True)
    stdout.print()


def _audits(url: str | None, day: str, route: str | None, tolerance_s: int) -> list[dict[str, Any]]:
    from doorstep.store.database import make_engine, session_factory
    from doorstep.store.queries import audit as q

    settings = load_settings(url)
    zone = ZoneInfo(settings.timezone)
    try:
        engine = make_engine(settings.database_url)
    except InputError as exc:
        fail(exc)
    try:
        with session_factory(engine)() as db:
            ids = [route] if route is not None else q.current_route_ids(db, day)
            out = []
            for route_id in ids:
                record = q.load_route(db, route_id, zone)
                if record is None or record.day != day:
                    fail(
                        InputError(
                            f"no route {route_id!r} on {day}", hint="See doorstep audit --day DAY."
                        )
                    )
                out.append(route_dict(audit_route(record, tolerance_s)))
            return out
    except SQLAlchemyError as exc:
        fail(
            InputError(
                f"cannot read the database: {exc.__class__.__name__}",
                hint="Check --database-url, and run doorstep db upgrade on a new database.",
            )
        )
    finally:
        engine.dispose()


def audit_command(
    day: Annotated[str, typer.Option("--day", help="The day, YYYY-MM-DD.", show_default=False)],
    route: Annotated[
        str | None, typer.Option("--route", help="One route (any of its versions' ids).")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.TABLE,
    tolerance_min: Annotated[
        float,
        typer.Option(
            "--tolerance-min",
            min=0,
            max=1440,
            help="Minutes behind its planned arrival beyond which a stop is late.",
        ),
    ] = BEHIND_PLAN_S / 60,
    database_url: UrlOption = None,
) -> None:
    """Audit a day's routes: each stop planned against actual, and why late stops were late.

    A late stop's lateness is split into causes that add up to it exactly
    (late departure, driving on named legs, service, waiting, out of sequence,
    added stops); a failed stop shows its reason and earlier attempts.
    """
    try:
        day = date.fromisoformat(day).isoformat()
    except ValueError:
        fail(InputError(f"--day {day!r} is not a date", hint="Give it as YYYY-MM-DD."))
    audits = _audits(database_url, day, route, round(tolerance_min * 60))
    if output is Format.JSON:
        typer.echo(json.dumps(audits, indent=2))
        return
    if not audits:
        stdout.print(f"no published routes on {day}")
        return
    for audit in audits:
        _print(audit)
    stdout.print("* no arrival scan: arrival = finish less the planned service", style="dim")
