"""``doorstep simulate``: table and JSON, --compare, and mistakes reported without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doorstep.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["simulate", *args], terminal_width=200)
    return result.exit_code, " ".join(result.output.split())


def test_table_shows_each_kpi_with_its_interval(plan_path: Path) -> None:
    """The table names the plan, the runs and every reported KPI with a confidence interval."""
    code, out = _run(str(plan_path), "--runs", "5", "--seed", "3", "--date", "2030-06-04")
    assert code == 0, out
    assert "5 runs, seed 3, 2030-06-04" in out
    for heading in ("on-time rate", "first-attempt success", "km", "overtime h", "95% CI"):
        assert heading in out


def test_json_with_compare_gives_both_plans_and_the_paired_difference(
    plan_path: Path, other_plan_path: Path
) -> None:
    """JSON: summaries of both plans, one row per run, and the difference (b - a) per KPI."""
    code, out = _run(
        str(plan_path),
        "--runs",
        "4",
        "--compare",
        str(other_plan_path),
        "--breakdown-rate",
        "0.1",
        "--date",
        "2030-06-04",
        "--format",
        "json",
    )
    assert code == 0, out
    body = json.loads(out)
    assert body["runs"] == 4 and len(body["per_run"]) == 4
    assert body["compare"]["plan"] == str(other_plan_path)
    a, b = body["summary"]["km"]["mean"], body["compare"]["summary"]["km"]["mean"]
    assert (
        body["difference"]["km"]["mean"] == (b - a)
        or abs(body["difference"]["km"]["mean"] - (b - a)) < 1e-9
    )
    assert set(body["summary"]["on_time_rate"]) == {"n", "mean", "p5", "p95", "ci_low", "ci_high"}


def test_mistakes_exit_2_with_a_message(plan_path: Path, tmp_path: Path) -> None:
    """A missing file, a file that is not a plan, a bad option: exit 2, a message, no traceback."""
    other = tmp_path / "orders.json"
    other.write_text(json.dumps({"orders": []}), encoding="utf-8")
    cases = [
        ([str(tmp_path / "none.json")], "cannot read the plan"),
        ([str(other)], "is not a plan.json"),
        ([str(plan_path), "--runs", "0"], "--runs 0 is out of range"),
        ([str(plan_path), "--format", "xml"], "--format 'xml' is not known"),
        ([str(plan_path), "--date", "tomorrow"], "is not a day"),
        ([str(plan_path), "--risk", str(tmp_path / "none.model")], "no such model"),
        ([str(plan_path), "--orders", str(other)], "--orders and --fleet go together"),
        ([str(plan_path), "--monitor-every", "-1"], "--monitor-every -1 is out of range"),
    ]
    for args, message in cases:
        code, out = _run(*args)
        assert code == 2, (args, out)
        assert message in out and "Traceback" not in out


def test_rows_the_gate_rejects_are_named_not_dropped_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--orders with a bad row: a warning names the row; the dispatcher keeps the good orders."""
    from doorstep.cli.simulate import _dispatcher

    sample = Path(__file__).parents[2] / "examples" / "helsinki"
    lines = (sample / "orders.csv").read_text(encoding="utf-8").splitlines()
    header, first, second = lines[0], lines[1], lines[2]
    bad = second.split(",")
    bad[header.split(",").index("lat")] = "north"
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join([header, first, ",".join(bad)]) + "\n", encoding="utf-8")
    dispatcher = _dispatcher(orders, sample / "fleet.csv", straight=True)
    assert list(dispatcher.ctx.orders) == [first.split(",")[0]]
    err = " ".join(capsys.readouterr().err.split())
    assert "1 rows the gate rejects (rows 3)" in err and "doorstep validate" in err
