"""``doorstep report``: the KPIs of a range of days as one offline HTML file of charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from doorstep.cli.kpi import FromOption, ToOption, _day
from doorstep.cli.output import fail
from doorstep.cli.serve import UrlOption, load_settings
from doorstep.errors import DoorstepError, InputError


def report_command(
    first: FromOption,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.", show_default=False)],
    last: ToOption = None,
    database_url: UrlOption = None,
) -> None:
    """Write a report of a range of days as one HTML file of charts and tables.

    On-time rate by hour, failures by reason, first-attempt success by area, the
    ETA error, and a table of drivers and routes. The file opens offline (the
    chart library is inside it). The figures are those of `doorstep kpi`
    (definitions in docs/kpis.md).

    For example:

      doorstep report --from 2030-06-03 --to 2030-06-09 --out week.html
    """
    from doorstep.analytics import kpis
    from doorstep.analytics.facts import load_facts
    from doorstep.analytics.report import render_report, report_data
    from doorstep.store.database import make_engine, session_factory
    from doorstep.store.queries.analytics import area_centres

    start = _day(first, "--from")
    end = start if last is None else _day(last, "--to")
    try:
        kpis.check_range(start, end, kpis.MAX_DAYS)
        settings = load_settings(database_url)
        engine = make_engine(settings.database_url)
        try:
            with session_factory(engine)() as db:
                facts = load_facts(db, start.isoformat(), end.isoformat(), settings.timezone)
                centres = area_centres(db, facts["stops"].column("order_id").to_pylist())
        finally:
            engine.dispose()
        html = render_report(report_data(facts, centres))
    except DoorstepError as exc:
        fail(exc)
    except Exception as exc:  # the server is down, the file is not a database...
        fail(InputError(f"cannot read the day's facts: {exc}", hint="Check --database-url."))
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        fail(InputError(f"cannot write {out}: {exc.strerror}", hint="Choose another --out."))
    typer.echo(f"Wrote {out} ({len(html) // 1024} KB): open it in a browser, no network needed.")
