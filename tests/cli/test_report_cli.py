"""``doorstep report``: the hand-worked day's KPIs as an offline HTML report."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from analytics.kpi_day import DAY, seed_day
from doorstep.cli import app
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

runner = CliRunner()


def test_the_report_of_a_day_is_written_with_its_figures(tmp_path: Path) -> None:
    """The file holds the day's charts and its drivers, and loads nothing from the network."""
    database = f"sqlite:///{tmp_path / 'kpi.db'}"
    upgrade(database)
    engine = make_engine(database)
    with transaction(session_factory(engine)) as db:
        seed_day(db)
    engine.dispose()
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "--from", DAY, "--database-url", database, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") >= 3
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert f"{DAY} to {DAY}" in html


def test_a_backwards_range_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """--to before --from exits 2 with the reason."""
    result = runner.invoke(
        app,
        ["report", "--from", "2030-06-09", "--to", "2030-06-03", "--out", str(tmp_path / "r.html")],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
