"""``doorstep kpi`` and ``doorstep export``: table, CSV and JSON; Parquet and CSV round trips."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from analytics.kpi_day import DAY, seed_day
from doorstep.cli import app
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite store holding the hand-worked day (order C's e-mail is a formula)."""
    database = f"sqlite:///{tmp_path / 'kpi.db'}"
    upgrade(database)
    engine = make_engine(database)
    with transaction(session_factory(engine)) as db:
        seed_day(db)
        db.execute(update(t.Order).where(t.Order.id == "C").values(email="=1+2"))
    engine.dispose()
    return database


def _kpi(url: str, *args: str) -> str:
    result = runner.invoke(app, ["kpi", "--from", DAY, "--database-url", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_has_the_total_and_the_groups(url: str) -> None:
    """--format json prints the API's answer: the day's totals and one group per driver."""
    body = json.loads(_kpi(url, "--by", "driver", "--format", "json"))
    assert body["from"] == body["to"] == DAY
    assert body["total"]["stops"] == 7
    assert body["total"]["on_time_rate"] == pytest.approx(5 / 6)
    assert [(g["key"], g["stops"]) for g in body["groups"]] == [("d1", 3), ("d2", 4)]


def test_csv_has_a_row_per_group_and_the_total(url: str) -> None:
    """--format csv: a header naming the grouping, d1, d2 and total; text cells defused."""
    rows = list(csv.DictReader(io.StringIO(_kpi(url, "--by", "customer", "--format", "csv"))))
    assert rows[-1]["customer"] == "total"
    assert rows[-1]["stops"] == "7"
    assert rows[-1]["failures_by_reason"] == "no_access=1; not_home=1"
    assert "'=1+2" in [r["customer"] for r in rows], "a formula is never left to run"
    drivers = list(csv.DictReader(io.StringIO(_kpi(url, "--by", "driver", "--format", "csv"))))
    assert [r["driver"] for r in drivers] == ["d1", "d2", "total"]


def test_the_table_is_for_people(url: str) -> None:
    """The default table: one line per driver and a total; without --by, every KPI."""
    out = _kpi(url, "--by", "driver")
    assert "d1" in out and "d2" in out and "total" in out
    assert "83%" in out  # the total's on-time rate, 5 of 6
    assert "no_access 1, not_home 1" in out
    every = _kpi(url)
    assert "first_attempt_success_rate" in every and "proposals_accepted" in every


def test_mistakes_are_one_clear_message(url: str) -> None:
    """An unknown --by, a backwards range, a bad day, a bad --format: exit 2, no traceback."""
    for args, words in (
        (["--by", "planet"], "unknown_group_by"),
        (["--to", "2030-06-01"], "range_backwards"),
        (["--format", "xml"], "--format"),
    ):
        result = runner.invoke(app, ["kpi", "--from", DAY, "--database-url", url, *args])
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["kpi", "--from", "June", "--database-url", url])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_the_parquet_export_reads_back_to_the_same_kpis(url: str, tmp_path: Path) -> None:
    """Export stops, parcels, exceptions, decisions as Parquet; kpi --facts answers the same."""
    facts = tmp_path / "facts"
    for what in ("stops", "parcels", "exceptions", "decisions", "events"):
        out = facts / f"{what}.parquet"
        result = runner.invoke(
            app, ["export", what, "--from", DAY, "--out", str(out), "--database-url", url]
        )
        assert result.exit_code == 0, result.output
    assert pq.read_table(facts / "stops.parquet").num_rows == 7
    assert pq.read_table(facts / "parcels.parquet").num_rows == 8
    assert pq.read_table(facts / "events.parquet").num_rows == 37  # the day before's is not
    from_store = json.loads(_kpi(url, "--by", "area", "--format", "json"))
    from_files = json.loads(_kpi(url, "--by", "area", "--format", "json", "--facts", str(facts)))
    assert from_files == from_store


def test_the_csv_export_has_every_stop(url: str, tmp_path: Path) -> None:
    """Export of stops as CSV: one row per stop, the columns of the facts, cells defused."""
    out = tmp_path / "stops.csv"
    args = ["export", "stops", "--from", DAY, "--format", "csv", "--out", str(out)]
    result = runner.invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["route_id"], r["order_id"]) for r in rows] == [
        ("R1", "A"),
        ("R1", "B"),
        ("R1", "C"),
        ("R2.v2", "D"),
        ("R2.v2", "E"),
        ("R2.v2", "F"),
        ("R2.v2", "G"),
    ]
    assert rows[2]["customer"] == "'=1+2"
    assert rows[1]["outcome"] == "failed_attempt" and rows[1]["failure_reason"] == "not_home"
    unknown = runner.invoke(app, ["export", "trucks", "--from", DAY, "--out", str(out)])
    assert unknown.exit_code == 2 and "events, stops, parcels" in unknown.output
