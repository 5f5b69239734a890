"""Tests for `doorstep plan`, `doorstep solve` and `doorstep bench`."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from doorstep.cli import app
from manifests import REPO

SAMPLE = REPO / "examples" / "helsinki"
DATA = REPO / "tests" / "data"
runner = CliRunner()


def test_plan_the_helsinki_sample(tmp_path: Path) -> None:
    """The demo day: gate errors left out, a feasible plan, every output written."""
    out = tmp_path / "plan"
    args = ["plan", str(SAMPLE / "orders.csv"), "--fleet", str(SAMPLE / "fleet.csv")]
    result = runner.invoke(app, [*args, "--out", str(out), "-t", "2"])
    assert result.exit_code == 1, result.output  # the sample has rows the gate rejects
    assert "14 rejected by the gate" in result.stdout and "feasible" in result.stdout
    plan = json.loads((out / "plan.json").read_text())
    summary = plan["summary"]
    assert summary["feasible"] and summary["violation_count"] == 0
    assert summary["served"] + summary["unassigned"] == summary["orders"] == 286
    assert summary["served"] >= 270
    assert all(u["reason"] for u in plan["unassigned"])
    assert len(plan["rejected"]) >= 14
    for route in plan["routes"]:
        manifest = out / route["manifest"]
        with manifest.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        assert len([r for r in rows if r["order_id"]]) == len(route["visits"])
    assert (out / "map.html").stat().st_size > 100_000
    geo = json.loads((out / "plan.geojson").read_text())
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(plan["routes"])
    assert all(
        len(f["geometry"]["coordinates"]) > len(r["visits"])
        for f, r in zip(lines, plan["routes"], strict=True)
    )


def test_plan_bad_input_exits_2(tmp_path: Path) -> None:
    """A missing fleet file or an unknown solver gives one line and exit 2, no outputs."""
    out = tmp_path / "plan"
    orders = str(SAMPLE / "orders.csv")
    result = runner.invoke(app, ["plan", orders, "--fleet", "nope.csv", "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    fleet = str(SAMPLE / "fleet.csv")
    args = ["plan", orders, "--fleet", fleet, "--out", str(out), "--solver", "magic"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "unknown solver" in result.output
    assert not out.exists()


def solomon_folder(tmp_path: Path) -> Path:
    """A folder holding C101 and its best known solution, as the shared benchmarks lay it out."""
    folder = tmp_path / "solomon"
    folder.mkdir()
    shutil.copy(DATA / "C101.txt", folder / "C101.txt")
    shutil.copy(DATA / "solomon_BKS.json", folder / "BKS.json")
    return folder


def test_solve_writes_solution_json(tmp_path: Path) -> None:
    """Solve reports routes with the instance's own customer numbers and the BKS gap."""
    folder = solomon_folder(tmp_path)
    out = tmp_path / "c101.json"
    result = runner.invoke(app, ["solve", str(folder / "C101.txt"), "-t", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    customers = sorted(int(c) for route in doc["routes"] for c in route)
    assert customers == list(range(1, 101))
    assert doc["feasible"] and doc["vehicles"] == len(doc["routes"])
    assert doc["best_known"] == 828.94 and doc["gap"] < 0.01


def test_bench_summarises_a_folder(tmp_path: Path) -> None:
    """Bench writes one CSV row per instance and a summary with the mean gap."""
    folder = solomon_folder(tmp_path)
    out = tmp_path / "results.csv"
    result = runner.invoke(app, ["bench", str(folder), "-t", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["instance"] for r in rows] == ["C101"] and rows[0]["feasible"] == "True"
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["instances"] == 1 and summary["mean_gap_pct"] < 1


def test_ctrl_c_keeps_the_best_plan(tmp_path: Path) -> None:
    """SIGINT during a 120 s search stops it early and still writes a checked plan."""
    out = tmp_path / "plan"
    args = [sys.executable, "-m", "doorstep", "plan", str(SAMPLE / "orders.csv")]
    args += ["--fleet", str(SAMPLE / "fleet.csv"), "--out", str(out), "-t", "120"]
    started = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    time.sleep(12)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=90)
    assert child.returncode == 1, stderr.decode()[-2000:]
    assert time.monotonic() - started < 100
    plan = json.loads((out / "plan.json").read_text())
    assert plan["summary"]["feasible"] and plan["summary"]["served"] > 200
