"""doorstep risk train|score|report on a small synthetic history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
from tests.learn.synthetic import population
from typer.testing import CliRunner

from doorstep.cli import app

runner = CliRunner()


def test_train_score_report_end_to_end(tmp_path: Path) -> None:
    """Train writes model and metadata; score keeps the rows in order; report has the baselines."""
    history = tmp_path / "h.csv"
    population(customers=80, days=30).to_csv(history, index=False)
    model = tmp_path / "m.joblib"
    trained = runner.invoke(
        app, ["risk", "train", str(history), "--out", str(model), "--train-until", "2024-01-20"]
    )
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "m.joblib.json").is_file()
    orders = tmp_path / "orders.csv"
    pd.DataFrame(
        {
            "customer_id": ["c003", "c001", "nobody"],
            "area": ["z3", "z1", "z9"],
            "attempted_at": ["2024-02-02T19:00", "2024-02-01T08:00", "2024-02-01T12:00"],
        }
    ).to_csv(orders, index=False)
    scores = tmp_path / "scores.csv"
    scored = runner.invoke(
        app, ["risk", "score", str(orders), "--model", str(model), "--out", str(scores)]
    )
    assert scored.exit_code == 0, scored.output
    out = pd.read_csv(scores)
    assert out["customer_id"].tolist() == ["c003", "c001", "nobody"]
    assert out["p_fail"].between(0, 1).all() and "reasons" in out.columns
    assert out["p_fail"][0] > out["p_fail"][1]
    report = tmp_path / "r.html"
    reported = runner.invoke(
        app, ["risk", "report", str(history), "--model", str(model), "--out", str(report)]
    )
    assert reported.exit_code == 0, reported.output
    assert "customer's past rate" in reported.output and "overall rate" in reported.output
    page = report.read_text(encoding="utf-8")
    assert "Reliability" in page and "<script src=" not in page and len(page) > 1_000_000


def test_a_bad_history_is_one_message(tmp_path: Path) -> None:
    """No traceback, exit code 2, the problem named."""
    history = tmp_path / "h.csv"
    history.write_text("customer_id,attempted_at,outcome\na,2024-01-01T09:00,delivered\n")
    result = runner.invoke(app, ["risk", "train", str(history), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "no failed attempt" in " ".join(result.output.split())
    assert "Traceback" not in result.output
