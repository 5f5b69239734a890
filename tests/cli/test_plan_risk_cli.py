"""`doorstep plan --risk MODEL --date DAY`: expected failed attempts beside the km."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.learn.synthetic import population
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
from typer.testing import CliRunner

from doorstep.cli import app
from manifests import CLEAN_FLEET, CLEAN_ROWS, FLEET_HEADER, ORDER_HEADER

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained on a synthetic history whose risk grows through the day."""
    from doorstep.learn.history import read_history
    from doorstep.learn.model import save, train

    folder = tmp_path_factory.mktemp("risk")
    history = folder / "history.csv"
    population(customers=20, days=10).drop(columns="true_p").to_csv(history, index=False)
    path = folder / "model.joblib"
    save(train(read_history(history), params={"max_iter": 20, "min_samples_leaf": 5}), path)
    return path


def _files(folder: Path) -> list[str]:
    orders, fleet = folder / "orders.csv", folder / "fleet.csv"
    rows = [f"{row},c{k:03d}" for k, row in enumerate(CLEAN_ROWS)]
    orders.write_text("\n".join([f"{ORDER_HEADER},customer_id", *rows]) + "\n", encoding="utf-8")
    fleet.write_text("\n".join([FLEET_HEADER, *CLEAN_FLEET]) + "\n", encoding="utf-8")
    return ["plan", str(orders), "--fleet", str(fleet), "--straight", "-t", "1"]


def test_plan_with_a_model_reports_expected_failures(tmp_path: Path, model: Path) -> None:
    """With --risk: summary line, plan.json totals and per-visit p_fail; without: none of it."""
    args = [*_files(tmp_path), "--iterations", "100"]
    plain = runner.invoke(app, [*args, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    assert "expected failures" not in plain.stdout
    document = json.loads((tmp_path / "plain" / "plan.json").read_text())
    assert "expected_failed_attempts" not in document["summary"]
    risky = [*args, "--risk", str(model), "--date", "2024-01-25", "--redelivery-cost", "12.5"]
    with threadpool_limits(1):  # one-row predictions: OpenMP threads only add overhead
        result = runner.invoke(app, [*risky, "--out", str(tmp_path / "risk")])
    assert result.exit_code == 0, result.output
    assert "expected failures" in result.stdout and "12.50 each" in result.stdout
    document = json.loads((tmp_path / "risk" / "plan.json").read_text())
    visits = [v for r in document["routes"] for v in r["visits"]]
    assert len(visits) == 8 and all(0 < v["p_fail"] < 1 for v in visits)
    assert visits[0]["customer_id"].startswith("c0")
    summary = document["summary"]
    total = sum(v["p_fail"] for v in visits)
    assert summary["expected_failed_attempts"] == pytest.approx(total, abs=1e-3)
    assert summary["expected_failure_cost"] == pytest.approx(total * 12.5, abs=0.01)
    assert summary["redelivery_cost"] == 12.5


def test_plan_with_risk_refuses_bad_input_in_one_line(tmp_path: Path, model: Path) -> None:
    """No --date, a bad date or a file that is no model: exit 2, no traceback, no outputs."""
    args = [*_files(tmp_path), "--out", str(tmp_path / "out")]
    cases = {
        "--date": [*args, "--risk", str(model)],
        "YYYY-MM-DD": [*args, "--risk", str(model), "--date", "25.1.2024"],
        "not a Doorstep risk model": [
            *args,
            "--risk",
            str(tmp_path / "orders.csv"),
            "--date",
            "2024-01-25",
        ],
    }
    for needle, case in cases.items():
        result = runner.invoke(app, case)
        assert result.exit_code == 2, result.output
        output = " ".join(result.output.split())  # rich wraps long lines
        assert needle in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()
